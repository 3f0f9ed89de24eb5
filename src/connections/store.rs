//! Connections to BigCommerce stores: create, edit, delete (one tenant's, always), and
//! Create & Test — the store itself (`GET /v2/store`) and one cheap probe per flow need,
//! reporting which flows the connection can run and, for each it cannot, the missing scope.

use serde::{Deserialize, Serialize};

use crate::{
    accounts::members::Actor,
    bigcommerce::{BigCommerceError, RetryPolicy, models::StoreInfo},
    context::AppContext,
    db::{
        self, DbError,
        connections::{ConnectionFields, ConnectionRow, TestOutcome},
    },
    domain::{AuthType, ConnectionName, Scopes, Secret, StoreHash, connection::permission_of},
    vault::{Aad, VaultServiceError},
};

/// Everything the wizard collected, parsed.
pub struct ConnectionInput {
    pub name: ConnectionName,
    pub auth_type: AuthType,
    pub store_hash: StoreHash,
    pub oauth_client_id: Option<i64>,
    pub api_client_id: Option<String>,
    /// The access token (Token/Basic); `None` on edit keeps the stored one.
    pub token: Option<Secret>,
    pub scopes: Scopes,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("You already have a connection with this name.")]
    NameTaken,
    #[error("Choose one of your OAuth clients.")]
    OAuthClientNotFound,
    #[error("{0}")]
    NotAllowed(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Vault(#[from] VaultServiceError),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for ConnectionError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict => Self::NameTaken,
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

fn aad(tenant_id: i64, id: i64) -> Aad {
    Aad::new(tenant_id, "connections", id, "access_token")
}

/// Why an app-installed connection cannot be edited or deleted here.
pub const MANAGED_BY_APP: &str = "This connection was installed from the BigCommerce control panel and is managed there: reinstall the app to change it, uninstall it to remove it.";

fn require_not_app(row: &ConnectionRow) -> Result<(), ConnectionError> {
    if row.installed_by_app {
        Err(ConnectionError::NotAllowed(MANAGED_BY_APP.into()))
    } else {
        Ok(())
    }
}

/// Owners and admins change and test connections; members only look.
pub fn require_manager(actor: &Actor) -> Result<(), ConnectionError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(ConnectionError::NotAllowed(
            "Only owners and admins can change or test connections.".into(),
        ))
    }
}

/// The row fields of `input`; `scopes` is its scope list as stored (space-separated).
fn fields<'a>(input: &'a ConnectionInput, scopes: &'a str) -> ConnectionFields<'a> {
    ConnectionFields {
        name: input.name.as_str(),
        auth_type: input.auth_type.as_str(),
        store_hash: input.store_hash.as_str(),
        oauth_client_id: input.oauth_client_id,
        api_client_id: input.api_client_id.as_deref(),
        scopes,
    }
}

pub async fn list(ctx: &AppContext, tenant_id: i64) -> Result<Vec<ConnectionRow>, ConnectionError> {
    Ok(db::connections::list(&ctx.db, tenant_id).await?)
}

pub async fn load(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<ConnectionRow, ConnectionError> {
    db::connections::find(&ctx.db, tenant_id, id)
        .await?
        .ok_or(ConnectionError::NotFound)
}

/// Creates a connection; its token (if any) is sealed to the new row.
#[tracing::instrument(skip_all, fields(tenant_id = actor.tenant_id))]
pub async fn create(
    ctx: &AppContext,
    actor: &Actor,
    input: &ConnectionInput,
) -> Result<i64, ConnectionError> {
    require_manager(actor)?;
    let scopes = input.scopes.to_text();
    let f = fields(input, &scopes);
    let tenant_id = actor.tenant_id;
    let result = db::connections::create(&ctx.db, tenant_id, &f, |id| async move {
        match &input.token {
            Some(token) => Ok(Some(ctx.vault.seal(&aad(tenant_id, id), token).await?)),
            None => Ok(None),
        }
    })
    .await;
    let id = match result {
        // The only lookup in `create` is the OAuth client's.
        Err(ConnectionError::NotFound) => return Err(ConnectionError::OAuthClientNotFound),
        other => other?,
    };
    db::audit::record(
        &ctx.db,
        Some(tenant_id),
        Some(actor.user_id),
        "connection.created",
        input.name.as_str(),
    )
    .await?;
    Ok(id)
}

/// Edits a connection; a token is replaced only when a new one is given.
pub async fn update(
    ctx: &AppContext,
    actor: &Actor,
    id: i64,
    input: &ConnectionInput,
) -> Result<(), ConnectionError> {
    require_manager(actor)?;
    require_not_app(&load(ctx, actor.tenant_id, id).await?)?;
    let scopes = input.scopes.to_text();
    let f = fields(input, &scopes);
    let token_ct = match &input.token {
        Some(token) => Some(ctx.vault.seal(&aad(actor.tenant_id, id), token).await?),
        None => None,
    };
    match db::connections::update(&ctx.db, actor.tenant_id, id, &f, token_ct.as_deref()).await {
        Ok(true) => {}
        Ok(false) => return Err(ConnectionError::NotFound),
        Err(DbError::NotFound) => return Err(ConnectionError::OAuthClientNotFound),
        Err(e) => return Err(e.into()),
    }
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        "connection.updated",
        input.name.as_str(),
    )
    .await?;
    if input.token.is_some() {
        db::audit::record(
            &ctx.db,
            Some(actor.tenant_id),
            Some(actor.user_id),
            "connection.secret_replaced",
            input.name.as_str(),
        )
        .await?;
    }
    Ok(())
}

