//! Durable jobs: a queue in the database (jobs survive restarts), a scheduler that enqueues
//! each enabled flow on its interval, and workers that claim jobs under a renewable lease.
//! What a job does is its handler's business: handlers are registered by kind in a
//! [`Handlers`] table built at startup (every flow of `flows::Registry`, plus other kinds
//! such as outbound deliveries), so this module depends on no flow. A job's outcome decides
//! whether it is retried (exponential backoff with jitter, up to its attempt limit),
//! finished, or marked dead.

pub mod backoff;
pub mod scheduler;
pub mod worker;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use crate::db::jobs::Job;
pub use worker::{JobsHandle, start};

use crate::{
    context::AppContext,
    db::{self, DbError, jobs::NewJob},
};

/// A future a handler returns (handlers are trait objects, so their futures are boxed).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Wakes this process's idle workers when a job is queued here, so a "Run now" starts at
/// once instead of at the next poll. Other processes find the job when they poll.
static WAKE: Notify = Notify::const_new();

/// Wakes this process's idle workers, for jobs queued by other means than [`enqueue`]: a
/// writer of their own (the webhook receiver's batch) or a repository's transaction.
pub fn wake() {
    WAKE.notify_waiters();
}

/// What runs the jobs of one kind.
pub trait Handler: Send + Sync {
    /// The job kind (`jobs.kind`) this handler runs.
    fn kind(&self) -> &'static str;

    /// Runs one claimed job. It may run again after a crash, so it must be idempotent.
    fn execute<'a>(
        &'a self,
        ctx: &'a AppContext,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), JobFailure>>;

    /// Cleans up after a job that will not run again because its worker died during the
    /// last attempt (e.g. ends its run). Nothing by default.
    fn abandon<'a>(
        &'a self,
        _ctx: &'a AppContext,
        _job: &'a Job,
        _message: &'a str,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Every job kind this process can run, by kind.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<&'static str, Arc<dyn Handler>>,
}

impl Handlers {
    /// Adds a handler; a second handler for the same kind is a programming error.
    pub fn register(&mut self, handler: Arc<dyn Handler>) {
        let kind = handler.kind();
        let previous = self.by_kind.insert(kind, handler);
        assert!(previous.is_none(), "two handlers for jobs of kind {kind:?}");
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Handler>> {
        self.by_kind.get(kind)
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.by_kind.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Runs a claimed job with the handler its kind names.
    pub async fn execute(&self, ctx: &AppContext, job: &Job) -> Result<(), JobFailure> {
        match self.get(&job.kind) {
            Some(handler) => handler.execute(ctx, job).await,
            None => Err(JobFailure::Fail(format!(
                "no handler for jobs of kind {:?}",
                job.kind
            ))),
        }
    }

    pub async fn abandon(&self, ctx: &AppContext, job: &Job, message: &str) -> Result<(), DbError> {
        match self.get(&job.kind) {
            Some(handler) => handler.abandon(ctx, job, message).await,
            None => Ok(()),
        }
    }
}

/// What a "Run now" asks for: the flow's usual choice, or a full run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Incremental when a full run succeeded recently enough, else full.
    Auto,
    Full,
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }
}

/// The payload of a scheduled or "Run now" sync job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub mode: RunMode,
    pub trigger: Trigger,
}

/// A job to queue through [`enqueue`].
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub tenant_id: i64,
    pub connection_id: Option<i64>,
    pub kind: &'static str,
    /// Queued or running at most once per kind (e.g. `po:<id>`); `None`: never deduplicated.
    pub key: Option<String>,
    /// The store whose budget it draws from, if it calls one.
    pub store_hash: Option<&'a str>,
    /// The handler's own JSON.
    pub payload: String,
    /// Not before this time (unix seconds).
    pub run_at: i64,
}

/// Queues a job. `None`: a job of the same kind and key is already queued or running.
pub async fn enqueue(ctx: &AppContext, request: &JobRequest<'_>) -> Result<Option<i64>, DbError> {
    let job = NewJob {
        tenant_id: request.tenant_id,
        connection_id: request.connection_id,
        kind: request.kind,
        key: request.key.as_deref(),
        store_hash: request.store_hash,
        payload: &request.payload,
        run_at: request.run_at,
        max_attempts: max_attempts(ctx),
    };
    let id = db::jobs::enqueue(&ctx.db, &job).await?;
    if id.is_some() {
        WAKE.notify_waiters();
    }
    Ok(id)
}

/// Queues a sync of `kind` for a connection (the "Run now" service and the scheduler use
/// this). `None`: a sync of that flow is already queued or in progress.
pub async fn enqueue_sync(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    store_hash: &str,
    kind: &'static str,
    sync: SyncRequest,
) -> Result<Option<i64>, DbError> {
    let request = JobRequest {
        tenant_id,
        connection_id: Some(connection_id),
        kind,
        key: Some(db::jobs::sync_key(connection_id)),
        store_hash: Some(store_hash),
        payload: to_payload(&sync)?,
        run_at: db::now(),
    };
    enqueue(ctx, &request).await
}

/// A payload as JSON (serializing plain data cannot fail; if it did, it is a database-side
/// encode error to the caller).
pub fn to_payload<T: Serialize>(payload: &T) -> Result<String, DbError> {
    serde_json::to_string(payload).map_err(|e| DbError::Other(sqlx::Error::Encode(Box::new(e))))
}

fn max_attempts(ctx: &AppContext) -> i32 {
    i32::try_from(ctx.jobs.max_attempts).unwrap_or(i32::MAX)
}

/// Why a handler did not finish its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    /// Worth another attempt later (BigCommerce unreachable or failing, a database hiccup).
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help (bad credentials, unreadable data, the connection is gone).
    #[error("{0}")]
    Fail(String),
}
