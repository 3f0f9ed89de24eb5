//! Outbound webhooks: endpoints (owners and admins manage them; the `whsec_` secret is shown
//! once and can be rotated), and delivery. Each (endpoint, event) has one delivery row; a
//! `webhook_delivery` job sends one attempt with [`deliver`]:
//! 2xx is delivered; any other status, a timeout (10 s) or a refused address is retried on
//! the schedule of `CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS` (8 attempts over about 24 h:
//! `deliver` queues the next attempt itself, since the job queue's backoff stops at 1 h);
//! 410 Gone disables the endpoint at once, and a delivery that used up its attempts
//! disables the endpoint and emails the tenant's owners. Secrets are opened only to sign.

use std::{sync::Arc, time::Instant};

use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{
        self, DbError,
        jobs::NewJob,
        webhooks::{AfterAttempt, ClaimedDelivery, EndpointRow, NewAttempt},
    },
    domain::{Email, Secret},
    jobs::JobFailure,
    mailer::messages,
    vault::Aad,
};

use super::{EVENT_TYPES, signing, ssrf};

/// The job kind that sends one delivery attempt.
pub const JOB_KIND: &str = "webhook_delivery";
/// Response bytes kept per attempt.
pub const EXCERPT_BYTES: usize = 1024;
/// How long a claimed attempt keeps others away (the 10 s timeout plus a margin).
const LOCK_SECS: i64 = 15;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot seal or open the signing secret")]
    Vault(#[from] crate::vault::VaultServiceError),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for WebhookError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

fn aad(tenant_id: i64, endpoint_id: i64) -> Aad {
    Aad::new(
        tenant_id,
        "webhook_endpoints",
        endpoint_id,
        "signing_secret",
    )
}

fn require_manager(actor: &Actor) -> Result<(), WebhookError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(WebhookError::NotAllowed(
            "Only owners and admins can manage webhook endpoints.".into(),
        ))
    }
}

pub fn can_manage(actor: &Actor) -> bool {
    require_manager(actor).is_ok()
}

/// An endpoint as typed.
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
}

/// Checks the form: a guarded destination, known event types (at least one).
async fn parse_endpoint(
    ctx: &AppContext,
    new: &NewEndpoint<'_>,
) -> Result<(String, String), WebhookError> {
    let url = ssrf::check_destination(new.url, ctx.webhooks.allow_private)
        .await
        .map_err(|e| WebhookError::Invalid(e.to_string()))?;
    let mut types: Vec<&str> = Vec::new();
    for t in new.event_types {
        let known = EVENT_TYPES
            .iter()
            .find(|k| **k == t.trim())
            .ok_or_else(|| {
                WebhookError::Invalid(format!("{t} is not an event type cartbridge sends."))
            })?;
        if !types.contains(known) {
            types.push(known);
        }
    }
    if types.is_empty() {
        return Err(WebhookError::Invalid(
            "Choose at least one event type to send.".into(),
        ));
    }
    if new.description.chars().count() > 200 {
        return Err(WebhookError::Invalid(
            "Keep the description under 200 characters.".into(),
        ));
    }
    Ok((url.to_string(), types.join(" ")))
}

/// Registers an endpoint (owners and admins); returns its id and its signing secret, which
/// is shown once.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id))]
pub async fn create_endpoint(
    ctx: &AppContext,
    actor: &Actor,
    new: &NewEndpoint<'_>,
) -> Result<(i64, Secret), WebhookError> {
    require_manager(actor)?;
    let (url, types) = parse_endpoint(ctx, new).await?;
    let secret = signing::generate_secret();
    let tenant_id = actor.tenant_id;
    let id = db::webhooks::create_endpoint(
        &ctx.db,
        tenant_id,
        &url,
        new.description.trim(),
        &types,
        |id| {
            let secret = &secret;
            async move { Ok::<_, WebhookError>(ctx.vault.seal(&aad(tenant_id, id), secret).await?) }
        },
    )
    .await?;
    audit(
        ctx,
        actor,
        "webhook_endpoint.created",
        &format!("{url} ({types})"),
    )
    .await?;
    Ok((id, secret))
}

async fn audit(ctx: &AppContext, actor: &Actor, action: &str, detail: &str) -> Result<(), DbError> {
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        action,
        detail,
    )
    .await
}

pub async fn list_endpoints(
    ctx: &AppContext,
    tenant_id: i64,
) -> Result<Vec<EndpointRow>, WebhookError> {
    Ok(db::webhooks::list_endpoints(&ctx.db, tenant_id).await?)
}

