//! Connect to BigCommerce: builds the authorize URL for one OAuth 2.0 connection (with a
//! one-time `state` whose hash the caller keeps in the user's session), then, on the callback,
//! checks that state, exchanges the code at `<login URL>/oauth2/token`, checks the returned
//! store, seals the token, records the granted scopes and runs Test. Every failure is detected
//! before the first write, so a refused callback changes nothing. Never returns or logs a
//! token or client secret.

use std::time::Duration;

use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, Client, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
    basic::{
        BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
        BasicTokenType,
    },
    reqwest,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{
    accounts::{members::Actor, tokens},
    connections::{
        oauth_clients::{self, OAuthClientError},
        store::{self, ConnectionError, TestReport},
    },
    context::AppContext,
    db::{self, DbError},
    domain::{AuthType as ConnectionAuth, Scopes, Secret},
    vault::{Aad, VaultServiceError},
};

/// How long a Connect may take between leaving for BigCommerce and coming back.
pub const STATE_TTL_SECS: i64 = 600;

/// A Connect in progress, kept in the user's session until the callback takes it (once).
/// Holds only the hash of the `state` sent to BigCommerce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingConnect {
    state_hash: String,
    pub tenant_id: i64,
    pub connection_id: i64,
    store_hash: String,
    oauth_client_id: i64,
    expires_at: i64,
}

/// Where to send the browser, and what to remember until it comes back.
pub struct Authorization {
    pub url: url::Url,
    pub pending: PendingConnect,
}

/// What BigCommerce sent back to `/oauth/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub scope: Option<String>,
    pub context: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A successful Connect.
pub struct Connected {
    pub name: String,
    pub report: TestReport,
}

/// Why a Connect was refused; `Display` is what the user is told (never a secret).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    NotAllowed(String),
    #[error("not found")]
    NotFound,
    #[error("Only OAuth 2.0 connections connect through BigCommerce's consent page.")]
    NotOAuth,
    #[error("This connection has no OAuth client. Edit it and choose one.")]
    NoOAuthClient,
    #[error(
        "This sign-in link is unknown or was already used. Nothing was changed; start again with Connect to BigCommerce."
    )]
    UnknownState,
    #[error(
        "This sign-in took longer than 10 minutes and has expired. Nothing was changed; start again with Connect to BigCommerce."
    )]
    ExpiredState,
    #[error("You declined the connection in BigCommerce; nothing was changed.")]
    Declined,
    #[error("BigCommerce did not complete the sign-in ({0}). Nothing was changed.")]
    Provider(String),
    #[error(
        "The connection changed while you were signing in to BigCommerce. Nothing was changed; start again."
    )]
    ConnectionChanged,
    #[error(
        "You signed in to a different store ({got}) than this connection's ({expected}). Nothing was changed; sign in to store {expected} and try again."
    )]
    WrongStore { expected: String, got: String },
    #[error("BigCommerce refused the token exchange: {0}. Nothing was changed.")]
    TokenEndpoint(String),
    #[error("BigCommerce granted scopes cartbridge does not know ({0}). Nothing was changed.")]
    UnknownScopes(String),
    #[error("{0}")]
    OAuthClient(OAuthClientError),
    #[error("cannot seal the access token")]
    Vault(#[from] VaultServiceError),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for ConnectError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            other => Self::Db(other),
        }
    }
}

impl From<OAuthClientError> for ConnectError {
    fn from(e: OAuthClientError) -> Self {
        match e {
            OAuthClientError::NotFound => Self::NoOAuthClient,
            other => Self::OAuthClient(other),
        }
    }
}

impl From<ConnectionError> for ConnectError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::NotFound => Self::NotFound,
            ConnectionError::NotAllowed(msg) => Self::NotAllowed(msg),
            ConnectionError::Vault(v) => Self::Vault(v),
            ConnectionError::Db(d) => Self::Db(d),
            other => Self::NotAllowed(other.to_string()),
        }
    }
}

/// A BigCommerce user as the token response names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BigCommerceUser {
    pub id: i64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

