//! `connections`: one tenant's links to BigCommerce stores. Every function takes the tenant
//! id first. The access token column holds vault ciphertext only.

use super::{BeginWrite, Db, DbError, now, on_pool};

/// A connection as listed and shown (no ciphertext).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub auth_type: String,
    pub store_hash: String,
    pub oauth_client_id: Option<i64>,
    pub oauth_client_name: Option<String>,
    pub api_client_id: Option<String>,
    pub has_token: bool,
    pub scopes: String,
    pub status: String,
    pub last_tested_at: Option<i64>,
    pub last_error: Option<String>,
    pub store_name: Option<String>,
    pub store_domain: Option<String>,
    pub store_plan: Option<String>,
    pub store_currency: Option<String>,
    pub capabilities: String,
    /// Installed from the BigCommerce control panel (single-click app): managed there.
    pub installed_by_app: bool,
    pub created_at: i64,
}

const SELECT: &str = "SELECT c.id, c.tenant_id, c.name, c.auth_type, c.store_hash, c.oauth_client_id, \
    o.name AS oauth_client_name, c.api_client_id, (c.access_token_ct IS NOT NULL) AS has_token, c.scopes, \
    c.status, c.last_tested_at, c.last_error, c.store_name, c.store_domain, c.store_plan, c.store_currency, \
    c.capabilities, c.installed_by_app, c.created_at \
    FROM connections c LEFT JOIN oauth_clients o ON o.id = c.oauth_client_id AND o.tenant_id = c.tenant_id";

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<ConnectionRow>, DbError> {
    let sql = format!("{SELECT} WHERE c.tenant_id = $1 ORDER BY c.name");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, ConnectionRow>(&sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

pub async fn find(db: &Db, tenant_id: i64, id: i64) -> Result<Option<ConnectionRow>, DbError> {
    let sql = format!("{SELECT} WHERE c.tenant_id = $1 AND c.id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, ConnectionRow>(&sql).bind(tenant_id).bind(id).fetch_optional(p).await)?,
    )
}

/// The sealed access token, if any.
pub async fn token_ciphertext(
    db: &Db,
    tenant_id: i64,
    id: i64,
) -> Result<Option<Vec<u8>>, DbError> {
    let sql = "SELECT access_token_ct FROM connections WHERE tenant_id = $1 AND id = $2";
    let ct: Option<Option<Vec<u8>>> = on_pool!(db, p => sqlx::query_scalar(sql).bind(tenant_id).bind(id).fetch_optional(p).await)?;
    Ok(ct.flatten())
}

/// The non-secret fields of a connection being created or edited.
pub struct ConnectionFields<'a> {
    pub name: &'a str,
    pub auth_type: &'a str,
    pub store_hash: &'a str,
    pub oauth_client_id: Option<i64>,
    pub api_client_id: Option<&'a str>,
    pub scopes: &'a str,
}

/// Inserts a connection, then stores the token sealed by `seal(id)` (the ciphertext is bound
/// to the new row's id), in one transaction. `DbError::Conflict` if the name is taken,
/// `DbError::NotFound` if the OAuth client is not this tenant's; a sealing failure comes back
/// as the caller's own error.
pub async fn create<F, Fut, E>(
    db: &Db,
    tenant_id: i64,
    fields: &ConnectionFields<'_>,
    seal: F,
) -> Result<i64, E>
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<Option<Vec<u8>>, E>>,
    E: From<DbError>,
{
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await.map_err(DbError::from)?;
        let id = async {
            if let Some(client) = fields.oauth_client_id {
                let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM oauth_clients WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id).bind(client).fetch_optional(&mut *tx).await?;
                owned.ok_or(DbError::NotFound)?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO connections (tenant_id, name, auth_type, store_hash, oauth_client_id, api_client_id, scopes, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            ).bind(tenant_id).bind(fields.name).bind(fields.auth_type).bind(fields.store_hash).bind(fields.oauth_client_id)
            .bind(fields.api_client_id).bind(fields.scopes).bind(at).fetch_one(&mut *tx).await?;
            Ok::<_, DbError>(id)
        }.await?;
        let ct = seal(id).await?;
        async {
            if let Some(ct) = ct {
                sqlx::query("UPDATE connections SET access_token_ct = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(ct).bind(tenant_id).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, DbError>(())
        }.await?;
        Ok(id)
    })
}

/// Updates the non-secret fields; replaces the token if `token_ct` is given, else keeps it —
/// unless the auth type, store or OAuth client changed: a token belongs to exactly those.
/// Marks the connection untested, since what it connects to may have changed.
pub async fn update(
    db: &Db,
    tenant_id: i64,
    id: i64,
    fields: &ConnectionFields<'_>,
    token_ct: Option<&[u8]>,
) -> Result<bool, DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        if let Some(client) = fields.oauth_client_id {
            let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM oauth_clients WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id).bind(client).fetch_optional(&mut *tx).await?;
            owned.ok_or(DbError::NotFound)?;
        }
        let done = sqlx::query(
            "UPDATE connections SET name = $1, auth_type = $2, store_hash = $3, oauth_client_id = $4, api_client_id = $5, \
             scopes = $6, status = 'untested', updated_at = $8, \
             access_token_ct = CASE WHEN $7 IS NOT NULL THEN $7 \
                 WHEN auth_type = $2 AND store_hash = $3 AND oauth_client_id IS NOT DISTINCT FROM $4 THEN access_token_ct \
                 ELSE NULL END \
             WHERE tenant_id = $9 AND id = $10",
        ).bind(fields.name).bind(fields.auth_type).bind(fields.store_hash).bind(fields.oauth_client_id)
        .bind(fields.api_client_id).bind(fields.scopes).bind(token_ct).bind(at).bind(tenant_id).bind(id)
        .execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    })
}

