-- cartbridge's own single-click BigCommerce app: the connection it installed per store
-- (one per store hash) and the BigCommerce users it has seen, mapped to cartbridge users.
ALTER TABLE connections ADD COLUMN installed_by_app BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE connections ADD COLUMN account_uuid TEXT;
CREATE UNIQUE INDEX connections_app_store ON connections(store_hash) WHERE installed_by_app;

CREATE TABLE bigcommerce_app_users (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    store_hash TEXT NOT NULL,
    bc_user_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (store_hash, bc_user_id)
);
CREATE INDEX bigcommerce_app_users_tenant ON bigcommerce_app_users(tenant_id, user_id);
