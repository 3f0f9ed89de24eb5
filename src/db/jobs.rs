//! `jobs`: the durable queue. Workers claim a due job under a lease (`locked_by`,
//! `locked_until`), renew it while working and settle it as done, queued again (retry or
//! release) or dead. Every settling call only acts while the caller still holds the lease,
//! so a worker that lost its job to a takeover cannot overwrite the new owner's state.
//!
//! A partial unique index carries the one invariant: `jobs_one_active_per_key` (a job key,
//! such as a scheduled sync's `sync:<connection>` or an event's `po:<id>`, is queued or
//! running at most once per kind). Jobs of one store run side by side; they share the
//! store's rate-limit budget through `store_budgets`, not by waiting for each other.
//! Claiming is cross-tenant by nature; the staff page reads are too, and the tenant-facing
//! reads take the tenant first.

use super::{BeginWrite, Db, DbError, now, on_pool};

/// A claimed job, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: Option<i64>,
    /// Which handler runs it (a flow's kind, or another job kind such as a delivery).
    pub kind: String,
    /// The handler's own JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub max_attempts: i32,
}

impl Job {
    /// Whether a failure now would be final (the job would be marked dead).
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

/// A job to put on the queue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub tenant_id: i64,
    pub connection_id: Option<i64>,
    pub kind: &'a str,
    /// Queued or running at most once per kind (`None`: never deduplicated).
    pub key: Option<&'a str>,
    /// The store whose budget the job draws from (shown to staff).
    pub store_hash: Option<&'a str>,
    /// The handler's JSON.
    pub payload: &'a str,
    /// Not claimed before this time (unix seconds).
    pub run_at: i64,
    pub max_attempts: i32,
}