/// What deleting a connection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub name: String,
    /// Webhooks of the connection deleted on the store.
    pub hooks_deleted: usize,
    /// Why webhooks of the connection may remain on the store (they could not be deleted);
    /// the receiver answers them 404 from now on, so BigCommerce deactivates them.
    pub hooks_left: Option<String>,
}

/// Deletes a connection and destroys its token's ciphertext. Its webhooks are deleted on
/// the store first, best-effort: a store that cannot be reached does not keep the
/// connection, and what may remain is logged and written to the audit log.
pub async fn delete(ctx: &AppContext, actor: &Actor, id: i64) -> Result<Deleted, ConnectionError> {
    require_manager(actor)?;
    let row = load(ctx, actor.tenant_id, id).await?;
    require_not_app(&row)?;
    let (hooks_deleted, hooks_left) = match crate::inbound::remove_all(ctx, actor.tenant_id, id)
        .await
    {
        Ok(n) => (n, None),
        Err(crate::inbound::HookError::Db(e)) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, connection_id = id, "deleting a connection: its webhooks may remain on the store");
            (0, Some(e.to_string()))
        }
    };
    if !db::connections::delete(&ctx.db, actor.tenant_id, id).await? {
        return Err(ConnectionError::NotFound);
    }
    let detail = match &hooks_left {
        None => row.name.clone(),
        Some(why) => format!(
            "{} (its webhooks could not be deleted on the store, so they may remain: {why})",
            row.name
        ),
    };
    db::audit::record(
        &ctx.db,
        Some(actor.tenant_id),
        Some(actor.user_id),
        "connection.deleted",
        &detail,
    )
    .await?;
    Ok(Deleted {
        name: row.name,
        hooks_deleted,
        hooks_left,
    })
}

/// Whether one flow can run on this connection, and if not, why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capability {
    pub flow: String,
    pub ok: bool,
    pub detail: String,
}

/// What Create & Test found.
#[derive(Debug, Clone)]
pub struct TestReport {
    pub healthy: bool,
    pub problem: Option<String>,
    pub store: Option<StoreInfo>,
    pub capabilities: Vec<Capability>,
}

/// Explains a failed store call to a merchant.
pub fn explain(error: &BigCommerceError, hash: &str) -> String {
    match error {
        BigCommerceError::Unauthorized => "BigCommerce rejected the access token (401). Check that you pasted the whole token and that the API account still exists.".into(),
        BigCommerceError::Forbidden => format!(
            "The token lacks the scope store_v2_information_read_only (403). Grant “{}” to the API account.",
            permission_of("store_v2_information_read_only")
        ),
        BigCommerceError::NotFound => format!("BigCommerce has no store with the hash “{hash}” (404). Check the store hash."),
        BigCommerceError::Timeout { seconds } => format!("BigCommerce did not answer within {seconds} seconds. Try again later."),
        BigCommerceError::Unreachable(why) => format!("BigCommerce could not be reached: {why}."),
        other => format!("The store check failed: {other}."),
    }
}

