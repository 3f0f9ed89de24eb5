//! Rate limiting as BigCommerce does it: a fixed window per store with a quota (150 per
//! 30 s by default, as on Standard and Plus plans), and the `X-Rate-Limit-*` headers on
//! every answer. A request beyond the quota gets 429 with `Requests-Left: 0` and the time
//! until the window resets.

use super::FakeBigCommerce;
use super::state::State;
use std::time::Instant;

impl FakeBigCommerce {
    /// Sets the store's quota per window (default 150 per 30 000 ms) and starts a new
    /// window.
    pub fn set_rate_limit(&self, store_hash: &str, quota: u32, window_ms: u64) {
        self.lock()
            .rates
            .insert(store_hash.to_string(), RateWindow::new(quota, window_ms));
    }
}

pub(super) struct RateWindow {
    pub(super) quota: u32,
    pub(super) window_ms: u64,
    pub(super) start: Instant,
    pub(super) used: u32,
}

impl RateWindow {
    pub(super) fn new(quota: u32, window_ms: u64) -> RateWindow {
        RateWindow {
            quota,
            window_ms,
            start: Instant::now(),
            used: 0,
        }
    }
    pub(super) fn roll(&mut self, now: Instant) {
        if now.duration_since(self.start).as_millis() >= u128::from(self.window_ms) {
            self.start = now;
            self.used = 0;
        }
    }
    pub(super) fn reset_ms(&self, now: Instant) -> u64 {
        let elapsed = u64::try_from(now.duration_since(self.start).as_millis()).unwrap_or(u64::MAX);
        self.window_ms.saturating_sub(elapsed)
    }
    pub(super) fn headers(&self, now: Instant) -> RateHeaders {
        RateHeaders {
            left: self.quota.saturating_sub(self.used),
            quota: self.quota,
            reset_ms: self.reset_ms(now),
            window_ms: self.window_ms,
        }
    }
}

#[derive(Clone, Copy)]
pub(super) struct RateHeaders {
    pub(super) left: u32,
    pub(super) quota: u32,
    pub(super) reset_ms: u64,
    pub(super) window_ms: u64,
}

impl Default for RateHeaders {
    fn default() -> Self {
        RateHeaders {
            left: DEFAULT_QUOTA,
            quota: DEFAULT_QUOTA,
            reset_ms: DEFAULT_WINDOW_MS,
            window_ms: DEFAULT_WINDOW_MS,
        }
    }
}

pub(super) fn current_rate(st: &State, store_hash: Option<&str>) -> RateHeaders {
    let now = Instant::now();
    match store_hash.and_then(|h| st.rates.get(h)) {
        Some(w) => {
            if now.duration_since(w.start).as_millis() >= u128::from(w.window_ms) {
                RateHeaders {
                    left: w.quota,
                    quota: w.quota,
                    reset_ms: w.window_ms,
                    window_ms: w.window_ms,
                }
            } else {
                w.headers(now)
            }
        }
        None => RateHeaders::default(),
    }
}

/// Default quota and window: Standard/Plus plans, 150 requests per 30 s.
pub const DEFAULT_QUOTA: u32 = 150;

pub const DEFAULT_WINDOW_MS: u64 = 30_000;
