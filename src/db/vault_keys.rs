//! `vault_keys`: the vault's data keys, each wrapped (encrypted) by the master key.

use super::{Db, DbError, now, on_pool};

/// A stored data key: its id and its wrapped bytes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WrappedKeyRow {
    pub id: i64,
    pub wrapped: Vec<u8>,
}

pub async fn all(db: &Db) -> Result<Vec<WrappedKeyRow>, DbError> {
    let sql = "SELECT id, wrapped FROM vault_keys ORDER BY id";
    Ok(on_pool!(db, p => sqlx::query_as::<_, WrappedKeyRow>(sql).fetch_all(p).await)?)
}

pub async fn newest_id(db: &Db) -> Result<Option<i64>, DbError> {
    let sql = "SELECT MAX(id) FROM vault_keys";
    Ok(on_pool!(db, p => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(p).await)?)
}

/// Stores a new data key; `DbError::Conflict` if another process took that id first.
pub async fn insert(db: &Db, id: i64, wrapped: &[u8]) -> Result<(), DbError> {
    let sql = "INSERT INTO vault_keys (id, wrapped, created_at) VALUES ($1, $2, $3)";
    on_pool!(db, p => sqlx::query(sql).bind(id).bind(wrapped).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
