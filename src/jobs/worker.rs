//! The worker pool: `start` spawns the workers and the scheduler on the current tokio
//! runtime; `JobsHandle::shutdown` stops them and hands in-flight jobs back to the queue.
//!
//! A worker claims a job, runs its handler in a task of its own (a panic stays there) and
//! renews the lease every third of it. If the lease is lost (another worker took the job
//! over) the handler is dropped; the new owner finishes the job. Handlers own their logs;
//! this module logs only outcomes, never payloads.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::watch,
    task::{JoinError, JoinHandle},
    time::{Instant, MissedTickBehavior},
};
use tracing::Instrument;

use super::{Job, JobFailure, WAKE, backoff, scheduler};
use crate::{config::JobSettings, context::AppContext, db};

/// Stored errors are cut to this many characters.
const MAX_ERROR_CHARS: usize = 1000;

/// The running workers and scheduler of this process.
pub struct JobsHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl JobsHandle {
    /// Stops claiming, cancels the jobs in progress and releases them (queued again, due
    /// now, the interrupted attempt not counted), then waits for every task to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a job task ended abnormally");
            }
        }
        tracing::info!("job workers stopped");
    }
}

/// Starts `settings.workers` workers and the scheduler.
pub fn start(ctx: Arc<AppContext>, settings: &JobSettings) -> JobsHandle {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::with_capacity(settings.workers + 1);
    for _ in 0..settings.workers {
        let worker = Worker {
            ctx: ctx.clone(),
            settings: settings.clone(),
            id: worker_id(),
            stop: stopped.clone(),
        };
        tasks.push(tokio::spawn(worker.run()));
    }
    tasks.push(tokio::spawn(scheduler::run(
        ctx,
        settings.scheduler_tick,
        stopped,
    )));
    tracing::info!(workers = settings.workers, "job workers started");
    JobsHandle { stop, tasks }
}

/// `<host>:<pid>:<8 random hex digits>`: unique per worker task, readable in `locked_by`.
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Resolves once shutdown was asked for (or the handle is gone).
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn is_stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

struct Worker {
    ctx: Arc<AppContext>,
    settings: JobSettings,
    id: String,
    stop: watch::Receiver<bool>,
}

/// How a job's handler ended, as far as the worker is concerned.
enum Outcome {
    Finished(Result<Result<(), JobFailure>, JoinError>),
    LeaseLost,
    Stopped,
}

impl Worker {
    fn lease_secs(&self) -> i64 {
        i64::try_from(self.settings.lease.as_secs()).unwrap_or(i64::MAX)
    }

    async fn run(mut self) {
        tracing::debug!(worker = %self.id, "worker started");
        while !is_stopped(&self.stop) {
            match db::jobs::claim(&self.ctx.db, &self.id, self.lease_secs()).await {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => self.idle().await,
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "cannot claim a job");
                    self.idle().await;
                }
            }
        }
    }

    /// Waits for the poll interval, an enqueue in this process, or shutdown.
    async fn idle(&mut self) {
        tokio::select! {
            _ = tokio::time::sleep(self.settings.poll) => {}
            _ = WAKE.notified() => {}
            _ = stopped(&mut self.stop) => {}
        }
    }

    async fn run_job(&mut self, job: Job) {
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, tenant = job.tenant_id, attempt = job.attempts, worker = %self.id);
        async {
            if is_stopped(&self.stop) {
                return self.release(&job).await;
            }
            if job.attempts > job.max_attempts {
                // Taken over after its worker died on the last attempt: do not start again.
                let error = "The worker running the last attempt stopped before finishing.";
                tracing::warn!("job out of attempts after a takeover; marked dead");
                if let Err(e) = self.ctx.handlers.abandon(&self.ctx, &job, error).await {
                    tracing::warn!(error = %e, "could not end the job's run");
                }
                return self.settle(db::jobs::bury(&self.ctx.db, job.id, &self.id, error).await);
            }
            tracing::info!("job started");
            match self.supervise(&job).await {
                Outcome::Finished(result) => self.finish(&job, result).await,
                Outcome::LeaseLost => {
                    tracing::warn!("lost the job's lease to another worker; dropped the handler")
                }
                Outcome::Stopped => self.release(&job).await,
            }
        }
        .instrument(span)
        .await
    }

    /// Runs the handler while renewing the lease; cancels it on shutdown or a lost lease
    /// and waits until it has stopped, so it writes nothing after we let go of the job.
    async fn supervise(&mut self, job: &Job) -> Outcome {
        let ctx = self.ctx.clone();
        let owned = job.clone();
        let mut handler =
            tokio::spawn(async move { ctx.handlers.execute(&ctx, &owned).await }.in_current_span());
        let period = (self.settings.lease / 3).max(Duration::from_millis(100));
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut renewed = Instant::now();
        let outcome = loop {
            tokio::select! {
                result = &mut handler => return Outcome::Finished(result),
                _ = ticker.tick() => {
                    match db::jobs::heartbeat(&self.ctx.db, job.id, &self.id, self.lease_secs()).await {
                        Ok(true) => renewed = Instant::now(),
                        Ok(false) => break Outcome::LeaseLost,
                        Err(e) if renewed.elapsed() >= self.settings.lease => {
                            tracing::warn!(error = %e, "cannot renew the lease, which has expired");
                            break Outcome::LeaseLost;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot renew the lease; will try again"),
                    }
                }
                _ = stopped(&mut self.stop) => break Outcome::Stopped,
            }
        };
        handler.abort();
        let _ = handler.await;
        outcome
    }

    async fn finish(&self, job: &Job, result: Result<Result<(), JobFailure>, JoinError>) {
        let db = &self.ctx.db;
        let failure = match result {
            Ok(Ok(())) => {
                tracing::info!("job done");
                return self.settle(db::jobs::complete(db, job.id, &self.id).await);
            }
            Ok(Err(failure)) => failure,
            Err(e) if e.is_panic() => JobFailure::Retry("The job's handler crashed.".to_owned()),
            Err(_) => JobFailure::Retry("The job's handler was cancelled.".to_owned()),
        };
        match failure {
            JobFailure::Retry(message) if !job.is_last_attempt() => {
                let wait = backoff::delay(self.settings.retry_base, job.attempts);
                let run_at = db::now() + i64::try_from(wait.as_secs()).unwrap_or(i64::MAX / 2);
                tracing::warn!(error = %short(&message), retry_in_secs = wait.as_secs(), "job failed; will retry");
                let error = short(&message);
                self.settle(db::jobs::retry_later(db, job.id, &self.id, run_at, &error).await);
            }
            JobFailure::Retry(message) | JobFailure::Fail(message) => {
                tracing::warn!(error = %short(&message), "job failed for good; marked dead");
                let error = short(&message);
                self.settle(db::jobs::bury(db, job.id, &self.id, &error).await);
            }
        }
    }

    async fn release(&self, job: &Job) {
        tracing::info!("job released for another worker (shutting down)");
        self.settle(db::jobs::release(&self.ctx.db, job.id, &self.id).await);
    }

    /// Logs what a settling update found: the job no longer ours, or the database failing
    /// (the lease then expires and another worker takes the job over).
    fn settle(&self, result: Result<bool, db::DbError>) {
        match result {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the job was no longer ours when settling it"),
            Err(e) => tracing::warn!(error = %e, "cannot record the job's outcome"),
        }
    }
}

/// `message` cut to [`MAX_ERROR_CHARS`] characters.
fn short(message: &str) -> String {
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}
