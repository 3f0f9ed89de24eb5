//! The scheduler: every tick, each enabled flow whose time has come is moved to its next
//! run time and queued. Every process with workers runs one; `db::flows::advance` lets
//! exactly one of them win each due flow, and the queue's one-active-job-per-flow index
//! keeps a still-running flow from being queued twice.

use std::{sync::Arc, time::Duration};

use tokio::{sync::watch, time::MissedTickBehavior};

use crate::{
    context::AppContext,
    db::{self, DbError, flows::DueFlow, jobs::NewJob},
    jobs::{RunMode, SyncRequest, Trigger},
};

/// Due flows handled per tick (the rest wait for the next one).
const BATCH: i64 = 100;

/// Ticks every `tick` until shutdown.
pub(super) async fn run(ctx: Arc<AppContext>, tick: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = super::worker::stopped(&mut stop) => return,
        }
        match self::tick(&ctx).await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "scheduled flows queued"),
            Err(e) => tracing::warn!(error = %e, "the scheduler tick failed"),
        }
    }
}

/// One pass: queues every due flow this process wins. Returns how many jobs it queued.
pub async fn tick(ctx: &AppContext) -> Result<usize, DbError> {
    let at = db::now();
    let mut queued = 0;
    for flow in db::flows::due(&ctx.db, at, BATCH).await? {
        let next = at + flow.interval_secs.max(1);
        let won = db::flows::advance(
            &ctx.db,
            flow.tenant_id,
            flow.connection_id,
            &flow.flow,
            flow.next_run_at,
            next,
        )
        .await?;
        if won && enqueue(ctx, &flow, at).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues a scheduled run of `flow`; `false` if one is still queued or running.
async fn enqueue(ctx: &AppContext, flow: &DueFlow, at: i64) -> Result<bool, DbError> {
    let payload = super::to_payload(&SyncRequest {
        mode: RunMode::Auto,
        trigger: Trigger::Schedule,
    })?;
    let key = db::jobs::sync_key(flow.connection_id);
    let job = NewJob {
        tenant_id: flow.tenant_id,
        connection_id: Some(flow.connection_id),
        kind: &flow.flow,
        key: Some(&key),
        store_hash: Some(&flow.store_hash),
        payload: &payload,
        run_at: at,
        max_attempts: super::max_attempts(ctx),
    };
    match db::jobs::enqueue(&ctx.db, &job).await? {
        Some(id) => {
            tracing::debug!(job = id, tenant = flow.tenant_id, connection = flow.connection_id, flow = %flow.flow, "scheduled run queued");
            super::WAKE.notify_waiters();
            Ok(true)
        }
        None => {
            tracing::debug!(tenant = flow.tenant_id, connection = flow.connection_id, flow = %flow.flow, "a run is still queued or running; skipped");
            Ok(false)
        }
    }
}
