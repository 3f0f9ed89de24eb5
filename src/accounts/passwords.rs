//! argon2id password hashing, run off the async threads (it is deliberately slow), through a
//! process-wide [`Hasher`]: at most one hash per core at a time, a short queue behind them,
//! and a fast refusal beyond it. Each hash takes about 19 MiB, so without the bound a burst
//! of signups or logins could take the server's memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::domain::{Password, Secret};

/// A hash of a password nobody has, verified when the account does not exist so that a
/// wrong email takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Dsq3Cv2tqk0nNm1gk+Wh3o6PwOg5t6JivRAx+RwdnXo";

/// Longer candidates at login are wrong without being hashed (new passwords stop at 128).
pub const MAX_CANDIDATE_CHARS: usize = 1024;

/// How long a queued hash waits for a core before it is refused after all.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// What the caller tells the client when the hasher is full: try again after this long.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Every core is hashing and the queue is full: answer 503 with Retry-After.
#[derive(Debug, thiserror::Error)]
#[error("cartbridge is busy right now. Try again in a few seconds.")]
pub struct Busy;

/// The bound on concurrent password hashes, shared by every request of the process.
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl Hasher {
    /// `concurrency` hashes at once (at least one), `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// One hash per core but one (which stays free to answer every other request), at
    /// least one, and a queue twice as long as there are cores.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cores.saturating_sub(1).max(1), cores * 2)
    }

    /// True when a hash asked for now would be refused: every core busy and the queue
    /// full. Lets callers answer 503 before doing any other work for the request.
    pub fn is_full(&self) -> bool {
        self.permits.available_permits() == 0 && self.waiting.load(Ordering::SeqCst) >= self.queue
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!("password hashing is saturated: request refused");
                    return Err(Busy);
                }
                let acquired =
                    tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Busy),
                }
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| Busy)
    }

    /// A PHC string for a new password.
    pub async fn hash(&self, password: &Password) -> Result<anyhow::Result<String>, Busy> {
        let secret = password.secret().clone();
        self.run(move || {
            Argon2::default()
                .hash_password(secret.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
        })
        .await
    }

    /// True if `candidate` matches `stored` (a PHC string); `None` verifies against a dummy
    /// hash and returns false. An overlong candidate is false without hashing.
    pub async fn verify(&self, candidate: &Secret, stored: Option<String>) -> Result<bool, Busy> {
        if candidate.expose().chars().count() > MAX_CANDIDATE_CHARS {
            return Ok(false);
        }
        let candidate = candidate.clone();
        self.run(move || {
            let hash = stored.as_deref().unwrap_or(DUMMY_HASH);
            let ok = Argon2::default()
                .verify_password(candidate.expose().as_bytes(), hash)
                .is_ok();
            ok && stored.is_some()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let hasher = Hasher::new(1, 1);
        let pw =
            Password::parse(Secret::new("correct horse battery".into()), "a@b.co").expect("ok");
        let stored = hasher.hash(&pw).await.expect("free").expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify(pw.secret(), Some(stored.clone()))
                .await
                .expect("free")
        );
        let wrong = Secret::new("wrong horse battery".into());
        assert!(!hasher.verify(&wrong, Some(stored)).await.expect("free"));
        assert!(!hasher.verify(pw.secret(), None).await.expect("free"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_a_hash_is_refused_at_once() {
        let hasher = Arc::new(Hasher::new(1, 1));
        let pw =
            Password::parse(Secret::new("correct horse battery".into()), "a@b.co").expect("ok");
        let attempts: Vec<_> = (0..6)
            .map(|_| {
                let hasher = hasher.clone();
                let secret = pw.secret().clone();
                tokio::spawn(async move { hasher.verify(&secret, None).await.is_err() })
            })
            .collect();
        let mut refused = 0;
        for a in attempts {
            refused += usize::from(a.await.expect("task"));
        }
        assert!(
            refused >= 1,
            "six hashes on one permit and a queue of one all ran"
        );
    }
}
