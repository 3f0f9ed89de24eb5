-- Inbound BigCommerce webhooks (shared by Placed Orders and Get Shipments): each
-- connection's unguessable public id and secret, the hooks each flow registered, the inbox
-- of deliveries (one row per delivery, deduplicated), and the Placed Orders records.

-- One per connection: `public_id` is the URL segment, `secret_sha256` the hex SHA-256 of the
-- secret BigCommerce sends back in `X-Cartbridge-Secret`; `secret_ct` seals the secret itself
-- (vault field `hook_secret`) for (re-)registration only.
CREATE TABLE bigcommerce_hook_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL UNIQUE REFERENCES connections(id) ON DELETE CASCADE,
    public_id TEXT NOT NULL UNIQUE,
    secret_sha256 TEXT NOT NULL,
    secret_ct BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- One per (connection, flow, scope) while the flow is enabled: a delivery of a scope with no
-- row gets 410. `bc_hook_id` is NULL until BigCommerce accepted the hook; `problem` says what
-- the last check found wrong (deactivated, missing, could not register).
CREATE TABLE bigcommerce_hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    flow TEXT NOT NULL,
    scope TEXT NOT NULL,
    bc_hook_id BIGINT,
    is_active BOOLEAN NOT NULL DEFAULT FALSE,
    problem TEXT,
    last_checked_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (connection_id, scope)
);
CREATE INDEX bigcommerce_hooks_tenant ON bigcommerce_hooks(tenant_id, connection_id, flow);

-- Every accepted delivery, stored once: by BigCommerce's `hash`, and by scope + data id
-- within a window (`window_key`). `status`: 'received', 'done', 'skipped', 'failed'.
CREATE TABLE bigcommerce_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL,
    data_id BIGINT,
    window_key TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'received',
    outcome TEXT,
    received_at BIGINT NOT NULL,
    processed_at BIGINT,
    UNIQUE (connection_id, hash),
    UNIQUE (connection_id, window_key)
);
CREATE INDEX bigcommerce_inbox_tenant ON bigcommerce_inbox(tenant_id, connection_id, id);

-- Placed Orders: one row per order turned into an `order.placed` event (its id in
-- `webhook_events`), with where it came from ('webhook' or 'reconciled').
CREATE TABLE placed_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    order_id BIGINT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('webhook', 'reconciled')),
    order_source TEXT NOT NULL,
    sales_channel TEXT NOT NULL,
    channel_id BIGINT NOT NULL,
    storefront TEXT NOT NULL,
    status TEXT NOT NULL,
    total TEXT NOT NULL,
    currency TEXT NOT NULL,
    order_created_at BIGINT NOT NULL,
    event_id BIGINT REFERENCES webhook_events(id) ON DELETE SET NULL,
    run_id BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (connection_id, order_id)
);
CREATE INDEX placed_orders_tenant ON placed_orders(tenant_id, connection_id, id);

-- Per-connection overrides of the default `order_source` → sales channel table.
CREATE TABLE sales_channel_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    order_source TEXT NOT NULL,
    sales_channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connection_id, order_source)
);
