//! What a tenant's dashboard shows: every connection with its health and each registered
//! flow's last run, next run, schedule and failures in a row; and the "needs attention"
//! list, each item with the one action that fixes it. Reads only.

use super::{
    health::{Fix, Health, fix},
    store::Capability,
};
use crate::{
    context::AppContext,
    db::{self, DbError, connections::ConnectionRow, runs::RunRow},
};

/// How many recent runs are read to count failures in a row.
const RECENT_RUNS: i64 = 20;

/// One flow of one connection.
pub struct FlowOverview {
    pub kind: &'static str,
    pub label: &'static str,
    pub enabled: bool,
    pub interval_secs: Option<i64>,
    pub next_run_at: Option<i64>,
    pub last_run: Option<RunRow>,
    /// Failed runs since the last success (newest first, up to the last 20 runs).
    pub failures_in_row: usize,
}

/// One connection with its flows.
pub struct ConnectionOverview {
    pub connection: ConnectionRow,
    pub health: Health,
    pub fix: Option<Fix>,
    pub flows: Vec<FlowOverview>,
}

/// Something that needs the merchant, and what to do about it.
pub struct Attention {
    pub connection_id: i64,
    pub connection_name: String,
    pub problem: String,
    pub action: String,
    /// The path under `/t/{tenant}/connections/{id}`.
    pub path: String,
    /// A POST (with the CSRF token) rather than a link.
    pub post: bool,
}

/// The dashboard's data for one tenant.
pub async fn load(
    ctx: &AppContext,
    tenant_id: i64,
) -> Result<(Vec<ConnectionOverview>, Vec<Attention>), DbError> {
    let mut overviews = Vec::new();
    let mut attention = Vec::new();
    for c in db::connections::list(&ctx.db, tenant_id).await? {
        let health = Health::of(&c);
        let fix = fix(&c);
        if let Some(f) = &fix {
            attention.push(Attention {
                connection_id: c.id,
                connection_name: c.name.clone(),
                problem: c.last_error.clone().unwrap_or_else(|| match health {
                    Health::NotConnected => "Not connected to BigCommerce yet.".into(),
                    _ => "Not tested yet: test it to see what it can run.".into(),
                }),
                action: f.action.clone(),
                path: f.path.to_owned(),
                post: f.post,
            });
        }
        if health == Health::Healthy {
            attention.extend(missing_scopes(&c));
        }
        let recent =
            db::runs::list_for_connection(&ctx.db, tenant_id, c.id, RECENT_RUNS, 0).await?;
        let mut flows = Vec::new();
        for flow in ctx.flows.all() {
            let settings = db::flows::find(&ctx.db, tenant_id, c.id, flow.kind()).await?;
            let runs: Vec<&RunRow> = recent.iter().filter(|r| r.flow == flow.kind()).collect();
            let failures_in_row = runs
                .iter()
                .take_while(|r| r.status == "failed" || r.job_status.as_deref() == Some("dead"))
                .count();
            let last_run = runs.first().map(|r| (*r).clone());
            if failures_in_row > 0 && health == Health::Healthy {
                let error = last_run.as_ref().and_then(|r| r.error.clone());
                attention.push(Attention {
                    connection_id: c.id,
                    connection_name: c.name.clone(),
                    problem: format!(
                        "{} failed{}{}",
                        flow.label(),
                        if failures_in_row > 1 {
                            format!(" {failures_in_row} times in a row")
                        } else {
                            String::new()
                        },
                        error
                            .map(|e| format!(": {e}"))
                            .unwrap_or_else(|| ".".into())
                    ),
                    action: "Retry".into(),
                    path: format!("/flows/{}/run", flow.kind()),
                    post: true,
                });
            }
            let enabled = settings.as_ref().is_some_and(|s| s.enabled);
            flows.push(FlowOverview {
                kind: flow.kind(),
                label: flow.label(),
                enabled,
                interval_secs: settings
                    .as_ref()
                    .filter(|s| s.enabled && flow.schedule().is_some())
                    .map(|s| s.interval_secs),
                next_run_at: settings
                    .as_ref()
                    .filter(|s| s.enabled)
                    .and_then(|s| s.next_run_at),
                last_run,
                failures_in_row,
            });
        }
        overviews.push(ConnectionOverview {
            connection: c,
            health,
            fix,
            flows,
        });
    }
    Ok((overviews, attention))
}

/// A healthy connection's flows that its token's scopes do not cover (from the last test).
fn missing_scopes(c: &ConnectionRow) -> Vec<Attention> {
    let capabilities: Vec<Capability> = serde_json::from_str(&c.capabilities).unwrap_or_default();
    capabilities
        .into_iter()
        .filter(|cap| !cap.ok)
        .filter_map(|cap| {
            let scope = cap
                .detail
                .strip_prefix("missing scope ")?
                .split(':')
                .next()?
                .to_owned();
            Some(Attention {
                connection_id: c.id,
                connection_name: c.name.clone(),
                problem: format!("{} cannot run: {}.", cap.flow, cap.detail),
                action: format!("Grant {scope}"),
                // OAuth: add the scope, then reconnect; a store-level token's scopes are
                // changed in BigCommerce, which the connection page explains.
                path: if c.auth_type == "oauth" {
                    "/edit".into()
                } else {
                    String::new()
                },
                post: false,
            })
        })
        .collect()
}