/// The token response of `POST /oauth2/token` (REFERENCE §3.1). BigCommerce sends no
/// `token_type` (its tokens go in `X-Auth-Token`), so the standard response type cannot
/// read it; this one takes the documented fields.
#[derive(Debug, Serialize, Deserialize)]
pub struct BigCommerceTokenResponse {
    access_token: AccessToken,
    #[serde(skip, default = "bearer")]
    token_type: BasicTokenType,
    #[serde(rename = "scope", default)]
    #[serde(deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec")]
    #[serde(serialize_with = "oauth2::helpers::serialize_space_delimited_vec")]
    scopes: Option<Vec<Scope>>,
    /// `stores/{STORE_HASH}`: the store the token is for.
    pub context: String,
    #[serde(default)]
    pub user: Option<BigCommerceUser>,
    #[serde(default)]
    pub owner: Option<BigCommerceUser>,
    #[serde(default)]
    pub account_uuid: Option<String>,
}

impl BigCommerceTokenResponse {
    /// The granted scopes, space-separated.
    pub fn scope_text(&self) -> String {
        self.scopes
            .iter()
            .flatten()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl TokenResponse for BigCommerceTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        None
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        None
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// The oauth2 client for one BigCommerce app, with the authorize and token endpoints set.
pub type BigCommerceOAuthClient = Client<
    BasicErrorResponse,
    BigCommerceTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn login_endpoint(ctx: &AppContext, path: &str) -> String {
    format!(
        "{}{path}",
        ctx.bigcommerce_login_url.as_str().trim_end_matches('/')
    )
}

/// Where BigCommerce sends the browser back: `<public URL>/oauth/callback`.
pub fn redirect_url(ctx: &AppContext) -> String {
    ctx.public_url
        .join("/oauth/callback")
        .map(|u| u.to_string())
        .unwrap_or_default()
}

fn oauth_client(
    ctx: &AppContext,
    client_id: &str,
    secret: Option<&Secret>,
) -> Result<BigCommerceOAuthClient, ConnectError> {
    let bad = |e: url::ParseError| ConnectError::Provider(format!("invalid endpoint: {e}"));
    let client = Client::new(oauth2::ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(login_endpoint(ctx, "/oauth2/authorize")).map_err(bad)?)
        .set_token_uri(TokenUrl::new(login_endpoint(ctx, "/oauth2/token")).map_err(bad)?)
        .set_redirect_uri(RedirectUrl::new(redirect_url(ctx)).map_err(bad)?)
        .set_auth_type(AuthType::RequestBody);
    Ok(match secret {
        Some(s) => client.set_client_secret(ClientSecret::new(s.expose().to_owned())),
        None => client,
    })
}

fn require_manager(actor: &Actor) -> Result<(), ConnectError> {
    if actor.role.can_manage_members() {
        Ok(())
    } else {
        Err(ConnectError::NotAllowed(
            "Only owners and admins can connect a store.".into(),
        ))
    }
}

/// Starts a Connect: the authorize URL (client id, the connection's scopes, redirect URL, a
/// fresh `state`) and the pending record to keep in the session.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id, connection = connection_id))]
pub async fn start(
    ctx: &AppContext,
    actor: &Actor,
    connection_id: i64,
) -> Result<Authorization, ConnectError> {
    require_manager(actor)?;
    let row = store::load(ctx, actor.tenant_id, connection_id).await?;
    if row.auth_type != ConnectionAuth::OAuth.as_str() {
        return Err(ConnectError::NotOAuth);
    }
    let oauth_client_id = row.oauth_client_id.ok_or(ConnectError::NoOAuthClient)?;
    let app = oauth_clients::load(ctx, actor.tenant_id, oauth_client_id).await?;
    let (state, state_hash) = tokens::generate();
    let client = oauth_client(ctx, &app.client_id, None)?;
    let scopes = row
        .scopes
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::new(s.to_owned()));
    let state_value = state.expose().to_owned();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state_value))
        .add_scopes(scopes)
        .url();
    Ok(Authorization {
        url,
        pending: PendingConnect {
            state_hash,
            tenant_id: actor.tenant_id,
            connection_id,
            store_hash: row.store_hash,
            oauth_client_id,
            expires_at: db::now() + STATE_TTL_SECS,
        },
    })
}

