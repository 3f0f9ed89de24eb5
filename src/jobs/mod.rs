//! Durable jobs: a queue in the database (jobs survive restarts), a scheduler that enqueues
//! each enabled flow on its interval, and workers that claim jobs under a renewable lease.
//! Handlers live in `flows`; a job's outcome decides whether it is retried (exponential
//! backoff with jitter, up to its attempt limit), finished, or marked dead.

pub mod backoff;
pub mod scheduler;
pub mod worker;

use tokio::sync::Notify;

pub use worker::{JobsHandle, start};

use crate::{
    context::AppContext,
    db::{self, DbError, jobs::NewJob},
    flows::{Flow, FlowJob},
};

/// Wakes this process's idle workers when a job is queued here, so a "Run now" starts at
/// once instead of at the next poll. Other processes find the job when they poll.
static WAKE: Notify = Notify::const_new();

/// Queues a run of `flow` for a connection (the "Run now" service and the scheduler use
/// this shape). `None`: a run of that flow is already queued or in progress.
pub async fn enqueue_flow(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    store_hash: &str,
    flow: Flow,
    payload: &FlowJob,
) -> Result<Option<i64>, DbError> {
    let payload = flow_payload(payload)?;
    let job = NewJob {
        tenant_id,
        connection_id: Some(connection_id),
        kind: flow.as_str(),
        store_hash: Some(store_hash),
        payload: &payload,
        run_at: db::now(),
        max_attempts: max_attempts(ctx),
    };
    let id = db::jobs::enqueue(&ctx.db, &job).await?;
    if id.is_some() {
        WAKE.notify_waiters();
    }
    Ok(id)
}

fn flow_payload(payload: &FlowJob) -> Result<String, DbError> {
    serde_json::to_string(payload).map_err(|e| DbError::Other(sqlx::Error::Encode(Box::new(e))))
}

fn max_attempts(ctx: &AppContext) -> i32 {
    i32::try_from(ctx.jobs.max_attempts).unwrap_or(i32::MAX)
}

/// A claimed job, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub tenant_id: i64,
    pub connection_id: Option<i64>,
    /// Which handler runs it (`flows::Flow::as_str`).
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
