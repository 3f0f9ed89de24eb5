//! `user_tokens`: one-time links (email verification, password reset, staff set-password).
//! Only the SHA-256 of a token is stored; a token is consumed by one conditional UPDATE, so
//! two concurrent uses cannot both succeed. A token sent by email is written in one
//! transaction with the email's job ([`insert_with_email`]).

use super::{
    BeginWrite, Db, DbError,
    jobs::{QueueInTx, TxJob},
    now, on_pool,
};

/// What a one-time token is for (the `purpose` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    SetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::SetPassword => "set_password",
        }
    }
}

/// A stored token, looked up to explain why it cannot be used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub user_id: i64,
    pub purpose: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const INSERT: &str = "INSERT INTO user_tokens (user_id, purpose, token_hash, created_at, expires_at) \
    VALUES ($1, $2, $3, $4, $5)";

/// Stores a token that is handed over otherwise than by email (a staff set-password link).
pub async fn insert(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    token_hash: &str,
    expires_at: i64,
) -> Result<(), DbError> {
    on_pool!(db, p => sqlx::query(INSERT).bind(user_id).bind(purpose.as_str()).bind(token_hash)
        .bind(now()).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a token and queues the email that carries it (filed under `tenant_id`), in one
/// transaction.
pub async fn insert_with_email(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    token_hash: &str,
    expires_at: i64,
    tenant_id: i64,
    email: &dyn TxJob,
) -> Result<(), DbError> {
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(INSERT).bind(user_id).bind(purpose.as_str()).bind(token_hash)
            .bind(now()).bind(expires_at).execute(&mut *tx).await?;
        tx.queue(tenant_id, email).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn find(db: &Db, token_hash: &str) -> Result<Option<TokenRow>, DbError> {
    let sql = "SELECT user_id, purpose, expires_at, used_at FROM user_tokens WHERE token_hash = $1";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, TokenRow>(sql).bind(token_hash).fetch_optional(p).await)?,
    )
}

/// Marks an unused, unexpired token of one of `purposes` used; returns its user, or `None`
/// if it is unknown, expired or already used.
pub async fn consume(
    db: &Db,
    purposes: &[Purpose],
    token_hash: &str,
) -> Result<Option<i64>, DbError> {
    let at = now();
    let allowed = |purpose: &str| purposes.iter().any(|p| p.as_str() == purpose);
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "UPDATE user_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id, purpose",
        ).bind(at).bind(token_hash).fetch_optional(&mut *tx).await?;
        match row {
            Some((user_id, purpose)) if allowed(&purpose) => {
                if purpose == Purpose::VerifyEmail.as_str() {
                    sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
                        .bind(at).bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Some(user_id))
            }
            _ => {
                tx.rollback().await?;
                Ok(None)
            }
        }
    })
}

/// Deletes tokens that expired more than a day ago.
pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let sql = "DELETE FROM user_tokens WHERE expires_at < $1";
    let done = on_pool!(db, p => sqlx::query(sql).bind(now() - 86_400).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done)
}
