//! cartbridge's own single-click BigCommerce app: the `/auth` code exchange (install or
//! re-install), and `/load`, `/uninstall`, `/remove_user`, whose `signed_payload_jwt` is
//! verified here before anything is looked up. Knows nothing of HTTP requests coming in.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};

use crate::{
    accounts::{self, AccountError},
    config::BcApp,
    context::AppContext,
    db::{
        self, DbError,
        bigcommerce_app::{AppUser, Linked, NewInstall, PendingLink, Removal},
        tokens::Purpose,
    },
    domain::{Email, Scopes, Secret, StoreHash, connection::KNOWN_SCOPES},
    mailer::MailError,
    vault::{Aad, VaultServiceError},
};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum BcAppError {
    /// The app is not configured (`CARTBRIDGE_BC_APP_CLIENT_*` unset).
    #[error("The BigCommerce app is not set up on this cartbridge.")]
    NotConfigured,
    /// A signed payload that is missing, malformed, expired, not yet valid or not ours.
    #[error("This request was not signed by BigCommerce for this app.")]
    BadSignature,
    /// BigCommerce could not be asked, or answered something we cannot use.
    #[error("BigCommerce did not confirm the installation: {0}")]
    Exchange(String),
    /// `/auth` without a code: nothing to exchange.
    #[error(
        "This request carries no installation code. Install the app from the BigCommerce control panel (Apps › Marketplace or My Apps)."
    )]
    MissingCode,
    /// BigCommerce refused the code (expired, used, or not issued to this app).
    #[error(
        "BigCommerce did not accept this installation code (it may have expired or been used). Start the installation again from the BigCommerce control panel."
    )]
    CodeRefused,
    /// The store or user is not known here (never installed, or already removed).
    #[error("This store has not installed the cartbridge app.")]
    UnknownStore,
    #[error("That BigCommerce user has no access to this store's cartbridge account.")]
    UnknownUser,
    #[error("The store owner cannot be removed: the account would have no owner left.")]
    LastOwner,
    #[error("{0}")]
    NotAllowed(String),
    /// An emailed link that is unknown, used or expired.
    #[error(
        "This link is not valid any more (it was used, or it expired). Open the app from the BigCommerce control panel to ask for a new one."
    )]
    LinkInvalid,
    #[error(transparent)]
    Vault(#[from] VaultServiceError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A BigCommerce user as named in the callbacks.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcUser {
    pub id: i64,
    pub email: String,
}

/// The verified claims of a `signed_payload_jwt` (REFERENCE §3.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SignedPayload {
    pub sub: String,
    /// Unique id of this payload: accepted once (replay protection).
    pub jti: String,
    pub exp: i64,
    pub user: BcUser,
    pub owner: BcUser,
    #[serde(default)]
    pub url: Option<String>,
}

/// A verified payload, with the store hash taken from `sub`.
#[derive(Debug, Clone)]
pub struct Verified {
    pub store_hash: StoreHash,
    pub claims: SignedPayload,
}

fn app_config(ctx: &AppContext) -> Result<&BcApp, BcAppError> {
    ctx.bc_app.as_ref().ok_or(BcAppError::NotConfigured)
}

/// Verifies the signature (HS256, the app's client secret), audience, issuer, expiry and
/// not-before; then reads `sub` as `stores/HASH`. Touches nothing else.
pub fn verify(app: &BcApp, jwt: &str) -> Result<Verified, BcAppError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[app.client_id.as_str()]);
    validation.set_issuer(&["bc"]);
    validation.set_required_spec_claims(&["exp", "nbf", "sub", "aud", "iss", "jti"]);
    validation.validate_nbf = true;
    validation.validate_exp = true;
    validation.leeway = LEEWAY_SECS;
    let key = DecodingKey::from_secret(app.client_secret.expose().as_bytes());
    let data = decode::<SignedPayload>(jwt, &key, &validation).map_err(|e| {
        tracing::warn!(error = %e, "refused a BigCommerce signed payload");
        BcAppError::BadSignature
    })?;
    let store_hash = store_of(&data.claims.sub).ok_or(BcAppError::BadSignature)?;
    Ok(Verified {
        store_hash,
        claims: data.claims,
    })
}

/// `verify`, then records the payload's `jti`: a payload seen before is a replay (someone
/// reusing a captured callback URL) and is refused like a bad signature.
pub async fn verify_once(ctx: &AppContext, jwt: &str) -> Result<Verified, BcAppError> {
    let verified = verify(app_config(ctx)?, jwt)?;
    match db::bigcommerce_app::record_jwt_id(&ctx.db, &verified.claims.jti, verified.claims.exp)
        .await
    {
        Ok(()) => Ok(verified),
        Err(DbError::Conflict) => {
            tracing::warn!("refused a replayed BigCommerce signed payload");
            Err(BcAppError::BadSignature)
        }
        Err(e) => Err(e.into()),
    }
}

