-- Security hardening (issue 15). `rate_limit_events`: one row per counted request (signup,
-- forgot-password, resend-verification, emails per recipient), keyed by a bucket such as
-- `signup:ip:203.0.113.7` or `mail:jane@example.com`; a request is recorded first and then
-- counted, so concurrent requests cannot slip past a limit. Rows are pruned after a day.
-- `bigcommerce_link_requests`: emailed confirmations that let the owner of an existing
-- account link a BigCommerce identity (store + BigCommerce user id) to it; only the SHA-256
-- of the token is stored, and it is used once.
CREATE TABLE rate_limit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_limit_events_bucket ON rate_limit_events(bucket, at);

CREATE TABLE bigcommerce_link_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    store_hash TEXT NOT NULL,
    bc_user_id BIGINT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
