//! What a Get Inventory run fetched (`inventory_staged_*`), and the end-of-run merge into
//! the snapshot. Each page is staged with its run items and checkpoint in one transaction,
//! so a resumed run continues exactly after the last staged page. The merge is one write
//! transaction of set-based statements (no per-row round trips): counts, events, deletions,
//! upserts, then the run's final counts and status. A run that never merges leaves the
//! snapshot untouched.

use super::super::{BeginWrite, Db, DbError, now, on_pool, webhooks::Outbox};

/// Rows per multi-row INSERT (keeps bind parameters far below both engines' limits).
const ROWS_PER_INSERT: usize = 400;

/// A product as fetched, for staging.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedProduct {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub price: f64,
    pub inventory_level: i64,
    pub inventory_tracking: String,
    pub is_visible: bool,
    pub date_modified: i64,
}

/// A variant as fetched; `stock` is the level that counts (see the snapshot's `stock`).
#[derive(Debug, Clone, PartialEq)]
pub struct StagedVariant {
    pub variant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub label: String,
    pub price: Option<f64>,
    pub inventory_level: i64,
    pub stock: Option<i64>,
}

/// A record of the page that could not be read (becomes a `failed` run item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    pub external_id: String,
    pub message: String,
}

/// One fetched page, ready to stage.
#[derive(Debug, Clone, Default)]
pub struct StagedPage {
    pub products: Vec<StagedProduct>,
    pub variants: Vec<StagedVariant>,
    pub failures: Vec<FailedRecord>,
}

/// How the merge treats what was staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergePlan {
    /// A full run: snapshot products that were not fetched are deleted.
    pub full: bool,
    /// Staged hidden products are not kept (and are removed from the snapshot).
    pub skip_hidden: bool,
    /// Record inventory events (not on the first run: the snapshot is then the baseline).
    pub record_events: bool,
}

/// What the merge found, in products (events are per variant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub events: i64,
}

/// Stages one page of run `run_id` (upserting on the staging keys, so a page fetched again
/// after a crash replaces itself), records its failed records as run items and saves the
/// run's progress and cursor, in one transaction.
pub async fn stage_page(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    page: &StagedPage,
    progress: &crate::db::runs::Progress,
    cursor: &str,
) -> Result<(), DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        for chunk in page.products.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO inventory_staged_products (run_id, product_id, sku, name, price, \
                 inventory_level, inventory_tracking, is_visible, date_modified) ",
            );
            q.push_values(chunk, |mut row, r| {
                row.push_bind(run_id).push_bind(r.product_id).push_bind(r.sku.as_str())
                    .push_bind(r.name.as_str()).push_bind(r.price).push_bind(r.inventory_level)
                    .push_bind(r.inventory_tracking.as_str()).push_bind(r.is_visible)
                    .push_bind(r.date_modified);
            });
            q.push(" ON CONFLICT (run_id, product_id) DO UPDATE SET sku = excluded.sku, \
                    name = excluded.name, price = excluded.price, \
                    inventory_level = excluded.inventory_level, \
                    inventory_tracking = excluded.inventory_tracking, \
                    is_visible = excluded.is_visible, date_modified = excluded.date_modified");
            q.build().execute(&mut *tx).await?;
        }
        for chunk in page.variants.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO inventory_staged_variants (run_id, variant_id, product_id, sku, \
                 label, price, inventory_level, stock) ",
            );
            q.push_values(chunk, |mut row, r| {
                row.push_bind(run_id).push_bind(r.variant_id).push_bind(r.product_id)
                    .push_bind(r.sku.as_str()).push_bind(r.label.as_str()).push_bind(r.price)
                    .push_bind(r.inventory_level).push_bind(r.stock);
            });
            q.push(" ON CONFLICT (run_id, variant_id) DO UPDATE SET product_id = excluded.product_id, \
                    sku = excluded.sku, label = excluded.label, price = excluded.price, \
                    inventory_level = excluded.inventory_level, stock = excluded.stock");
            q.build().execute(&mut *tx).await?;
        }
        for chunk in page.failures.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO run_items (run_id, tenant_id, external_id, outcome, message, created_at) ",
            );
            q.push_values(chunk, |mut row, f| {
                row.push_bind(run_id).push_bind(tenant_id).push_bind(f.external_id.as_str())
                    .push_bind("failed").push_bind(f.message.as_str()).push_bind(at);
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE runs SET total = $1, done = $2, fetched = $3, skipped = $4, failed = $5, \
             cursor = $6 WHERE tenant_id = $7 AND id = $8",
        )
        .bind(progress.total).bind(progress.done).bind(progress.fetched).bind(progress.skipped)
        .bind(progress.failed).bind(cursor).bind(tenant_id).bind(run_id)
        .execute(&mut *tx).await?;
        tx.commit().await
    })?;
    Ok(())
}

