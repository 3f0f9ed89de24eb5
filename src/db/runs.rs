//! `runs` and `run_items`: each flow execution, its progress and counts, and the records it
//! could not process. Every function on tenant data takes the tenant id first; the jobs
//! layer finds a job's run by job id.

use super::{Db, DbError, now, on_pool};

/// A run as listed and shown.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: i64,
    pub flow: String,
    pub job_id: Option<i64>,
    pub triggered_by: String,
    pub mode: String,
    /// `running`, `retrying`, `succeeded` or `failed`.
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Records to do, when known (from the pagination meta).
    pub total: Option<i64>,
    pub done: i64,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
    pub attempts: i32,
    pub error: Option<String>,
    /// The flow's checkpoint (JSON).
    pub cursor: String,
    /// The job's state (`queued`, `running`, `done`, `dead`), if the job still exists.
    pub job_status: Option<String>,
}

impl RunRow {
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed")
    }
}

const SELECT: &str = "SELECT r.id, r.tenant_id, r.connection_id, r.flow, r.job_id, r.triggered_by, r.mode, \
    r.status, r.started_at, r.finished_at, r.total, r.done, r.fetched, r.created, r.updated, r.unchanged, \
    r.deleted, r.skipped, r.failed, r.attempts, r.error, r.cursor, j.status AS job_status \
    FROM runs r LEFT JOIN jobs j ON j.id = r.job_id";

/// A new run for a job.
pub struct NewRun<'a> {
    pub connection_id: i64,
    pub flow: &'a str,
    pub job_id: i64,
    pub triggered_by: &'a str,
    pub mode: &'a str,
}

/// Starts a run (status `running`) and returns its id.
pub async fn create(db: &Db, tenant_id: i64, run: &NewRun<'_>) -> Result<i64, DbError> {
    let sql = "INSERT INTO runs (tenant_id, connection_id, flow, job_id, triggered_by, mode, status, started_at) \
               VALUES ($1, $2, $3, $4, $5, $6, 'running', $7) RETURNING id";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(run.connection_id)
        .bind(run.flow).bind(run.job_id).bind(run.triggered_by).bind(run.mode).bind(now())
        .fetch_one(p).await)?,
    )
}

/// The unfinished run of a job (to resume after a retry or a takeover), if any.
pub async fn unfinished_for_job(
    db: &Db,
    tenant_id: i64,
    job_id: i64,
) -> Result<Option<RunRow>, DbError> {
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.job_id = $2 AND r.status IN ('running', 'retrying') \
         ORDER BY r.id DESC LIMIT 1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(job_id).fetch_optional(p).await)?,
    )
}

/// Marks a resumed run as running again and counts the attempt.
pub async fn resume(db: &Db, tenant_id: i64, id: i64) -> Result<(), DbError> {
    let sql = "UPDATE runs SET status = 'running', attempts = attempts + 1, error = NULL \
               WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, p => sqlx::query(sql).bind(tenant_id).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Counts and checkpoint of a run in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: Option<i64>,
    pub done: i64,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
}

/// Ends a run: `succeeded` (error `None`), `failed`, or `retrying` (not finished: the job
/// will try again and resume it).
pub async fn finish(
    db: &Db,
    tenant_id: i64,
    id: i64,
    status: &str,
    error: Option<&str>,
) -> Result<(), DbError> {
    let finished_at = (status != "retrying").then(now);
    let sql = "UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE tenant_id = $4 AND id = $5";
    on_pool!(db, p => sqlx::query(sql).bind(status).bind(error).bind(finished_at).bind(tenant_id).bind(id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find(db: &Db, tenant_id: i64, id: i64) -> Result<Option<RunRow>, DbError> {
    let sql = format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2");
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(id).fetch_optional(p).await)?,
    )
}

/// A connection's runs, newest first, one page.
pub async fn list_for_connection(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<RunRow>, DbError> {
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.connection_id = $2 ORDER BY r.id DESC LIMIT $3 OFFSET $4"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(limit).bind(offset).fetch_all(p).await)?,
    )
}

/// The newest run of one flow of a connection, if it ever ran.
pub async fn latest_of_flow(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
) -> Result<Option<RunRow>, DbError> {
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.connection_id = $2 AND r.flow = $3 ORDER BY r.id DESC LIMIT 1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(flow).fetch_optional(p).await)?,
    )
}

pub async fn count_for_connection(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM runs WHERE tenant_id = $1 AND connection_id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(tenant_id).bind(connection_id).fetch_one(p).await)?,
    )
}

/// The last run of a flow that succeeded in `mode` (`full` or `incremental`), if any.
pub async fn last_succeeded(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    flow: &str,
    mode: Option<&str>,
) -> Result<Option<RunRow>, DbError> {
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.connection_id = $2 AND r.flow = $3 AND r.status = 'succeeded' \
         AND ($4 IS NULL OR r.mode = $4) ORDER BY r.id DESC LIMIT 1"
    );
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunRow>(&sql).bind(tenant_id).bind(connection_id)
        .bind(flow).bind(mode).fetch_optional(p).await)?,
    )
}

/// A record a run could not process (or skipped, with a reason).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunItemRow {
    pub id: i64,
    pub run_id: i64,
    pub external_id: String,
    pub outcome: String,
    pub message: String,
    pub created_at: i64,
}

/// A run's items, oldest first, one page.
pub async fn items(
    db: &Db,
    tenant_id: i64,
    run_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<RunItemRow>, DbError> {
    let sql = "SELECT id, run_id, external_id, outcome, message, created_at FROM run_items \
               WHERE tenant_id = $1 AND run_id = $2 ORDER BY id LIMIT $3 OFFSET $4";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, RunItemRow>(sql).bind(tenant_id).bind(run_id)
        .bind(limit).bind(offset).fetch_all(p).await)?,
    )
}
