//! Sessions: `DbSessionStore` keeps session state server-side in the `sessions` table (the
//! cookie carries only a random key, encrypted), so logging out, a password reset or a removed
//! user really ends access, from every app process. Also the session keys we use.

use std::collections::HashMap;

use actix_session::{
    Session,
    storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError},
};
use actix_web::cookie::time::Duration;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{accounts::tokens, db, db::Db};

pub const USER_KEY: &str = "uid";
pub const CSRF_KEY: &str = "csrf";
/// Set for a session signed in from the BigCommerce control panel: the only tenant it may
/// reach (a BigCommerce sign-in never opens the user's other tenants).
pub const APP_TENANT_KEY: &str = "bc_tenant";
/// The session cookie's names (`startup` picks the `__Host-` one over https).
pub const SESSION_COOKIES: [&str; 2] = ["cartbridge", "__Host-cartbridge"];
/// A signed-in session's handle: names it on the profile page ("this device", revoke)
/// without ever showing its key. Kept in the state and copied to the `handle` column.
pub const HANDLE_KEY: &str = "sid";
/// The browser's User-Agent (shortened), and when the session was last seen (Unix
/// seconds, refreshed at most once a minute): copied to columns for the profile page.
pub const USER_AGENT_KEY: &str = "ua";
pub const SEEN_KEY: &str = "seen";
/// How often a signed-in session's `last_seen_at` is written, at most.
pub const SEEN_EVERY_SECS: i64 = 60;
/// The longest User-Agent kept.
const MAX_USER_AGENT_CHARS: usize = 200;

/// Session storage in the database.
#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn user_of(state: &HashMap<String, String>) -> Option<i64> {
    state.get(USER_KEY).and_then(|v| v.parse().ok())
}

/// A string value of the state (values are stored JSON-encoded).
fn text_of(state: &HashMap<String, String>, key: &str) -> Option<String> {
    state.get(key).and_then(|v| serde_json::from_str(v).ok())
}

/// The profile page's columns, from the state.
struct OwnedMeta {
    handle: Option<String>,
    user_agent: Option<String>,
    last_seen_at: Option<i64>,
}

impl OwnedMeta {
    fn of(state: &HashMap<String, String>) -> Self {
        Self {
            handle: text_of(state, HANDLE_KEY),
            user_agent: text_of(state, USER_AGENT_KEY),
            last_seen_at: state.get(SEEN_KEY).and_then(|v| v.parse().ok()),
        }
    }

    fn borrow(&self) -> db::sessions::Meta<'_> {
        db::sessions::Meta {
            handle: self.handle.as_deref(),
            user_agent: self.user_agent.as_deref(),
            last_seen_at: self.last_seen_at,
        }
    }
}

fn expiry(ttl: &Duration) -> i64 {
    db::now() + ttl.whole_seconds()
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let state = db::sessions::load(&self.db, &tokens::hash(key.as_ref()))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        state
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let json = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let key = URL_SAFE_NO_PAD.encode(bytes);
        let meta = OwnedMeta::of(&state);
        db::sessions::insert(
            &self.db,
            &tokens::hash(&key),
            user_of(&state),
            &json,
            expiry(ttl),
            meta.borrow(),
        )
        .await
        .map_err(|e| SaveError::Other(e.into()))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let meta = OwnedMeta::of(&state);
        let updated = db::sessions::update(
            &self.db,
            &tokens::hash(key.as_ref()),
            user_of(&state),
            &json,
            expiry(ttl),
            meta.borrow(),
        )
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            return Ok(key);
        }
        // The session was ended meanwhile (logout elsewhere, password reset): start a new one
        // without the sign-in, never resurrecting the old key.
        let mut state = state;
        for key in [
            USER_KEY,
            APP_TENANT_KEY,
            HANDLE_KEY,
            USER_AGENT_KEY,
            SEEN_KEY,
        ] {
            state.remove(key);
        }
        self.save(state, ttl)
            .await
            .map_err(|e| UpdateError::Other(e.into()))
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        db::sessions::touch(&self.db, &tokens::hash(key.as_ref()), expiry(ttl)).await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        db::sessions::delete(&self.db, &tokens::hash(key.as_ref())).await?;
        Ok(())
    }
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return token;
    }
    let (token, _) = tokens::generate();
    let token = token.expose().to_owned();
    if let Err(e) = session.insert(CSRF_KEY, &token) {
        tracing::warn!(error = %e, "cannot store the CSRF token");
    }
    token
}

