//! The events partners are told about, put in the webhook outbox: `inventory.changed` (one
//! per run, the changed variants in batches of at most 500), `run.failed` and
//! `connection.failed` (once per failing streak of a connection). Each body is a Standard
//! Webhooks envelope `{"type", "timestamp", "data"}`; each event has a dedupe key, so
//! emitting twice (a retried job, a takeover) stores it once. After the outbox commit the
//! first attempts are queued; should the process die in between, the outbox sweep queues
//! them.

use serde_json::{Value, json};

use crate::{
    connections::store::TestReport,
    context::AppContext,
    db::{self, DbError, webhooks::NewEvent},
};

use super::webhooks;

pub use crate::db::webhooks::{INVENTORY_BATCH as BATCH, envelope, message_id};

/// An event about to be stored.
struct Pending {
    event_type: &'static str,
    dedupe_key: String,
    message_id: String,
    body: String,
}

impl Pending {
    fn new(event_type: &'static str, dedupe_key: String, data: Value) -> Self {
        Self {
            event_type,
            dedupe_key,
            message_id: message_id(),
            body: envelope(event_type, data),
        }
    }
}

/// Stores the events (one transaction) and queues their deliveries; returns the delivery ids.
async fn emit(ctx: &AppContext, tenant_id: i64, pending: &[Pending]) -> Result<Vec<i64>, DbError> {
    let events: Vec<NewEvent<'_>> = pending
        .iter()
        .map(|p| NewEvent {
            event_type: p.event_type,
            message_id: &p.message_id,
            dedupe_key: &p.dedupe_key,
            payload: &p.body,
        })
        .collect();
    let deliveries = db::webhooks::emit(&ctx.db, tenant_id, &events).await?;
    webhooks::enqueue_all(ctx, tenant_id, &deliveries).await;
    Ok(deliveries)
}

/// `inventory.changed` for a finished run: its stock-change events, in batches of 500
/// (nothing when the run changed nothing).
///
/// Get Inventory writes these in its merge transaction (`db::inventory::merge`), so the
/// snapshot and its events commit together; this call is the idempotent catch-up for a run
/// whose events were not written there (it adds nothing when they were).
#[tracing::instrument(skip_all, fields(tenant = tenant_id, run = run_id))]
pub async fn inventory_changed(
    ctx: &AppContext,
    tenant_id: i64,
    run_id: i64,
) -> Result<Vec<i64>, DbError> {
    let Some(run) = db::runs::find(&ctx.db, tenant_id, run_id).await? else {
        return Ok(Vec::new());
    };
    let deliveries =
        db::webhooks::emit_inventory_changed(&ctx.db, tenant_id, run.connection_id, run_id).await?;
    webhooks::enqueue_all(ctx, tenant_id, &deliveries).await;
    Ok(deliveries)
}

/// `run.failed` for a run that ended failed (not one that will be retried).
#[tracing::instrument(skip_all, fields(tenant = tenant_id, run = run_id))]
pub async fn run_failed(
    ctx: &AppContext,
    tenant_id: i64,
    run_id: i64,
) -> Result<Vec<i64>, DbError> {
    let Some(run) = db::runs::find(&ctx.db, tenant_id, run_id).await? else {
        return Ok(Vec::new());
    };
    if run.status != "failed" {
        return Ok(Vec::new());
    }
    let data = json!({
        "connection_id": run.connection_id, "run_id": run.id, "flow": run.flow,
        "mode": run.mode, "error": run.error, "attempts": run.attempts,
        "finished_at": run.finished_at.map(super::rfc3339),
    });
    let pending = Pending::new("run.failed", format!("run.failed:run:{run_id}"), data);
    emit(ctx, tenant_id, &[pending]).await
}

/// `connection.failed` for a connection test that found a problem. Emits every time it
/// is called; [`after_connection_test`] calls it once per failing streak.
pub async fn connection_failed(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    problem: &str,
) -> Result<Vec<i64>, DbError> {
    let Some(c) = db::connections::find(&ctx.db, tenant_id, connection_id).await? else {
        return Ok(Vec::new());
    };
    let data = json!({
        "connection_id": c.id, "name": c.name, "store_hash": c.store_hash,
        "status": c.status, "error": problem,
    });
    let key = format!("connection.failed:{connection_id}:{}", message_id());
    emit(
        ctx,
        tenant_id,
        &[Pending::new("connection.failed", key, data)],
    )
    .await
}

/// The one call `connections::store::test` makes after recording a test: emits
/// `connection.failed` when the connection starts failing (its first failed test, or the
/// first after a healthy one); a connection that keeps failing emits nothing more until a
/// test passes (`alert_states`, like the merchant alerts). Errors are logged, never
/// returned: a webhook must not fail the test the merchant asked for.
pub async fn after_connection_test(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    report: &TestReport,
) {
    crate::alerts::after_connection_test(ctx, tenant_id, connection_id, report).await;
    let streak = db::alerts::start_or_end(
        &ctx.db,
        tenant_id,
        &format!("connection:{connection_id}"),
        "connection.failed",
        !report.healthy,
        ctx.clock.now(),
    )
    .await;
    let started = streak.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot record the connection's failing streak");
        // Unsure whether the streak is new: better a repeated event than a lost one.
        !report.healthy
    });
    if !started {
        return;
    }
    let problem = report
        .problem
        .as_deref()
        .unwrap_or("The connection test failed.");
    if let Err(e) = connection_failed(ctx, tenant_id, connection_id, problem).await {
        tracing::warn!(error = %e, "cannot record the connection.failed event");
    }
}

/// The one call a flow makes when one of its runs has ended (succeeded or failed for good):
/// `inventory.changed` for a succeeded run with stock changes, `run.failed` for a failed
/// one; nothing for a run that will be retried. Errors are logged, never returned: the
/// run's outcome must not depend on the webhook outbox. Idempotent (dedupe keys), so a
/// retried or taken-over job may call it again.
pub async fn after_run(ctx: &AppContext, tenant_id: i64, run_id: i64) {
    crate::alerts::after_run(ctx, tenant_id, run_id).await;
    let status = match db::runs::find(&ctx.db, tenant_id, run_id).await {
        Ok(Some(run)) => run.status,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, run = run_id, "cannot read the run for its webhook events");
            return;
        }
    };
    let emitted = match status.as_str() {
        "succeeded" => inventory_changed(ctx, tenant_id, run_id).await,
        "failed" => run_failed(ctx, tenant_id, run_id).await,
        _ => return,
    };
    if let Err(e) = emitted {
        tracing::warn!(error = %e, run = run_id, "cannot record the run's webhook events");
    }
}
