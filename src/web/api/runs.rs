//! `GET /api/v1/connections/{id}/runs` (newest first), `/runs/{run_id}`, and
//! `POST /connections/{id}/flows/inventory/run` (run now; needs a `read_write` key).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    PageQuery, auth::ApiCaller, connections, json, next_cursor, problem::ApiError, rfc3339,
};
use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{self, runs::RunRow},
    domain::Role,
    flows::{self, FlowError, inventory::Inventory},
    jobs::RunMode,
};

/// A run of a flow.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub connection_id: i64,
    pub flow: String,
    /// `running`, `retrying`, `succeeded` or `failed`.
    pub status: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// `schedule` or `manual`.
    pub triggered_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub attempts: i32,
    pub error: Option<String>,
    pub counts: RunCounts,
}

/// What a run did, in records (products for inventory).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunCounts {
    pub total: Option<i64>,
    pub done: i64,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl From<RunRow> for Run {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            connection_id: r.connection_id,
            flow: r.flow,
            status: r.status,
            mode: r.mode,
            triggered_by: r.triggered_by,
            started_at: rfc3339(r.started_at),
            finished_at: r.finished_at.map(rfc3339),
            attempts: r.attempts,
            error: r.error,
            counts: RunCounts {
                total: r.total,
                done: r.done,
                fetched: r.fetched,
                created: r.created,
                updated: r.updated,
                unchanged: r.unchanged,
                deleted: r.deleted,
                skipped: r.skipped,
                failed: r.failed,
            },
        }
    }
}

/// One page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub data: Vec<Run>,
    pub next_cursor: Option<String>,
}

/// A queued run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunQueued {
    /// The job that will run it; the run appears under `/runs` once it starts.
    pub job_id: i64,
    /// Always `queued`.
    pub status: String,
}

/// A connection's runs, newest first.
#[utoipa::path(get, path = "/api/v1/connections/{id}/runs", tag = "runs",
    params(
        ("id" = i64, Path, description = "Connection id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Items per page (default 100)."),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of runs", body = RunList),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list_runs(
    caller: ApiCaller,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    let mut rows = db::partner_reads::runs_page(
        &ctx.db,
        caller.0.tenant_id,
        connection.id,
        page.after,
        page.limit + 1,
    )
    .await?;
    let next = next_cursor(&mut rows, page.limit, |r| r.id);
    Ok(json(&RunList {
        data: rows.into_iter().map(Run::from).collect(),
        next_cursor: next,
    }))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/connections/{id}/runs/{run_id}", tag = "runs",
    params(("id" = i64, Path, description = "Connection id"), ("run_id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run", body = Run),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn show_run(
    caller: ApiCaller,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let (id, run_id) = path.into_inner();
    let connection = connections::load(&ctx, &caller, id).await?;
    let run = db::runs::find(&ctx.db, caller.0.tenant_id, run_id)
        .await?
        .filter(|r| r.connection_id == connection.id)
        .ok_or(ApiError::NotFound)?;
    Ok(json(&Run::from(run)))
}

/// Queues a Get Inventory run now (the flow's usual choice of full or incremental).
#[utoipa::path(post, path = "/api/v1/connections/{id}/flows/inventory/run", tag = "runs",
    params(("id" = i64, Path, description = "Connection id")),
    responses(
        (status = 202, description = "The run is queued", body = RunQueued),
        (status = 401, description = "No valid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key is read-only", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A run is already queued or running, or the connection cannot run flows", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn run_inventory(
    caller: ApiCaller,
    path: web::Path<i64>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write()?;
    let connection = connections::load(&ctx, &caller, path.into_inner()).await?;
    // The flow service acts for a member; a key acts with admin rights in its tenant, as
    // the user who created it.
    let actor = Actor {
        tenant_id: caller.0.tenant_id,
        tenant_name: String::new(),
        user_id: caller.0.created_by.unwrap_or(0),
        email: format!("API key {}…", caller.0.prefix),
        role: Role::Admin,
    };
    match flows::run_now(&ctx, &actor, connection.id, &Inventory, RunMode::Auto).await {
        Ok(job_id) => Ok(HttpResponse::Accepted().json(RunQueued {
            job_id,
            status: "queued".into(),
        })),
        Err(FlowError::NotFound) => Err(ApiError::NotFound),
        Err(e @ (FlowError::AlreadyQueued | FlowError::NotAllowed(_))) => {
            Err(ApiError::Conflict(e.to_string()))
        }
        Err(FlowError::Db(e)) => Err(e.into()),
    }
}
