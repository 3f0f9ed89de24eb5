//! Inbound BigCommerce webhooks, shared by every flow that consumes them (Placed Orders,
//! Get Shipments): each connection's public id and secret, registration of a flow's scopes
//! through `/v3/hooks` ([`ensure`], [`remove`], [`check`], and [`remove_all`] before a
//! connection is deleted), the receiver (`receiver`: verify, store in the inbox with its
//! job, acknowledge) and the job that hands each stored delivery to the consumer of its
//! scope ([`consumer_for`]).
//!
//! The destination is `<public URL>/webhooks/bigcommerce/<public id>`; BigCommerce sends the
//! connection's secret back in [`SECRET_HEADER`] on every delivery. Only its SHA-256 is read
//! by the receiver; the secret itself is sealed in the vault and opened only to register.

pub mod receiver;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};

pub use receiver::Receiver;

use crate::{
    bigcommerce::{BigCommerceError, StoreClient},
    context::AppContext,
    db::{
        self, DbError,
        inbound::{HookRow, INBOX_JOB, InboxRow},
    },
    domain::Secret,
    jobs::{BoxFuture, Handler, Job, JobFailure},
    vault::Aad,
};

/// The custom header BigCommerce sends back with the connection's secret.
pub const SECRET_HEADER: &str = "X-Cartbridge-Secret";

/// What a consumer did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed; an optional note for the inbox row.
    Done(Option<String>),
    /// Deliberately not processed, and why (outside a filter, not an order yet, …).
    Skipped(String),
}

/// A consumer of one kind of delivery.
pub type Consumer =
    for<'a> fn(&'a AppContext, &'a InboxRow) -> BoxFuture<'a, Result<Outcome, JobFailure>>;

/// The consumer of each scope: the one place a flow plugs its scopes in.
pub fn consumer_for(scope: &str) -> Option<Consumer> {
    match scope {
        "store/order/created" | "store/order/statusUpdated" => {
            Some(crate::flows::placed_orders::consume)
        }
        "store/shipment/created" | "store/shipment/updated" => {
            Some(crate::flows::shipments::consume)
        }
        _ => None,
    }
}

/// The connection's hook destination.
pub fn destination(ctx: &AppContext, public_id: &str) -> String {
    format!(
        "{}/webhooks/bigcommerce/{public_id}",
        ctx.public_url.as_str().trim_end_matches('/')
    )
}

/// Hex SHA-256 of a secret, as the receiver compares it.
pub fn secret_digest(secret: &str) -> String {
    crate::accounts::tokens::hash(secret)
}

fn aad(tenant_id: i64, key_id: i64) -> Aad {
    Aad::new(tenant_id, "bigcommerce_hook_keys", key_id, "hook_secret")
}

/// Why hooks could not be registered or checked.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the hook secret cannot be opened: {0}")]
    Vault(String),
    #[error("{0}")]
    BigCommerce(#[from] BigCommerceError),
    /// The hooks are on the store, but without a usable token they cannot be deleted.
    #[error("the connection has no usable access token")]
    NoToken,
}

/// How long [`key`] waits for another request to seal the key it is creating, in steps.
const KEY_WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(20);
const KEY_WAIT_STEPS: usize = 100;