/// Snapshot products that run `run_id` has not staged, by id after `after`, at most
/// `limit`: what a full run would delete, for it to ask BigCommerce about them first.
pub async fn unstaged_snapshot_ids(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    run_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let sql = "SELECT p.product_id FROM inventory_products p WHERE p.tenant_id = $1 \
               AND p.connection_id = $2 AND p.product_id > $4 AND NOT EXISTS \
               (SELECT 1 FROM inventory_staged_products sp WHERE sp.run_id = $3 \
               AND sp.product_id = p.product_id) ORDER BY p.product_id LIMIT $5";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(connection_id)
        .bind(run_id).bind(after).bind(limit).fetch_all(p).await)?,
    )
}

/// Deletes what run `run_id` staged (a failed run's leftovers).
pub async fn discard_staging(db: &Db, tenant_id: i64, run_id: i64) -> Result<(), DbError> {
    let mine = "run_id = $2 AND EXISTS (SELECT 1 FROM runs r WHERE r.id = $2 AND r.tenant_id = $1)";
    let products = format!("DELETE FROM inventory_staged_products WHERE {mine}");
    let variants = format!("DELETE FROM inventory_staged_variants WHERE {mine}");
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(&variants).bind(tenant_id).bind(run_id).execute(&mut *tx).await?;
        sqlx::query(&products).bind(tenant_id).bind(run_id).execute(&mut *tx).await?;
        tx.commit().await
    })?;
    Ok(())
}

/// A statement of the merge and how many of `[run id, tenant id, connection id, now]`
/// (`$1`..`$4`) it binds.
type Statement = (String, usize);

/// The merge's statements for one backend and plan.
struct MergeSql {
    created: Statement,
    updated: Statement,
    kept: Statement,
    events: Vec<Statement>,
    delete_variants: Statement,
    /// `None` when no product can leave the snapshot (an incremental run keeping hidden ones).
    delete_products: Option<Statement>,
    /// Upserts from staging, then the staging cleared.
    upserts: Vec<Statement>,
}

