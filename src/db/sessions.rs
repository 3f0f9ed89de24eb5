//! `sessions`: server-side session state for the cookie session middleware. The cookie holds
//! a random key; only its SHA-256 is stored, with the signed-in user so that a password reset
//! can end every session of that user.

use super::{Db, DbError, now, on_pool};

pub async fn load(db: &Db, key_hash: &str) -> Result<Option<String>, DbError> {
    let sql = "SELECT state FROM sessions WHERE key_hash = $1 AND expires_at > $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar(sql).bind(key_hash).bind(now()).fetch_optional(p).await)?,
    )
}

/// What the profile page lists about a session, kept in columns beside its state (the
/// session middleware copies them from the state; see `web::session`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta<'a> {
    pub handle: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub last_seen_at: Option<i64>,
}

pub async fn insert(
    db: &Db,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
    meta: Meta<'_>,
) -> Result<(), DbError> {
    let sql = "INSERT INTO sessions (key_hash, user_id, state, expires_at, handle, user_agent, last_seen_at, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, p => sqlx::query(sql).bind(key_hash).bind(user_id).bind(state).bind(expires_at)
        .bind(meta.handle).bind(meta.user_agent).bind(meta.last_seen_at).bind(now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Returns false if the session no longer exists (expired, or ended by a password reset).
pub async fn update(
    db: &Db,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
    meta: Meta<'_>,
) -> Result<bool, DbError> {
    let sql = "UPDATE sessions SET user_id = $1, state = $2, expires_at = $3, \
               handle = COALESCE($6, handle), user_agent = COALESCE($7, user_agent), \
               last_seen_at = COALESCE($8, last_seen_at) \
               WHERE key_hash = $4 AND expires_at > $5";
    let done = on_pool!(db, p => sqlx::query(sql).bind(user_id).bind(state).bind(expires_at)
        .bind(key_hash).bind(now()).bind(meta.handle).bind(meta.user_agent).bind(meta.last_seen_at)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn touch(db: &Db, key_hash: &str, expires_at: i64) -> Result<(), DbError> {
    let sql = "UPDATE sessions SET expires_at = $1 WHERE key_hash = $2";
    on_pool!(db, p => sqlx::query(sql).bind(expires_at).bind(key_hash).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(db: &Db, key_hash: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM sessions WHERE key_hash = $1";
    on_pool!(db, p => sqlx::query(sql).bind(key_hash).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let sql = "DELETE FROM sessions WHERE expires_at <= $1";
    Ok(on_pool!(db, p => sqlx::query(sql).bind(now()).execute(p).await.map(|r| r.rows_affected()))?)
}
