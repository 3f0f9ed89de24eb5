//! Merchant alerts by email, to the tenant's owners and admins who did not opt out
//! (`/t/{tenant}/notifications`): a connection starts failing auth (401/403 from
//! BigCommerce), a flow fails N runs in a row (N per tenant, `alert_after_failures`,
//! default 3), a webhook endpoint is disabled; and each one's recovery. Each email names
//! the connection, the flow, the error and the link that fixes it. `db::alerts::observe`
//! keeps one row per problem, so a problem is emailed at most once an hour per connection
//! (and flow or endpoint) and its recovery once. Time comes from [`Clock`], which tests
//! move forward instead of sleeping.
//!
//! Called from the places where things end: `partner_api::events::after_run` and
//! `after_connection_test`, and the webhook delivery that disables an endpoint. Errors are
//! logged, never returned: an alert must not change the outcome of what it reports.

use std::sync::atomic::{AtomicI64, Ordering};

use askama::Template;

use crate::{
    admin::attention::is_auth_failure,
    connections::store::TestReport,
    context::AppContext,
    db::{self, DbError, alerts::Decision},
    domain::Email,
    mailer::OutgoingEmail,
};

/// At most one email per problem within this many seconds.
pub const THROTTLE_SECS: i64 = 3600;

/// The time alerts are decided by: the system clock plus an offset that starts at zero.
/// Only code in the process can move it ([`Clock::advance`], which the integration tests
/// call on the app's context); no setting, route or header reaches it.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> i64 {
        db::now() + self.offset.load(Ordering::Relaxed)
    }

    /// Moves this clock forward (tests: "an hour later" without waiting an hour).
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

#[derive(Template)]
#[template(path = "email/alert.txt")]
struct AlertText<'a> {
    headline: &'a str,
    connection: &'a str,
    flow: &'a str,
    error: &'a str,
    link: &'a str,
    recovered: bool,
}

#[derive(Template)]
#[template(path = "email/alert.html")]
struct AlertHtml<'a> {
    headline: &'a str,
    connection: &'a str,
    flow: &'a str,
    error: &'a str,
    link: &'a str,
    recovered: bool,
}

/// What one alert says.
struct Alert<'a> {
    tenant_id: i64,
    subject_key: String,
    problem: &'static str,
    headline: String,
    connection: &'a str,
    flow: &'a str,
    error: &'a str,
    /// Path of the page that fixes it.
    path: String,
}

/// Records whether the alert's problem is ongoing and emails what that decides.
async fn observe(ctx: &AppContext, alert: &Alert<'_>, active: bool) -> Result<Decision, DbError> {
    let decision = db::alerts::observe(
        &ctx.db,
        alert.tenant_id,
        &alert.subject_key,
        alert.problem,
        active,
        ctx.clock.now(),
        THROTTLE_SECS,
    )
    .await?;
    let recovered = match decision {
        Decision::Quiet => return Ok(decision),
        Decision::Alert => false,
        Decision::Recovered => true,
    };
    let link = ctx
        .public_url
        .join(&alert.path)
        .map(|u| u.to_string())
        .unwrap_or_default();
    let headline = if recovered {
        format!("Recovered: {}", alert.headline)
    } else {
        alert.headline.clone()
    };
    for (_, address) in db::alerts::recipients(&ctx.db, alert.tenant_id).await? {
        let Ok(to) = Email::parse(&address) else {
            continue;
        };
        let fields = (alert.connection, alert.flow, alert.error, link.as_str());
        let email = OutgoingEmail {
            to,
            subject: format!("cartbridge: {headline}"),
            text: AlertText {
                headline: &headline,
                connection: fields.0,
                flow: fields.1,
                error: fields.2,
                link: fields.3,
                recovered,
            }
            .render()
            .unwrap_or_default(),
            html: AlertHtml {
                headline: &headline,
                connection: fields.0,
                flow: fields.1,
                error: fields.2,
                link: fields.3,
                recovered,
            }
            .render()
            .unwrap_or_default(),
        };
        if let Err(e) = crate::mailer::enqueue(ctx, Some(alert.tenant_id), email).await {
            tracing::warn!(error = %e, "cannot queue an alert email");
        }
    }
    tracing::info!(
        tenant = alert.tenant_id,
        problem = alert.problem,
        recovered,
        "alert sent"
    );
    Ok(decision)
}

