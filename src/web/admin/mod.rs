//! The support-staff area (`/admin`): only staff can see it; everyone else gets 404 (the
//! `StaffUser` extractor). Tenants with search, a tenant's users, connections, flows and
//! runs, "needs attention" across tenants, the job queue, the audit log, and the support
//! actions (each with a reason, each writing one audit entry). Nothing here reads a secret:
//! the pages show records and statuses only, and `tests/web/admin.rs` checks that this
//! module and `crate::admin` have no path to the vault.

mod actions;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use self::actions::Action;
use super::{
    extract::StaffUser,
    render::{Layout, render},
};
use crate::{
    admin::{self, AdminError, TenantDetail, attention},
    connections::health::Health,
    context::AppContext,
    db::{
        self,
        admin::{DueJob, KindDepth, TenantSummary},
        audit::{Filter, LogRow},
        jobs::{DeadJobRow, JobCounts},
        runs::{RunItemRow, RunRow},
    },
    error::AppError,
};

/// Declares the staff routes once: registers them and exports `ADMIN_ROUTES`, which the
/// access test walks (every route 404 for tenant users, 200 for staff).
macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every staff route: (HTTP method, path).
        pub const ADMIN_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers the staff routes.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

admin_routes! {
    get "/admin" => index,
    get "/admin/tenants" => tenants,
    get "/admin/tenants/{tenant_id}" => tenant,
    get "/admin/tenants/{tenant_id}/runs/{run_id}" => run,
    get "/admin/jobs" => jobs,
    get "/admin/audit" => audit_log,
    post "/admin/jobs/{job_id}/retry" => Action::RetryJob,
    post "/admin/tenants/{tenant_id}/connections/{connection_id}/disable" => Action::DisableConnection,
    post "/admin/tenants/{tenant_id}/connections/{connection_id}/enable" => Action::EnableConnection,
    post "/admin/tenants/{tenant_id}/connections/{connection_id}/flows/{flow}/disable" => Action::DisableFlow,
    post "/admin/tenants/{tenant_id}/connections/{connection_id}/flows/{flow}/enable" => Action::EnableFlow,
    post "/admin/tenants/{tenant_id}/runs/{run_id}/retry" => Action::RetryRun,
    post "/admin/tenants/{tenant_id}/users/{user_id}/resend-verification" => Action::ResendVerification,
    post "/admin/tenants/{tenant_id}/users/{user_id}/lock" => Action::LockUser,
    post "/admin/tenants/{tenant_id}/users/{user_id}/unlock" => Action::UnlockUser,
    post "/admin/tenants/{tenant_id}/users/{user_id}/password-reset" => Action::SendPasswordReset,
}

/// Dead jobs listed on the dashboard and the jobs page.
const DEAD_JOBS_SHOWN: i64 = 20;
/// Audit entries per page.
const AUDIT_PAGE: i64 = 50;

impl From<AdminError> for AppError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound => AppError::NotFound,
            AdminError::Invalid(message) => AppError::BadRequest(message),
            AdminError::Db(e) => e.into(),
            AdminError::Account(e) => e.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminPage {
    layout: Layout,
    email: String,
    jobs: JobCounts,
    dead_jobs: Vec<DeadJobRow>,
    attention: Vec<attention::Item>,
}

pub async fn index(staff: StaffUser, ctx: web::Data<AppContext>) -> Result<HttpResponse, AppError> {
    let jobs = db::jobs::counts(&ctx.db).await?;
    let dead_jobs = db::jobs::latest_dead(&ctx.db, DEAD_JOBS_SHOWN).await?;
    let attention = attention::load(&ctx).await?;
    render(&AdminPage {
        layout: staff.viewer.layout("Support dashboard"),
        email: staff.user.email.clone(),
        jobs,
        dead_jobs,
        attention,
    })
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/tenants.html")]
struct TenantsPage {
    layout: Layout,
    query: String,
    tenants: Vec<TenantSummary>,
}

pub async fn tenants(
    staff: StaffUser,
    query: web::Query<SearchQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    // Control characters (a NUL, which PostgreSQL text refuses) are never part of a name,
    // email or store hash: they are dropped, so such a search finds what the rest names.
    let q: String = query
        .q
        .clone()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let tenants = admin::search(&ctx, &q).await?;
    render(&TenantsPage {
        layout: staff.viewer.layout("Tenants"),
        query: q,
        tenants,
    })
}

#[derive(Template)]
#[template(path = "admin/tenant.html")]
struct TenantPage {
    layout: Layout,
    d: TenantDetail,
}

impl TenantPage {
    fn health(&self, h: &Health) -> &'static str {
        h.label()
    }
}

