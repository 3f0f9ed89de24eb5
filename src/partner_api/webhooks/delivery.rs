//! Sending: one attempt of a delivery per `webhook_delivery` job — claim it (a lock keeps a
//! second worker away), sign and POST it through the guarded client, log the attempt, then
//! deliver, schedule the next attempt, or give up (disabling the endpoint, emailing the
//! owners). The outbox sweep queues deliveries whose job was lost.

use std::{sync::Arc, time::Instant};

use super::{WebhookError, aad, enqueue};
use crate::{
    context::AppContext,
    db::{
        self, DbError,
        webhooks::{AfterAttempt, ClaimedDelivery, EndpointRow, NewAttempt},
    },
    domain::Secret,
    jobs::JobFailure,
    partner_api::{signing, ssrf},
};

/// Response bytes kept per attempt.
pub const EXCERPT_BYTES: usize = 1024;
/// How long a claimed attempt keeps others away (the 10 s timeout plus a margin).
const LOCK_SECS: i64 = 15;

/// The payload of a `webhook_delivery` job.
#[derive(Debug, serde::Deserialize)]
struct DeliveryJob {
    delivery_id: i64,
}

/// The job handler: reads the payload and runs [`deliver`].
pub async fn execute(ctx: &AppContext, job: &crate::jobs::Job) -> Result<(), JobFailure> {
    let payload: DeliveryJob = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::Fail(format!("This job's request could not be read ({e}).")))?;
    deliver(ctx, job.tenant_id, payload.delivery_id).await
}

fn retry_db(e: DbError) -> JobFailure {
    JobFailure::Retry(format!("cartbridge could not reach its database: {e}"))
}

/// Makes one attempt of a delivery. `Ok` once the attempt is settled (delivered, failed for
/// good, or the next attempt queued); `Retry` only when our own database fails.
#[tracing::instrument(skip_all, fields(tenant = tenant_id, delivery = delivery_id))]
pub async fn deliver(ctx: &AppContext, tenant_id: i64, delivery_id: i64) -> Result<(), JobFailure> {
    let lock_until = db::now() + LOCK_SECS;
    let claimed = db::webhooks::claim_delivery(&ctx.db, tenant_id, delivery_id, lock_until)
        .await
        .map_err(retry_db)?;
    let Some(claimed) = claimed else {
        return not_claimable(ctx, tenant_id, delivery_id).await;
    };
    let endpoint = db::webhooks::find_endpoint(&ctx.db, tenant_id, claimed.endpoint_id)
        .await
        .map_err(retry_db)?;
    let Some(endpoint) = endpoint.filter(EndpointRow::is_enabled) else {
        db::webhooks::abandon_delivery(
            &ctx.db,
            tenant_id,
            delivery_id,
            "The endpoint is disabled.",
        )
        .await
        .map_err(retry_db)?;
        return Ok(());
    };
    let event = db::webhooks::find_event(&ctx.db, tenant_id, claimed.event_id)
        .await
        .map_err(retry_db)?
        .ok_or_else(|| JobFailure::Fail("The event no longer exists.".into()))?;
    let secret = match open_secret(ctx, tenant_id, endpoint.id).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(error = %e, "cannot open an endpoint's signing secret");
            return Err(JobFailure::Retry(
                "The signing secret cannot be opened.".into(),
            ));
        }
    };
    let sent = send(
        ctx,
        &endpoint.url,
        &secret,
        &event.message_id,
        &event.payload,
    )
    .await;
    settle(ctx, tenant_id, delivery_id, &claimed, &endpoint, sent).await
}

/// The delivery could not be claimed: done already, not due, or in flight elsewhere (a
/// killed process's attempt keeps its lock for [`LOCK_SECS`]). Makes sure a job will look
/// at it again when it becomes claimable.
async fn not_claimable(
    ctx: &AppContext,
    tenant_id: i64,
    delivery_id: i64,
) -> Result<(), JobFailure> {
    let Some(row) = db::webhooks::find_delivery(&ctx.db, tenant_id, delivery_id)
        .await
        .map_err(retry_db)?
    else {
        return Ok(());
    };
    if row.status != "pending" {
        return Ok(());
    }
    let at = row
        .next_attempt_at
        .max(row.locked_until.map_or(0, |l| l + 1));
    enqueue(ctx, tenant_id, delivery_id, at)
        .await
        .map_err(retry_db)?;
    Ok(())
}

