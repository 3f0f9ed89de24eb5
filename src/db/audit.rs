//! `audit_log`: who did what, per tenant (or platform-wide when `tenant_id` is null).
//! Append-only: this module has no update or delete, and the migration's triggers refuse
//! both (`audit_log_no_update`, `audit_log_no_delete`) whoever asks.

use super::{Db, DbError, now, on_pool};

/// One audit entry with everything it may say; `detail`, `target` and `reason` must never
/// hold a secret.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub tenant_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    /// What was acted on, e.g. `connection 4 (Main store)`.
    pub target: &'a str,
    pub detail: &'a str,
    /// Why (support actions ask for one).
    pub reason: &'a str,
    /// The client address of the request, when there was one.
    pub client_address: Option<&'a str>,
}

/// Appends an entry; returns its id.
pub async fn append(db: &Db, entry: &Entry<'_>) -> Result<i64, DbError> {
    let sql = "INSERT INTO audit_log (tenant_id, actor_user_id, action, target, detail, reason, \
               client_address, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(entry.tenant_id)
        .bind(entry.actor_user_id).bind(entry.action).bind(entry.target).bind(entry.detail)
        .bind(entry.reason).bind(entry.client_address).bind(now()).fetch_one(p).await)?,
    )
}

/// One audit entry; `detail` must never hold a secret. (The short form of [`append`].)
pub async fn record(
    db: &Db,
    tenant_id: Option<i64>,
    actor_user_id: Option<i64>,
    action: &str,
    detail: &str,
) -> Result<(), DbError> {
    append(
        db,
        &Entry {
            tenant_id,
            actor_user_id,
            action,
            detail,
            ..Entry::default()
        },
    )
    .await
    .map(|_| ())
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

/// An entry as the audit log pages list it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub tenant_name: Option<String>,
    pub actor_email: Option<String>,
    pub actor_is_staff: Option<bool>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub reason: String,
    pub client_address: Option<String>,
    pub at: i64,
}

/// What a log page asks for. `tenant_id` `None` is every tenant (staff only).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub tenant_id: Option<i64>,
    /// Actions starting with this (e.g. `connection.` or `login`).
    pub action_prefix: Option<String>,
    /// Actor emails containing this (lower case).
    pub actor: Option<String>,
    /// Entries older than this id (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// `text` as a LIKE pattern that matches it literally (`\` escapes).
pub fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A page of entries, newest first, with `limit + 1` read to tell whether more follow.
pub async fn page(db: &Db, filter: &Filter) -> Result<(Vec<LogRow>, bool), DbError> {
    let sql = "SELECT a.id, a.tenant_id, t.name AS tenant_name, u.email AS actor_email, \
               u.is_staff AS actor_is_staff, a.action, a.target, a.detail, a.reason, \
               a.client_address, a.at FROM audit_log a \
               LEFT JOIN users u ON u.id = a.actor_user_id \
               LEFT JOIN tenants t ON t.id = a.tenant_id \
               WHERE ($1 IS NULL OR a.tenant_id = $1) \
               AND ($2 = '' OR a.action LIKE $2 ESCAPE '\\') \
               AND ($3 = '' OR LOWER(u.email) LIKE $3 ESCAPE '\\') \
               AND ($4 IS NULL OR a.id < $4) \
               ORDER BY a.id DESC LIMIT $5";
    let action = filter
        .action_prefix
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| format!("{}%", like_literal(a)))
        .unwrap_or_default();
    let actor = filter
        .actor
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| format!("%{}%", like_literal(&a.to_lowercase())))
        .unwrap_or_default();
    let mut rows = on_pool!(db, p => sqlx::query_as::<_, LogRow>(sql).bind(filter.tenant_id)
        .bind(&action).bind(&actor).bind(filter.before_id).bind(filter.limit + 1)
        .fetch_all(p).await)?;
    let limit = usize::try_from(filter.limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}
