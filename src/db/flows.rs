//! `flow_settings`: which flows a connection runs, how often, with what settings (JSON).
//! Every function takes the tenant id first, except the scheduler's cross-tenant sweep.

use super::{Db, DbError, now, on_pool};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlowSettingsRow {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub flow: String,
    pub enabled: bool,
    pub interval_secs: i64,
    /// The flow's own settings, JSON.
    pub settings: String,
    pub next_run_at: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "tenant_id, connection_id, flow, enabled, interval_secs, settings, next_run_at, updated_at";

pub async fn find(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
) -> Result<Option<FlowSettingsRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM flow_settings WHERE tenant_id = $1 AND connection_id = $2 AND flow = $3"
    );
    Ok(on_pool!(db, p => sqlx::query_as::<_, FlowSettingsRow>(&sql)
        .bind(tenant_id).bind(connection_id).bind(flow).fetch_optional(p).await)?)
}

/// What is saved for a flow.
pub struct FlowSettingsUpdate<'a> {
    pub enabled: bool,
    pub interval_secs: i64,
    pub settings: &'a str,
    /// When the scheduler should enqueue it next (`None`: not scheduled).
    pub next_run_at: Option<i64>,
}

/// Inserts or replaces a flow's settings. The connection must be the tenant's
/// (`DbError::NotFound` otherwise).
pub async fn upsert(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    update: &FlowSettingsUpdate<'_>,
) -> Result<(), DbError> {
    let sql = "INSERT INTO flow_settings (tenant_id, connection_id, flow, enabled, interval_secs, settings, next_run_at, updated_at) \
               SELECT c.tenant_id, c.id, $3, $4, $5, $6, $7, $8 FROM connections c WHERE c.tenant_id = $1 AND c.id = $2 \
               ON CONFLICT (connection_id, flow) DO UPDATE SET enabled = excluded.enabled, \
               interval_secs = excluded.interval_secs, settings = excluded.settings, \
               next_run_at = excluded.next_run_at, updated_at = excluded.updated_at";
    let done = on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(connection_id).bind(flow)
        .bind(update.enabled).bind(update.interval_secs).bind(update.settings).bind(update.next_run_at)
        .bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// A flow the scheduler should enqueue now (all tenants): enabled, due, and on a
/// connection that is not disabled (an uninstalled app stops its flows).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueFlow {
    pub tenant_id: i64,
    pub connection_id: i64,
    pub flow: String,
    pub store_hash: String,
    pub interval_secs: i64,
    pub next_run_at: i64,
}

pub async fn due(db: &Db, at: i64, limit: i64) -> Result<Vec<DueFlow>, DbError> {
    let sql = "SELECT f.tenant_id, f.connection_id, f.flow, c.store_hash, f.interval_secs, f.next_run_at \
               FROM flow_settings f JOIN connections c ON c.id = f.connection_id AND c.tenant_id = f.tenant_id \
               WHERE f.enabled AND f.next_run_at IS NOT NULL AND f.next_run_at <= $1 AND c.status <> 'disabled' \
               ORDER BY f.next_run_at LIMIT $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, DueFlow>(sql).bind(at).bind(limit).fetch_all(p).await)?,
    )
}

/// Moves a due flow's next run from `expected` to `next`, only if no other process did it
/// first: `true` means this caller won and should enqueue.
pub async fn advance(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    expected: i64,
    next: i64,
) -> Result<bool, DbError> {
    let sql = "UPDATE flow_settings SET next_run_at = $1 WHERE tenant_id = $2 AND connection_id = $3 \
               AND flow = $4 AND next_run_at = $5";
    let done = on_pool!(db, p => sqlx::query(sql).bind(next).bind(tenant_id).bind(connection_id)
        .bind(flow).bind(expected).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