pub async fn tenant(
    staff: StaffUser,
    path: web::Path<i64>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let d = admin::tenant(&ctx, path.into_inner()).await?;
    render(&TenantPage {
        layout: staff.viewer.layout(&format!("Tenant {}", d.tenant.name)),
        d,
    })
}

#[derive(Template)]
#[template(path = "admin/run.html")]
struct RunPage {
    layout: Layout,
    tenant_id: i64,
    tenant_name: String,
    connection_name: String,
    flow_label: String,
    run: RunRow,
    items: Vec<RunItemRow>,
}

pub async fn run(
    staff: StaffUser,
    path: web::Path<(i64, i64)>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, run_id) = path.into_inner();
    let tenant = db::admin::find_tenant(&ctx.db, tenant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let run = db::runs::find(&ctx.db, tenant_id, run_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let connection = db::connections::find(&ctx.db, tenant_id, run.connection_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let items = db::runs::items(&ctx.db, tenant_id, run_id, 100, 0).await?;
    render(&RunPage {
        layout: staff.viewer.layout(&format!("Run #{run_id}")),
        tenant_id,
        tenant_name: tenant.name,
        connection_name: connection.name,
        flow_label: ctx.flows.label_of(&run.flow),
        run,
        items,
    })
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    layout: Layout,
    depth: Vec<KindDepth>,
    oldest_due: Option<DueJob>,
    dead_jobs: Vec<DeadJobRow>,
}

pub async fn jobs(staff: StaffUser, ctx: web::Data<AppContext>) -> Result<HttpResponse, AppError> {
    render(&JobsPage {
        layout: staff.viewer.layout("Jobs"),
        depth: db::admin::queue_depth(&ctx.db).await?,
        oldest_due: db::admin::oldest_due(&ctx.db).await?,
        dead_jobs: db::jobs::latest_dead(&ctx.db, DEAD_JOBS_SHOWN).await?,
    })
}

#[derive(Deserialize)]
pub struct AuditQuery {
    pub tenant: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub before: Option<String>,
}

/// Parses the audit log's filter from the query (junk in a number field is a clear 400).
pub fn audit_filter(
    tenant: Option<&str>,
    action: Option<&str>,
    actor: Option<&str>,
    before: Option<&str>,
) -> Result<Filter, AppError> {
    let number = |name: &str, v: Option<&str>| -> Result<Option<i64>, AppError> {
        match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::BadRequest(format!("“{name}” must be a number."))),
        }
    };
    let text = |v: Option<&str>| {
        v.map(|v| v.trim().chars().take(100).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    Ok(Filter {
        tenant_id: number("tenant", tenant)?,
        action_prefix: text(action),
        actor: text(actor),
        before_id: number("before", before)?,
        limit: AUDIT_PAGE,
    })
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub filter: Filter,
    pub entries: Vec<LogRow>,
    /// The query string of the next page, if there is one.
    pub next: Option<String>,
    /// Where the filter form submits (`/admin/audit` or the tenant's page).
    pub action_path: String,
    /// Staff see every tenant and its column.
    pub all_tenants: bool,
}

/// The query string for the page after `entries` under `filter`.
pub fn next_page(
    filter: &Filter,
    entries: &[LogRow],
    more: bool,
    with_tenant: bool,
) -> Option<String> {
    let last = entries.last().filter(|_| more)?;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if with_tenant && let Some(t) = filter.tenant_id {
        q.append_pair("tenant", &t.to_string());
    }
    if let Some(a) = &filter.action_prefix {
        q.append_pair("action", a);
    }
    if let Some(a) = &filter.actor {
        q.append_pair("actor", a);
    }
    q.append_pair("before", &last.id.to_string());
    Some(q.finish())
}

pub async fn audit_log(
    staff: StaffUser,
    query: web::Query<AuditQuery>,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, AppError> {
    let filter = audit_filter(
        query.tenant.as_deref(),
        query.action.as_deref(),
        query.actor.as_deref(),
        query.before.as_deref(),
    )?;
    let (entries, more) = db::audit::page(&ctx.db, &filter).await?;
    let next = next_page(&filter, &entries, more, true);
    render(&AuditPage {
        layout: staff.viewer.layout("Audit log"),
        filter,
        entries,
        next,
        action_path: "/admin/audit".into(),
        all_tenants: true,
    })
}
