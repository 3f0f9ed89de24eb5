//! When a failed request is sent again, and after how long. Pure decisions: the loop that
//! sleeps and resends lives in `client.rs`.

use std::time::Duration;

use super::BigCommerceError;

/// How many times a GET that failed transiently (500, 502, 503, 504, a timeout or a
/// connection error) is sent again, and the first delay; each retry doubles the delay and
/// adds up to a quarter of it at random. A write (POST, PUT, DELETE) uses it only when the
/// connection could not be made, since nothing was sent; see `write.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// The delay before the first retry.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, starting at 1 s (so 1 s, 2 s, 4 s, plus jitter).
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// Never resend after a transient failure (429s are still waited out).
    pub fn no_retries() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// Consecutive 429s after which a request gives up with `RateLimited`.
pub(crate) const MAX_RATE_LIMITED_RETRIES: u32 = 10;

/// The longest back-off between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// What to do after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Give up and return the error.
    Fail,
    /// A 429 that said when the window resets: the limiter waits that long, then resend.
    AwaitReset(Duration),
    /// Sleep this long, then resend.
    Backoff(Duration),
}

/// Counts of failures so far for one request.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Attempts {
    /// Transient failures (5xx, timeout, connection) retried so far.
    pub transient: u32,
    /// 429s in a row so far.
    pub rate_limited: u32,
}

impl Attempts {
    /// Decides what follows `error`; `reset_ms` is the 429's `X-Rate-Limit-Time-Reset-Ms`.
    pub fn after(
        &mut self,
        policy: &RetryPolicy,
        error: &BigCommerceError,
        reset_ms: Option<u64>,
    ) -> Next {
        if matches!(error, BigCommerceError::RateLimited { .. }) {
            self.rate_limited += 1;
            if self.rate_limited > MAX_RATE_LIMITED_RETRIES {
                return Next::Fail;
            }
            return match reset_ms {
                Some(ms) => Next::AwaitReset(Duration::from_millis(ms)),
                // Without the header BigCommerce is overloaded: back off harder each time.
                None => Next::Backoff(backoff(policy.base_delay, self.rate_limited - 1)),
            };
        }
        self.rate_limited = 0;
        if !is_transient(error) || self.transient >= policy.max_retries {
            return Next::Fail;
        }
        self.transient += 1;
        Next::Backoff(with_jitter(backoff(policy.base_delay, self.transient - 1)))
    }
}

/// 500, 502, 503, 504, timeouts and connection errors: worth sending the same GET again.
fn is_transient(error: &BigCommerceError) -> bool {
    match error {
        BigCommerceError::Timeout { .. } | BigCommerceError::Unreachable(_) => true,
        BigCommerceError::Status { status, .. } => matches!(status, 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// `base × 2^retry`, capped at [`MAX_DELAY`].
fn backoff(base: Duration, retry: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(retry))
        .min(MAX_DELAY)
}

/// Adds 0–25 % at random so that clients failing together don't retry together.
fn with_jitter(delay: Duration) -> Duration {
    let quarter = u64::try_from(delay.as_millis() / 4).unwrap_or(u64::MAX);
    delay + Duration::from_millis(rand::random_range(0..=quarter))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(100),
    };

    fn status(status: u16) -> BigCommerceError {
        BigCommerceError::Status {
            status,
            message: String::new(),
        }
    }

    fn backoff_ms(next: Next) -> u128 {
        match next {
            Next::Backoff(d) => d.as_millis(),
            other => panic!("expected a back-off, got {other:?}"),
        }
    }

    #[test]
    fn server_errors_back_off_exponentially_then_give_up() {
        let mut attempts = Attempts::default();
        let delays: Vec<u128> = (0..3)
            .map(|_| backoff_ms(attempts.after(&POLICY, &status(503), None)))
            .collect();
        for (delay, base) in delays.iter().zip([100, 200, 400]) {
            assert!((base..=base + base / 4).contains(delay), "{delays:?}");
        }
        assert_eq!(attempts.after(&POLICY, &status(503), None), Next::Fail);
    }

    #[test]
    fn only_gateway_style_errors_and_transport_failures_are_retried() {
        for e in [
            status(500),
            status(502),
            status(504),
            BigCommerceError::Timeout { seconds: 5 },
            BigCommerceError::Unreachable("reset".into()),
        ] {
            let next = Attempts::default().after(&POLICY, &e, None);
            assert!(matches!(next, Next::Backoff(_)), "{e:?}: {next:?}");
        }
        for e in [
            status(507),
            status(422),
            BigCommerceError::NotFound,
            BigCommerceError::Malformed("x".into()),
        ] {
            assert_eq!(
                Attempts::default().after(&POLICY, &e, None),
                Next::Fail,
                "{e:?}"
            );
        }
    }

    #[test]
    fn a_429_waits_exactly_its_reset_time_up_to_the_cap() {
        let limited = BigCommerceError::RateLimited { reset_ms: 300 };
        let mut attempts = Attempts::default();
        for _ in 0..MAX_RATE_LIMITED_RETRIES {
            assert_eq!(
                attempts.after(&POLICY, &limited, Some(300)),
                Next::AwaitReset(Duration::from_millis(300))
            );
        }
        assert_eq!(attempts.after(&POLICY, &limited, Some(300)), Next::Fail);
    }

    #[test]
    fn a_429_without_headers_backs_off_increasingly() {
        let limited = BigCommerceError::RateLimited { reset_ms: 0 };
        let mut attempts = Attempts::default();
        let delays: Vec<Next> = (0..3)
            .map(|_| attempts.after(&POLICY, &limited, None))
            .collect();
        assert_eq!(
            delays,
            [100, 200, 400].map(|ms| Next::Backoff(Duration::from_millis(ms)))
        );
    }

    #[test]
    fn runs_of_429s_and_transient_failures_are_counted_separately() {
        let mut attempts = Attempts::default();
        let limited = BigCommerceError::RateLimited { reset_ms: 10 };
        attempts.after(&POLICY, &limited, Some(10));
        attempts.after(&POLICY, &status(500), None);
        assert_eq!(attempts.rate_limited, 0, "a 500 ends the run of 429s");
        assert_eq!(attempts.transient, 1);
    }

    #[test]
    fn delays_are_capped() {
        assert_eq!(backoff(Duration::from_secs(1), 30), MAX_DELAY);
    }
}
