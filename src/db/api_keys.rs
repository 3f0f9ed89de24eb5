//! `api_keys` and `api_key_connections`: partner API keys, stored only as the SHA-256 of the
//! key. Every function on tenant data takes the tenant id first; the one exception,
//! `find_by_hash`, is how a request's bearer key finds its tenant.

use super::{BeginWrite, Db, DbError, now, on_pool};

/// A key as listed (never the key itself: only its hash exists).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub prefix: String,
    /// `read` or `read_write`.
    pub access: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const SELECT: &str = "SELECT id, tenant_id, name, prefix, access, created_by, created_at, \
    last_used_at, revoked_at FROM api_keys";

/// A key to store.
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub access: &'a str,
    pub created_by: i64,
    /// Empty: every connection of the tenant.
    pub connection_ids: &'a [i64],
}

/// Stores a key and its connection limits in one transaction; returns its id.
pub async fn insert(db: &Db, tenant_id: i64, key: &NewApiKey<'_>) -> Result<i64, DbError> {
    let sql = "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, access, created_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let link = "INSERT INTO api_key_connections (api_key_id, tenant_id, connection_id) \
                SELECT $1, $2, id FROM connections WHERE tenant_id = $2 AND id = $3";
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let id = sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(key.name).bind(key.prefix)
            .bind(key.key_hash).bind(key.access).bind(key.created_by).bind(now())
            .fetch_one(&mut *tx).await?;
        for connection_id in key.connection_ids {
            let added = sqlx::query(link).bind(id).bind(tenant_id).bind(connection_id)
                .execute(&mut *tx).await?.rows_affected();
            if added != 1 {
                return Err(DbError::NotFound);
            }
        }
        tx.commit().await?;
        Ok(id)
    })
}

/// The tenant's keys, newest first (revoked ones too).
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<ApiKeyRow>, DbError> {
    let sql = format!("{SELECT} WHERE tenant_id = $1 ORDER BY id DESC");
    Ok(on_pool!(db, p => sqlx::query_as::<_, ApiKeyRow>(&sql).bind(tenant_id).fetch_all(p).await)?)
}

/// The key whose hash is `key_hash`, revoked or not (the caller decides).
pub async fn find_by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKeyRow>, DbError> {
    let sql = format!("{SELECT} WHERE key_hash = $1");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, ApiKeyRow>(&sql).bind(key_hash).fetch_optional(p).await)?,
    )
}

/// The connections a key is limited to (empty: all of the tenant's).
pub async fn connection_ids(db: &Db, tenant_id: i64, key_id: i64) -> Result<Vec<i64>, DbError> {
    let sql = "SELECT connection_id FROM api_key_connections WHERE tenant_id = $1 AND api_key_id = $2 \
               ORDER BY connection_id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(key_id).fetch_all(p).await)?,
    )
}

/// Notes that the key was used, at most once a minute (a read-heavy partner does not turn
/// every request into a write).
pub async fn touch(db: &Db, tenant_id: i64, key_id: i64) -> Result<(), DbError> {
    let at = now();
    let sql = "UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3 \
               AND (last_used_at IS NULL OR last_used_at < $4)";
    on_pool!(db, p => sqlx::query(sql).bind(at).bind(tenant_id).bind(key_id).bind(at - 60)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes a key (once). `false`: no such live key in this tenant.
pub async fn revoke(db: &Db, tenant_id: i64, key_id: i64) -> Result<bool, DbError> {
    let sql = "UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(now()).bind(tenant_id).bind(key_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}
