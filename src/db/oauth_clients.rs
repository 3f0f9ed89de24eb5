//! `oauth_clients`: one tenant's OAuth client records (client id and sealed client secret).
//! Every function takes the tenant id first and filters on it. The secret column holds vault
//! ciphertext only; this module never sees a plaintext secret.

use super::{BeginWrite, Db, DbError, now, on_pool};

/// An OAuth client as listed and edited: never its secret, only whether one is stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthClientRow {
    pub id: i64,
    pub name: String,
    pub client_id: String,
    pub has_secret: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, name, client_id, (client_secret_ct IS NOT NULL) AS has_secret, created_at, updated_at";

/// Why a delete did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Done,
    NotFound,
    /// Connections (by name) still use the client.
    InUse(Vec<String>),
}

/// Converts a sqlx error into the caller's error type, through `DbError`.
fn db_err<E: From<DbError>>(e: sqlx::Error) -> E {
    E::from(DbError::from(e))
}

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<OAuthClientRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE tenant_id = $1 ORDER BY name, id");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, OAuthClientRow>(&sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

pub async fn find(db: &Db, tenant_id: i64, id: i64) -> Result<Option<OAuthClientRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE tenant_id = $1 AND id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, OAuthClientRow>(&sql).bind(tenant_id).bind(id).fetch_optional(p).await)?,
    )
}

/// The sealed secret of this tenant's client `id`: `None` if there is no such client,
/// `Some(None)` if it has no secret stored.
pub async fn find_secret_ct(
    db: &Db,
    tenant_id: i64,
    id: i64,
) -> Result<Option<Option<Vec<u8>>>, DbError> {
    let sql = "SELECT client_secret_ct FROM oauth_clients WHERE tenant_id = $1 AND id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, Option<Vec<u8>>>(sql)
        .bind(tenant_id).bind(id).fetch_optional(p).await)?,
    )
}

/// Inserts a client, then stores the secret sealed by `seal(id)` (the ciphertext is bound to
/// the new row's id), in one transaction: on any error, nothing is stored.
/// A taken name is `DbError::Conflict` (converted into `E`).
pub async fn create<F, Fut, E>(
    db: &Db,
    tenant_id: i64,
    name: &str,
    client_id: &str,
    seal: F,
) -> Result<i64, E>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
    E: From<DbError>,
{
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await.map_err(db_err::<E>)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO oauth_clients (tenant_id, name, client_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        ).bind(tenant_id).bind(name).bind(client_id).bind(at)
        .fetch_one(&mut *tx).await.map_err(db_err::<E>)?;
        let ct = seal(id).await?;
        sqlx::query("UPDATE oauth_clients SET client_secret_ct = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(ct).bind(tenant_id).bind(id).execute(&mut *tx).await.map_err(db_err::<E>)?;
        tx.commit().await.map_err(db_err::<E>)?;
        Ok(id)
    })
}

/// Updates name and client id; replaces the sealed secret if `secret_ct` is given (else keeps
/// it). `false` if the tenant has no client `id`; `DbError::Conflict` if the name is taken.
pub async fn update(
    db: &Db,
    tenant_id: i64,
    id: i64,
    name: &str,
    client_id: &str,
    secret_ct: Option<&[u8]>,
) -> Result<bool, DbError> {
    let sql = "UPDATE oauth_clients SET name = $1, client_id = $2, \
               client_secret_ct = COALESCE($3, client_secret_ct), updated_at = $4 \
               WHERE tenant_id = $5 AND id = $6";
    let done = on_pool!(db, p => sqlx::query(sql).bind(name).bind(client_id).bind(secret_ct)
        .bind(now()).bind(tenant_id).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Names of this tenant's connections that use client `id`.
pub async fn used_by(db: &Db, tenant_id: i64, id: i64) -> Result<Vec<String>, DbError> {
    let sql =
        "SELECT name FROM connections WHERE tenant_id = $1 AND oauth_client_id = $2 ORDER BY name";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, String>(sql).bind(tenant_id).bind(id).fetch_all(p).await)?,
    )
}

/// Deletes client `id` (and with it its ciphertext) unless a connection uses it.
pub async fn delete(db: &Db, tenant_id: i64, id: i64) -> Result<Deleted, DbError> {
    let result: Result<Deleted, sqlx::Error> = on_pool!(db, p => async {
        let mut tx = p.begin_write().await?;
        let users: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM connections WHERE tenant_id = $1 AND oauth_client_id = $2 ORDER BY name",
        ).bind(tenant_id).bind(id).fetch_all(&mut *tx).await?;
        if !users.is_empty() {
            tx.rollback().await?;
            return Ok(Deleted::InUse(users));
        }
        let done = sqlx::query("DELETE FROM oauth_clients WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(if done == 1 { Deleted::Done } else { Deleted::NotFound })
    }.await);
    match result {
        // A connection was added between the check and the delete: the foreign key refused.
        Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => {
            Ok(Deleted::InUse(used_by(db, tenant_id, id).await?))
        }
        other => Ok(other?),
    }
}
