-- Failed password sign-ins per email (lower-cased), shared by every replica
-- so that a guesser cannot spread attempts over them. failures counts the
-- failures since window_start; locked_until, once set, refuses every
-- attempt for that email until it passes. Emails without an account are
-- counted too, so that a lockout tells nothing of which emails exist. A
-- successful sign-in deletes the row.
CREATE TABLE sign_in_failures (
    email        TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

-- Every sign-in, failure, refusal and sign-out, for the user's own list of
-- recent sign-ins; user_id is null when no user has the email.
CREATE TABLE sign_in_events (
    id      BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES users(id),
    email   TEXT NOT NULL,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_events_user ON sign_in_events(user_id, at);
