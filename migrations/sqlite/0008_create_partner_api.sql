-- Partner API: API keys (stored as SHA-256 only), outbound webhook endpoints (signing
-- secret sealed by the vault), and the webhook outbox: events, one delivery per
-- (endpoint, event), and every delivery attempt.

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The visible start of the key (`cbk_` and 8 characters), to tell keys apart.
    prefix TEXT NOT NULL,
    -- Hex SHA-256 of the whole key; the key itself is never stored.
    key_hash TEXT NOT NULL UNIQUE,
    access TEXT NOT NULL CHECK (access IN ('read', 'read_write')),
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, id);

-- A key limited to some connections lists them here; a key with no rows sees them all.
CREATE TABLE api_key_connections (
    api_key_id BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, connection_id)
);

CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Space-separated event types (`inventory.changed run.failed connection.failed`).
    event_types TEXT NOT NULL,
    -- The `whsec_…` signing secret, sealed by the vault (field `signing_secret`).
    secret_ct BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id, id);

-- The outbox: one row per event, written in the same transaction as what caused it.
-- `dedupe_key` makes emitting idempotent (e.g. `inventory.changed:run:7:0`).
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    -- The Standard Webhooks `webhook-id` (`msg_…`), the same on every attempt.
    message_id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, dedupe_key)
);

-- One delivery per (endpoint, event), with its state and schedule.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Attempts made before the current round (a redelivery starts a new round of retries).
    round_base INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- Set while an attempt is in flight, so two workers never send the same delivery at once.
    locked_until BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(tenant_id, endpoint_id, id);

-- Every attempt: status code (NULL when no response), time taken, first 1 KiB of the body.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    response_excerpt TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
