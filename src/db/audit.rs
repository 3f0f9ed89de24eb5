//! `audit_log`: who did what, per tenant (or platform-wide when `tenant_id` is null).

use super::{Db, DbError, now, on_pool};

/// One audit entry; `detail` must never hold a secret.
pub async fn record(
    db: &Db,
    tenant_id: Option<i64>,
    actor_user_id: Option<i64>,
    action: &str,
    detail: &str,
) -> Result<(), DbError> {
    let sql = "INSERT INTO audit_log (tenant_id, actor_user_id, action, detail, at) VALUES ($1, $2, $3, $4, $5)";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(actor_user_id).bind(action).bind(detail).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An audit entry as listed on a tenant's activity page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub action: String,
    pub detail: String,
    pub actor_email: Option<String>,
    pub at: i64,
}

pub async fn recent_for_tenant(
    db: &Db,
    tenant_id: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, DbError> {
    let sql = "SELECT a.action, a.detail, u.email AS actor_email, a.at FROM audit_log a \
               LEFT JOIN users u ON u.id = a.actor_user_id \
               WHERE a.tenant_id = $1 ORDER BY a.id DESC LIMIT $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, AuditRow>(sql).bind(tenant_id).bind(limit).fetch_all(p).await)?,
    )
}
