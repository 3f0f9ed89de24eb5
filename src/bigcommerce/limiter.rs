//! Per-store pacing from BigCommerce's rate-limit headers.
//!
//! Every response carries `X-Rate-Limit-Requests-Left`, `…-Requests-Quota` and
//! `…-Time-Reset-Ms`. A [`StoreLimiter`] (one per store hash, shared by every request this
//! process sends to that store) remembers the latest values and, before a request, pauses
//! until the window resets when the remaining budget is already spoken for.
//!
//! **Reserve rule:** a request waits when the last known `left` is at or below the number
//! of requests to this store already in flight (each of them will use one unit). It sleeps
//! until the window's reset instant; once that has passed, `left` is assumed to be the last
//! reported quota (refilled) and the reset instant unknown, so a burst after the reset sends
//! at most `quota` requests and the rest wait for the first response of the new window. A
//! store that never reported its budget is not paced. The quota is also shared with other
//! apps on the store, so this cannot rule out a 429; the retry loop in `client.rs` handles
//! those. This module never sends requests itself.
//!
//! **In flight:** a request also waits while this process already has `max_in_flight`
//! requests out to the store (`CARTBRIDGE_BIGCOMMERCE_MAX_INFLIGHT`).
//!
//! **Across processes:** processes sharing one PostgreSQL share one budget per store
//! through a [`SharedBudget`] (the `store_budgets` table): every request takes one unit of
//! the store's window from it before it is sent, and every response's headers correct it.
//! On SQLite, which serves one process, the in-process budget is already everything.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

const LEFT: &str = "x-rate-limit-requests-left";
const QUOTA: &str = "x-rate-limit-requests-quota";
const RESET_MS: &str = "x-rate-limit-time-reset-ms";
const WINDOW_MS: &str = "x-rate-limit-time-window-ms";

/// The rate-limit headers of one response; a missing or unreadable header is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    pub left: Option<u64>,
    pub quota: Option<u64>,
    pub reset_ms: Option<u64>,
    pub window_ms: Option<u64>,
}

impl RateHeaders {
    /// Reads the headers (`HeaderMap` lookups are case-insensitive).
    pub fn parse(headers: &HeaderMap) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Self {
            left: number(LEFT),
            quota: number(QUOTA),
            reset_ms: number(RESET_MS),
            window_ms: number(WINDOW_MS),
        }
    }

    /// The window as the shared budget records it, when the response said enough.
    fn window(self) -> Option<WindowSeen> {
        let (left, quota, reset_ms) = (self.left?, self.quota?, self.reset_ms?);
        Some(WindowSeen {
            left,
            quota,
            reset_ms,
            // BigCommerce sends the window's length; without it, the reset is the best guess.
            window_ms: self.window_ms.unwrap_or(reset_ms).max(1),
        })
    }
}

/// Whose request it is: bulk work (a sync's pages) gives way to everyone else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    #[default]
    Normal,
    Bulk,
}

/// A future of a [`SharedBudget`] (trait objects return boxed futures).
pub type BudgetFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one response said of the store's window, for the shared budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSeen {
    pub left: u64,
    pub quota: u64,
    pub reset_ms: u64,
    pub window_ms: u64,
}

/// One rate-limit budget per store, shared by every process that calls it (implemented
/// over the database by `db::budgets`). Errors are the implementation's to log: a budget
/// that cannot be reached lets the request go, and BigCommerce's 429 remains the backstop.
pub trait SharedBudget: Send + Sync + fmt::Debug {
    /// Takes one request's unit of `store`'s window: `None` to go now, or how long to wait
    /// before asking again (the window is spent).
    fn take<'a>(&'a self, store: &'a str) -> BudgetFuture<'a, Option<Duration>>;
    /// Corrects the budget with what a response said (other apps spend the same quota).
    fn observe(&self, store: &str, seen: WindowSeen) -> BudgetFuture<'static, ()>;
}