/// The connection's public id and secret, created on first use.
pub async fn key(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<(String, Secret), HookError> {
    if let Some(row) = db::inbound::key(&ctx.db, tenant_id, connection_id).await?
        && !row.secret_ct.is_empty()
    {
        let secret = ctx
            .vault
            .open(&aad(tenant_id, row.id), &row.secret_ct)
            .await
            .map_err(|e| HookError::Vault(e.to_string()))?;
        return Ok((row.public_id, secret));
    }
    let public_id = random_id(18);
    let secret = Secret::new(random_id(32));
    let id = match db::inbound::insert_key(
        &ctx.db,
        tenant_id,
        connection_id,
        &public_id,
        &secret_digest(secret.expose()),
    )
    .await?
    {
        Some(id) => id,
        // Another request is creating it: the row goes in before its secret is sealed (the
        // ciphertext's associated data names the row id). Wait for that request to seal it;
        // a row still unsealed after that is one whose creator died, so take it over.
        None => {
            for _ in 0..KEY_WAIT_STEPS {
                tokio::time::sleep(KEY_WAIT_STEP).await;
                if db::inbound::key(&ctx.db, tenant_id, connection_id)
                    .await?
                    .is_some_and(|row| !row.secret_ct.is_empty())
                {
                    return Box::pin(key(ctx, tenant_id, connection_id)).await;
                }
            }
            let row = db::inbound::key(&ctx.db, tenant_id, connection_id)
                .await?
                .ok_or(DbError::NotFound)?;
            let ct = ctx
                .vault
                .seal(&aad(tenant_id, row.id), &secret)
                .await
                .map_err(|e| HookError::Vault(e.to_string()))?;
            let digest = secret_digest(secret.expose());
            if db::inbound::take_over_key(&ctx.db, tenant_id, row.id, &digest, &ct).await? {
                ctx.inbound.invalidate();
                return Ok((row.public_id, secret));
            }
            // Sealed by its creator after all.
            return Box::pin(key(ctx, tenant_id, connection_id)).await;
        }
    };
    let ct = ctx
        .vault
        .seal(&aad(tenant_id, id), &secret)
        .await
        .map_err(|e| HookError::Vault(e.to_string()))?;
    db::inbound::set_key_ct(&ctx.db, tenant_id, id, &ct).await?;
    Ok((public_id, secret))
}

fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A hook as BigCommerce returns it.
#[derive(Debug, Clone, Deserialize)]
struct BcHook {
    id: i64,
    scope: String,
    destination: String,
    #[serde(default)]
    is_active: bool,
    #[serde(default)]
    headers: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct One {
    data: BcHook,
}

/// The connection's store client, or why the hooks cannot be managed.
async fn client_parts(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<Option<(crate::domain::StoreHash, Secret)>, HookError> {
    let Some(connection) = db::connections::find(&ctx.db, tenant_id, connection_id).await? else {
        return Ok(None);
    };
    let Ok(hash) = crate::domain::StoreHash::parse(&connection.store_hash) else {
        return Ok(None);
    };
    match crate::connections::store::access_token(ctx, tenant_id, connection_id).await {
        Ok(Some(token)) => Ok(Some((hash, token))),
        Ok(None) => Ok(None),
        Err(e) => Err(HookError::Vault(e.to_string())),
    }
}

/// Registers `scopes` for `flow` on the connection: deliveries of these scopes are accepted
/// from now on, and each scope gets one active hook on the store (an existing hook with the
/// same scope and destination is reused and re-activated, so enabling twice creates none).
/// A failure is recorded on the hook's row (the connection page shows it; the periodic
/// [`check`] tries again) and returned.
pub async fn ensure(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    scopes: &[&str],
) -> Result<(), HookError> {
    for scope in scopes {
        db::inbound::upsert_hook(&ctx.db, tenant_id, connection_id, flow, scope).await?;
    }
    ctx.inbound.invalidate();
    check(ctx, tenant_id, connection_id, Some(flow)).await
}

/// A run's hook check, safe against a settings save racing it: while `wanted` says the flow
/// wants its hooks, [`ensure`]s them, then asks `wanted` again and [`remove`]s them if a save
/// turned them off meanwhile (that save's own `remove` may have run before this check
/// registered them again). Nothing is done when they are not wanted to begin with.
pub async fn keep<F, Fut>(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    scopes: &[&str],
    wanted: F,
) -> Result<(), HookError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool, DbError>>,
{
    if !wanted().await? {
        return Ok(());
    }
    let result = ensure(ctx, tenant_id, connection_id, flow, scopes).await;
    if !wanted().await? {
        return remove(ctx, tenant_id, connection_id, flow).await;
    }
    result
}

/// Deletes `flow`'s hooks on the store and its registrations: deliveries of its scopes get
/// 410 from now on (so BigCommerce stops).
pub async fn remove(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
) -> Result<(), HookError> {
    let rows = db::inbound::hooks(&ctx.db, tenant_id, connection_id, Some(flow)).await?;
    for row in &rows {
        db::inbound::delete_hook(&ctx.db, tenant_id, row.id).await?;
    }
    ctx.inbound.invalidate();
    let Some((hash, token)) = client_parts(ctx, tenant_id, connection_id).await? else {
        return Ok(());
    };
    let client = ctx.bigcommerce.store(&hash, &token);
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.bc_hook_id).collect();
    match delete_on_store(&client, &ids).await {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Before a connection is deleted: deletes every hook of the connection on the store (those
/// registered, and any other with its destination, e.g. one whose creation timed out after
/// BigCommerce made it) and drops the registrations, with one attempt per request (someone
/// is waiting). Returns how many were deleted on the store. `Err`: some hooks may remain
/// there; once the connection is gone the receiver answers them 404, so BigCommerce
/// deactivates them after its retries.
pub async fn remove_all(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
) -> Result<usize, HookError> {
    let rows = db::inbound::hooks(&ctx.db, tenant_id, connection_id, None).await?;
    for row in &rows {
        db::inbound::delete_hook(&ctx.db, tenant_id, row.id).await?;
    }
    ctx.inbound.invalidate();
    // Without a key, no hook was ever registered for this connection.
    let Some(key) = db::inbound::key(&ctx.db, tenant_id, connection_id).await? else {
        return Ok(0);
    };
    let Some((hash, token)) = client_parts(ctx, tenant_id, connection_id).await? else {
        return if rows.iter().any(|r| r.bc_hook_id.is_some()) {
            Err(HookError::NoToken)
        } else {
            Ok(0)
        };
    };
    let client = ctx
        .bigcommerce
        .store(&hash, &token)
        .with_retry_policy(crate::bigcommerce::RetryPolicy::no_retries());
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.bc_hook_id).collect();
    let mut walk = crate::bigcommerce::Paginator::new(
        "/v3/hooks",
        vec![("destination".to_owned(), destination(ctx, &key.public_id))],
        250,
    );
    let listed = loop {
        match walk.next_page::<BcHook>(&client).await {
            Ok(Some(page)) => ids.extend(page.data.into_iter().map(|h| h.id)),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    ids.sort_unstable();
    ids.dedup();
    match delete_on_store(&client, &ids).await.or(listed) {
        Some(e) => Err(e.into()),
        None => Ok(ids.len()),
    }
}

/// Deletes these hooks on the store (one already gone is fine); the first error, if any.
async fn delete_on_store(client: &StoreClient<'_>, ids: &[i64]) -> Option<BigCommerceError> {
    let mut first_error = None;
    for id in ids {
        match client.delete(&format!("/v3/hooks/{id}")).await {
            Ok(()) | Err(BigCommerceError::NotFound) => {}
            Err(e) => {
                tracing::warn!(error = %e, hook = id, "cannot delete a BigCommerce hook");
                first_error.get_or_insert(e);
            }
        }
    }
    first_error
}

/// Makes every registered hook of the connection (of `flow`, or all) exist and be active on
/// the store: a missing one is created again, a deactivated one re-activated; what was found
/// is recorded on its row.
pub async fn check(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: Option<&str>,
) -> Result<(), HookError> {
    let rows = db::inbound::hooks(&ctx.db, tenant_id, connection_id, flow).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let (public_id, secret) = key(ctx, tenant_id, connection_id).await?;
    let Some((hash, token)) = client_parts(ctx, tenant_id, connection_id).await? else {
        for row in &rows {
            let problem =
                "The connection has no usable access token, so the webhook cannot be registered.";
            db::inbound::record_hook(
                &ctx.db,
                tenant_id,
                row.id,
                row.bc_hook_id,
                false,
                Some(problem),
            )
            .await?;
        }
        return Ok(());
    };
    let client = ctx.bigcommerce.store(&hash, &token);
    let wanted = Wanted {
        destination: destination(ctx, &public_id),
        secret,
    };
    let mut first_error = None;
    for row in &rows {
        if let Err(e) = check_one(ctx, &client, tenant_id, row, &wanted).await {
            let problem = format!("Could not register the webhook: {e}");
            db::inbound::record_hook(
                &ctx.db,
                tenant_id,
                row.id,
                row.bc_hook_id,
                false,
                Some(&problem),
            )
            .await?;
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Wanted {
    destination: String,
    secret: Secret,
}

impl Wanted {
    fn headers(&self) -> Value {
        json!({ SECRET_HEADER: self.secret.expose() })
    }

    fn body(&self, scope: &str) -> Value {
        json!({
            "scope": scope,
            "destination": self.destination,
            "is_active": true,
            "headers": self.headers(),
        })
    }

    fn matches(&self, hook: &BcHook) -> bool {
        hook.destination == self.destination
            && hook
                .headers
                .as_ref()
                .and_then(|h| h.get(SECRET_HEADER))
                .and_then(Value::as_str)
                == Some(self.secret.expose())
    }
}

async fn check_one(
    ctx: &AppContext,
    client: &StoreClient<'_>,
    tenant_id: i64,
    row: &HookRow,
    wanted: &Wanted,
) -> Result<(), HookError> {
    let mut note: Option<String> = None;
    let existing = match row.bc_hook_id {
        Some(id) => match client.get_json::<One>(&format!("/v3/hooks/{id}")).await {
            Ok(one) => Some(one.data),
            Err(BigCommerceError::NotFound) => {
                note = Some(format!(
                    "The webhook was missing on the store; it was created again on {}.",
                    crate::partner_api::rfc3339(db::now())
                ));
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    // A hook we do not know (yet) but that BigCommerce has: the same scope and destination.
    let existing = match existing {
        Some(h) => Some(h),
        None => find_existing(client, &row.scope, &wanted.destination).await?,
    };
    let hook = match existing {
        Some(h) if h.scope == row.scope && wanted.matches(&h) && h.is_active => h,
        Some(h) => {
            if !h.is_active && note.is_none() && row.bc_hook_id == Some(h.id) {
                note = Some(format!(
                    "The webhook was found deactivated on the store; it was re-activated on {}.",
                    crate::partner_api::rfc3339(db::now())
                ));
            }
            let one: One = client
                .put_json(&format!("/v3/hooks/{}", h.id), &wanted.body(&row.scope))
                .await?;
            one.data
        }
        None => match client
            .post_json::<_, One>("/v3/hooks", &wanted.body(&row.scope))
            .await
        {
            Ok(one) => one.data,
            // Another check (a save and a run at once, or a second process) created it
            // between our look and our POST: BigCommerce refuses a second hook for the same
            // scope and destination. Adopt that one.
            Err(BigCommerceError::Status { status: 422, .. })
                if let Some(h) = find_existing(client, &row.scope, &wanted.destination).await? =>
            {
                h
            }
            Err(e) => return Err(e.into()),
        },
    };
    // What this check fixed stays on the row (and the connection page) until the next one.
    let still_registered = db::inbound::record_hook(
        &ctx.db,
        tenant_id,
        row.id,
        Some(hook.id),
        hook.is_active,
        note.as_deref(),
    )
    .await?;
    if !still_registered {
        // A `remove` dropped the registration while this check was (re-)creating the hook,
        // and could not know its id: delete it here, or it would outlive the flow's setting.
        if let Some(e) = delete_on_store(client, &[hook.id]).await {
            return Err(e.into());
        }
    }
    Ok(())
}

async fn find_existing(
    client: &StoreClient<'_>,
    scope: &str,
    destination: &str,
) -> Result<Option<BcHook>, HookError> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("scope", scope)
        .append_pair("destination", destination)
        .finish();
    let list: crate::bigcommerce::models::V3List<BcHook> =
        client.get_json(&format!("/v3/hooks?{query}")).await?;
    Ok(list
        .data
        .into_iter()
        .find(|h| h.scope == scope && h.destination == destination))
}

/// Runs the job of one stored delivery: hands it to its scope's consumer and records the
/// outcome on the inbox row.
pub struct InboxJobs;

#[derive(Deserialize)]
struct InboxPayload {
    inbox_id: i64,
}

impl Handler for InboxJobs {
    fn kind(&self) -> &'static str {
        INBOX_JOB
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            let payload: InboxPayload = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::Fail(format!("unreadable job payload: {e}")))?;
            let retry = |e: DbError| JobFailure::Retry(format!("database: {e}"));
            let Some(row) = db::inbound::inbox_row(&ctx.db, job.tenant_id, payload.inbox_id)
                .await
                .map_err(retry)?
            else {
                return Ok(());
            };
            if matches!(row.status.as_str(), "done" | "skipped") {
                return Ok(());
            }
            let outcome = match consumer_for(&row.scope) {
                Some(consume) => consume(ctx, &row).await,
                None => Ok(Outcome::Skipped(format!("No consumer for {}.", row.scope))),
            };
            let (status, note) = match &outcome {
                Ok(Outcome::Done(note)) => ("done", note.clone()),
                Ok(Outcome::Skipped(why)) => ("skipped", Some(why.clone())),
                Err(JobFailure::Fail(e)) => ("failed", Some(e.clone())),
                Err(JobFailure::Retry(e)) if job.is_last_attempt() => ("failed", Some(e.clone())),
                Err(JobFailure::Retry(e)) => ("received", Some(e.clone())),
            };
            db::inbound::finish_inbox(&ctx.db, job.tenant_id, row.id, status, note.as_deref())
                .await
                .map_err(retry)?;
            outcome.map(|_| ())
        })
    }
}
