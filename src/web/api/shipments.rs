//! Shipment reads: `/shipments` (every connection the key sees) and
//! `/connections/{id}/shipments`, keyset by cartbridge's shipment id, oldest first, so a
//! partner polling with the last `next_cursor` sees each new shipment once (an update
//! changes the row in place; `shipment.updated` tells about it).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{PageQuery, auth::ApiCaller, connections, json, next_cursor, problem::ApiError};
use crate::{
    context::AppContext,
    db::{
        self,
        shipments::{Filter, ShipmentView},
    },
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentList {
    pub data: Vec<ShipmentView>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Shipments of every connection this key may see, oldest first.
#[utoipa::path(get, path = "/api/v1/shipments", tag = "shipments",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of shipments", body = ShipmentList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_shipments(
    caller: ApiCaller,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let filter = Filter {
        connections: caller.0.connections.as_deref(),
        ..Filter::default()
    };
    list(&ctx, &caller, &filter, page).await
}

/// The connection's shipments, oldest first.
#[utoipa::path(get, path = "/api/v1/connections/{id}/shipments", tag = "shipments",
    params(
        ("id" = i64, Path, description = "Connection id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of shipments", body = ShipmentList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_connection_shipments(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let filter = Filter {
        connection_id: Some(connection.id),
        ..Filter::default()
    };
    list(&ctx, &caller, &filter, page).await
}

async fn list(
    ctx: &AppContext,
    caller: &ApiCaller,
    filter: &Filter<'_>,
    page: super::PageRequest,
) -> Result<HttpResponse, ApiError> {
    let mut rows = db::shipments::page(
        &ctx.db,
        caller.0.tenant_id,
        filter,
        page.after.unwrap_or(0),
        page.limit + 1,
    )
    .await?;
    let next = next_cursor(&mut rows, page.limit, |r| r.id);
    Ok(json(&ShipmentList {
        data: rows,
        next_cursor: next,
    }))
}