/// What cartbridge last learned about one store's rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    /// Requests left in the window, if a response has said so since the last reset.
    pub left: Option<u64>,
    /// The store's quota per window, as last reported.
    pub quota: Option<u64>,
    /// Time until the window resets, if that is known and still ahead.
    pub resets_in: Option<Duration>,
    /// Requests to this store currently being sent or awaiting their response.
    pub in_flight: u64,
    /// How many times a request has paused for lack of budget.
    pub pauses: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Budget {
    left: Option<u64>,
    quota: Option<u64>,
    reset_at: Option<Instant>,
    in_flight: u64,
    pauses: u64,
    /// Normal-priority requests waiting for the budget (bulk ones give way to them).
    waiting: u64,
}

/// What a request should do before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Go,
    /// The budget is spoken for until the window resets at this instant.
    SleepUntil(Instant),
    /// The budget is spoken for and the reset instant unknown: wait for a response.
    AwaitResponse,
}

impl Budget {
    /// The reserve rule of the module docs and the in-flight cap. A bulk request also
    /// leaves one slot free and the next units to normal requests waiting.
    #[cfg(test)]
    fn decide(&self, now: Instant, max_in_flight: u64) -> Decision {
        self.decide_as(now, max_in_flight, Priority::Normal)
    }

    fn decide_as(&self, now: Instant, max_in_flight: u64, priority: Priority) -> Decision {
        let (cap, reserved) = match priority {
            Priority::Normal => (max_in_flight, 0),
            Priority::Bulk => (max_in_flight.saturating_sub(1).max(1), self.waiting),
        };
        if self.in_flight >= cap {
            return Decision::AwaitResponse;
        }
        match (self.left, self.reset_at) {
            (None, _) => Decision::Go,
            (Some(left), _) if left > self.in_flight + reserved => Decision::Go,
            (Some(_), Some(at)) if at > now => Decision::SleepUntil(at),
            // No reset instant and no response to wait for: send, and learn the budget.
            (Some(_), _) if self.in_flight == 0 => Decision::Go,
            (Some(_), _) => Decision::AwaitResponse,
        }
    }

    /// Once the window has reset, the old `left` says nothing: assume the quota is back.
    fn refill_if_reset(&mut self, now: Instant) {
        if self.reset_at.is_some_and(|at| at <= now) {
            self.left = self.quota;
            self.reset_at = None;
        }
    }

    /// Within a window that has not reset yet, responses may arrive out of order: keep the
    /// lowest `left` and the latest reset instant seen. Otherwise take the values as sent.
    fn record(&mut self, headers: RateHeaders, now: Instant) {
        let same_window = self.reset_at.is_some_and(|at| at > now);
        if let Some(left) = headers.left {
            self.left = match self.left {
                Some(old) if same_window => Some(old.min(left)),
                _ => Some(left),
            };
        }
        if let Some(quota) = headers.quota {
            self.quota = Some(quota);
        }
        if let Some(ms) = headers.reset_ms {
            let at = now + Duration::from_millis(ms);
            self.reset_at = match self.reset_at {
                Some(old) if same_window => Some(old.max(at)),
                _ => Some(at),
            };
        }
    }
}

/// The budget of one store in this process. Cheap to lock: never held across an await.
#[derive(Debug)]
pub(crate) struct StoreLimiter {
    budget: Mutex<Budget>,
    /// Woken whenever a response is recorded or a request ends.
    changed: Notify,
    max_in_flight: u64,
    /// The store hash and the budget shared with other processes, if any.
    shared: Option<(String, Arc<dyn SharedBudget>)>,
}

impl Default for StoreLimiter {
    fn default() -> Self {
        Self::new(u64::MAX, None)
    }
}

/// Counts a normal request as waiting until it goes or is given up; then bulk requests
/// held back for it may look again.
struct Waiting<'a> {
    limiter: &'a StoreLimiter,
    counted: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.counted {
            {
                let mut budget = self.limiter.lock();
                budget.waiting = budget.waiting.saturating_sub(1);
            }
            self.limiter.changed.notify_waiters();
        }
    }
}

