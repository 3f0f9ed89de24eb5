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
        db::sessions::insert(
            &self.db,
            &tokens::hash(&key),
            user_of(&state),
            &json,
            expiry(ttl),
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
        let updated = db::sessions::update(
            &self.db,
            &tokens::hash(key.as_ref()),
            user_of(&state),
            &json,
            expiry(ttl),
        )
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            return Ok(key);
        }
        // The session was ended meanwhile (logout elsewhere, password reset): start a new one
        // without the sign-in, never resurrecting the old key.
        let mut state = state;
        state.remove(USER_KEY);
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
    session.remove(CSRF_KEY);
    session.remove(APP_TENANT_KEY);
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
    session.remove(USER_KEY);
    session.remove(APP_TENANT_KEY);
    session.renew();
}

/// The one tenant a session signed in from BigCommerce may reach, if it was.
pub fn app_tenant(session: &Session) -> Option<i64> {
    session.get::<i64>(APP_TENANT_KEY).ok().flatten()
}

pub fn signed_in_user(session: &Session) -> Option<i64> {
    session.get::<i64>(USER_KEY).ok().flatten()
}