/// Deletes the connection and with it the token's ciphertext.
pub async fn delete(db: &Db, tenant_id: i64, id: i64) -> Result<bool, DbError> {
    let sql = "DELETE FROM connections WHERE tenant_id = $1 AND id = $2";
    let done = on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// What a test found out.
pub struct TestOutcome<'a> {
    pub status: &'a str,
    pub error: Option<&'a str>,
    pub store_name: Option<&'a str>,
    pub store_domain: Option<&'a str>,
    pub store_plan: Option<&'a str>,
    pub store_currency: Option<&'a str>,
    pub capabilities: &'a str,
}

pub async fn record_test(
    db: &Db,
    tenant_id: i64,
    id: i64,
    outcome: &TestOutcome<'_>,
) -> Result<(), DbError> {
    let sql = "UPDATE connections SET status = $1, last_error = $2, last_tested_at = $3, \
               store_name = COALESCE($4, store_name), store_domain = COALESCE($5, store_domain), \
               store_plan = COALESCE($6, store_plan), store_currency = COALESCE($7, store_currency), \
               capabilities = $8 WHERE tenant_id = $9 AND id = $10";
    on_pool!(db, p => sqlx::query(sql).bind(outcome.status).bind(outcome.error).bind(now())
        .bind(outcome.store_name).bind(outcome.store_domain).bind(outcome.store_plan).bind(outcome.store_currency)
        .bind(outcome.capabilities).bind(tenant_id).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a token obtained through OAuth (`token_ct` is vault ciphertext sealed to this row)
/// with the scopes BigCommerce granted, and marks the connection untested. Only while the
/// connection is still an OAuth connection to `store_hash` through `oauth_client_id` (the
/// ones the token was granted for); `false` otherwise.
pub async fn store_oauth_token(
    db: &Db,
    tenant_id: i64,
    id: i64,
    granted_for: (&str, i64),
    token_ct: &[u8],
    scopes: &str,
) -> Result<bool, DbError> {
    let (store_hash, oauth_client_id) = granted_for;
    let sql = "UPDATE connections SET access_token_ct = $1, scopes = $2, status = 'untested', \
               updated_at = $3 WHERE tenant_id = $4 AND id = $5 AND auth_type = 'oauth' \
               AND store_hash = $6 AND oauth_client_id = $7";
    let done = on_pool!(db, p => sqlx::query(sql).bind(token_ct).bind(scopes).bind(now())
        .bind(tenant_id).bind(id).bind(store_hash).bind(oauth_client_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