/// Counts a request as in flight until dropped.
pub(crate) struct Permit<'a> {
    limiter: &'a StoreLimiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut budget = self.limiter.lock();
            budget.in_flight = budget.in_flight.saturating_sub(1);
        }
        self.limiter.changed.notify_waiters();
    }
}

impl StoreLimiter {
    /// A limiter allowing `max_in_flight` requests at once, drawing on `shared` (store hash
    /// and budget) when processes share one.
    pub fn new(max_in_flight: u64, shared: Option<(String, Arc<dyn SharedBudget>)>) -> Self {
        Self {
            budget: Mutex::default(),
            changed: Notify::new(),
            max_in_flight: max_in_flight.max(1),
            shared,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (tokio sleep) until the reserve rule and the in-flight cap let one more
    /// request go, and then until the shared budget (if any) grants it a unit; counts it as
    /// in flight until the permit is dropped.
    #[cfg(test)]
    pub async fn acquire(&self) -> Permit<'_> {
        self.acquire_as(Priority::Normal).await
    }

    /// [`StoreLimiter::acquire`] for a request of `priority`.
    pub async fn acquire_as(&self, priority: Priority) -> Permit<'_> {
        let permit = self.acquire_local(priority).await;
        if let Some((store, shared)) = &self.shared {
            while let Some(wait) = shared.take(store).await {
                self.lock().pauses += 1;
                tokio::time::sleep(wait).await;
            }
        }
        permit
    }