/// Signs `user_id` in: a new session key (against fixation) and a new CSRF token.
pub fn sign_in(session: &Session, user_id: i64) -> Result<(), crate::error::AppError> {
    session.renew();
    for key in [
        CSRF_KEY,
        APP_TENANT_KEY,
        HANDLE_KEY,
        USER_AGENT_KEY,
        SEEN_KEY,
    ] {
        session.remove(key);
    }
    session
        .insert(USER_KEY, user_id)
        .map_err(crate::error::AppError::internal)?;
    Ok(())
}

/// Signs `user_id` in from the BigCommerce control panel: like `sign_in`, but the session
/// reaches only `tenant_id`, the store's tenant.
pub fn sign_in_to_app_tenant(
    session: &Session,
    user_id: i64,
    tenant_id: i64,
) -> Result<(), crate::error::AppError> {
    sign_in(session, user_id)?;
    session
        .insert(APP_TENANT_KEY, tenant_id)
        .map_err(crate::error::AppError::internal)?;
    Ok(())
}

/// Signs whoever was signed in out, keeping the session (a new key) for what follows.
pub fn sign_out_keeping_session(session: &Session) {
    for key in [
        USER_KEY,
        APP_TENANT_KEY,
        HANDLE_KEY,
        USER_AGENT_KEY,
        SEEN_KEY,
    ] {
        session.remove(key);
    }
    session.renew();
}

/// The one tenant a session signed in from BigCommerce may reach, if it was.
pub fn app_tenant(session: &Session) -> Option<i64> {
    session.get::<i64>(APP_TENANT_KEY).ok().flatten()
}

pub fn signed_in_user(session: &Session) -> Option<i64> {
    session.get::<i64>(USER_KEY).ok().flatten()
}

/// This session's handle, if it is signed in (set by `track_sessions`).
pub fn handle(session: &Session) -> Option<String> {
    session.get::<String>(HANDLE_KEY).ok().flatten()
}

/// After each request of a signed-in session: gives it a handle if it has none, and
/// records its browser and when it was seen — at most once a minute, so an ordinary page
/// view writes nothing more than the session middleware already does. Register it inside
/// the session middleware.
pub async fn track_sessions(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_session::SessionExt;
    let session = req.get_session();
    let agent: Option<String> = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect());
    let res = next.call(req).await?.map_into_boxed_body();
    if signed_in_user(&session).is_none() {
        return Ok(res);
    }
    let now = db::now();
    if handle(&session).is_none() {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        insert_quietly(&session, HANDLE_KEY, URL_SAFE_NO_PAD.encode(bytes));
    }
    let seen: Option<i64> = session.get(SEEN_KEY).ok().flatten();
    if seen.is_none_or(|at| now - at >= SEEN_EVERY_SECS) {
        insert_quietly(&session, SEEN_KEY, now);
    }
    let stored: Option<String> = session.get(USER_AGENT_KEY).ok().flatten();
    if let Some(agent) = agent.filter(|a| stored.as_deref() != Some(a.as_str())) {
        insert_quietly(&session, USER_AGENT_KEY, agent);
    }
    Ok(res)
}

fn insert_quietly(session: &Session, key: &str, value: impl serde::Serialize) {
    if let Err(e) = session.insert(key, value) {
        tracing::warn!(error = %e, key, "cannot update the session");
    }
}