/// `stores/HASH` → the hash; anything else is refused.
fn store_of(context: &str) -> Option<StoreHash> {
    let raw = context.strip_prefix("stores/")?;
    let hash = StoreHash::parse(raw).ok()?;
    (hash.as_str() == raw).then_some(hash)
}

/// What `/auth` brings (query string), unchanged.
pub struct AuthCallback {
    pub code: Secret,
    pub scope: String,
    pub context: String,
    pub account_uuid: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    scope: String,
    user: BcUser,
    context: String,
    #[serde(default)]
    account_uuid: Option<String>,
}

/// POSTs the code to `<login URL>/oauth2/token` as JSON (REFERENCE §3.1).
async fn exchange(
    ctx: &AppContext,
    app: &BcApp,
    cb: &AuthCallback,
) -> Result<TokenResponse, BcAppError> {
    let url = format!(
        "{}/oauth2/token",
        ctx.bigcommerce_login_url.as_str().trim_end_matches('/')
    );
    let redirect_uri = ctx
        .public_url
        .join("/bigcommerce/auth")
        .map_err(|e| BcAppError::Exchange(e.to_string()))?;
    let body = serde_json::json!({
        "client_id": app.client_id,
        "client_secret": app.client_secret.expose(),
        "code": cb.code.expose(),
        "scope": cb.scope,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri.as_str(),
        "context": cb.context,
    });
    let http = reqwest::Client::builder()
        .timeout(EXCHANGE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| BcAppError::Exchange(e.to_string()))?;
    let res = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            BcAppError::Exchange(format!("cannot reach BigCommerce ({})", e.without_url()))
        })?;
    if res.status().is_client_error() {
        return Err(BcAppError::CodeRefused);
    }
    if !res.status().is_success() {
        return Err(BcAppError::Exchange(format!(
            "status {}",
            res.status().as_u16()
        )));
    }
    res.json::<TokenResponse>()
        .await
        .map_err(|_| BcAppError::Exchange("an answer we could not read".into()))
}

/// Only the scopes cartbridge knows, in its order and spelling.
fn known_scopes(granted: &str) -> String {
    let known = granted
        .split([' ', '+', ','])
        .filter(|s| KNOWN_SCOPES.iter().any(|k| k.name == *s));
    Scopes::parse(known)
        .map(|s| s.to_text())
        .unwrap_or_default()
}

fn aad(tenant_id: i64, connection_id: i64) -> Aad {
    Aad::new(tenant_id, "connections", connection_id, "access_token")
}

/// The outcome of `/auth` or `/load`: who to sign in, where.
#[derive(Debug, Clone)]
pub struct AppSession {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub user_id: i64,
    pub store_hash: StoreHash,
}

/// `/auth` or `/load` either signs the BigCommerce identity in, or — when its email is an
/// existing account's that it is not linked to — asks that account's owner to prove it.
#[derive(Debug, Clone)]
pub enum AppOutcome {
    SignedIn(AppSession),
    NeedsProof {
        pending: PendingLink,
        /// The account's email (the one the payload named), where a confirmation can go.
        email: Email,
        connection_id: i64,
        store_hash: StoreHash,
    },
}

impl AppOutcome {
    fn new(
        linked: Linked,
        role: &str,
        tenant_id: i64,
        connection_id: i64,
        store_hash: StoreHash,
        bc_user_id: i64,
        email: Email,
    ) -> Self {
        match linked {
            Linked::Member { user_id, .. } => Self::SignedIn(AppSession {
                tenant_id,
                connection_id,
                user_id,
                store_hash,
            }),
            Linked::NeedsProof { user_id } => Self::NeedsProof {
                pending: PendingLink {
                    user_id,
                    tenant_id,
                    store_hash: store_hash.as_str().to_owned(),
                    bc_user_id,
                    role: role.to_owned(),
                },
                email,
                connection_id,
                store_hash,
            },
        }
    }
}