/// Checks the `state` that came back against the pending Connect the session held (already
/// removed from it by the caller, so it is single-use). Constant-time comparison.
pub fn check_state(
    pending: Option<PendingConnect>,
    state: Option<&str>,
    now: i64,
) -> Result<PendingConnect, ConnectError> {
    let (Some(pending), Some(state)) = (pending, state) else {
        return Err(ConnectError::UnknownState);
    };
    let matches: bool = tokens::hash(state)
        .as_bytes()
        .ct_eq(pending.state_hash.as_bytes())
        .into();
    if !matches {
        return Err(ConnectError::UnknownState);
    }
    if now >= pending.expires_at {
        return Err(ConnectError::ExpiredState);
    }
    Ok(pending)
}

/// The store BigCommerce names in a `context` (`stores/{hash}`).
fn context_store(context: &str) -> &str {
    context.strip_prefix("stores/").unwrap_or(context)
}

/// Finishes a Connect whose state was checked: exchanges the code, checks the store, seals
/// the token, records the granted scopes, audits, then runs Test.
#[tracing::instrument(skip_all, fields(tenant = actor.tenant_id, connection = pending.connection_id))]
pub async fn finish(
    ctx: &AppContext,
    actor: &Actor,
    pending: &PendingConnect,
    params: &CallbackParams,
) -> Result<Connected, ConnectError> {
    require_manager(actor)?;
    if actor.tenant_id != pending.tenant_id {
        return Err(ConnectError::UnknownState);
    }
    match params.error.as_deref() {
        Some("access_denied") => return Err(ConnectError::Declined),
        Some(other) => {
            let why = params.error_description.as_deref().unwrap_or(other);
            return Err(ConnectError::Provider(why.chars().take(200).collect()));
        }
        None => {}
    }
    let (Some(code), Some(context)) = (params.code.as_deref(), params.context.as_deref()) else {
        return Err(ConnectError::Provider("no authorization code".into()));
    };
    let row = store::load(ctx, pending.tenant_id, pending.connection_id).await?;
    if row.auth_type != ConnectionAuth::OAuth.as_str()
        || row.store_hash != pending.store_hash
        || row.oauth_client_id != Some(pending.oauth_client_id)
    {
        return Err(ConnectError::ConnectionChanged);
    }
    let wrong_store = |got: &str| ConnectError::WrongStore {
        expected: row.store_hash.clone(),
        got: context_store(got).chars().take(64).collect(),
    };
    if context_store(context) != row.store_hash {
        return Err(wrong_store(context));
    }
    let app = oauth_clients::load(ctx, pending.tenant_id, pending.oauth_client_id).await?;
    let secret =
        oauth_clients::open_secret(ctx, pending.tenant_id, pending.oauth_client_id).await?;
    let response = exchange(ctx, &app.client_id, &secret, code, params, context).await?;
    if context_store(&response.context) != row.store_hash {
        return Err(wrong_store(&response.context));
    }
    let granted_text = response.scope_text();
    let granted = Scopes::parse([granted_text.as_str()])
        .map_err(|_| ConnectError::UnknownScopes(granted_text.chars().take(300).collect()))?;
    let token = Secret::new(response.access_token().secret().to_owned());
    let aad = Aad::new(
        pending.tenant_id,
        "connections",
        pending.connection_id,
        "access_token",
    );
    let sealed = ctx.vault.seal(&aad, &token).await?;
    let stored = db::connections::store_oauth_token(
        &ctx.db,
        pending.tenant_id,
        pending.connection_id,
        (&pending.store_hash, pending.oauth_client_id),
        &sealed,
        &granted.to_text(),
    )
    .await?;
    if !stored {
        return Err(ConnectError::ConnectionChanged);
    }
    let detail = format!(
        "{} (store {}, scopes: {})",
        row.name,
        row.store_hash,
        granted.to_text()
    );
    db::audit::record(
        &ctx.db,
        Some(pending.tenant_id),
        Some(actor.user_id),
        "connection.connected",
        &detail,
    )
    .await?;
    tracing::info!("connection connected through OAuth");
    let report = store::test(ctx, pending.tenant_id, pending.connection_id).await?;
    Ok(Connected {
        name: row.name,
        report,
    })
}