/// Queues a job and returns its id, or `None` when a queued or running job of the same kind
/// and key already exists.
pub async fn enqueue(db: &Db, job: &NewJob<'_>) -> Result<Option<i64>, DbError> {
    let sql = "INSERT INTO jobs (tenant_id, connection_id, kind, job_key, store_hash, payload, \
               status, run_at, attempts, max_attempts, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, 0, $8, $9, $9) RETURNING id";
    let inserted = on_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(job.tenant_id)
        .bind(job.connection_id).bind(job.kind).bind(job.key).bind(job.store_hash)
        .bind(job.payload).bind(job.run_at).bind(job.max_attempts).bind(now())
        .fetch_one(p).await);
    match inserted.map_err(DbError::from) {
        Ok(id) => Ok(Some(id)),
        Err(DbError::Conflict) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A job written in the same transaction as the rows it is about (a one-time link and the
/// email that carries it), so both commit or neither does: a crash in between can leave
/// neither a link nobody was sent nor an email whose link does not exist. The payload is
/// made for the tenant the job is filed under, which a signup only learns inside that
/// transaction (the tenant is created there). Never deduplicated, due at once.
pub trait TxJob: Send + Sync {
    /// The job kind (`jobs.kind`).
    fn kind(&self) -> &'static str;
    fn max_attempts(&self) -> i32;
    /// The handler's JSON for a job filed under `tenant_id`.
    fn payload(&self, tenant_id: i64) -> Result<String, DbError>;
}

const INSERT_TX_JOB: &str = "INSERT INTO jobs (tenant_id, connection_id, kind, job_key, store_hash, \
    payload, status, run_at, attempts, max_attempts, created_at, updated_at) \
    VALUES ($1, NULL, $2, NULL, NULL, $3, 'queued', $4, 0, $5, $4, $4)";

/// Queues a [`TxJob`] in a repository function's own transaction. The caller wakes this
/// process's workers after the commit (`jobs::wake`).
pub(crate) trait QueueInTx {
    fn queue(
        &mut self,
        tenant_id: i64,
        job: &dyn TxJob,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
}

macro_rules! queue_in_tx {
    ($database:ty) => {
        impl QueueInTx for sqlx::Transaction<'_, $database> {
            async fn queue(&mut self, tenant_id: i64, job: &dyn TxJob) -> Result<(), DbError> {
                let payload = job.payload(tenant_id)?;
                sqlx::query(INSERT_TX_JOB)
                    .bind(tenant_id)
                    .bind(job.kind())
                    .bind(payload)
                    .bind(now())
                    .bind(job.max_attempts())
                    .execute(&mut **self)
                    .await?;
                Ok(())
            }
        }
    };
}
queue_in_tx!(sqlx::Sqlite);
queue_in_tx!(sqlx::Postgres);

/// The columns a claim returns (what a handler gets to see).
#[derive(Debug, sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    tenant_id: i64,
    connection_id: Option<i64>,
    kind: String,
    payload: String,
    attempts: i32,
    max_attempts: i32,
}

impl From<ClaimedRow> for Job {
    fn from(r: ClaimedRow) -> Self {
        Job {
            id: r.id,
            tenant_id: r.tenant_id,
            connection_id: r.connection_id,
            kind: r.kind,
            payload: r.payload,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
        }
    }
}

/// Claims the oldest due job: queued with `run_at` passed, or running under an expired lease
/// (a takeover: its worker died). Jobs of one store may run side by side: they share the
/// store's budget instead. `$1` = worker id, `$2` = now, `$3` = lease end. `{lock}` is `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL, so concurrent claimers pass over each other's candidates instead of waiting.
const CLAIM: &str = "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $3, \
    attempts = attempts + 1, updated_at = $2 \
    WHERE id = (SELECT j.id FROM jobs j \
        WHERE ((j.status = 'queued' AND j.run_at <= $2) OR (j.status = 'running' AND j.locked_until < $2)) \
        ORDER BY j.run_at, j.id LIMIT 1 {lock}) \
    RETURNING id, tenant_id, connection_id, kind, payload, attempts, max_attempts";

/// How often a claim that collided with another process's claim is tried again before
/// reporting "nothing claimable right now".
const CLAIM_TRIES: usize = 3;

/// Claims one due job for `worker_id` with a lease of `lease_secs`, or `None` if nothing is
/// claimable. Counts the attempt (a takeover counts too).
pub async fn claim(db: &Db, worker_id: &str, lease_secs: i64) -> Result<Option<Job>, DbError> {
    for _ in 0..CLAIM_TRIES {
        match claim_once(db, worker_id, lease_secs).await {
            // Another process's claim collided with ours (PostgreSQL); the next statement
            // sees its claim and passes over that job.
            Err(DbError::Conflict) => continue,
            other => return other,
        }
    }
    Ok(None)
}

async fn claim_once(db: &Db, worker_id: &str, lease_secs: i64) -> Result<Option<Job>, DbError> {
    let at = now();
    let row = match db {
        Db::Postgres(p) => {
            let sql = CLAIM.replace("{lock}", "FOR UPDATE SKIP LOCKED");
            sqlx::query_as::<_, ClaimedRow>(&sql)
                .bind(worker_id)
                .bind(at)
                .bind(at + lease_secs)
                .fetch_optional(p)
                .await?
        }
        Db::Sqlite(p) => {
            // One process serves a SQLite database; the write lock taken up front makes the
            // pick and the update one step for every connection of the pool.
            let sql = CLAIM.replace("{lock}", "");
            let mut tx = p.begin_write().await?;
            let row = sqlx::query_as::<_, ClaimedRow>(&sql)
                .bind(worker_id)
                .bind(at)
                .bind(at + lease_secs)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        }
    };
    Ok(row.map(Job::from))
}

/// Whether a lease-guarded update applied, i.e. whether the job was still ours.
fn applied(rows: u64) -> bool {
    rows == 1
}

/// Renews the lease. `false`: the job is no longer ours (taken over, or settled).
pub async fn heartbeat(
    db: &Db,
    job_id: i64,
    worker_id: &str,
    lease_secs: i64,
) -> Result<bool, DbError> {
    let at = now();
    let sql = "UPDATE jobs SET locked_until = $1, updated_at = $2 \
               WHERE id = $3 AND status = 'running' AND locked_by = $4";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(at + lease_secs).bind(at).bind(job_id)
        .bind(worker_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(applied(rows))
}

/// Marks the job done. `false`: it was no longer ours.
pub async fn complete(db: &Db, job_id: i64, worker_id: &str) -> Result<bool, DbError> {
    let sql = "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, \
               last_error = NULL, updated_at = $1 \
               WHERE id = $2 AND status = 'running' AND locked_by = $3";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(now()).bind(job_id).bind(worker_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(applied(rows))
}

/// Queues the job again for `run_at`, noting why this attempt failed. `false`: it was no
/// longer ours.
pub async fn retry_later(
    db: &Db,
    job_id: i64,
    worker_id: &str,
    run_at: i64,
    error: &str,
) -> Result<bool, DbError> {
    let sql = "UPDATE jobs SET status = 'queued', run_at = $1, last_error = $2, locked_by = NULL, \
               locked_until = NULL, updated_at = $3 \
               WHERE id = $4 AND status = 'running' AND locked_by = $5";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(run_at).bind(error).bind(now()).bind(job_id)
        .bind(worker_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(applied(rows))
}

/// Marks the job dead (no more attempts), noting why. `false`: it was no longer ours.
pub async fn bury(db: &Db, job_id: i64, worker_id: &str, error: &str) -> Result<bool, DbError> {
    let sql = "UPDATE jobs SET status = 'dead', last_error = $1, locked_by = NULL, \
               locked_until = NULL, updated_at = $2 \
               WHERE id = $3 AND status = 'running' AND locked_by = $4";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(error).bind(now()).bind(job_id)
        .bind(worker_id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(applied(rows))
}

/// Hands an interrupted job back (graceful shutdown): queued again, due now, and the
/// interrupted attempt does not count. `false`: it was no longer ours.
pub async fn release(db: &Db, job_id: i64, worker_id: &str) -> Result<bool, DbError> {
    let at = now();
    let sql = "UPDATE jobs SET status = 'queued', run_at = $1, \
               attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
               locked_by = NULL, locked_until = NULL, updated_at = $1 \
               WHERE id = $2 AND status = 'running' AND locked_by = $3";
    let rows = on_pool!(db, p => sqlx::query(sql).bind(at).bind(job_id).bind(worker_id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(applied(rows))
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// Jobs per state, all tenants (staff page).
pub async fn counts(db: &Db) -> Result<JobCounts, DbError> {
    let sql = "SELECT status, COUNT(*) FROM jobs GROUP BY status";
    let rows = on_pool!(db, p => sqlx::query_as::<_, (String, i64)>(sql).fetch_all(p).await)?;
    let mut counts = JobCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "queued" => counts.queued = n,
            "running" => counts.running = n,
            "done" => counts.done = n,
            "dead" => counts.dead = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// A dead job as the staff page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadJobRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub kind: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// The most recently buried jobs, all tenants (staff page).
pub async fn latest_dead(db: &Db, limit: i64) -> Result<Vec<DeadJobRow>, DbError> {
    let sql = "SELECT j.id, j.tenant_id, t.name AS tenant_name, j.kind, j.attempts, j.last_error, \
               j.updated_at FROM jobs j JOIN tenants t ON t.id = j.tenant_id \
               WHERE j.status = 'dead' ORDER BY j.updated_at DESC, j.id DESC LIMIT $1";
    Ok(on_pool!(db, p => sqlx::query_as::<_, DeadJobRow>(sql).bind(limit).fetch_all(p).await)?)
}

/// A job as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: Option<i64>,
    pub kind: String,
    pub job_key: Option<String>,
    pub store_hash: Option<String>,
    pub payload: String,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    pub run_at: i64,
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One of the tenant's jobs.
pub async fn find_for_tenant(
    db: &Db,
    tenant_id: i64,
    job_id: i64,
) -> Result<Option<JobRow>, DbError> {
    let sql = "SELECT id, tenant_id, connection_id, kind, job_key, store_hash, payload, status, run_at, \
               attempts, max_attempts, locked_by, locked_until, last_error, created_at, updated_at \
               FROM jobs WHERE tenant_id = $1 AND id = $2";
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, JobRow>(sql).bind(tenant_id).bind(job_id)
        .fetch_optional(p).await)?,
    )
}

/// The queued-or-running scheduled-sync job of one connection's flow, if any (its key makes
/// it unique).
pub async fn active_sync(
    db: &Db,
    tenant_id: i64,
    connection_id: i64,
    kind: &str,
) -> Result<Option<JobRow>, DbError> {
    let sql = "SELECT id, tenant_id, connection_id, kind, job_key, store_hash, payload, status, run_at, \
               attempts, max_attempts, locked_by, locked_until, last_error, created_at, updated_at \
               FROM jobs WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 \
               AND job_key = $4 AND status IN ('queued', 'running')";
    let key = sync_key(connection_id);
    Ok(
        on_pool!(db, p => sqlx::query_as::<_, JobRow>(sql).bind(tenant_id).bind(connection_id)
        .bind(kind).bind(&key).fetch_optional(p).await)?,
    )
}

/// The key of a connection's scheduled (or "Run now") sync: one is active at a time.
pub fn sync_key(connection_id: i64) -> String {
    format!("sync:{connection_id}")
}
