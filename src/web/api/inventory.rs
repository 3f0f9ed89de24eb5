//! Inventory reads: `/inventory` (one row per variant, keyset by variant id),
//! `/inventory/{sku}`, `/inventory/changes` (stock-change events in order; the cursor is
//! durable) and `/inventory.csv` (streamed).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    super::render::csv_attachment, PageQuery, auth::ApiCaller, connections, json, next_cursor,
    problem::ApiError, rfc3339,
};
use crate::{
    context::AppContext,
    db::{self, inventory::EventRow, partner_reads::InventoryRow},
    partner_api::export,
};

/// One variant of the connection's snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryItem {
    pub product_id: i64,
    pub variant_id: i64,
    pub sku: String,
    pub product_name: String,
    /// The variant's option values, as BigCommerce labels them.
    pub options: String,
    pub inventory_level: i64,
    /// The stock level that counts; `null` when the product does not track inventory.
    pub stock: Option<i64>,
    pub price: f64,
    pub visible: bool,
    /// When the product last changed in the store.
    pub updated_at: String,
}

impl From<InventoryRow> for InventoryItem {
    fn from(r: InventoryRow) -> Self {
        Self {
            product_id: r.product_id,
            variant_id: r.variant_id,
            sku: r.sku,
            product_name: r.product_name,
            options: r.options,
            inventory_level: r.inventory_level,
            stock: r.stock,
            price: r.price,
            visible: r.is_visible,
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryList {
    pub data: Vec<InventoryItem>,
    pub next_cursor: Option<String>,
}

/// A stock change a run noticed.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockChange {
    pub id: i64,
    pub run_id: Option<i64>,
    pub product_id: i64,
    pub variant_id: i64,
    pub sku: String,
    /// `added`, `changed` or `removed`.
    pub kind: String,
    pub old_stock: Option<i64>,
    pub new_stock: Option<i64>,
    pub created_at: String,
}

impl From<EventRow> for StockChange {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.id,
            run_id: e.run_id,
            product_id: e.product_id,
            variant_id: e.variant_id,
            sku: e.sku,
            kind: e.kind,
            old_stock: e.old_stock,
            new_stock: e.new_stock,
            created_at: rfc3339(e.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockChangeList {
    pub data: Vec<StockChange>,
    /// Always set (also on the last page), so polling with it later returns only newer
    /// changes; `null` only when there never was a change.
    pub next_cursor: Option<String>,
}

/// The connection's inventory, one row per variant, by variant id.
#[utoipa::path(get, path = "/api/v1/connections/{id}/inventory", tag = "inventory",
    params(
        ("id" = i64, Path, description = "Connection id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of variants", body = InventoryList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_inventory(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let mut rows = db::partner_reads::inventory_page(
        &ctx.db,
        caller.0.tenant_id,
        connection.id,
        page.after.unwrap_or(0),
        page.limit + 1,
    )
    .await?;
    let next = next_cursor(&mut rows, page.limit, |r| r.variant_id);
    Ok(json(&InventoryList {
        data: rows.into_iter().map(InventoryItem::from).collect(),
        next_cursor: next,
    }))
}

/// The variant with this SKU.
#[utoipa::path(get, path = "/api/v1/connections/{id}/inventory/{sku}", tag = "inventory",
    params(("id" = i64, Path, description = "Connection id"), ("sku" = String, Path, description = "Variant SKU")),
    responses(
        (status = 200, description = "The variant", body = InventoryItem),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such SKU or connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn show_sku(
    caller: ApiCaller,
    path: web::Path<(i64, String)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let (id, sku) = path.into_inner();
    let connection = connections::load(&ctx, &caller, id).await?;
    let row = db::partner_reads::inventory_by_sku(&ctx.db, caller.0.tenant_id, connection.id, &sku)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(json(&InventoryItem::from(row)))
}

/// Stock changes in the order runs recorded them. Keep `next_cursor` and poll with it:
/// each change is returned once.
#[utoipa::path(get, path = "/api/v1/connections/{id}/inventory/changes", tag = "inventory",
    params(
        ("id" = i64, Path, description = "Connection id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous poll."),
    ),
    responses(
        (status = 200, description = "The next changes", body = StockChangeList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_changes(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let rows = db::partner_reads::events_page(
        &ctx.db,
        caller.0.tenant_id,
        connection.id,
        page.after.unwrap_or(0),
        page.limit,
    )
    .await?;
    // The cursor always points after the last change seen (or stays where it was), so a
    // poller keeps it and never sees a change twice.
    let next = rows
        .last()
        .map(|e| e.id)
        .or(page.after)
        .map(super::encode_cursor);
    Ok(json(&StockChangeList {
        data: rows.into_iter().map(StockChange::from).collect(),
        next_cursor: next,
    }))
}

/// Every variant as CSV (streamed; the columns of `/inventory`).
#[utoipa::path(get, path = "/api/v1/connections/{id}/inventory.csv", tag = "inventory",
    params(("id" = i64, Path, description = "Connection id")),
    responses(
        (status = 200, description = "CSV with a header row", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn export_inventory(
    caller: ApiCaller,
    path: web::Path<i64>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    Ok(csv_response(&ctx, caller.0.tenant_id, connection.id))
}

/// The streamed CSV response (also used by the Products page download).
pub fn csv_response(ctx: &AppContext, tenant_id: i64, connection_id: i64) -> HttpResponse {
    csv_attachment(
        &format!("inventory-{connection_id}.csv"),
        export::inventory_csv(ctx.db.clone(), tenant_id, connection_id),
    )
}
