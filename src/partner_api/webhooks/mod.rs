//! Outbound webhooks: endpoints (owners and admins manage them; the `whsec_` secret is shown
//! once and can be rotated), and delivery. Each (endpoint, event) has one delivery row; a
//! `webhook_delivery` job sends one attempt with [`deliver`]:
//! 2xx is delivered; any other status, a timeout (10 s) or a refused address is retried on
//! the schedule of `CARTBRIDGE_WEBHOOK_RETRY_SCHEDULE_SECS` (8 attempts over about 24 h:
//! `deliver` queues the next attempt itself, since the job queue's backoff stops at 1 h);
//! 410 Gone disables the endpoint at once, and a delivery that used up its attempts
//! disables the endpoint and emails the tenant's owners. Secrets are opened only to sign.

use crate::{
    accounts::members::Actor,
    context::AppContext,
    db::{self, DbError, webhooks::EndpointRow},
    domain::Secret,
    vault::Aad,
};

use super::{EVENT_TYPES, signing, ssrf};

mod delivery;

pub use delivery::{EXCERPT_BYTES, deliver, execute, sweep, sweep_forever};

/// The job kind that sends one delivery attempt.
pub const JOB_KIND: &str = "webhook_delivery";

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
        if enabled {
            // Recovers an alert about an endpoint cartbridge disabled (a hand-made disable
            // alerts nobody: the merchant did it).
            crate::alerts::endpoint_changed(ctx, actor.tenant_id, id, &endpoint.url, "", false)
                .await;
        }
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

/// Queues one attempt of a delivery at `run_at`. It has no key: an attempt queues the
/// next one while it still runs, and the delivery row (not the queue) says whether it is
/// done. No store hash: a delivery draws on no store's budget.
pub async fn enqueue(
    ctx: &AppContext,
    tenant_id: i64,
    delivery_id: i64,
    run_at: i64,
) -> Result<Option<i64>, DbError> {
    let request = crate::jobs::JobRequest {
        tenant_id,
        connection_id: None,
        kind: JOB_KIND,
        key: None,
        store_hash: None,
        payload: serde_json::json!({ "delivery_id": delivery_id }).to_string(),
        run_at,
    };
    crate::jobs::enqueue(ctx, &request).await
}

/// Runs the `webhook_delivery` jobs.
pub struct DeliveryJobs;

impl crate::jobs::Handler for DeliveryJobs {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a crate::jobs::Job,
    ) -> crate::jobs::BoxFuture<'a, Result<(), crate::jobs::JobFailure>> {
        Box::pin(delivery::execute(ctx, job))
    }
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
