//! What the support-staff area reads and changes across tenants. Cross-tenant by nature
//! (staff see every tenant); every change takes the tenant id of the record it changes, so
//! a staff action names exactly one tenant's record. Never reads a ciphertext column.

use super::{BeginWrite, Db, DbError, audit::like_literal, now, on_pool};

/// A tenant as the staff list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantSummary {
    pub id: i64,
    pub name: String,
    pub owner_email: Option<String>,
    pub users: i64,
    pub connections: i64,
    /// Flows of the tenant's connections whose latest run failed.
    pub failing_flows: i64,
    pub created_at: i64,
}

/// Tenants whose name, user emails (owners included) or store hashes contain `query`
/// (case-insensitive; empty: every tenant), newest first.
pub async fn search_tenants(
    db: &Db,
    query: &str,
    limit: i64,
) -> Result<Vec<TenantSummary>, DbError> {
    let sql = "SELECT t.id, t.name, \
        (SELECT MIN(u.email) FROM memberships m JOIN users u ON u.id = m.user_id \
            WHERE m.tenant_id = t.id AND m.role = 'owner') AS owner_email, \
        (SELECT COUNT(*) FROM memberships m WHERE m.tenant_id = t.id) AS users, \
        (SELECT COUNT(*) FROM connections c WHERE c.tenant_id = t.id) AS connections, \
        (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = t.id AND r.status = 'failed' \
            AND r.id = (SELECT MAX(r2.id) FROM runs r2 WHERE r2.tenant_id = r.tenant_id \
                AND r2.connection_id = r.connection_id AND r2.flow = r.flow \
                AND r2.status IN ('succeeded', 'failed'))) AS failing_flows, \
        t.created_at FROM tenants t \
        WHERE $1 = '' OR LOWER(t.name) LIKE $1 ESCAPE '\\' \
        OR EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id \
            WHERE m.tenant_id = t.id AND LOWER(u.email) LIKE $1 ESCAPE '\\') \
        OR EXISTS (SELECT 1 FROM connections c WHERE c.tenant_id = t.id \
            AND LOWER(c.store_hash) LIKE $1 ESCAPE '\\') \
        ORDER BY t.id DESC LIMIT $2";
    let query = query.trim().to_lowercase();
    let pattern = if query.is_empty() {
        String::new()
    } else {
        format!("%{}%", like_literal(&query))
    };
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, TenantSummary>(sql).bind(&pattern).bind(limit)
        .fetch_all(p).await)?,
    )
}

/// One tenant's own row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRow {
    pub id: i64,
    pub name: String,
    pub alert_after_failures: i32,
    pub created_at: i64,
}

pub async fn find_tenant(db: &Db, tenant_id: i64) -> Result<Option<TenantRow>, DbError> {
    let sql = "SELECT id, name, alert_after_failures, created_at FROM tenants WHERE id = $1";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, TenantRow>(sql).bind(tenant_id)
        .fetch_optional(p).await)?,
    )
}

/// A member of a tenant with what staff need to know of their account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberStatus {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub locked_at: Option<i64>,
    pub created_at: i64,
}

pub async fn members(db: &Db, tenant_id: i64) -> Result<Vec<MemberStatus>, DbError> {
    let sql = "SELECT u.id AS user_id, u.email, m.role, u.email_verified_at, u.locked_at, m.created_at \
               FROM memberships m JOIN users u ON u.id = m.user_id \
               WHERE m.tenant_id = $1 ORDER BY m.created_at, u.email";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, MemberStatus>(sql).bind(tenant_id).fetch_all(p).await)?,
    )
}

/// A member of the tenant, by user id.
pub async fn member(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
) -> Result<Option<MemberStatus>, DbError> {
    let sql = "SELECT u.id AS user_id, u.email, m.role, u.email_verified_at, u.locked_at, m.created_at \
               FROM memberships m JOIN users u ON u.id = m.user_id \
               WHERE m.tenant_id = $1 AND m.user_id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, MemberStatus>(sql).bind(tenant_id).bind(user_id)
        .fetch_optional(p).await)?,
    )
}

/// A run as the staff lists show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunSummary {
    pub id: i64,
    pub connection_id: i64,
    pub connection_name: String,
    pub flow: String,
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub job_status: Option<String>,
}

/// The tenant's latest runs, newest first.
pub async fn recent_runs(db: &Db, tenant_id: i64, limit: i64) -> Result<Vec<RunSummary>, DbError> {
    let sql = "SELECT r.id, r.connection_id, c.name AS connection_name, r.flow, r.status, r.started_at, \
               r.finished_at, r.error, j.status AS job_status FROM runs r \
               JOIN connections c ON c.id = r.connection_id AND c.tenant_id = r.tenant_id \
               LEFT JOIN jobs j ON j.id = r.job_id \
               WHERE r.tenant_id = $1 ORDER BY r.id DESC LIMIT $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunSummary>(sql).bind(tenant_id).bind(limit)
        .fetch_all(p).await)?,
    )
}

