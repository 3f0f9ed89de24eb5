//! The profile and company settings pages' writes: a user's name, time zone and password
//! (ending their other sessions), the sessions listed on the profile page, and a tenant's
//! name and time zone. Every session query is scoped to the user; every tenant query to
//! the tenant.

use super::{BeginWrite, Db, DbError, now, on_pool};

pub async fn set_name(db: &Db, user_id: i64, name: Option<&str>) -> Result<(), DbError> {
    let sql = "UPDATE users SET name = $1 WHERE id = $2";
    on_pool!(db, p => sqlx::query(sql).bind(name).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_time_zone(db: &Db, user_id: i64, zone: &str) -> Result<(), DbError> {
    let sql = "UPDATE users SET time_zone = $1 WHERE id = $2";
    on_pool!(db, p => sqlx::query(sql).bind(zone).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets the zone only if none was chosen yet (the browser's guess never overrides a choice).
/// Returns whether it was set.
pub async fn set_time_zone_if_unset(db: &Db, user_id: i64, zone: &str) -> Result<bool, DbError> {
    let sql = "UPDATE users SET time_zone = $1 WHERE id = $2 AND time_zone IS NULL";
    let n = on_pool!(db, p => sqlx::query(sql).bind(zone).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Replaces the password and ends every session of the user but the one with `keep`
/// (the handle of the session that asked), in one transaction. Returns how many ended.
pub async fn change_password(
    db: &Db,
    user_id: i64,
    hash: &str,
    keep: &str,
) -> Result<u64, DbError> {
    let ended = on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash).bind(user_id).execute(&mut *tx).await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND (handle IS NULL OR handle <> $2)")
            .bind(user_id).bind(keep).execute(&mut *tx).await?.rows_affected();
        sqlx::query("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL AND purpose IN ('reset_password', 'set_password')")
            .bind(now()).bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        ended
    });
    Ok(ended)
}

/// A session of the user, as the profile page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub handle: Option<String>,
    pub created_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub user_agent: Option<String>,
}

/// The user's live sessions, most recently seen first.
pub async fn sessions_of(db: &Db, user_id: i64) -> Result<Vec<SessionRow>, DbError> {
    let sql = "SELECT handle, created_at, last_seen_at, user_agent FROM sessions \
               WHERE user_id = $1 AND expires_at > $2 \
               ORDER BY COALESCE(last_seen_at, created_at, 0) DESC, created_at DESC";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, SessionRow>(sql).bind(user_id).bind(now()).fetch_all(p).await)?,
    )
}

/// Ends the user's session with this handle; false if the user has none such.
pub async fn end_session(db: &Db, user_id: i64, handle: &str) -> Result<bool, DbError> {
    let sql = "DELETE FROM sessions WHERE user_id = $1 AND handle = $2";
    let n = on_pool!(db, p => sqlx::query(sql).bind(user_id).bind(handle).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Ends every session of the user, this one included. Returns how many ended.
pub async fn end_all_sessions(db: &Db, user_id: i64) -> Result<u64, DbError> {
    let sql = "DELETE FROM sessions WHERE user_id = $1";
    Ok(
        on_pool!(db, p => sqlx::query(sql).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?,
    )
}

/// A tenant's settings as the settings page shows them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantSettingsRow {
    pub name: String,
    pub time_zone: String,
    /// A flow alerts after this many failed runs in a row.
    pub alert_after_failures: i32,
}

pub async fn tenant_settings(db: &Db, tenant_id: i64) -> Result<TenantSettingsRow, DbError> {
    let sql = "SELECT name, time_zone, alert_after_failures FROM tenants WHERE id = $1";
    on_pool!(db, p => sqlx::query_as::<_, TenantSettingsRow>(sql).bind(tenant_id).fetch_optional(p).await)?
        .ok_or(DbError::NotFound)
}

pub async fn save_tenant_settings(
    db: &Db,
    tenant_id: i64,
    name: &str,
    zone: &str,
    alert_after_failures: i32,
) -> Result<(), DbError> {
    let sql =
        "UPDATE tenants SET name = $1, time_zone = $2, alert_after_failures = $3 WHERE id = $4";
    on_pool!(db, p => sqlx::query(sql).bind(name).bind(zone).bind(alert_after_failures).bind(tenant_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
