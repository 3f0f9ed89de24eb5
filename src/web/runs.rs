//! A connection's runs: the history (25 a page), one run's detail (its per-record errors
//! and stock changes) and its progress as JSON, which `static/js/app.js` polls. A run is
//! shown only under its own connection and tenant; anything else is a 404.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::{
    extract::CurrentTenant,
    flows::{ConnectionNav, parse_page},
    render::{Layout, render},
};
use crate::{
    context::AppContext,
    db::{
        self,
        jobs::JobRow,
        runs::{RunItemRow, RunRow},
    },
    error::AppError,
};

const RUNS_PER_PAGE: i64 = 25;
const ITEMS_PER_PAGE: i64 = 50;

/// The status as people read it: a run whose job was given up says so.
pub fn status_label(run: &RunRow) -> String {
    if run.job_status.as_deref() == Some("dead") {
        let n = run.attempts;
        let s = if n == 1 { "" } else { "s" };
        format!("failed — gave up after {n} attempt{s}")
    } else {
        run.status.clone()
    }
}

/// `12s`, `3m 05s`, `1h 02m`.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A run as the pages show it.
pub struct RunView {
    pub id: i64,
    /// The flow's kind (its label once a page has named it).
    pub flow: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub trigger: String,
    pub mode: String,
    /// For the badge's CSS class.
    pub status: String,
    pub label: String,
    pub finished: bool,
    pub duration: String,
    pub total: Option<i64>,
    pub done: i64,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
    pub attempts: i32,
    pub error: Option<String>,
}

impl From<RunRow> for RunView {
    fn from(r: RunRow) -> Self {
        // A job given up on has ended its run, whatever the run row last said.
        let dead = r.job_status.as_deref() == Some("dead");
        Self {
            label: status_label(&r),
            finished: r.is_finished() || dead,
            duration: r
                .finished_at
                .map(|f| duration(f - r.started_at))
                .unwrap_or_else(|| "—".into()),
            id: r.id,
            flow: r.flow,
            started_at: r.started_at,
            finished_at: r.finished_at,
            trigger: r.triggered_by,
            mode: r.mode,
            status: if dead { "failed".into() } else { r.status },
            total: r.total,
            done: r.done,
            fetched: r.fetched,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            deleted: r.deleted,
            skipped: r.skipped,
            failed: r.failed,
            attempts: r.attempts,
            error: r.error,
        }
    }
}

impl RunView {
    /// "done of total records" (total unknown until the first page arrives).
    pub fn progress_text(&self) -> String {
        match self.total {
            Some(t) => format!("{} of {t} records", self.done),
            None => format!("{} records", self.done),
        }
    }

    /// The `max` of the progress bar (at least 1, so an empty catalog shows as complete).
    pub fn bar_max(&self) -> i64 {
        self.total.unwrap_or(0).max(self.done).max(1)
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "runs/index.html")]
struct IndexPage {
    layout: Layout,
    nav: ConnectionNav,
    runs: Vec<RunView>,
    /// The newest unfinished run on this page, whose row the browser keeps up to date.
    live_run: Option<i64>,
    /// Syncs queued for this connection that no worker has started yet, with their flow.
    waiting: Vec<(String, JobRow)>,
    now: i64,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
}

impl IndexPage {
    fn is_live(&self, id: &i64) -> bool {
        self.live_run == Some(*id)
    }
}

pub async fn list_runs(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let page = parse_page(query.page.as_deref())?;
    let nav = ConnectionNav::load(&tenant, &ctx, path.1, "runs").await?;
    let offset = (page - 1) * RUNS_PER_PAGE;
    let rows =
        db::runs::list_for_connection(&ctx.db, tenant.id(), path.1, RUNS_PER_PAGE, offset).await?;
    let count = db::runs::count_for_connection(&ctx.db, tenant.id(), path.1).await?;
    let runs: Vec<RunView> = rows
        .into_iter()
        .map(|row| {
            let mut view = RunView::from(row);
            view.flow = ctx.flows.label_of(&view.flow);
            view
        })
        .collect();
    // Queued, not yet started by a worker (a running job shows as its live run).
    let mut waiting = Vec::new();
    for flow in ctx.flows.all() {
        let job = db::jobs::active_sync(&ctx.db, tenant.id(), path.1, flow.kind()).await?;
        if let Some(job) = job.filter(|job| job.status == "queued") {
            waiting.push((flow.label().to_owned(), job));
        }
    }
    let href = |p: i64| format!("{}/runs?page={p}", nav.base);
    render(&IndexPage {
        layout: tenant.layout(&format!("Runs · {}", nav.name)),
        live_run: runs.iter().find(|r| !r.finished).map(|r| r.id),
        waiting,
        now: db::now(),
        prev: (page > 1).then(|| href(page - 1)),
        next: (offset + RUNS_PER_PAGE < count).then(|| href(page + 1)),
        page,
        runs,
        nav,
    })
}