/// An `account_uuid` as BigCommerce sends it (a UUID); anything else is not stored.
fn account_uuid(raw: Option<&str>) -> Option<&str> {
    raw.filter(|v| {
        (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
    })
}

/// Exchanges the code; creates the tenant, owner and connection for a new store, or stores
/// the new token and scopes for a known one. The installer is signed in by their
/// BigCommerce identity; an existing account with their email must be proven first.
#[tracing::instrument(skip_all)]
pub async fn install(ctx: &AppContext, cb: &AuthCallback) -> Result<AppOutcome, BcAppError> {
    let app = app_config(ctx)?;
    let token = exchange(ctx, app, cb).await?;
    let store_hash = store_of(&token.context)
        .ok_or_else(|| BcAppError::Exchange("no store in the answer".into()))?;
    let email = Email::parse(&token.user.email)
        .map_err(|_| BcAppError::Exchange("the installing user has no valid email".into()))?;
    if let Some(user) = db::users::find_by_email(&ctx.db, email.as_str()).await?
        && user.is_staff
    {
        return Err(BcAppError::NotAllowed(
            "This email belongs to a cartbridge support account; install the app as another user."
                .into(),
        ));
    }
    let scopes = known_scopes(&token.scope);
    let account_uuid =
        account_uuid(token.account_uuid.as_deref()).or(account_uuid(cb.account_uuid.as_deref()));
    let tenant_name = format!("BigCommerce store {}", store_hash.as_str());
    let existing = db::bigcommerce_app::find_install(&ctx.db, store_hash.as_str()).await?;
    let role = if existing.is_none() {
        "owner"
    } else {
        "member"
    };
    let new = NewInstall {
        store_hash: store_hash.as_str(),
        tenant_name: &tenant_name,
        connection_name: &tenant_name,
        scopes: &scopes,
        account_uuid,
        installer: AppUser {
            bc_user_id: token.user.id,
            email: email.as_str(),
            role,
        },
    };
    let (tenant_id, connection_id, linked) = match existing {
        Some(found) => reinstall(ctx, &found, &token.access_token, &new).await?,
        None => {
            let vault = &ctx.vault;
            let secret = &token.access_token;
            let created =
                db::bigcommerce_app::create_install(&ctx.db, &new, |tenant_id, id| async move {
                    Ok::<_, BcAppError>(vault.seal(&aad(tenant_id, id), secret).await?)
                })
                .await;
            match created {
                // A concurrent install of the same store won (one app connection per
                // store): store this token on its connection instead.
                Err(BcAppError::Db(DbError::Conflict)) => {
                    let found = db::bigcommerce_app::find_install(&ctx.db, store_hash.as_str())
                        .await?
                        .ok_or(DbError::Conflict)?;
                    reinstall(ctx, &found, &token.access_token, &new).await?
                }
                other => other?,
            }
        }
    };
    tracing::info!(tenant_id, connection_id, "BigCommerce app installed");
    if let Linked::Member {
        user_id,
        created: true,
    } = linked
    {
        send_set_password(ctx, user_id, &email).await?;
    }
    Ok(AppOutcome::new(
        linked,
        role,
        tenant_id,
        connection_id,
        store_hash,
        token.user.id,
        email,
    ))
}

/// Seals the new token to the store's existing app connection and stores it with the scopes.
async fn reinstall(
    ctx: &AppContext,
    found: &db::bigcommerce_app::InstallRow,
    token: &Secret,
    new: &NewInstall<'_>,
) -> Result<(i64, i64, Linked), BcAppError> {
    let ct = ctx
        .vault
        .seal(&aad(found.tenant_id, found.connection_id), token)
        .await?;
    let linked =
        db::bigcommerce_app::reinstall(&ctx.db, found.tenant_id, found.connection_id, &ct, new)
            .await?;
    Ok((found.tenant_id, found.connection_id, linked))
}

/// A new account has no password: mail a link to set one (for signing in outside BigCommerce).
async fn send_set_password(
    ctx: &AppContext,
    user_id: i64,
    email: &Email,
) -> Result<(), BcAppError> {
    Ok(accounts::send_password_link(ctx, user_id, email, Purpose::SetPassword).await?)
}

/// `/load`: the store's tenant and the cartbridge user behind the BigCommerce identity
/// (created as owner or member if new; an existing account with the payload's email must be
/// proven first).
#[tracing::instrument(skip_all)]
pub async fn load(ctx: &AppContext, jwt: &str) -> Result<AppOutcome, BcAppError> {
    let Verified { store_hash, claims } = verify_once(ctx, jwt).await?;
    let install = db::bigcommerce_app::find_install(&ctx.db, store_hash.as_str())
        .await?
        .filter(|i| i.status != "disabled")
        .ok_or(BcAppError::UnknownStore)?;
    let email = Email::parse(&claims.user.email).map_err(|_| BcAppError::UnknownUser)?;
    let known = db::bigcommerce_app::find_member(
        &ctx.db,
        install.tenant_id,
        store_hash.as_str(),
        claims.user.id,
    )
    .await?;
    let role = if claims.user.id == claims.owner.id {
        "owner"
    } else {
        "member"
    };
    let linked = match known {
        Some(user_id) => Linked::Member {
            user_id,
            created: false,
        },
        None => {
            if let Some(user) = db::users::find_by_email(&ctx.db, email.as_str()).await?
                && user.is_staff
            {
                return Err(BcAppError::UnknownUser);
            }
            let user = AppUser {
                bc_user_id: claims.user.id,
                email: email.as_str(),
                role,
            };
            db::bigcommerce_app::link(&ctx.db, install.tenant_id, store_hash.as_str(), &user)
                .await?
        }
    };
    Ok(AppOutcome::new(
        linked,
        role,
        install.tenant_id,
        install.connection_id,
        store_hash,
        claims.user.id,
        email,
    ))
}

/// `/uninstall`: the connection is disabled, its token destroyed and its webhook
/// registrations dropped (BigCommerce has invalidated the token and removed the app's
/// webhooks, so the store is not called).
#[tracing::instrument(skip_all)]
pub async fn uninstall(ctx: &AppContext, jwt: &str) -> Result<(), BcAppError> {
    let Verified { store_hash, .. } = verify_once(ctx, jwt).await?;
    let install = db::bigcommerce_app::find_install(&ctx.db, store_hash.as_str())
        .await?
        .ok_or(BcAppError::UnknownStore)?;
    db::bigcommerce_app::uninstall(&ctx.db, install.tenant_id, install.connection_id).await?;
    // The receiver must not keep accepting the scopes it cached for the connection.
    ctx.inbound.invalidate();
    tracing::info!(tenant_id = install.tenant_id, "BigCommerce app uninstalled");
    Ok(())
}

/// `/remove_user`: the user loses access to the store's tenant (never its last owner).
#[tracing::instrument(skip_all)]
pub async fn remove_user(ctx: &AppContext, jwt: &str) -> Result<(), BcAppError> {
    let Verified { store_hash, claims } = verify_once(ctx, jwt).await?;
    let install = db::bigcommerce_app::find_install(&ctx.db, store_hash.as_str())
        .await?
        .ok_or(BcAppError::UnknownStore)?;
    let user_id = db::bigcommerce_app::find_member(
        &ctx.db,
        install.tenant_id,
        store_hash.as_str(),
        claims.user.id,
    )
    .await?
    .ok_or(BcAppError::UnknownUser)?;
    match db::bigcommerce_app::remove_member(
        &ctx.db,
        install.tenant_id,
        store_hash.as_str(),
        user_id,
    )
    .await?
    {
        Removal::Removed => Ok(()),
        Removal::NotAMember => Err(BcAppError::UnknownUser),
        Removal::LastOwner => Err(BcAppError::LastOwner),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    fn app() -> BcApp {
        BcApp {
            client_id: "app-id".into(),
            client_secret: Secret::new("app-secret".into()),
        }
    }

    fn token(alg: Algorithm, exp_offset: i64, sub: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "aud": "app-id", "iss": "bc", "iat": now - 10, "nbf": now - 10,
            "exp": now + exp_offset, "sub": sub, "jti": "0b7d3c1e-unit-test",
            "user": {"id": 1, "email": "a@example.com"}, "owner": {"id": 1, "email": "a@example.com"},
        });
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(b"app-secret"),
        )
        .expect("sign")
    }

    #[test]
    fn a_valid_payload_names_its_store() {
        let v = verify(&app(), &token(Algorithm::HS256, 3600, "stores/abc123")).expect("valid");
        assert_eq!(v.store_hash.as_str(), "abc123");
        assert_eq!(v.claims.user.email, "a@example.com");
    }

    #[test]
    fn expiry_allows_a_little_clock_skew_only() {
        assert!(verify(&app(), &token(Algorithm::HS256, -30, "stores/abc123")).is_ok());
        assert!(verify(&app(), &token(Algorithm::HS256, -120, "stores/abc123")).is_err());
    }

    #[test]
    fn other_algorithms_and_subjects_are_refused() {
        assert!(verify(&app(), &token(Algorithm::HS512, 3600, "stores/abc123")).is_err());
        for sub in [
            "abc123",
            "stores/",
            "stores/ABC123",
            "stores/abc123/x",
            "users/abc123",
        ] {
            assert!(
                verify(&app(), &token(Algorithm::HS256, 3600, sub)).is_err(),
                "{sub}"
            );
        }
    }
}
