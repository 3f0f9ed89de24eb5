-- Flows, durable jobs, runs and the Get Inventory snapshot.

-- A flow's settings per connection. `settings` is the flow's own JSON (page size, ...);
-- the scheduler enqueues a job when `enabled` and `next_run_at` has passed.
CREATE TABLE flow_settings (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    flow TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    interval_secs BIGINT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    next_run_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, flow)
);
CREATE INDEX flow_settings_due ON flow_settings(enabled, next_run_at);

-- The durable queue. A worker claims a job by setting status 'running', locked_by and a
-- lease (locked_until) it renews while working; an expired lease lets another worker take
-- the job over. At most one running job per store (its rate-limit budget is shared), and
-- at most one queued-or-running job per connection and flow.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT REFERENCES connections(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    store_hash TEXT,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE UNIQUE INDEX jobs_one_running_per_store ON jobs(store_hash) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_one_active_per_flow ON jobs(connection_id, kind) WHERE status IN ('queued', 'running');

-- One execution of a flow. `cursor` is the flow's checkpoint (JSON), so a run taken over
-- after a crash resumes where it stopped. Counts are of records (products for inventory).
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    flow TEXT NOT NULL,
    job_id BIGINT REFERENCES jobs(id) ON DELETE SET NULL,
    triggered_by TEXT NOT NULL CHECK (triggered_by IN ('schedule', 'manual')),
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    status TEXT NOT NULL CHECK (status IN ('running', 'retrying', 'succeeded', 'failed')),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    total BIGINT,
    done BIGINT NOT NULL DEFAULT 0,
    fetched BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    cursor TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_connection ON runs(tenant_id, connection_id, id);
CREATE INDEX runs_job ON runs(job_id);

-- Per-record outcomes worth showing (errors), never the whole catalog.
CREATE TABLE run_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('failed', 'skipped')),
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX run_items_run ON run_items(run_id, id);

-- The Get Inventory snapshot: what the store's catalog looked like after the last
-- successful run. `stock` is the level that counts (product- or variant-tracked; NULL when
-- inventory is not tracked).
CREATE TABLE inventory_products (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price REAL NOT NULL,
    inventory_level BIGINT NOT NULL,
    inventory_tracking TEXT NOT NULL,
    is_visible BOOLEAN NOT NULL,
    date_modified BIGINT NOT NULL,
    synced_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, product_id)
);
CREATE INDEX inventory_products_sku ON inventory_products(connection_id, sku);

CREATE TABLE inventory_variants (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    variant_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    label TEXT NOT NULL,
    price REAL,
    inventory_level BIGINT NOT NULL,
    stock BIGINT,
    PRIMARY KEY (connection_id, variant_id)
);
CREATE INDEX inventory_variants_product ON inventory_variants(connection_id, product_id);
CREATE INDEX inventory_variants_sku ON inventory_variants(connection_id, sku);

-- What a run fetched, before it is merged into the snapshot in one transaction at the
-- end: a run that fails leaves the snapshot as it was. Kept across a takeover.
CREATE TABLE inventory_staged_products (
    run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price REAL NOT NULL,
    inventory_level BIGINT NOT NULL,
    inventory_tracking TEXT NOT NULL,
    is_visible BOOLEAN NOT NULL,
    date_modified BIGINT NOT NULL,
    PRIMARY KEY (run_id, product_id)
);

CREATE TABLE inventory_staged_variants (
    run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    variant_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    label TEXT NOT NULL,
    price REAL,
    inventory_level BIGINT NOT NULL,
    stock BIGINT,
    PRIMARY KEY (run_id, variant_id)
);

-- Stock changes a run noticed, per variant: added, changed, removed.
CREATE TABLE inventory_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    run_id BIGINT REFERENCES runs(id) ON DELETE SET NULL,
    product_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('added', 'changed', 'removed')),
    old_stock BIGINT,
    new_stock BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX inventory_events_connection ON inventory_events(tenant_id, connection_id, id);
CREATE INDEX inventory_events_run ON inventory_events(run_id);
