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

pub async fn insert(
    db: &Db,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
) -> Result<(), DbError> {
    let sql = "INSERT INTO sessions (key_hash, user_id, state, expires_at) VALUES ($1, $2, $3, $4)";
    on_pool!(db, p => sqlx::query(sql).bind(key_hash).bind(user_id).bind(state).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Returns false if the session no longer exists (expired, or ended by a password reset).
pub async fn update(
    db: &Db,
    key_hash: &str,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
) -> Result<bool, DbError> {
    let sql = "UPDATE sessions SET user_id = $1, state = $2, expires_at = $3 \
               WHERE key_hash = $4 AND expires_at > $5";
    let done = on_pool!(db, p => sqlx::query(sql).bind(user_id).bind(state).bind(expires_at)
        .bind(key_hash).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
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
