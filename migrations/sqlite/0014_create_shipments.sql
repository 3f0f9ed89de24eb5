-- Get Shipments: every shipment the store made for a watched order, once per
-- (connection, BigCommerce shipment id), and its items mapped back to PO lines and SKUs.
-- `tracking_link` is the link to show: BigCommerce's `tracking_link` when set, else its
-- `generated_tracking_link` (`tracking_link_source` says which). `carrier_note` is set when
-- `shipping_provider` is not one BigCommerce documents: the raw string is kept, not dropped.

CREATE TABLE shipments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    bc_shipment_id BIGINT NOT NULL,
    bc_order_id BIGINT NOT NULL,
    purchase_order_id BIGINT REFERENCES purchase_orders(id) ON DELETE SET NULL,
    shipping_provider TEXT NOT NULL,
    provider_display_name TEXT NOT NULL,
    tracking_carrier TEXT NOT NULL,
    carrier_note TEXT,
    tracking_number TEXT NOT NULL,
    tracking_link TEXT NOT NULL,
    -- 'tracking_link', 'generated_tracking_link' or 'none'.
    tracking_link_source TEXT NOT NULL CHECK (tracking_link_source IN ('tracking_link', 'generated_tracking_link', 'none')),
    shipping_method TEXT NOT NULL,
    -- The shipment's `date_created` in the store (unix seconds).
    shipped_at BIGINT,
    -- SHA-256 of what is recorded: an update is a change of it.
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (connection_id, bc_shipment_id)
);
CREATE INDEX shipments_tenant ON shipments(tenant_id, connection_id, id);
CREATE INDEX shipments_po ON shipments(tenant_id, purchase_order_id);
CREATE INDEX shipments_order ON shipments(connection_id, bc_order_id);

CREATE TABLE shipment_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    shipment_id BIGINT NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
    order_product_id BIGINT NOT NULL,
    product_id BIGINT,
    quantity BIGINT NOT NULL,
    -- The PO line it ships (NULL: the order is not a PO, or no line has this order product).
    purchase_order_line_id BIGINT REFERENCES purchase_order_lines(id) ON DELETE SET NULL,
    sku TEXT
);
CREATE INDEX shipment_items_shipment ON shipment_items(shipment_id, id);