/// `POST <login URL>/oauth2/token` with client id and secret in the body, plus the `scope`
/// and `context` BigCommerce sent to the callback, unchanged.
async fn exchange(
    ctx: &AppContext,
    client_id: &str,
    secret: &Secret,
    code: &str,
    params: &CallbackParams,
    context: &str,
) -> Result<BigCommerceTokenResponse, ConnectError> {
    let client = oauth_client(ctx, client_id, Some(secret))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| ConnectError::TokenEndpoint(format!("cannot build an HTTP client: {e}")))?;
    let result = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .add_extra_param("scope", params.scope.clone().unwrap_or_default())
        .add_extra_param("context", context.to_owned())
        .request_async(&http)
        .await;
    result.map_err(|e| {
        let why = match e {
            RequestTokenError::ServerResponse(r) => match r.error_description() {
                Some(d) => format!("{} ({d})", r.error()),
                None => r.error().to_string(),
            },
            RequestTokenError::Request(e) => {
                tracing::warn!(error = %e, "token endpoint unreachable");
                "BigCommerce could not be reached".into()
            }
            RequestTokenError::Parse(e, _) => {
                tracing::warn!(error = %e, "unreadable token response");
                "its answer could not be read".into()
            }
            RequestTokenError::Other(e) => {
                tracing::warn!(error = %e, "token exchange failed");
                "unexpected answer".into()
            }
        };
        ConnectError::TokenEndpoint(why.chars().take(300).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(state: &str, expires_at: i64) -> PendingConnect {
        PendingConnect {
            state_hash: tokens::hash(state),
            tenant_id: 1,
            connection_id: 2,
            store_hash: "abc123".into(),
            oauth_client_id: 3,
            expires_at,
        }
    }

    #[test]
    fn state_must_match_and_be_fresh() {
        assert!(check_state(Some(pending("s1", 100)), Some("s1"), 99).is_ok());
        assert!(matches!(
            check_state(Some(pending("s1", 100)), Some("s2"), 99),
            Err(ConnectError::UnknownState)
        ));
        assert!(matches!(
            check_state(None, Some("s1"), 99),
            Err(ConnectError::UnknownState)
        ));
        assert!(matches!(
            check_state(Some(pending("s1", 100)), None, 99),
            Err(ConnectError::UnknownState)
        ));
        assert!(matches!(
            check_state(Some(pending("s1", 100)), Some("s1"), 100),
            Err(ConnectError::ExpiredState)
        ));
    }

    #[test]
    fn token_response_reads_the_documented_json() {
        let json = r#"{"access_token":"tok","scope":"store_v2_orders store_v2_products_read_only",
            "user":{"id":24654,"username":"u","email":"u@example.com"},
            "owner":{"id":12345,"username":"o","email":"o@example.com"},
            "context":"stores/g5cd38","account_uuid":"0000-1111"}"#;
        let r: BigCommerceTokenResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.access_token().secret(), "tok");
        assert_eq!(r.context, "stores/g5cd38");
        assert_eq!(
            r.scope_text(),
            "store_v2_orders store_v2_products_read_only"
        );
        assert_eq!(r.owner.map(|o| o.id), Some(12345));
        assert!(
            !format!(
                "{:?}",
                serde_json::from_str::<BigCommerceTokenResponse>(json).unwrap()
            )
            .contains("\"tok\"")
        );
        assert_eq!(context_store("stores/abc"), "abc");
    }
}
