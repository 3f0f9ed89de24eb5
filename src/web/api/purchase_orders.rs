//! `POST /api/v1/connections/{id}/purchase-orders` (a `read_write` key; 201 new, 200 the
//! same PO again, 409 the same number with another body, 422 one entry per bad field),
//! `GET .../purchase-orders` (newest first, `status` filter, cursor) and
//! `GET .../purchase-orders/{po_number}`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PageQuery, auth::ApiCaller, connections, json, next_cursor, problem::ApiError};
use crate::{
    context::AppContext,
    db::purchase_orders as pos,
    flows::send_orders::{
        self, Intake, Submitter, po,
        view::{self, PurchaseOrderView},
    },
};

/// Every PO status.
pub const STATUSES: &[&str] = &[
    "received",
    "held",
    "sending",
    "sent",
    "failed",
    "cancelled",
    "partially_shipped",
    "shipped",
];

/// One page of purchase orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseOrderList {
    pub data: Vec<PurchaseOrderView>,
    pub next_cursor: Option<String>,
}

/// `?status=&limit=&cursor=`.
#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Submits a purchase order; `po_number` is the idempotency key.
#[utoipa::path(post, path = "/api/v1/connections/{id}/purchase-orders", tag = "purchase-orders",
    params(("id" = i64, Path, description = "Connection id")),
    request_body(content = Object, description = "The purchase order: po_number, customer {email, first_name, last_name, company, phone}, billing_address, shipping_address (optional, defaults to billing; plus shipping_method), lines [{sku, quantity, price}], shipping_cost, notes. Prices are decimal strings.", content_type = "application/json"),
    responses(
        (status = 201, description = "Accepted: a new purchase order", body = PurchaseOrderView),
        (status = 200, description = "The same po_number with the same body: the stored purchase order", body = PurchaseOrderView),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key is read-only", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The same po_number with a different body", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid purchase order: one entry per bad field (e.g. lines[1].sku)", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn create_purchase_order(
    caller: ApiCaller,
    path: web::Path<i64>,
    body: web::Bytes,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", format!("The body is not valid JSON: {e}.")))?;
    let po = po::parse(&value).map_err(ApiError::Invalid)?;
    let by = Submitter {
        source: "api",
        api_key_id: Some(caller.0.key_id),
        user_id: None,
    };
    match send_orders::submit(&ctx, &connection, &po, by).await? {
        Intake::Created(row) => Ok(HttpResponse::Created().json(view::load(&ctx, row).await?)),
        Intake::Same(row) => Ok(json(&view::load(&ctx, row).await?)),
        Intake::Changed(row) => Err(ApiError::Conflict(format!(
            "Purchase order {} was already received with a different body; send a new po_number for a new order.",
            row.po_number
        ))),
    }
}

/// A connection's purchase orders, newest first.
#[utoipa::path(get, path = "/api/v1/connections/{id}/purchase-orders", tag = "purchase-orders",
    params(
        ("id" = i64, Path, description = "Connection id"),
        ("status" = Option<String>, Query, description = "Only this status: received, held, sending, sent, failed, cancelled, partially_shipped, shipped."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of purchase orders", body = PurchaseOrderList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid status, limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_purchase_orders(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<ListQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let status = match query.status.as_deref() {
        None => None,
        Some(s) if STATUSES.contains(&s) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid(
                "status",
                format!("status must be one of {}.", STATUSES.join(", ")),
            ));
        }
    };
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let mut rows = pos::list(
        &ctx.db,
        caller.0.tenant_id,
        connection.id,
        status,
        None,
        page.after,
        page.limit + 1,
    )
    .await?;
    let next = next_cursor(&mut rows, page.limit, |r| r.id);
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        data.push(view::load(&ctx, row).await?);
    }
    Ok(json(&PurchaseOrderList {
        data,
        next_cursor: next,
    }))
}

/// One purchase order by its number.
#[utoipa::path(get, path = "/api/v1/connections/{id}/purchase-orders/{po_number}", tag = "purchase-orders",
    params(("id" = i64, Path, description = "Connection id"), ("po_number" = String, Path, description = "The PO number")),
    responses(
        (status = 200, description = "The purchase order", body = PurchaseOrderView),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such purchase order for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn show_purchase_order(
    caller: ApiCaller,
    path: web::Path<(i64, String)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let (id, po_number) = path.into_inner();
    let connection = connections::load(&ctx, &caller, id).await?;
    let row = pos::find_by_number(&ctx.db, caller.0.tenant_id, connection.id, &po_number)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(json(&view::load(&ctx, row).await?))
}