/// One row of "needs attention": a problem of one tenant's record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttentionRow {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub connection_id: Option<i64>,
    /// The record's name (connection, endpoint URL).
    pub subject: String,
    pub problem: Option<String>,
    pub at: i64,
}

/// Connections whose last test (in the window) failed.
pub async fn connections_failing_since(db: &Db, since: i64) -> Result<Vec<AttentionRow>, DbError> {
    let sql = "SELECT c.tenant_id, t.name AS tenant_name, c.id AS connection_id, c.name AS subject, \
               c.last_error AS problem, COALESCE(c.last_tested_at, c.updated_at) AS at \
               FROM connections c JOIN tenants t ON t.id = c.tenant_id \
               WHERE c.status = 'failing' AND COALESCE(c.last_tested_at, c.updated_at) >= $1 \
               ORDER BY at DESC";
    Ok(on_pool!(db, p => sqlx::query_as::<_, AttentionRow>(sql).bind(since).fetch_all(p).await)?)
}

/// Dead jobs (buried in the window), with the connection they belong to if any.
pub async fn dead_jobs_since(db: &Db, since: i64) -> Result<Vec<AttentionRow>, DbError> {
    let sql = "SELECT j.tenant_id, t.name AS tenant_name, j.connection_id, \
               COALESCE(c.name, '') || ' ' || j.kind AS subject, j.last_error AS problem, j.updated_at AS at \
               FROM jobs j JOIN tenants t ON t.id = j.tenant_id \
               LEFT JOIN connections c ON c.id = j.connection_id AND c.tenant_id = j.tenant_id \
               WHERE j.status = 'dead' AND j.updated_at >= $1 ORDER BY j.updated_at DESC";
    Ok(on_pool!(db, p => sqlx::query_as::<_, AttentionRow>(sql).bind(since).fetch_all(p).await)?)
}

/// A flow of a connection with a run that failed in the window.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedFlow {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub alert_after_failures: i32,
    pub connection_id: i64,
    pub connection_name: String,
    pub flow: String,
}

pub async fn flows_with_failures_since(db: &Db, since: i64) -> Result<Vec<FailedFlow>, DbError> {
    let sql = "SELECT DISTINCT r.tenant_id, t.name AS tenant_name, t.alert_after_failures, \
               r.connection_id, c.name AS connection_name, r.flow \
               FROM runs r JOIN tenants t ON t.id = r.tenant_id \
               JOIN connections c ON c.id = r.connection_id AND c.tenant_id = r.tenant_id \
               WHERE r.status = 'failed' AND COALESCE(r.finished_at, r.started_at) >= $1 \
               ORDER BY r.tenant_id, r.connection_id, r.flow";
    Ok(on_pool!(db, p => sqlx::query_as::<_, FailedFlow>(sql).bind(since).fetch_all(p).await)?)
}

/// Webhook endpoints disabled in the window.
pub async fn endpoints_disabled_since(db: &Db, since: i64) -> Result<Vec<AttentionRow>, DbError> {
    let sql = "SELECT e.tenant_id, t.name AS tenant_name, CAST(NULL AS BIGINT) AS connection_id, e.url AS subject, \
               e.disabled_reason AS problem, e.updated_at AS at \
               FROM webhook_endpoints e JOIN tenants t ON t.id = e.tenant_id \
               WHERE e.status = 'disabled' AND e.updated_at >= $1 ORDER BY e.updated_at DESC";
    Ok(on_pool!(db, p => sqlx::query_as::<_, AttentionRow>(sql).bind(since).fetch_all(p).await)?)
}

/// The queue of one job kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KindDepth {
    pub kind: String,
    pub queued: i64,
    pub due: i64,
    pub running: i64,
    pub dead: i64,
}

pub async fn queue_depth(db: &Db) -> Result<Vec<KindDepth>, DbError> {
    let sql = "SELECT kind, \
               SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued, \
               SUM(CASE WHEN status = 'queued' AND run_at <= $1 THEN 1 ELSE 0 END) AS due, \
               SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running, \
               SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead \
               FROM jobs WHERE status <> 'done' GROUP BY kind ORDER BY kind";
    Ok(on_pool!(db, p => sqlx::query_as::<_, KindDepth>(sql).bind(now()).fetch_all(p).await)?)
}

/// The job that has waited longest past its time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueJob {
    pub id: i64,
    pub tenant_id: i64,
    pub kind: String,
    pub run_at: i64,
}

pub async fn oldest_due(db: &Db) -> Result<Option<DueJob>, DbError> {
    let sql = "SELECT id, tenant_id, kind, run_at FROM jobs WHERE status = 'queued' AND run_at <= $1 \
               ORDER BY run_at, id LIMIT 1";
    Ok(on_pool!(db, p => sqlx::query_as::<_, DueJob>(sql).bind(now()).fetch_optional(p).await)?)
}

