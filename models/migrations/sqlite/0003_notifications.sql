CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    deleted_at DATETIME
);

-- Deliveries waiting to go out by email or webhook. Rows are written in the
-- transaction of the event that caused them and claimed by a dispatcher
-- with a lease, so a crash between claim and send only delays a delivery.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT NOT NULL UNIQUE,
    event           TEXT NOT NULL,
    request_id      INTEGER REFERENCES requests(id),
    channel         TEXT NOT NULL,
    user_id         INTEGER REFERENCES users(id),
    webhook_id      INTEGER REFERENCES webhooks(id),
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claimed_until   DATETIME,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    delivered_at    DATETIME
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_webhook ON outbox(webhook_id, id);


CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    event      TEXT NOT NULL,
    request_id INTEGER REFERENCES requests(id),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    read_at    DATETIME
);
CREATE INDEX notifications_user ON notifications(user_id, id);

CREATE TABLE preferences (
    user_id INTEGER NOT NULL REFERENCES users(id),
    channel TEXT NOT NULL,
    event   TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, channel, event)
);
