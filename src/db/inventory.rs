//! The Get Inventory snapshot (`inventory_products`, `inventory_variants`), the staging
//! tables a run fills, and `inventory_events`. Every function on tenant data takes the
//! tenant id first. Staging and the end-of-run merge live in `staging`.

mod staging;

pub use staging::{
    FailedRecord, MergeCounts, MergePlan, StagedPage, StagedProduct, StagedVariant,
    discard_staging, merge, stage_page, unstaged_snapshot_ids,
};

use super::{Db, DbError, on_pool};

/// Columns of `ProductRow`, from `inventory_products p` (variant count and stock computed).
const PRODUCT_SELECT: &str = "SELECT p.product_id, p.sku, p.name, p.price, p.inventory_level, \
    p.inventory_tracking, p.is_visible, p.date_modified, p.synced_at, \
    (SELECT COUNT(*) FROM inventory_variants v WHERE v.connection_id = p.connection_id \
     AND v.product_id = p.product_id) AS variant_count, \
    CASE p.inventory_tracking WHEN 'none' THEN NULL WHEN 'product' THEN p.inventory_level \
    ELSE (SELECT CAST(SUM(v.stock) AS BIGINT) FROM inventory_variants v \
          WHERE v.connection_id = p.connection_id AND v.product_id = p.product_id) END AS stock \
    FROM inventory_products p";

/// The search filter on `inventory_products p`: `$3` is a `LIKE` pattern (lowercase) or NULL.
const PRODUCT_SEARCH: &str = "p.tenant_id = $1 AND p.connection_id = $2 AND ($3 IS NULL \
    OR LOWER(p.sku) LIKE $3 ESCAPE '\\' OR LOWER(p.name) LIKE $3 ESCAPE '\\' \
    OR EXISTS (SELECT 1 FROM inventory_variants v WHERE v.connection_id = p.connection_id \
       AND v.product_id = p.product_id AND LOWER(v.sku) LIKE $3 ESCAPE '\\'))";

/// `search` as a case-insensitive "contains" pattern, `%`, `_` and `\\` matched literally.
fn like_pattern(search: Option<&str>) -> Option<String> {
    let search = search.map(str::trim).filter(|s| !s.is_empty())?;
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}

/// A product of the snapshot, as listed on the Products page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub price: f64,
    pub inventory_level: i64,
    pub inventory_tracking: String,
    pub is_visible: bool,
    pub date_modified: i64,
    pub synced_at: i64,
    /// Variants of the product in the snapshot.
    pub variant_count: i64,
    /// Stock summed over the product's variants (or the product's level), `None` when not tracked.
    pub stock: Option<i64>,
}

/// A variant of the snapshot.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VariantRow {
    pub variant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub label: String,
    pub price: Option<f64>,
    pub inventory_level: i64,
    pub stock: Option<i64>,
}

/// One page of the snapshot's products, by product id; `search` (if any) matches the
/// product's SKU or name, or a variant's SKU, case-insensitively.
pub async fn list_products(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ProductRow>, DbError> {
    let sql =
        format!("{PRODUCT_SELECT} WHERE {PRODUCT_SEARCH} ORDER BY p.product_id LIMIT $4 OFFSET $5");
    let pattern = like_pattern(search);
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, ProductRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(pattern.as_deref()).bind(limit).bind(offset).fetch_all(p).await)?,
    )
}

/// How many products `list_products` would find without paging.
pub async fn count_products(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    search: Option<&str>,
) -> Result<i64, DbError> {
    let sql = format!("SELECT COUNT(*) FROM inventory_products p WHERE {PRODUCT_SEARCH}");
    let pattern = like_pattern(search);
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(&sql).bind(tenant_id).bind(connection_id)
        .bind(pattern.as_deref()).fetch_one(p).await)?,
    )
}

/// The variants of the given products (for the Products page).
pub async fn variants_of(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    product_ids: &[i64],
) -> Result<Vec<VariantRow>, DbError> {
    let mut rows = Vec::new();
    for ids in product_ids.chunks(500) {
        let chunk = on_pool!(db, p => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT variant_id, product_id, sku, label, price, inventory_level, stock \
                 FROM inventory_variants WHERE tenant_id = ",
            );
            q.push_bind(tenant_id).push(" AND connection_id = ").push_bind(connection_id);
            q.push(" AND product_id IN (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(") ORDER BY product_id, variant_id");
            q.build_query_as::<VariantRow>().fetch_all(p).await
        })?;
        rows.extend(chunk);
    }
    Ok(rows)
}

/// A stock change a run recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub run_id: Option<i64>,
    pub product_id: i64,
    pub variant_id: i64,
    pub sku: String,
    /// `added`, `changed` or `removed`.
    pub kind: String,
    pub old_stock: Option<i64>,
    pub new_stock: Option<i64>,
    pub created_at: i64,
}

/// The events one run recorded, oldest first, one page.
pub async fn events_of_run(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<EventRow>, DbError> {
    let sql = "SELECT id, run_id, product_id, variant_id, sku, kind, old_stock, new_stock, created_at \
               FROM inventory_events WHERE tenant_id = $1 AND run_id = $2 ORDER BY id LIMIT $3 OFFSET $4";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, EventRow>(sql).bind(tenant_id).bind(run_id)
        .bind(limit).bind(offset).fetch_all(p).await)?,
    )
}

/// The newest stock changes of the given products' variants (the Products page's history),
/// newest first, at most `limit` in all.
pub async fn recent_events_of_products(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    product_ids: &[i64],
    limit: i64,
) -> Result<Vec<EventRow>, DbError> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = on_pool!(db, p => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, run_id, product_id, variant_id, sku, kind, old_stock, new_stock, created_at \
             FROM inventory_events WHERE tenant_id = ",
        );
        q.push_bind(tenant_id).push(" AND connection_id = ").push_bind(connection_id);
        q.push(" AND product_id IN (");
        let mut list = q.separated(", ");
        for id in product_ids.iter().take(500) {
            list.push_bind(*id);
        }
        q.push(") ORDER BY id DESC LIMIT ").push_bind(limit);
        q.build_query_as::<EventRow>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// How many events one run recorded.
pub async fn count_events_of_run(db: &Db, tenant_id: i64, run_id: i64) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM inventory_events WHERE tenant_id = $1 AND run_id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(run_id).fetch_one(p).await)?,
    )
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn search_patterns_are_lowercase_contains_with_wildcards_escaped() {
        assert_eq!(like_pattern(Some(" Shirt ")).as_deref(), Some("%shirt%"));
        assert_eq!(
            like_pattern(Some("50%_off\\")).as_deref(),
            Some("%50\\%\\_off\\\\%")
        );
        assert_eq!(like_pattern(Some("  ")), None);
        assert_eq!(like_pattern(None), None);
    }
}