    async fn acquire_local(&self, priority: Priority) -> Permit<'_> {
        // Counts this request among the normal ones waiting until it goes (or is dropped).
        let mut waiting = Waiting {
            limiter: self,
            counted: false,
        };
        loop {
            // Registered before the check, so a change right after it is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let decision = {
                let mut budget = self.lock();
                let now = Instant::now();
                budget.refill_if_reset(now);
                let decision = budget.decide_as(now, self.max_in_flight, priority);
                match decision {
                    Decision::Go => budget.in_flight += 1,
                    Decision::SleepUntil(_) | Decision::AwaitResponse => {
                        budget.pauses += 1;
                        if priority == Priority::Normal && !waiting.counted {
                            budget.waiting += 1;
                            waiting.counted = true;
                        }
                    }
                }
                decision
            };
            match decision {
                Decision::Go => {
                    drop(waiting);
                    return Permit { limiter: self };
                }
                Decision::SleepUntil(at) => tokio::time::sleep_until(at).await,
                Decision::AwaitResponse => changed.await,
            }
        }
    }

    /// Records the rate-limit headers of a response (any status), here and (in the
    /// background, so the response is not held up) in the shared budget.
    pub fn record(&self, headers: RateHeaders) {
        self.lock().record(headers, Instant::now());
        self.changed.notify_waiters();
        if let Some(seen) = headers.window() {
            self.share(seen);
        }
    }

    /// After a 429 that said when the window resets: nothing is left until then.
    pub fn exhaust_for(&self, reset: Duration) {
        let quota = {
            let mut budget = self.lock();
            budget.left = Some(0);
            budget.reset_at = Some(Instant::now() + reset);
            budget.quota
        };
        if let Some(quota) = quota {
            let reset_ms = u64::try_from(reset.as_millis()).unwrap_or(u64::MAX);
            self.share(WindowSeen {
                left: 0,
                quota,
                reset_ms,
                window_ms: reset_ms.max(1),
            });
        }
    }

    fn share(&self, seen: WindowSeen) {
        if let Some((store, shared)) = &self.shared {
            tokio::spawn(shared.observe(store, seen));
        }
    }

    /// A snapshot for callers and tests.
    pub fn state(&self) -> RateLimitState {
        let budget = *self.lock();
        let now = Instant::now();
        RateLimitState {
            left: budget.left,
            quota: budget.quota,
            resets_in: budget
                .reset_at
                .filter(|at| *at > now)
                .map(|at| at.duration_since(now)),
            in_flight: budget.in_flight,
            pauses: budget.pauses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn seen(left: u64, reset_ms: u64) -> RateHeaders {
        RateHeaders {
            left: Some(left),
            quota: Some(150),
            reset_ms: Some(reset_ms),
            window_ms: Some(30_000),
        }
    }

    #[test]
    fn the_in_flight_cap_holds_requests_back_whatever_the_budget() {
        let now = Instant::now();
        let mut budget = Budget {
            in_flight: 8,
            ..Budget::default()
        };
        assert_eq!(budget.decide(now, 8), Decision::AwaitResponse);
        assert_eq!(budget.decide(now, 9), Decision::Go);
        budget.record(seen(100, 1000), now);
        assert_eq!(budget.decide(now, 8), Decision::AwaitResponse);
    }

    #[test]
    fn bulk_requests_leave_a_slot_and_the_next_units_to_normal_ones_waiting() {
        let now = Instant::now();
        let mut budget = Budget {
            in_flight: 7,
            ..Budget::default()
        };
        assert_eq!(
            budget.decide_as(now, 8, Priority::Bulk),
            Decision::AwaitResponse
        );
        assert_eq!(budget.decide_as(now, 8, Priority::Normal), Decision::Go);
        budget.in_flight = 2;
        budget.record(seen(3, 1000), now);
        assert_eq!(budget.decide_as(now, 8, Priority::Bulk), Decision::Go);
        budget.waiting = 1;
        assert_eq!(
            budget.decide_as(now, 8, Priority::Bulk),
            Decision::SleepUntil(now + Duration::from_millis(1000)),
            "the last unit is the waiting normal request's"
        );
        assert_eq!(budget.decide_as(now, 8, Priority::Normal), Decision::Go);
        let single = Budget::default();
        assert_eq!(
            single.decide_as(now, 1, Priority::Bulk),
            Decision::Go,
            "a cap of 1 is shared"
        );
    }

    #[test]
    fn headers_are_read_whatever_their_case() {
        let parsed = RateHeaders::parse(&headers(&[
            ("X-Rate-Limit-Requests-Left", "7"),
            ("x-rate-limit-requests-quota", "150"),
            ("X-RATE-LIMIT-TIME-RESET-MS", " 2500 "),
        ]));
        assert_eq!(
            parsed,
            RateHeaders {
                left: Some(7),
                quota: Some(150),
                reset_ms: Some(2500),
                window_ms: None,
            }
        );
    }

    #[test]
    fn missing_or_garbled_headers_are_unknown() {
        let parsed = RateHeaders::parse(&headers(&[
            ("X-Rate-Limit-Requests-Left", "-1"),
            ("X-Rate-Limit-Time-Reset-Ms", "soon"),
        ]));
        assert_eq!(parsed, RateHeaders::default());
    }

    #[test]
    fn an_unknown_budget_never_waits() {
        let now = Instant::now();
        assert_eq!(Budget::default().decide(now, u64::MAX), Decision::Go);
        let mut only_reset = Budget::default();
        only_reset.record(
            RateHeaders {
                reset_ms: Some(1000),
                ..RateHeaders::default()
            },
            now,
        );
        only_reset.in_flight = 40;
        assert_eq!(only_reset.decide(now, u64::MAX), Decision::Go);
    }

    #[test]
    fn a_budget_spoken_for_by_requests_in_flight_waits_for_the_reset() {
        let now = Instant::now();
        let mut budget = Budget::default();
        budget.record(seen(2, 800), now);
        budget.in_flight = 1;
        assert_eq!(
            budget.decide(now, u64::MAX),
            Decision::Go,
            "2 left, 1 in flight"
        );
        budget.in_flight = 2;
        assert_eq!(
            budget.decide(now, u64::MAX),
            Decision::SleepUntil(now + Duration::from_millis(800))
        );
    }

    #[test]
    fn out_of_order_responses_in_one_window_keep_the_lowest_left() {
        let now = Instant::now();
        let mut budget = Budget::default();
        budget.record(seen(3, 900), now);
        budget.record(seen(4, 950), now);
        assert_eq!(budget.left, Some(3));
        assert_eq!(budget.reset_at, Some(now + Duration::from_millis(950)));
        let later = now + Duration::from_millis(950);
        budget.record(seen(149, 30_000), later);
        assert_eq!(budget.left, Some(149), "a new window starts afresh");
    }

    #[test]
    fn after_the_reset_the_quota_is_assumed_back_and_a_burst_beyond_it_waits() {
        let now = Instant::now();
        let mut budget = Budget::default();
        budget.record(seen(0, 500), now);
        let reset = now + Duration::from_millis(500);
        assert_eq!(budget.decide(now, u64::MAX), Decision::SleepUntil(reset));
        budget.refill_if_reset(now + Duration::from_millis(499));
        assert_eq!(budget.left, Some(0), "not reset yet");
        budget.refill_if_reset(reset);
        assert_eq!((budget.left, budget.reset_at), (Some(150), None));
        budget.in_flight = 149;
        assert_eq!(budget.decide(reset, u64::MAX), Decision::Go);
        budget.in_flight = 150;
        assert_eq!(budget.decide(reset, u64::MAX), Decision::AwaitResponse);
    }

    #[test]
    fn a_spent_budget_without_a_reset_time_does_not_wait_for_nothing() {
        let now = Instant::now();
        let mut budget = Budget::default();
        budget.record(
            RateHeaders {
                left: Some(0),
                ..RateHeaders::default()
            },
            now,
        );
        assert_eq!(
            budget.decide(now, u64::MAX),
            Decision::Go,
            "nothing in flight"
        );
        budget.in_flight = 1;
        assert_eq!(budget.decide(now, u64::MAX), Decision::AwaitResponse);
    }

    // tokio's `test-util` (paused clock) is not enabled, so these use short real sleeps and
    // assert only lower bounds and counters, which a slow machine cannot break.

    #[tokio::test]
    async fn acquire_sleeps_until_the_window_resets_when_nothing_is_left() {
        let limiter = StoreLimiter::default();
        limiter.record(seen(0, 60));
        let start = Instant::now();
        let permit = limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(60));
        let state = limiter.state();
        assert_eq!((state.in_flight, state.pauses), (1, 1));
        assert_eq!(state.left, Some(150), "refilled after the reset");
        drop(permit);
        assert_eq!(limiter.state().in_flight, 0);
    }

    #[tokio::test]
    async fn acquire_does_not_wait_while_budget_remains() {
        let limiter = StoreLimiter::default();
        limiter.record(seen(3, 10_000));
        let _a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        let state = limiter.state();
        assert_eq!((state.in_flight, state.pauses), (2, 0));
        assert_eq!(state.left, Some(3));
    }

    #[tokio::test]
    async fn a_429_exhausts_the_budget_for_its_reset_time() {
        let limiter = StoreLimiter::default();
        limiter.record(seen(40, 20_000));
        limiter.exhaust_for(Duration::from_millis(60));
        assert_eq!(limiter.state().left, Some(0));
        let start = Instant::now();
        let _permit = limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert_eq!(limiter.state().pauses, 1);
    }

    #[tokio::test]
    async fn a_request_beyond_the_refilled_quota_waits_for_a_response() {
        let limiter = std::sync::Arc::new(StoreLimiter::default());
        limiter.record(RateHeaders {
            left: Some(0),
            quota: Some(2),
            reset_ms: Some(20),
            window_ms: None,
        });
        let _a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        let waiting = limiter.clone();
        let third = tokio::spawn(async move {
            let _c = waiting.acquire().await;
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished(), "both refilled units are in flight");

        limiter.record(seen(5, 10_000));

        // Only a guard against hanging forever; the wake-up is immediate.
        tokio::time::timeout(Duration::from_secs(10), third)
            .await
            .expect("the waiting request went once a response said 5 were left")
            .unwrap();
    }
}
