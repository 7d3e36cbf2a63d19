-- What happened to a request, written in the transaction of the transition
-- or SLA flag instead of its messages. A dispatcher fans each event out to
-- in-app notifications and deliveries after commit, so the writer holds its
-- lock for one row per event. The columns keep the facts that decide who
-- hears of the event and what they read, as they were at that moment.
CREATE TABLE events (
    id                 BIGSERIAL PRIMARY KEY,
    event              TEXT NOT NULL,
    request_id         BIGINT NOT NULL REFERENCES requests(id),
    actor_id           BIGINT REFERENCES users(id),
    actor_name         TEXT NOT NULL DEFAULT '',
    comment            TEXT NOT NULL DEFAULT '',
    at                 TIMESTAMPTZ NOT NULL,
    state              TEXT NOT NULL,
    approvals_required INTEGER NOT NULL DEFAULT 0,
    approved_by        TEXT NOT NULL DEFAULT '',
    due_at             TIMESTAMPTZ,
    claimed_until      TIMESTAMPTZ,
    fanned_out_at      TIMESTAMPTZ
);
CREATE INDEX events_pending ON events(id) WHERE fanned_out_at IS NULL;

-- A fan-out redone after an interruption writes nothing twice.
ALTER TABLE outbox ADD COLUMN event_id BIGINT REFERENCES events(id);
CREATE UNIQUE INDEX outbox_event_user ON outbox(event_id, user_id, channel) WHERE event_id IS NOT NULL AND user_id IS NOT NULL;
CREATE UNIQUE INDEX outbox_event_webhook ON outbox(event_id, webhook_id) WHERE event_id IS NOT NULL AND webhook_id IS NOT NULL;
ALTER TABLE notifications ADD COLUMN event_id BIGINT REFERENCES events(id);
CREATE UNIQUE INDEX notifications_event_user ON notifications(event_id, user_id) WHERE event_id IS NOT NULL;
