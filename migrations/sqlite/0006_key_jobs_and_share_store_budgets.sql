-- The flow engine: jobs of one store run side by side and share the store's rate-limit
-- budget, instead of waiting for each other; jobs are deduplicated by a key of their own.

-- Was: one running job per store. A purchase order must not wait behind a long sync; the
-- store's quota is now kept by `store_budgets`, which every job of the store draws from.
DROP INDEX jobs_one_running_per_store;

-- Was: one queued-or-running job per connection and kind, which cannot hold one job per
-- webhook delivery or per purchase order. Now each job may carry a key (a scheduled sync:
-- `sync:<connection id>`; an event: e.g. `po:<id>`), and one key is queued or running at
-- most once per kind. Jobs without a key are never deduplicated.
DROP INDEX jobs_one_active_per_flow;
ALTER TABLE jobs ADD COLUMN job_key TEXT;
UPDATE jobs SET job_key = 'sync:' || CAST(connection_id AS TEXT) WHERE connection_id IS NOT NULL;
CREATE UNIQUE INDEX jobs_one_active_per_key ON jobs(kind, job_key)
    WHERE status IN ('queued', 'running') AND job_key IS NOT NULL;
CREATE INDEX jobs_connection ON jobs(tenant_id, connection_id, kind, status);

-- One row per store hash: what every process sending to that store knows of its window.
-- `requests_left` counts down as requests are sent; `resets_at` (unix ms) is when the
-- window refills to `quota`. BigCommerce's own X-Rate-Limit-* headers correct both on
-- every response, since other apps on the store spend the same quota. Not tenant data:
-- two tenants connected to one store share its quota too.
CREATE TABLE store_budgets (
    store_hash TEXT PRIMARY KEY,
    quota BIGINT NOT NULL,
    window_ms BIGINT NOT NULL,
    requests_left BIGINT NOT NULL,
    resets_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