pub async fn load_endpoint(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<EndpointRow, WebhookError> {
    db::webhooks::find_endpoint(&ctx.db, tenant_id, id)
        .await?
        .ok_or(WebhookError::NotFound)
}

/// Replaces the signing secret; returns the new one (shown once).
pub async fn rotate_secret(
    ctx: &AppContext,
    actor: &Actor,
    id: i64,
) -> Result<Secret, WebhookError> {
    require_manager(actor)?;
    let endpoint = load_endpoint(ctx, actor.tenant_id, id).await?;
    let secret = signing::generate_secret();
    let ct = ctx.vault.seal(&aad(actor.tenant_id, id), &secret).await?;
    if !db::webhooks::set_secret(&ctx.db, actor.tenant_id, id, &ct).await? {
        return Err(WebhookError::NotFound);
    }
    audit(ctx, actor, "webhook_endpoint.secret_rotated", &endpoint.url).await?;
    Ok(secret)
}

/// Enables or disables an endpoint by hand.
pub async fn set_enabled(
    ctx: &AppContext,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<(), WebhookError> {
    require_manager(actor)?;
    let endpoint = load_endpoint(ctx, actor.tenant_id, id).await?;
    let (status, reason) = if enabled {
        ("enabled", None)
    } else {
        ("disabled", Some("Disabled by hand."))
    };
    if db::webhooks::set_status(&ctx.db, actor.tenant_id, id, status, reason).await? {
        let action = format!("webhook_endpoint.{status}");
        audit(ctx, actor, &action, &endpoint.url).await?;
    }
    Ok(())
}

pub async fn delete_endpoint(ctx: &AppContext, actor: &Actor, id: i64) -> Result<(), WebhookError> {
    require_manager(actor)?;
    let endpoint = load_endpoint(ctx, actor.tenant_id, id).await?;
    db::webhooks::delete_endpoint(&ctx.db, actor.tenant_id, id).await?;
    audit(ctx, actor, "webhook_endpoint.deleted", &endpoint.url).await?;
    Ok(())
}

/// Sends a `webhook.test` event to this endpoint only; returns the delivery id.
pub async fn send_test_event(
    ctx: &AppContext,
    actor: &Actor,
    id: i64,
) -> Result<i64, WebhookError> {
    require_manager(actor)?;
    load_endpoint(ctx, actor.tenant_id, id).await?;
    let body = super::events::envelope(
        super::TEST_EVENT_TYPE,
        serde_json::json!({ "endpoint_id": id, "message": "A test event from cartbridge." }),
    );
    let message_id = super::events::message_id();
    let event = db::webhooks::NewEvent {
        event_type: super::TEST_EVENT_TYPE,
        message_id: &message_id,
        dedupe_key: &message_id,
        payload: &body,
    };
    let delivery = db::webhooks::emit_to_endpoint(&ctx.db, actor.tenant_id, id, &event)
        .await?
        .ok_or(WebhookError::NotFound)?;
    enqueue(ctx, actor.tenant_id, delivery, db::now()).await?;
    Ok(delivery)
}

/// Sends a delivery of this endpoint again, as a new round of attempts.
pub async fn redeliver(
    ctx: &AppContext,
    actor: &Actor,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<(), WebhookError> {
    require_manager(actor)?;
    let endpoint = load_endpoint(ctx, actor.tenant_id, endpoint_id).await?;
    if !endpoint.is_enabled() {
        return Err(WebhookError::Invalid(
            "Enable the endpoint before redelivering to it.".into(),
        ));
    }
    if !db::webhooks::redeliver(&ctx.db, actor.tenant_id, endpoint_id, delivery_id).await? {
        let exists = db::webhooks::find_delivery(&ctx.db, actor.tenant_id, delivery_id)
            .await?
            .is_some_and(|d| d.endpoint_id == endpoint_id);
        return Err(if exists {
            WebhookError::Invalid("That delivery is still being attempted.".into())
        } else {
            WebhookError::NotFound
        });
    }
    enqueue(ctx, actor.tenant_id, delivery_id, db::now()).await?;
    Ok(())
}

/// Queues one attempt of a delivery at `run_at`. No connection and no store hash, so the
/// per-store and per-flow uniqueness of today's queue does not apply.
pub async fn enqueue(
    ctx: &AppContext,
    tenant_id: i64,
    delivery_id: i64,
    run_at: i64,
) -> Result<Option<i64>, DbError> {
    let payload = serde_json::json!({ "delivery_id": delivery_id }).to_string();
    let job = NewJob {
        tenant_id,
        connection_id: None,
        kind: JOB_KIND,
        store_hash: None,
        payload: &payload,
        run_at,
        max_attempts: i32::try_from(ctx.jobs.max_attempts).unwrap_or(5),
    };
    db::jobs::enqueue(&ctx.db, &job).await
}

/// Queues the first attempt of every new delivery (after the outbox transaction commits).
/// A failure here loses nothing: the sweep finds deliveries without a job.
pub async fn enqueue_all(ctx: &AppContext, tenant_id: i64, deliveries: &[i64]) {
    for id in deliveries {
        if let Err(e) = enqueue(ctx, tenant_id, *id, db::now()).await {
            tracing::warn!(error = %e, delivery = id, "cannot queue a webhook delivery; the sweep will");
        }
    }
}

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
    let owners = db::tenants::members(&ctx.db, tenant_id)
        .await
        .map_err(retry_db)?;
    let link = ctx
        .public_url
        .join(&format!("/t/{tenant_id}/webhooks/{}", endpoint.id))
        .map(|u| u.to_string())
        .unwrap_or_default();
    for owner in owners.iter().filter(|m| m.role == "owner") {
        let Ok(to) = Email::parse(&owner.email) else {
            continue;
        };
        let email = messages::webhook_disabled(&to, &endpoint.url, reason, &link);
        if let Err(e) = ctx.mailer.send(email).await {
            tracing::warn!(error = %e, "cannot email an owner about a disabled endpoint");
        }
    }
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