/// The tenant and kind of a dead job, if `job_id` is one.
pub async fn dead_job(db: &Db, job_id: i64) -> Result<Option<(i64, String)>, DbError> {
    let sql = "SELECT tenant_id, kind FROM jobs WHERE id = $1 AND status = 'dead'";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, (i64, String)>(sql).bind(job_id)
        .fetch_optional(p).await)?,
    )
}

/// Queues a dead job again, due now, with its attempts reset. `false`: it is no longer dead.
/// `Conflict`: a job of the same kind and key is queued or running already.
pub async fn retry_dead_job(db: &Db, tenant_id: i64, job_id: i64) -> Result<bool, DbError> {
    let at = now();
    let sql = "UPDATE jobs SET status = 'queued', run_at = $1, attempts = 0, locked_by = NULL, \
               locked_until = NULL, updated_at = $1 WHERE tenant_id = $2 AND id = $3 AND status = 'dead'";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(at).bind(tenant_id).bind(job_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// Sets a connection's status (`disabled`, or `untested` to enable it again). `false`: no
/// such connection in the tenant.
pub async fn set_connection_status(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    status: &str,
) -> Result<bool, DbError> {
    let sql =
        "UPDATE connections SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(status).bind(now()).bind(tenant_id)
        .bind(connection_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// Turns a flow of a connection on or off (an enabled flow is due at once). `false`: the
/// merchant never set that flow up.
pub async fn set_flow_enabled(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    enabled: bool,
) -> Result<bool, DbError> {
    let at = now();
    let sql = "UPDATE flow_settings SET enabled = $1, \
               next_run_at = CASE WHEN $1 THEN COALESCE(next_run_at, $2) ELSE next_run_at END, \
               updated_at = $2 WHERE tenant_id = $3 AND connection_id = $4 AND flow = $5";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(enabled).bind(at).bind(tenant_id)
        .bind(connection_id).bind(flow).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(rows == 1)
}

/// Locks a user (and ends every session of theirs, in the same transaction) or unlocks
/// them. `false`: nothing changed (already so).
pub async fn set_locked(db: &Db, user_id: i64, locked: bool) -> Result<bool, DbError> {
    let at = now();
    let rows = on_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let rows = if locked {
            sqlx::query("UPDATE users SET locked_at = $1 WHERE id = $2 AND locked_at IS NULL")
                .bind(at).bind(user_id).execute(&mut *tx).await?.rows_affected()
        } else {
            sqlx::query("UPDATE users SET locked_at = NULL WHERE id = $1 AND locked_at IS NOT NULL")
                .bind(user_id).execute(&mut *tx).await?.rows_affected()
        };
        if locked {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<u64, sqlx::Error>(rows)
    })?;
    Ok(rows == 1)
}

/// BigCommerce hooks that a check in the window found deactivated, missing or impossible
/// to register (the check writes what it found to `problem`, re-activated or not).
pub async fn bigcommerce_hooks_with_problems_since(
    db: &Db,
    since: i64,
) -> Result<Vec<AttentionRow>, DbError> {
    let sql = "SELECT h.tenant_id, t.name AS tenant_name, h.connection_id, \
               h.scope || ' hook on ' || c.name AS subject, h.problem AS problem, \
               COALESCE(h.last_checked_at, h.created_at) AS at \
               FROM bigcommerce_hooks h JOIN tenants t ON t.id = h.tenant_id \
               JOIN connections c ON c.id = h.connection_id AND c.tenant_id = h.tenant_id \
               WHERE h.problem IS NOT NULL AND COALESCE(h.last_checked_at, h.created_at) >= $1 \
               ORDER BY at DESC";
    Ok(on_pool!(db, p => sqlx::query_as::<_, AttentionRow>(sql).bind(since).fetch_all(p).await)?)
}

/// Purchase orders that failed (status `failed`, changed in the window).
pub async fn purchase_orders_failed_since(
    db: &Db,
    since: i64,
) -> Result<Vec<AttentionRow>, DbError> {
    let sql = "SELECT o.tenant_id, t.name AS tenant_name, o.connection_id, \
               'PO ' || o.po_number || ' on ' || c.name AS subject, o.failure_reason AS problem, \
               o.updated_at AS at FROM purchase_orders o JOIN tenants t ON t.id = o.tenant_id \
               JOIN connections c ON c.id = o.connection_id AND c.tenant_id = o.tenant_id \
               WHERE o.status = 'failed' AND o.updated_at >= $1 ORDER BY o.updated_at DESC";
    Ok(on_pool!(db, p => sqlx::query_as::<_, AttentionRow>(sql).bind(since).fetch_all(p).await)?)
}
