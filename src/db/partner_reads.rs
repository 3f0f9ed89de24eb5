//! Read-only keyset queries the partner API pages with (`/api/v1`): inventory by variant id,
//! stock-change events by event id, runs by run id (newest first). Keyset, not offset, so a
//! walk stays stable while runs write: each row is seen once. Tenant id first, always.

use super::{Db, DbError, inventory::EventRow, on_pool, runs::RunRow};

/// One variant of the snapshot with its product's fields, as the API and CSV export give it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InventoryRow {
    pub variant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub product_name: String,
    /// The variant's option values as BigCommerce labels them (e.g. `Size: L`).
    pub options: String,
    pub inventory_level: i64,
    /// The level that counts (variant- or product-tracked); `None` when not tracked.
    pub stock: Option<i64>,
    pub price: f64,
    pub is_visible: bool,
    /// The product's last modification in the store (Unix seconds).
    pub updated_at: i64,
}

const INVENTORY_SELECT: &str = "SELECT v.variant_id, v.product_id, v.sku, p.name AS product_name, \
    v.label AS options, v.inventory_level, v.stock, COALESCE(v.price, p.price) AS price, p.is_visible, \
    p.date_modified AS updated_at FROM inventory_variants v JOIN inventory_products p \
    ON p.connection_id = v.connection_id AND p.product_id = v.product_id";

/// Up to `limit` variants with an id above `after`, by variant id.
pub async fn inventory_page(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<InventoryRow>, DbError> {
    let sql = format!(
        "{INVENTORY_SELECT} WHERE v.tenant_id = $1 AND v.connection_id = $2 AND v.variant_id > $3 \
         ORDER BY v.variant_id LIMIT $4"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InventoryRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(after).bind(limit).fetch_all(p).await)?,
    )
}

/// The variant with this SKU (the lowest variant id, should a store repeat a SKU).
pub async fn inventory_by_sku(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    sku: &str,
) -> Result<Option<InventoryRow>, DbError> {
    let sql = format!(
        "{INVENTORY_SELECT} WHERE v.tenant_id = $1 AND v.connection_id = $2 AND v.sku = $3 \
         ORDER BY v.variant_id LIMIT 1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, InventoryRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(sku).fetch_optional(p).await)?,
    )
}

/// Up to `limit` stock-change events with an id above `after`, oldest first. A connection's
/// events are written by one merge at a time (one active run per connection), so ids commit
/// in order and a cursor never skips one.
pub async fn events_page(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRow>, DbError> {
    let sql = "SELECT id, run_id, product_id, variant_id, sku, kind, old_stock, new_stock, created_at \
               FROM inventory_events WHERE tenant_id = $1 AND connection_id = $2 AND id > $3 \
               ORDER BY id LIMIT $4";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, EventRow>(sql).bind(tenant_id).bind(connection_id)
        .bind(after).bind(limit).fetch_all(p).await)?,
    )
}

const RUN_SELECT: &str = "SELECT r.id, r.tenant_id, r.connection_id, r.flow, r.job_id, r.triggered_by, r.mode, \
    r.status, r.started_at, r.finished_at, r.total, r.done, r.fetched, r.created, r.updated, r.unchanged, \
    r.deleted, r.skipped, r.failed, r.attempts, r.error, r.cursor, j.status AS job_status \
    FROM runs r LEFT JOIN jobs j ON j.id = r.job_id";

/// Up to `limit` runs of a connection with an id below `before` (`None`: the newest), newest first.
pub async fn runs_page(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<RunRow>, DbError> {
    let sql = format!(
        "{RUN_SELECT} WHERE r.tenant_id = $1 AND r.connection_id = $2 AND ($3 IS NULL OR r.id < $3) \
         ORDER BY r.id DESC LIMIT $4"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(before).bind(limit).fetch_all(p).await)?,
    )
}

/// The newest run of one flow of a connection, if any.
pub async fn last_run(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
) -> Result<Option<RunRow>, DbError> {
    let sql = format!(
        "{RUN_SELECT} WHERE r.tenant_id = $1 AND r.connection_id = $2 AND r.flow = $3 \
         ORDER BY r.id DESC LIMIT 1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(flow).fetch_optional(p).await)?,
    )
}