/// The connection's access token, opened from the vault: `None` when it has none yet (an
/// OAuth connection not connected) or is not the tenant's; a ciphertext that does not open
/// is `Vault`. The caller exposes it only to build the request header.
pub async fn access_token(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<Option<Secret>, ConnectionError> {
    match db::connections::token_ciphertext(&ctx.db, tenant_id, id).await? {
        None => Ok(None),
        Some(ct) => Ok(Some(ctx.vault.open(&aad(tenant_id, id), &ct).await?)),
    }
}

/// Calls the store and probes each flow's scopes; records the result on the connection.
#[tracing::instrument(skip_all, fields(tenant_id, connection_id = id))]
pub async fn test(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
) -> Result<TestReport, ConnectionError> {
    let row = load(ctx, tenant_id, id).await?;
    let report = match access_token(ctx, tenant_id, id).await {
        Ok(None) => TestReport {
            healthy: false,
            problem: Some("Not connected yet: this OAuth 2.0 connection has no access token. Connect it to BigCommerce first.".into()),
            store: None,
            capabilities: Vec::new(),
        },
        Ok(Some(token)) => {
            run_checks(ctx, &row.store_hash, &row.scopes, &row.auth_type, &token).await
        }
        Err(ConnectionError::Vault(e)) => {
            tracing::error!(error = %e, "stored token cannot be opened");
            TestReport {
                healthy: false,
                problem: Some("The stored access token cannot be opened. Edit the connection and enter the token again.".into()),
                store: None,
                capabilities: Vec::new(),
            }
        }
        Err(e) => return Err(e),
    };
    record(ctx, tenant_id, id, &report, row.has_token).await?;
    Ok(report)
}

/// Checks what the wizard was given against BigCommerce before anything is saved (Create &
/// Test), so a failure can be shown on the form with everything typed still there.
/// `None` for OAuth 2.0 (its token comes from connecting) or without a token.
pub async fn check_input(ctx: &AppContext, input: &ConnectionInput) -> Option<TestReport> {
    let token = input.token.as_ref()?;
    let scopes = input.scopes.to_text();
    Some(
        run_checks(
            ctx,
            input.store_hash.as_str(),
            &scopes,
            input.auth_type.as_str(),
            token,
        )
        .await,
    )
}

/// Records a test's findings on the connection.
pub async fn record(
    ctx: &AppContext,
    tenant_id: i64,
    id: i64,
    report: &TestReport,
    has_token: bool,
) -> Result<(), ConnectionError> {
    let capabilities = serde_json::to_string(&report.capabilities).unwrap_or_default();
    let store = report.store.as_ref();
    let outcome = TestOutcome {
        status: if report.healthy {
            "healthy"
        } else if has_token {
            "failing"
        } else {
            "untested"
        },
        error: report.problem.as_deref(),
        store_name: store.map(|s| s.name.as_str()),
        store_domain: store.map(|s| s.domain.as_str()),
        store_plan: store.map(|s| s.plan_name.as_str()),
        store_currency: store.map(|s| s.currency.as_str()),
        capabilities: &capabilities,
    };
    db::connections::record_test(&ctx.db, tenant_id, id, &outcome).await?;
    crate::partner_api::events::after_connection_test(ctx, tenant_id, id, report).await;
    tracing::info!(healthy = report.healthy, "connection tested");
    Ok(())
}

async fn run_checks(
    ctx: &AppContext,
    store_hash: &str,
    scopes: &str,
    auth_type: &str,
    token: &Secret,
) -> TestReport {
    let hash = match StoreHash::parse(store_hash) {
        Ok(hash) => hash,
        Err(e) => {
            return TestReport {
                healthy: false,
                problem: Some(e.to_string()),
                store: None,
                capabilities: Vec::new(),
            };
        }
    };
    // Someone is waiting on the Test button: report the first failure instead of retrying.
    let store = ctx
        .bigcommerce
        .store(&hash, token)
        .with_retry_policy(RetryPolicy::no_retries());
    let info = match store.store_info().await {
        Ok(info) => info,
        Err(e) => {
            return TestReport {
                healthy: false,
                problem: Some(explain(&e, hash.as_str())),
                store: None,
                capabilities: Vec::new(),
            };
        }
    };
    let granted = Scopes::parse([scopes]).unwrap_or_default();
    let is_oauth = auth_type == AuthType::OAuth.as_str();
    let mut probed: Vec<(&str, Result<(), BigCommerceError>)> = Vec::new();
    let mut capabilities = Vec::new();
    for (label, probes) in ctx.flows.scope_needs() {
        let mut missing = Vec::new();
        let mut failure = None;
        // A GET proves read access only; a token's write access shows on its first write.
        let mut unproven_writes = Vec::new();
        for probe in probes {
            let (path, scope) = (&probe.path, &probe.scope);
            let result = match probed.iter().find(|(p, _)| p == path) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = store.probe(path).await;
                    probed.push((path, r.clone()));
                    r
                }
            };
            match result {
                Ok(()) if is_oauth && !scope.is_empty() && !granted.grants(scope) => {
                    missing.push(*scope)
                }
                Ok(()) if !is_oauth && !scope.is_empty() && !scope.ends_with("_read_only") => {
                    unproven_writes.push(*scope)
                }
                Ok(()) => {}
                Err(BigCommerceError::Forbidden) => missing.push(*scope),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        let (ok, detail) = if let Some(scope) = missing.first() {
            (
                false,
                format!("missing scope {scope}: grant “{}”", permission_of(scope)),
            )
        } else if let Some(why) = failure {
            (false, format!("could not be checked: {why}"))
        } else if !unproven_writes.is_empty() {
            (
                true,
                format!(
                    "ready: read access confirmed; write access ({}) is confirmed by the first write",
                    unproven_writes.join(", ")
                ),
            )
        } else {
            (true, "ready".to_owned())
        };
        capabilities.push(Capability {
            flow: label.to_owned(),
            ok,
            detail,
        });
    }
    TestReport {
        healthy: true,
        problem: None,
        store: Some(info),
        capabilities,
    }
}
