-- Web sessions, in the database so that every replica sees the same ones.
-- data is the session manager's encoding (user id, credential epoch, flash);
-- expiry is the absolute or idle deadline, whichever comes first.
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry DATETIME NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expiry);

-- Bumped whenever a user's credentials change (a new password, later a
-- deactivation): a session remembers the epoch it signed in at and ends
-- when the two differ, on every replica at once.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
