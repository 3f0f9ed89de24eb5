-- Profiles and time zones (issue 16): a user's display name and chosen time zone (an IANA
-- name; NULL = not chosen yet, pages then use the tenant's zone, then UTC), a tenant's time
-- zone, and what the profile page lists about each session: a stable handle (the session
-- key itself is never shown), when it was created and last seen, and the browser it came from.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN time_zone TEXT;
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE sessions ADD COLUMN handle TEXT;
ALTER TABLE sessions ADD COLUMN created_at BIGINT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
CREATE INDEX sessions_handle ON sessions(user_id, handle);