impl MergeSql {
    /// `postgres` picks the null-safe comparison (`IS DISTINCT FROM`; SQLite: `IS NOT`).
    fn new(plan: MergePlan, postgres: bool) -> Self {
        let differs = |a: &str, b: &str| {
            if postgres {
                format!("{a} IS DISTINCT FROM {b}")
            } else {
                format!("{a} IS NOT {b}")
            }
        };
        // Staged products the snapshot keeps (`sp`).
        let kept_sp = if plan.skip_hidden {
            "sp.run_id = $1 AND sp.is_visible"
        } else {
            "sp.run_id = $1"
        };
        let is_kept = |product_id: &str| {
            format!(
                "EXISTS (SELECT 1 FROM inventory_staged_products sp WHERE {kept_sp} \
                 AND sp.product_id = {product_id})"
            )
        };
        // Snapshot products that leave the snapshot: in a full run every product not
        // fetched (or hidden, when skipped); in an incremental run the fetched products
        // now hidden, when hidden ones are skipped.
        let is_gone = |product_id: &str| {
            if plan.full {
                Some(format!("NOT {}", is_kept(product_id)))
            } else if plan.skip_hidden {
                Some(format!(
                    "EXISTS (SELECT 1 FROM inventory_staged_products sp WHERE sp.run_id = $1 \
                     AND NOT sp.is_visible AND sp.product_id = {product_id})"
                ))
            } else {
                None
            }
        };
        let snapshot_v = "v.tenant_id = $2 AND v.connection_id = $3";
        let snapshot_p = "p.tenant_id = $2 AND p.connection_id = $3";
        // Snapshot variants that leave the snapshot: those of a gone product, and those no
        // longer among the variants of a fetched product.
        let missing_v = format!(
            "({} AND NOT EXISTS (SELECT 1 FROM inventory_staged_variants sv \
             WHERE sv.run_id = $1 AND sv.variant_id = v.variant_id))",
            is_kept("v.product_id")
        );
        let removed_v = match is_gone("v.product_id") {
            Some(gone) => format!("{snapshot_v} AND ({gone} OR {missing_v})"),
            None => format!("{snapshot_v} AND {missing_v}"),
        };
        let kept_sv = format!("sv.run_id = $1 AND {}", is_kept("sv.product_id"));
        let same_variant = format!(
            "v.product_id = sv.product_id AND v.sku = sv.sku AND v.label = sv.label \
             AND NOT ({}) AND v.inventory_level = sv.inventory_level AND NOT ({})",
            differs("v.price", "sv.price"),
            differs("v.stock", "sv.stock"),
        );
        // Fetched products already in the snapshot that differ from it: a column, a new or
        // different variant, or a variant no longer there. A union of (anti-)joins, which
        // both engines run as set operations, not a nested scan per product.
        let changed_products = format!(
            "SELECT sp.product_id FROM inventory_staged_products sp JOIN inventory_products p \
                 ON {snapshot_p} AND p.product_id = sp.product_id WHERE {kept_sp} AND ( \
                 p.sku <> sp.sku OR p.name <> sp.name OR p.price <> sp.price \
                 OR p.inventory_level <> sp.inventory_level \
                 OR p.inventory_tracking <> sp.inventory_tracking \
                 OR p.is_visible <> sp.is_visible OR p.date_modified <> sp.date_modified) \
             UNION SELECT sv.product_id FROM inventory_staged_variants sv WHERE {kept_sv} \
                 AND EXISTS (SELECT 1 FROM inventory_products p WHERE {snapshot_p} \
                     AND p.product_id = sv.product_id) \
                 AND NOT EXISTS (SELECT 1 FROM inventory_variants v WHERE {snapshot_v} \
                     AND v.variant_id = sv.variant_id AND {same_variant}) \
             UNION SELECT v.product_id FROM inventory_variants v WHERE {snapshot_v} \
                 AND {} AND NOT EXISTS (SELECT 1 FROM inventory_staged_variants sv \
                     WHERE sv.run_id = $1 AND sv.variant_id = v.variant_id)",
            is_kept("v.product_id")
        );
        let event_cols = "INSERT INTO inventory_events (tenant_id, connection_id, run_id, \
             product_id, variant_id, sku, kind, old_stock, new_stock, created_at)";
        let events = if plan.record_events {
            vec![
                format!(
                    "{event_cols} SELECT $2, $3, $1, sv.product_id, sv.variant_id, sv.sku, 'added', \
                     CAST(NULL AS BIGINT), sv.stock, $4 FROM inventory_staged_variants sv \
                     WHERE {kept_sv} AND NOT EXISTS (SELECT 1 FROM inventory_variants v \
                         WHERE {snapshot_v} AND v.variant_id = sv.variant_id) \
                     ORDER BY sv.variant_id"
                ),
                format!(
                    "{event_cols} SELECT $2, $3, $1, sv.product_id, sv.variant_id, sv.sku, 'changed', \
                     v.stock, sv.stock, $4 FROM inventory_staged_variants sv \
                     JOIN inventory_variants v ON {snapshot_v} AND v.variant_id = sv.variant_id \
                     WHERE {kept_sv} AND {} ORDER BY sv.variant_id",
                    differs("v.stock", "sv.stock")
                ),
                format!(
                    "{event_cols} SELECT $2, $3, $1, v.product_id, v.variant_id, v.sku, 'removed', \
                     v.stock, CAST(NULL AS BIGINT), $4 FROM inventory_variants v \
                     WHERE {removed_v} ORDER BY v.variant_id"
                ),
            ]
            .into_iter()
            .map(|q| (q, 4))
            .collect()
        } else {
            Vec::new()
        };
        let delete_variants = (
            format!(
                "DELETE FROM inventory_variants WHERE tenant_id = $2 AND connection_id = $3 \
                 AND variant_id IN (SELECT v.variant_id FROM inventory_variants v WHERE {removed_v})"
            ),
            3,
        );
        let delete_products = is_gone("p.product_id").map(|gone| {
            (
                format!(
                    "DELETE FROM inventory_products WHERE tenant_id = $2 AND connection_id = $3 \
                     AND product_id IN (SELECT p.product_id FROM inventory_products p \
                         WHERE {snapshot_p} AND {gone})"
                ),
                3,
            )
        });
        let mut upserts = vec![(
            format!(
                "INSERT INTO inventory_products (tenant_id, connection_id, product_id, sku, name, \
                 price, inventory_level, inventory_tracking, is_visible, date_modified, synced_at) \
                 SELECT $2, $3, sp.product_id, sp.sku, sp.name, sp.price, sp.inventory_level, \
                 sp.inventory_tracking, sp.is_visible, sp.date_modified, $4 \
                 FROM inventory_staged_products sp WHERE {kept_sp} \
                 ON CONFLICT (connection_id, product_id) DO UPDATE SET sku = excluded.sku, \
                 name = excluded.name, price = excluded.price, \
                 inventory_level = excluded.inventory_level, \
                 inventory_tracking = excluded.inventory_tracking, \
                 is_visible = excluded.is_visible, date_modified = excluded.date_modified, \
                 synced_at = excluded.synced_at"
            ),
            4,
        )];
        upserts.push((
            format!(
                "INSERT INTO inventory_variants (tenant_id, connection_id, variant_id, product_id, \
                 sku, label, price, inventory_level, stock) \
                 SELECT $2, $3, sv.variant_id, sv.product_id, sv.sku, sv.label, sv.price, \
                 sv.inventory_level, sv.stock FROM inventory_staged_variants sv WHERE {kept_sv} \
                 ON CONFLICT (connection_id, variant_id) DO UPDATE SET \
                 product_id = excluded.product_id, sku = excluded.sku, label = excluded.label, \
                 price = excluded.price, inventory_level = excluded.inventory_level, \
                 stock = excluded.stock"
            ),
            3,
        ));
        upserts.push((
            "DELETE FROM inventory_staged_variants WHERE run_id = $1".to_owned(),
            1,
        ));
        upserts.push((
            "DELETE FROM inventory_staged_products WHERE run_id = $1".to_owned(),
            1,
        ));
        Self {
            created: (
                format!(
                    "SELECT COUNT(*) FROM inventory_staged_products sp WHERE {kept_sp} \
                     AND NOT EXISTS (SELECT 1 FROM inventory_products p WHERE {snapshot_p} \
                         AND p.product_id = sp.product_id)"
                ),
                3,
            ),
            updated: (
                format!("SELECT COUNT(*) FROM ({changed_products}) changed"),
                3,
            ),
            kept: (
                format!("SELECT COUNT(*) FROM inventory_staged_products sp WHERE {kept_sp}"),
                1,
            ),
            events,
            delete_variants,
            delete_products,
            upserts,
        }
    }
}