fn connection_alert<'a>(tenant_id: i64, id: i64, name: &'a str, error: &'a str) -> Alert<'a> {
    Alert {
        tenant_id,
        subject_key: format!("connection:{id}"),
        problem: "auth",
        headline: format!("{name} cannot sign in to BigCommerce"),
        connection: name,
        flow: "",
        error,
        path: format!("/t/{tenant_id}/connections/{id}/edit"),
    }
}

/// After a connection test: auth failing (401/403) alerts; a healthy result recovers.
pub async fn after_connection_test(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    report: &TestReport,
) {
    let result = async {
        let Some(c) = db::connections::find(&ctx.db, tenant_id, connection_id).await? else {
            return Ok(());
        };
        let problem = report.problem.as_deref().unwrap_or_default();
        let alert = connection_alert(tenant_id, c.id, &c.name, problem);
        if report.healthy {
            observe(ctx, &alert, false).await?;
        } else if is_auth_failure(problem) {
            observe(ctx, &alert, true).await?;
        }
        Ok::<(), DbError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot decide a connection alert");
    }
}

/// After a run ended: N failures in a row of its flow alert (and a 401/403 error alerts
/// about the connection); a success recovers both.
pub async fn after_run(ctx: &AppContext, tenant_id: i64, run_id: i64) {
    let result = async {
        let Some(run) = db::runs::find(&ctx.db, tenant_id, run_id).await? else {
            return Ok(());
        };
        if !run.is_finished() {
            return Ok(());
        }
        let Some(c) = db::connections::find(&ctx.db, tenant_id, run.connection_id).await? else {
            return Ok(());
        };
        let n = db::admin::find_tenant(&ctx.db, tenant_id)
            .await?
            .map(|t| t.alert_after_failures.max(1))
            .unwrap_or(3);
        let recent = db::runs::list_for_connection(&ctx.db, tenant_id, c.id, 50, 0).await?;
        let in_row = recent
            .iter()
            .filter(|r| r.flow == run.flow && r.is_finished())
            .take_while(|r| r.status == "failed")
            .count();
        let label = ctx.flows.label_of(&run.flow);
        let error = run.error.clone().unwrap_or_default();
        let flow_alert = Alert {
            tenant_id,
            subject_key: format!("flow:{}:{}", c.id, run.flow),
            problem: "failures",
            headline: format!("{label} on {} failed {in_row} runs in a row", c.name),
            connection: &c.name,
            flow: &label,
            error: &error,
            path: format!("/t/{tenant_id}/connections/{}/flows/{}", c.id, run.flow),
        };
        let auth = connection_alert(tenant_id, c.id, &c.name, &error);
        if run.status == "succeeded" {
            observe(ctx, &flow_alert, false).await?;
            observe(ctx, &auth, false).await?;
        } else {
            if i64::try_from(in_row).unwrap_or(i64::MAX) >= i64::from(n) {
                observe(ctx, &flow_alert, true).await?;
            }
            if is_auth_failure(&error) {
                observe(ctx, &auth, true).await?;
            }
        }
        Ok::<(), DbError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, run = run_id, "cannot decide a run alert");
    }
}

/// A webhook endpoint was disabled (`disabled`) or enabled again.
pub async fn endpoint_changed(
    ctx: &AppContext,
    tenant_id: i64,
    endpoint_id: i64,
    url: &str,
    reason: &str,
    disabled: bool,
) {
    let alert = Alert {
        tenant_id,
        subject_key: format!("endpoint:{endpoint_id}"),
        problem: "disabled",
        headline: format!("A webhook endpoint was disabled: {url}"),
        connection: "",
        flow: "",
        error: reason,
        path: format!("/t/{tenant_id}/webhooks/{endpoint_id}"),
    };
    if let Err(e) = observe(ctx, &alert, disabled).await {
        tracing::warn!(error = %e, "cannot decide a webhook endpoint alert");
    }
}
