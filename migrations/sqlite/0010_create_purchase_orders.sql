-- Send Orders: purchase orders from partners, their lines, and every attempt to turn one
-- into a BigCommerce order. `po_number` is unique per connection and is the idempotency
-- key; `body_hash` is the SHA-256 of the canonical PO body, so a repeat with a changed
-- body is told apart (409) from a plain retry (200). Prices are decimal strings.

CREATE TABLE purchase_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    po_number TEXT NOT NULL,
    -- 'api', 'csv' or 'form'.
    source TEXT NOT NULL CHECK (source IN ('api', 'csv', 'form')),
    -- The canonical PO (the contract's JSON, normalised), and its hex SHA-256.
    body TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'held', 'sending', 'sent', 'failed',
                                           'cancelled', 'partially_shipped', 'shipped')),
    customer_email TEXT NOT NULL,
    -- The BigCommerce order once created (or adopted by an `external_order_id` lookup).
    bc_order_id BIGINT,
    -- The customer decision: 0 for a guest, else the v3 customer id.
    bc_customer_id BIGINT,
    -- What a person can act on when `status` is 'failed'.
    failure_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The exact body of the last `POST /v2/orders` (it holds no secret).
    order_body TEXT,
    api_key_id BIGINT REFERENCES api_keys(id) ON DELETE SET NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (connection_id, po_number)
);
CREATE INDEX purchase_orders_tenant ON purchase_orders(tenant_id, connection_id, status, id);
CREATE INDEX purchase_orders_order ON purchase_orders(connection_id, bc_order_id);

-- One row per PO line, numbered from 0 as in the contract's `lines[]`. The ids are filled
-- when the SKU is resolved; `order_product_id` (the order line id shipments name) once the
-- order exists; `quantity_shipped` by Get Shipments.
CREATE TABLE purchase_order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders(id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    price TEXT,
    product_id BIGINT,
    variant_id BIGINT,
    order_product_id BIGINT,
    quantity_shipped BIGINT NOT NULL DEFAULT 0,
    UNIQUE (purchase_order_id, line_no)
);

-- Every attempt to send a PO: what happened and why.
-- outcome: 'created', 'adopted' (found by lookup after an unknown outcome), 'failed'
-- (the PO failed: a reason a person can act on), 'unknown' (timeout, dropped
-- connection; the next attempt looks the order up first), 'retry' (429/5xx, sent again).
CREATE TABLE purchase_order_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT CHECK (outcome IN ('created', 'adopted', 'failed', 'unknown', 'retry')),
    http_status INTEGER,
    error TEXT,
    bc_order_id BIGINT
);
CREATE INDEX purchase_order_attempts_po ON purchase_order_attempts(purchase_order_id, id);
