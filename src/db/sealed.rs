//! Every column that holds vault ciphertext, across tenants: for key rotation and key status
//! only. Reads and swaps ciphertext as opaque bytes; never opens or logs a value. Request
//! handlers must use their table's own (tenant-scoped) repository instead.

use super::{Db, DbError, on_pool};

/// A sealed column: where it lives and the field name its ciphertext is bound to (the
/// `field` of its `vault::Aad`, with `table`, the row's `tenant_id` and `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedField {
    pub table: &'static str,
    pub column: &'static str,
    pub field: &'static str,
}

/// Every sealed column in the schema. A new `*_ct` column must be added here, or rotation
/// will leave it under the old key.
pub const SEALED_FIELDS: &[SealedField] = &[
    SealedField {
        table: "oauth_clients",
        column: "client_secret_ct",
        field: "client_secret",
    },
    SealedField {
        table: "connections",
        column: "access_token_ct",
        field: "access_token",
    },
    SealedField {
        table: "webhook_endpoints",
        column: "secret_ct",
        field: "signing_secret",
    },
    SealedField {
        table: "bigcommerce_hook_keys",
        column: "secret_ct",
        field: "hook_secret",
    },
];

/// One stored ciphertext and the row it belongs to.
#[derive(Clone, sqlx::FromRow)]
pub struct SealedValue {
    pub id: i64,
    pub tenant_id: i64,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedValue")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("len", &self.ciphertext.len())
            .finish()
    }
}

/// Up to `limit` non-null values of `field` in rows with `id > after_id`, by id: page
/// through with the last id seen.
pub async fn batch(
    db: &Db,
    field: &SealedField,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SealedValue>, DbError> {
    let SealedField { table, column, .. } = field;
    let sql = format!(
        "SELECT id, tenant_id, {column} AS ciphertext FROM {table} \
         WHERE {column} IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
    );
    Ok(on_pool!(db, p => sqlx::query_as::<_, SealedValue>(&sql)
        .bind(after_id).bind(limit).fetch_all(p).await)?)
}

/// The current value of `field` in row `id` of `tenant_id`: `None` if the row is gone or the
/// value is null.
pub async fn find(
    db: &Db,
    field: &SealedField,
    tenant_id: i64,
    id: i64,
) -> Result<Option<Vec<u8>>, DbError> {
    let SealedField { table, column, .. } = field;
    let sql = format!("SELECT {column} FROM {table} WHERE tenant_id = $1 AND id = $2");
    let value = on_pool!(db, p => sqlx::query_scalar::<_, Option<Vec<u8>>>(&sql)
        .bind(tenant_id).bind(id).fetch_optional(p).await)?;
    Ok(value.flatten())
}

/// Replaces `old` by `new` in row `id`, only if the row still holds `old` (optimistic: a
/// value changed meanwhile, e.g. a token refreshed by a server, is left alone). Returns
/// whether the row was updated.
pub async fn replace(
    db: &Db,
    field: &SealedField,
    tenant_id: i64,
    id: i64,
    old: &[u8],
    new: &[u8],
) -> Result<bool, DbError> {
    let SealedField { table, column, .. } = field;
    let sql = format!(
        "UPDATE {table} SET {column} = $1 WHERE tenant_id = $2 AND id = $3 AND {column} = $4"
    );
    let done = on_pool!(db, p => sqlx::query(&sql).bind(new).bind(tenant_id).bind(id).bind(old)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
