//! "Needs attention" across tenants, over the last 24 hours: one function per source, so a
//! new source is one function and one line in [`load`]. Flows come from the registry and
//! the runs table, so a new flow appears here without a change.

use crate::{
    context::AppContext,
    db::{self, DbError},
};

/// The window "needs attention" looks back over.
pub const WINDOW_SECS: i64 = 24 * 3600;

/// One problem of one tenant, with where staff look at it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Which source found it (`connection_auth`, `flow_dead_jobs`, `flow_failures`,
    /// `webhook_disabled`, …): also its CSS class and test hook.
    pub source: &'static str,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub subject: String,
    pub problem: String,
    pub at: i64,
}

/// Every source, newest first.
pub async fn load(ctx: &AppContext) -> Result<Vec<Item>, DbError> {
    let since = db::now() - WINDOW_SECS;
    let mut items = Vec::new();
    items.extend(connections_failing_auth(ctx, since).await?);
    items.extend(flows_with_dead_jobs(ctx, since).await?);
    items.extend(flows_failing_in_a_row(ctx, since).await?);
    items.extend(webhook_endpoints_disabled(ctx, since).await?);
    items.extend(bigcommerce_hooks_deactivated(ctx, since).await?);
    items.extend(purchase_orders_failed(ctx, since).await?);
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    Ok(items)
}

/// Whether a connection's last error is BigCommerce refusing its credentials (401/403).
pub fn is_auth_failure(error: &str) -> bool {
    error.contains("(401)") || error.contains("(403)")
}

/// Connections whose test in the window failed on authentication (401/403).
pub async fn connections_failing_auth(ctx: &AppContext, since: i64) -> Result<Vec<Item>, DbError> {
    Ok(db::admin::connections_failing_since(&ctx.db, since)
        .await?
        .into_iter()
        .filter(|r| r.problem.as_deref().is_some_and(is_auth_failure))
        .map(|r| Item {
            source: "connection_auth",
            tenant_id: r.tenant_id,
            tenant_name: r.tenant_name,
            subject: r.subject,
            problem: r.problem.unwrap_or_default(),
            at: r.at,
        })
        .collect())
}

/// Jobs that died in the window (a flow's sync, a delivery, …).
pub async fn flows_with_dead_jobs(ctx: &AppContext, since: i64) -> Result<Vec<Item>, DbError> {
    Ok(db::admin::dead_jobs_since(&ctx.db, since)
        .await?
        .into_iter()
        .map(|r| Item {
            source: "flow_dead_jobs",
            tenant_id: r.tenant_id,
            tenant_name: r.tenant_name,
            subject: r.subject.trim().to_owned(),
            problem: format!(
                "Dead job: {}",
                r.problem.unwrap_or_else(|| "no error recorded".into())
            ),
            at: r.at,
        })
        .collect())
}

/// Flows with at least the tenant's N (`alert_after_failures`) failed runs in a row, one of
/// them in the window.
pub async fn flows_failing_in_a_row(ctx: &AppContext, since: i64) -> Result<Vec<Item>, DbError> {
    let mut items = Vec::new();
    for f in db::admin::flows_with_failures_since(&ctx.db, since).await? {
        let n = i64::from(f.alert_after_failures.max(1));
        let runs =
            db::runs::list_for_connection(&ctx.db, f.tenant_id, f.connection_id, 200, 0).await?;
        let finished: Vec<_> = runs
            .iter()
            .filter(|r| r.flow == f.flow && r.is_finished())
            .collect();
        let in_row = finished.iter().take_while(|r| r.status == "failed").count();
        let in_row = i64::try_from(in_row).unwrap_or(i64::MAX);
        if in_row < n {
            continue;
        }
        let last = finished.first();
        items.push(Item {
            source: "flow_failures",
            tenant_id: f.tenant_id,
            tenant_name: f.tenant_name,
            subject: format!("{} on {}", ctx.flows.label_of(&f.flow), f.connection_name),
            problem: format!(
                "{in_row} failed runs in a row: {}",
                last.and_then(|r| r.error.clone()).unwrap_or_default()
            ),
            at: last
                .map(|r| r.finished_at.unwrap_or(r.started_at))
                .unwrap_or(since),
        });
    }
    Ok(items)
}

/// Webhook endpoints disabled in the window (410, or attempts used up, or by hand).
pub async fn webhook_endpoints_disabled(
    ctx: &AppContext,
    since: i64,
) -> Result<Vec<Item>, DbError> {
    Ok(db::admin::endpoints_disabled_since(&ctx.db, since)
        .await?
        .into_iter()
        .map(|r| Item {
            source: "webhook_disabled",
            tenant_id: r.tenant_id,
            tenant_name: r.tenant_name,
            subject: r.subject,
            problem: r.problem.unwrap_or_else(|| "Disabled.".into()),
            at: r.at,
        })
        .collect())
}

/// BigCommerce webhooks (hooks) the periodic check found deactivated or missing on the
/// store, or could not register (`bigcommerce_hooks.problem`).
pub async fn bigcommerce_hooks_deactivated(
    ctx: &AppContext,
    since: i64,
) -> Result<Vec<Item>, DbError> {
    Ok(
        db::admin::bigcommerce_hooks_with_problems_since(&ctx.db, since)
            .await?
            .into_iter()
            .map(|r| Item {
                source: "bigcommerce_hook",
                tenant_id: r.tenant_id,
                tenant_name: r.tenant_name,
                subject: r.subject,
                problem: r.problem.unwrap_or_default(),
                at: r.at,
            })
            .collect(),
    )
}

/// Purchase orders whose status is `failed` (changed in the window).
pub async fn purchase_orders_failed(ctx: &AppContext, since: i64) -> Result<Vec<Item>, DbError> {
    Ok(db::admin::purchase_orders_failed_since(&ctx.db, since)
        .await?
        .into_iter()
        .map(|r| Item {
            source: "po_failed",
            tenant_id: r.tenant_id,
            tenant_name: r.tenant_name,
            subject: r.subject,
            problem: r.problem.unwrap_or_else(|| "The PO failed.".into()),
            at: r.at,
        })
        .collect())
}