async fn open_secret(ctx: &AppContext, tenant_id: i64, id: i64) -> Result<Secret, WebhookError> {
    let ct = db::webhooks::secret_ct(&ctx.db, tenant_id, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    Ok(ctx.vault.open(&aad(tenant_id, id), &ct).await?)
}

/// What one attempt saw.
struct Sent {
    status: Option<u16>,
    excerpt: String,
    error: Option<String>,
    duration_ms: i64,
}

/// POSTs the event, signed, and reads at most [`EXCERPT_BYTES`] of the answer.
async fn send(ctx: &AppContext, url: &str, secret: &Secret, id: &str, body: &str) -> Sent {
    let started = Instant::now();
    let elapsed = |s: Instant| i64::try_from(s.elapsed().as_millis()).unwrap_or(i64::MAX);
    // The address is checked again now: DNS may point somewhere else than when it was saved.
    if let Err(refused) = ssrf::check_shape(url, ctx.webhooks.allow_private) {
        return Sent {
            status: None,
            excerpt: String::new(),
            error: Some(refused.to_string()),
            duration_ms: 0,
        };
    }
    let timestamp = db::now();
    let signature = match signing::sign(secret, id, timestamp, body.as_bytes()) {
        Ok(s) => s,
        Err(e) => {
            return Sent {
                status: None,
                excerpt: String::new(),
                error: Some(e.to_string()),
                duration_ms: 0,
            };
        }
    };
    let request = ctx
        .webhook_http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned());
    match request.send().await {
        Ok(mut res) => {
            let status = res.status().as_u16();
            let mut bytes = Vec::new();
            let mut error = None;
            while bytes.len() < EXCERPT_BYTES {
                match res.chunk().await {
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(describe(&e));
                        break;
                    }
                }
            }
            bytes.truncate(EXCERPT_BYTES);
            Sent {
                status: Some(status),
                excerpt: String::from_utf8_lossy(&bytes).into_owned(),
                error,
                duration_ms: elapsed(started),
            }
        }
        Err(e) => Sent {
            status: None,
            excerpt: String::new(),
            error: Some(describe(&e)),
            duration_ms: elapsed(started),
        },
    }
}

/// A transport error in words, with the SSRF guard's refusal when that was the cause.
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<ssrf::Refused>() {
            return refused.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "No answer within 10 seconds.".into()
    } else if e.is_connect() {
        "Could not connect to the endpoint.".into()
    } else {
        format!("The request failed: {e}")
    }
}

/// Records the attempt and decides what comes next.
async fn settle(
    ctx: &AppContext,
    tenant_id: i64,
    delivery_id: i64,
    claimed: &ClaimedDelivery,
    endpoint: &EndpointRow,
    sent: Sent,
) -> Result<(), JobFailure> {
    let delivered = sent.status.is_some_and(|s| (200..300).contains(&s));
    let gone = sent.status == Some(410);
    let in_round = usize::try_from(claimed.attempts - claimed.round_base).unwrap_or(1);
    let wait = ctx.webhooks.retry_schedule.get(in_round.saturating_sub(1));
    let after = match (delivered, gone, wait) {
        (true, _, _) => AfterAttempt::Delivered,
        (false, true, _) | (false, false, None) => AfterAttempt::Failed,
        (false, false, Some(wait)) => {
            AfterAttempt::RetryAt(db::now() + i64::try_from(wait.as_secs()).unwrap_or(86_400))
        }
    };
    let error = match (&sent.error, sent.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(s)) if !delivered => Some(format!("The endpoint answered {s}.")),
        _ => None,
    };
    let attempt = NewAttempt {
        attempt: claimed.attempts,
        status_code: sent.status.map(i32::from),
        duration_ms: sent.duration_ms,
        response_excerpt: &sent.excerpt,
        error: error.as_deref(),
    };
    db::webhooks::record_attempt(&ctx.db, tenant_id, delivery_id, &attempt, after)
        .await
        .map_err(retry_db)?;
    tracing::info!(status = ?sent.status, attempt = claimed.attempts, outcome = ?after, "webhook attempt");
    match after {
        AfterAttempt::Delivered => {}
        AfterAttempt::RetryAt(at) => {
            // If this fails, the sweep queues it once it is due.
            if let Err(e) = enqueue(ctx, tenant_id, delivery_id, at).await {
                tracing::warn!(error = %e, "cannot queue the next webhook attempt");
            }
        }
        AfterAttempt::Failed if gone => {
            disable(ctx, tenant_id, endpoint, "The endpoint answered 410 Gone.").await?;
        }
        AfterAttempt::Failed => {
            let reason = format!(
                "Deliveries failed for about 24 hours ({} attempts); last error: {}",
                in_round,
                error.as_deref().unwrap_or("unknown")
            );
            disable(ctx, tenant_id, endpoint, &reason).await?;
        }
    }
    Ok(())
}

/// Disables the endpoint and, the first time, emails the tenant's owners.
async fn disable(
    ctx: &AppContext,
    tenant_id: i64,
    endpoint: &EndpointRow,
    reason: &str,
) -> Result<(), JobFailure> {
    let changed =
        db::webhooks::set_status(&ctx.db, tenant_id, endpoint.id, "disabled", Some(reason))
            .await
            .map_err(retry_db)?;
    if !changed {
        return Ok(());
    }
    tracing::warn!(endpoint = endpoint.id, "webhook endpoint disabled");
    crate::alerts::endpoint_changed(ctx, tenant_id, endpoint.id, &endpoint.url, reason, true).await;
    Ok(())
}

/// Queues a job for every delivery that should have one and does not (its process died
/// between the outbox commit and the enqueue, or before queueing the next attempt).
pub async fn sweep(ctx: &AppContext) -> Result<usize, DbError> {
    let orphans = db::webhooks::orphans(&ctx.db, 500).await?;
    for (tenant_id, id) in &orphans {
        enqueue(ctx, *tenant_id, *id, db::now()).await?;
    }
    if !orphans.is_empty() {
        tracing::info!(
            count = orphans.len(),
            "queued webhook deliveries that had no job"
        );
    }
    Ok(orphans.len())
}

/// Runs [`sweep`] at start and every 30 seconds.
pub async fn sweep_forever(ctx: Arc<AppContext>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        if let Err(e) = sweep(&ctx).await {
            tracing::warn!(error = %e, "webhook outbox sweep failed");
        }
    }
}