/// The run, if it belongs to this tenant and connection.
async fn load_run(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    run_id: i64,
) -> Result<RunRow, AppError> {
    db::runs::find(&ctx.db, tenant_id, run_id)
        .await?
        .filter(|r| r.connection_id == connection_id)
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "runs/show.html")]
struct ShowPage {
    layout: Layout,
    nav: ConnectionNav,
    run: RunView,
    flow_label: String,
    items: Vec<RunItemRow>,
    items_prev: Option<String>,
    items_next: Option<String>,
    /// The flow's own section (its template's HTML).
    flow_detail: Option<String>,
    /// A failed run of a registered flow can be retried (owners and admins).
    can_retry: bool,
}

impl ShowPage {
    /// The mode a retry asks for: a full run again, or the flow's own choice.
    fn retry_mode(&self) -> &'static str {
        if self.run.mode == "full" {
            "full"
        } else {
            "auto"
        }
    }
}

pub async fn show_run(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    query: web::Query<PageQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, connection_id, run_id) = path.into_inner();
    let page = parse_page(query.page.as_deref())?;
    let nav = ConnectionNav::load(&tenant, &ctx, connection_id, "runs").await?;
    let run = load_run(&ctx, tenant.id(), connection_id, run_id).await?;
    let offset = (page - 1) * ITEMS_PER_PAGE;
    // One more than a page tells whether there is a next page.
    let mut items =
        db::runs::items(&ctx.db, tenant.id(), run.id, ITEMS_PER_PAGE + 1, offset).await?;
    let more = items.len() as i64 > ITEMS_PER_PAGE;
    items.truncate(ITEMS_PER_PAGE as usize);
    let flow = ctx.flows.find(&run.flow);
    let flow_detail = match flow {
        Some(flow) => flow.run_detail(&ctx, &run).await?,
        None => None,
    };
    let href = |p: i64| format!("{}/runs/{}?page={p}#run-items", nav.base, run.id);
    let flow_label = ctx.flows.label_of(&run.flow);
    let can_retry = flow.is_some() && tenant.actor.role.can_manage_members();
    render(&ShowPage {
        can_retry,
        layout: tenant.layout(&format!("Run {} · {}", run.id, nav.name)),
        items_prev: (page > 1).then(|| href(page - 1)),
        items_next: more.then(|| href(page + 1)),
        flow_label,
        run: run.into(),
        nav,
        items,
        flow_detail,
    })
}

/// What `GET …/runs/{run_id}/progress` answers.
#[derive(Debug, Serialize)]
pub struct ProgressJson {
    pub status: String,
    /// The status as shown (e.g. "failed — gave up after 3 attempts").
    pub label: String,
    pub done: i64,
    pub total: Option<i64>,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub finished: bool,
}

pub async fn run_progress(
    tenant: CurrentTenant,
    path: web::Path<(i64, i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (_, connection_id, run_id) = path.into_inner();
    let r = RunView::from(load_run(&ctx, tenant.id(), connection_id, run_id).await?);
    let body = ProgressJson {
        status: r.status,
        label: r.label,
        done: r.done,
        total: r.total,
        fetched: r.fetched,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        deleted: r.deleted,
        skipped: r.skipped,
        failed: r.failed,
        error: r.error,
        finished: r.finished,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(65), "1m 05s");
        assert_eq!(duration(3720), "1h 02m");
        assert_eq!(duration(-5), "0s");
    }
}
