CREATE TABLE webhooks (
    id         BIGSERIAL PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);

-- Deliveries waiting to go out by email or webhook. Rows are written in the
-- transaction of the event that caused them and claimed by a dispatcher
-- with a lease, so a crash between claim and send only delays a delivery.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,
    event           TEXT NOT NULL,
    request_id      BIGINT REFERENCES requests(id),
    channel         TEXT NOT NULL,
    user_id         BIGINT REFERENCES users(id),
    webhook_id      BIGINT REFERENCES webhooks(id),
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_webhook ON outbox(webhook_id, id);


CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    event      TEXT NOT NULL,
    request_id BIGINT REFERENCES requests(id),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_user ON notifications(user_id, id);

CREATE TABLE preferences (
    user_id BIGINT NOT NULL REFERENCES users(id),
    channel TEXT NOT NULL,
    event   TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, channel, event)
);
