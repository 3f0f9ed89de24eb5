-- The vault's data keys (wrapped by the master key), OAuth client records and connections.
-- Secret columns (*_ct) hold vault ciphertext bound to tenant, table, record and field.
CREATE TABLE vault_keys (
    id BIGINT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE oauth_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_ct BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    auth_type TEXT NOT NULL CHECK (auth_type IN ('oauth', 'token', 'basic')),
    store_hash TEXT NOT NULL,
    oauth_client_id BIGINT REFERENCES oauth_clients(id) ON DELETE RESTRICT,
    api_client_id TEXT,
    access_token_ct BLOB,
    scopes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'untested' CHECK (status IN ('untested', 'healthy', 'failing', 'disabled')),
    last_tested_at BIGINT,
    last_error TEXT,
    store_name TEXT,
    store_domain TEXT,
    store_plan TEXT,
    store_currency TEXT,
    capabilities TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX connections_oauth_client ON connections(oauth_client_id);
