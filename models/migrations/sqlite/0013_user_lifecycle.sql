-- A deactivated user (deactivated_at set) can no longer sign in nor use a
-- token, but stays in the table, so that every history and report keeps
-- their name; an admin may reactivate them (deactivated_at back to null).
ALTER TABLE users ADD COLUMN deactivated_at DATETIME;

-- A token with expires_at answers 401 from that instant on; null never
-- expires.
ALTER TABLE api_tokens ADD COLUMN expires_at DATETIME;
