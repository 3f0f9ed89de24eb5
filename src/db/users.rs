//! `users`: platform accounts. Tenant users reach tenants through `memberships`; support
//! staff have `is_staff` and no membership. Password hashes never leave through `UserRow`.

use super::{BeginWrite, Db, DbError, now, on_pool};

/// A user, without the password hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub email_verified_at: Option<i64>,
    pub is_staff: bool,
    pub created_at: i64,
    /// The display name from the profile page, if any.
    pub name: Option<String>,
    /// The chosen IANA time zone; `None`: not chosen yet.
    pub time_zone: Option<String>,
}

const COLUMNS: &str = "id, email, email_verified_at, is_staff, created_at, name, time_zone";

pub async fn find(db: &Db, id: i64) -> Result<Option<UserRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(on_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(p).await)?)
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    Ok(on_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(email).fetch_optional(p).await)?)
}

/// The stored argon2 hash (PHC string), if the user has set a password.
pub async fn password_hash(db: &Db, id: i64) -> Result<Option<String>, DbError> {
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hash: Option<Option<String>> =
        on_pool!(db, p => sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)?;
    Ok(hash.flatten())
}

/// When staff locked the user, if they did (a locked user cannot log in).
pub async fn locked_at(db: &Db, id: i64) -> Result<Option<i64>, DbError> {
    let sql = "SELECT locked_at FROM users WHERE id = $1";
    let at: Option<Option<i64>> =
        on_pool!(db, p => sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)?;
    Ok(at.flatten())
}

/// Creates a support-staff user with no password (they set it through a one-time link).
pub async fn create_staff(db: &Db, email: &str) -> Result<i64, DbError> {
    let sql = "INSERT INTO users (email, is_staff, email_verified_at, created_at) \
               VALUES ($1, $2, $3, $3) RETURNING id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar(sql).bind(email).bind(true).bind(now()).fetch_one(p).await)?,
    )
}

/// Replaces the password, marks the email verified (the link proved it), and signs the user
/// out everywhere by deleting their sessions — all in one transaction.
pub async fn set_password_everywhere(db: &Db, id: i64, hash: &str) -> Result<(), DbError> {
    let at = now();
    on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3")
            .bind(hash).bind(at).bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL AND purpose IN ('reset_password', 'set_password')")
            .bind(at).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(())
}
