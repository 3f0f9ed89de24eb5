//! The Placed Orders run (hourly, and at once when the flow is enabled): checks the store's
//! webhooks (re-activating or re-creating them), then pages
//! `GET /v2/orders?min_date_created=` from the start date (or the last run, less an hour of
//! overlap) and emits every order no webhook delivered. The run counts what this run emitted
//! (`created`), what was already sent (`unchanged`: by a webhook or earlier), and what the
//! filters dropped (`skipped`, each with its reason as a run item).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    KIND, SCOPES,
    order::{Verdict, bc_failure, credentials, handle, retry_db, rules},
};
use crate::{
    context::AppContext,
    db::{self, runs::NewRun, runs::RunRow},
    jobs::{Job, JobFailure, SyncRequest},
};

/// Orders per page.
const LIMIT: usize = 250;
/// The next run starts this long before the last one did (clock skew, late writes).
const OVERLAP_SECS: i64 = 3600;

/// A run's checkpoint and figures (`runs.cursor`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cursor {
    /// Orders created from here were walked.
    #[serde(default)]
    since: i64,
    /// When the run started (the next run's watermark, less the overlap).
    #[serde(default)]
    started: i64,
    /// The start date in force (a run after it moved earlier walks from the new one).
    #[serde(default)]
    start_at: i64,
    /// Orders in the walked range that webhooks had delivered.
    #[serde(default)]
    from_webhooks: i64,
}

pub(super) async fn execute(ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
    let request: SyncRequest = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::Fail(format!("This job's request could not be read ({e}).")))?;
    let tenant_id = job.tenant_id;
    let connection_id = job
        .connection_id
        .ok_or_else(|| JobFailure::Fail("This job names no connection.".into()))?;
    let run_id = match db::runs::unfinished_for_job(&ctx.db, tenant_id, job.id)
        .await
        .map_err(retry_db)?
    {
        Some(run) => {
            db::runs::resume(&ctx.db, tenant_id, run.id)
                .await
                .map_err(retry_db)?;
            run.id
        }
        None => {
            // `full`: from the start date; `incremental`: from the last run.
            let after_run = db::runs::last_succeeded(&ctx.db, tenant_id, connection_id, KIND, None)
                .await
                .map_err(retry_db)?
                .is_some();
            let new = NewRun {
                connection_id,
                flow: KIND,
                job_id: job.id,
                triggered_by: request.trigger.as_str(),
                mode: if after_run { "incremental" } else { "full" },
            };
            db::runs::create(&ctx.db, tenant_id, &new)
                .await
                .map_err(retry_db)?
        }
    };
    let result = reconcile(ctx, tenant_id, connection_id, run_id).await;
    let (status, error) = match &result {
        Ok(()) => ("succeeded", None),
        Err(JobFailure::Retry(e)) if !job.is_last_attempt() => ("retrying", Some(e.clone())),
        Err(JobFailure::Retry(e) | JobFailure::Fail(e)) => ("failed", Some(e.clone())),
    };
    db::runs::finish(&ctx.db, tenant_id, run_id, status, error.as_deref())
        .await
        .map_err(retry_db)?;
    if status != "retrying" {
        crate::partner_api::events::after_run(ctx, tenant_id, run_id).await;
    }
    result
}

async fn reconcile(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    run_id: i64,
) -> Result<(), JobFailure> {
    let (enabled, _) = super::stored(ctx, tenant_id, connection_id)
        .await
        .map_err(retry_db)?;
    if !enabled {
        return Ok(());
    }
    let (hash, token) = credentials(ctx, tenant_id, connection_id).await?;
    // The hook check: registers what is missing, re-activates what BigCommerce deactivated.
    let enabled = || async { Ok(super::stored(ctx, tenant_id, connection_id).await?.0) };
    if let Err(e) = crate::inbound::keep(ctx, tenant_id, connection_id, KIND, SCOPES, enabled).await
    {
        tracing::warn!(error = %e, "placed orders: webhook check failed; reconciling anyway");
    }
    let client = ctx.bigcommerce.store(&hash, &token);
    let Some(rules) = rules(ctx, &client, tenant_id, connection_id).await? else {
        return Ok(());
    };
    let started = db::now();
    let last = db::runs::last_succeeded(&ctx.db, tenant_id, connection_id, KIND, None)
        .await
        .map_err(retry_db)?
        .map(|r| serde_json::from_str::<Cursor>(&r.cursor).unwrap_or_default())
        .filter(|c| c.started > 0 && c.start_at <= rules.start_at);
    let since = match last {
        Some(c) => rules.start_at.max(c.started - OVERLAP_SECS),
        None => rules.start_at,
    };
    let min_date = chrono::DateTime::from_timestamp(since, 0)
        .map(|t| t.to_rfc2822())
        .unwrap_or_default();
    let mut cursor = Cursor {
        since,
        started,
        start_at: rules.start_at,
        from_webhooks: 0,
    };
    let (mut fetched, mut created, mut unchanged, mut skipped) = (0i64, 0i64, 0i64, 0i64);
    for page in 1u32.. {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("min_date_created", &min_date)
            .append_pair("sort", "id:asc")
            .append_pair("limit", &LIMIT.to_string())
            .append_pair("page", &page.to_string())
            .finish();
        let orders: Vec<Value> = client
            .get_json_or_default(&format!("/v2/orders?{query}"))
            .await
            .map_err(bc_failure)?;
        let count = orders.len();
        for order in &orders {
            fetched += 1;
            match handle(
                ctx,
                &client,
                tenant_id,
                connection_id,
                &rules,
                order,
                "reconciled",
                Some(run_id),
            )
            .await?
            {
                Verdict::Emitted => created += 1,
                Verdict::AlreadyEmitted => unchanged += 1,
                Verdict::Skipped(why) => {
                    skipped += 1;
                    let id = order.get("id").map(Value::to_string).unwrap_or_default();
                    db::inbound::add_run_item(&ctx.db, tenant_id, run_id, &id, "skipped", &why)
                        .await
                        .map_err(retry_db)?;
                }
            }
        }
        cursor.from_webhooks =
            db::inbound::count_by_origin(&ctx.db, tenant_id, connection_id, "webhook", since)
                .await
                .map_err(retry_db)?;
        let json = serde_json::to_string(&cursor).unwrap_or_else(|_| "{}".into());
        db::inbound::set_run_counts(
            &ctx.db, tenant_id, run_id, fetched, created, unchanged, skipped, &json,
        )
        .await
        .map_err(retry_db)?;
        if count < LIMIT || page > 10_000 {
            break;
        }
    }
    Ok(())
}

/// The run's own section: where this range's orders came from.
pub(super) fn detail(run: &RunRow) -> String {
    let cursor: Cursor = serde_json::from_str(&run.cursor).unwrap_or_default();
    format!(
        "<section class=\"card\" id=\"placed-orders-origins\"><h2>Where the orders came from</h2>\
         <p>Orders created since {}: <strong id=\"from-webhooks\">{}</strong> arrived by webhook; \
         this run sent <strong id=\"reconciled\">{}</strong> the webhooks missed, found {} already sent, \
         and skipped {} (see the items below).</p></section>",
        crate::partner_api::rfc3339(cursor.since),
        cursor.from_webhooks,
        run.created,
        run.unchanged,
        run.skipped,
    )
}
