//! `GET /api/v1/connections` and `/connections/{id}`: id, name, store hash, auth type,
//! status, and each flow with its last run. Never a secret (the row type holds none).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{PageQuery, auth::ApiCaller, json, next_cursor, problem::ApiError, runs::Run};
use crate::{
    context::AppContext,
    db::{self, connections::ConnectionRow},
};

/// A store connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Connection {
    pub id: i64,
    pub name: String,
    pub store_hash: String,
    /// `token`, `basic` or `oauth`.
    pub auth_type: String,
    /// `untested`, `healthy`, `failing` or `disabled`.
    pub status: String,
    pub flows: Vec<FlowSummary>,
}

/// A flow of a connection and its newest run.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowSummary {
    /// `inventory`.
    pub flow: String,
    pub enabled: bool,
    /// Minutes between scheduled runs, when a schedule was saved.
    pub interval_minutes: Option<i64>,
    pub last_run: Option<Run>,
}

/// One page of connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    pub data: Vec<Connection>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

async fn view(ctx: &AppContext, row: ConnectionRow) -> Result<Connection, ApiError> {
    let mut flows = Vec::new();
    for flow in ctx.flows.all() {
        let settings = db::flows::find(&ctx.db, row.tenant_id, row.id, flow.kind()).await?;
        let last = db::partner_reads::last_run(&ctx.db, row.tenant_id, row.id, flow.kind()).await?;
        flows.push(FlowSummary {
            flow: flow.kind().to_owned(),
            enabled: settings.as_ref().is_some_and(|s| s.enabled),
            interval_minutes: settings.map(|s| s.interval_secs / 60),
            last_run: last.map(Run::from),
        });
    }
    Ok(Connection {
        id: row.id,
        name: row.name,
        store_hash: row.store_hash,
        auth_type: row.auth_type,
        status: row.status,
        flows,
    })
}

/// Loads a connection the key may see, or 404 (another tenant's id is a 404 too).
pub async fn load(
    ctx: &AppContext,
    caller: &ApiCaller,
    id: i64,
) -> Result<ConnectionRow, ApiError> {
    caller.check_connection(id)?;
    db::connections::find(&ctx.db, caller.0.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The connections this key can see, by id.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of connections", body = ConnectionList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_connections(
    caller: ApiCaller,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let after = page.after.unwrap_or(0);
    let mut rows: Vec<ConnectionRow> = db::connections::list(&ctx.db, caller.0.tenant_id)
        .await?
        .into_iter()
        .filter(|c| c.id > after && caller.0.sees(c.id))
        .collect();
    rows.sort_by_key(|c| c.id);
    rows.truncate(usize::try_from(page.limit + 1).unwrap_or(usize::MAX));
    let next = next_cursor(&mut rows, page.limit, |c| c.id);
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        data.push(view(&ctx, row).await?);
    }
    Ok(json(&ConnectionList {
        data,
        next_cursor: next,
    }))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections",
    params(("id" = i64, Path, description = "Connection id")),
    responses(
        (status = 200, description = "The connection", body = Connection),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn show_connection(
    caller: ApiCaller,
    path: web::Path<i64>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let row = load(&ctx, &caller, path.into_inner()).await?;
    Ok(json(&view(&ctx, row).await?))
}