/// Binds the first `n` of `params` to `$1`..`$n` (all are `BIGINT`).
macro_rules! bound {
    ($query:expr, $params:expr, $n:expr) => {{
        let mut q = $query;
        for value in &$params[..$n] {
            q = q.bind(*value);
        }
        q
    }};
}

/// Merges what run `run_id` staged into the connection's snapshot, marks the run
/// `succeeded` with its counts and writes its `inventory.changed` webhook events to the
/// outbox, all in one write transaction (so no stock change is ever merged without its
/// event). Returns the counts and the new webhook deliveries to queue. `DbError::Conflict`
/// if the run is no longer `running` (another process finished it); nothing changes then.
pub async fn merge(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    run_id: i64,
    plan: MergePlan,
) -> Result<(MergeCounts, Vec<i64>), DbError> {
    let sql = MergeSql::new(plan, matches!(db, Db::Postgres(_)));
    let at = now();
    let params = [run_id, tenant_id, connection_id, at];
    let guard = "UPDATE runs SET status = 'succeeded', error = NULL, finished_at = $4 \
                 WHERE id = $1 AND tenant_id = $2 AND connection_id = $3 AND status = 'running'";
    let finish = "UPDATE runs SET created = $1, updated = $2, unchanged = $3, deleted = $4 \
                  WHERE id = $5 AND tenant_id = $6";
    if let Db::Postgres(p) = db {
        // Fresh statistics: a just-filled staging table (or a first snapshot) looks empty
        // to the planner otherwise, and it would pick nested scans for the merge's joins.
        // Best effort: without them the merge is slower, not wrong.
        let analyze = "ANALYZE inventory_staged_products, inventory_staged_variants, \
                       inventory_products, inventory_variants";
        if let Err(e) = sqlx::query(analyze).execute(p).await {
            tracing::warn!(error = %e, "could not analyze the inventory tables");
        }
    }
    let counts = on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let won = bound!(sqlx::query(guard), params, 4).execute(&mut *tx).await?.rows_affected();
        if won == 0 {
            tx.rollback().await?;
            return Err(DbError::Conflict);
        }
        let mut counts = MergeCounts::default();
        for (target, (q, n)) in [
            (&mut counts.created, &sql.created),
            (&mut counts.updated, &sql.updated),
            (&mut counts.unchanged, &sql.kept),
        ] {
            *target = bound!(sqlx::query_scalar::<_, i64>(q), params, *n)
                .fetch_one(&mut *tx)
                .await?;
        }
        counts.unchanged -= counts.created + counts.updated;
        for (q, n) in &sql.events {
            let added = bound!(sqlx::query(q), params, *n).execute(&mut *tx).await?;
            counts.events += i64::try_from(added.rows_affected()).unwrap_or(i64::MAX);
        }
        let deliveries = tx.insert_inventory_changed(tenant_id, connection_id, run_id).await?;
        let (q, n) = &sql.delete_variants;
        bound!(sqlx::query(q), params, *n).execute(&mut *tx).await?;
        if let Some((q, n)) = &sql.delete_products {
            let gone = bound!(sqlx::query(q), params, *n).execute(&mut *tx).await?;
            counts.deleted = i64::try_from(gone.rows_affected()).unwrap_or(i64::MAX);
        }
        for (q, n) in &sql.upserts {
            bound!(sqlx::query(q), params, *n).execute(&mut *tx).await?;
        }
        sqlx::query(finish).bind(counts.created).bind(counts.updated).bind(counts.unchanged)
            .bind(counts.deleted).bind(run_id).bind(tenant_id).execute(&mut *tx).await?;
        tx.commit().await?;
        (counts, deliveries)
    });
    Ok(counts)
}
