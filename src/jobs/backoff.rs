//! Retry delays: exponential in the attempt number, capped, with random jitter so that jobs
//! failing together (a BigCommerce outage) do not all come back at the same second.

use std::time::Duration;

/// No retry waits longer than this before its jitter.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// Jitter adds up to this share of the delay (1/5 = 20 %).
const JITTER_DIVISOR: u128 = 5;

/// The delay before retrying a job that failed on attempt `attempts` (1 = the first):
/// `base * 2^(attempts-1)`, capped at [`MAX_DELAY`], plus up to 20 % random jitter.
pub fn delay(base: Duration, attempts: i32) -> Duration {
    let exact = exponential(base, attempts);
    let jitter_max = exact.as_millis() / JITTER_DIVISOR;
    let jitter = match u64::try_from(jitter_max) {
        Ok(0) | Err(_) => 0,
        Ok(max) => rand::random_range(0..=max),
    };
    exact + Duration::from_millis(jitter)
}

/// `base * 2^(attempts-1)` capped at [`MAX_DELAY`], without jitter.
pub fn exponential(base: Duration, attempts: i32) -> Duration {
    // Past 2^40 every useful base is over the cap already; this also keeps the shift small.
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(40);
    let millis = base.as_millis().saturating_mul(1u128 << doublings);
    let capped = millis.min(MAX_DELAY.as_millis());
    Duration::from_millis(u64::try_from(capped).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn the_delay_doubles_with_each_attempt() {
        assert_eq!(exponential(MINUTE, 1), MINUTE);
        assert_eq!(exponential(MINUTE, 2), 2 * MINUTE);
        assert_eq!(exponential(MINUTE, 3), 4 * MINUTE);
        assert_eq!(exponential(MINUTE, 6), 32 * MINUTE);
    }

    #[test]
    fn the_delay_is_capped_at_one_hour_even_for_huge_attempt_counts() {
        assert_eq!(exponential(MINUTE, 7), MAX_DELAY);
        assert_eq!(exponential(MINUTE, 1000), MAX_DELAY);
        assert_eq!(exponential(MINUTE, i32::MAX), MAX_DELAY);
        assert_eq!(exponential(Duration::from_secs(86_400), 1), MAX_DELAY);
    }

    #[test]
    fn a_zero_or_negative_attempt_count_counts_as_the_first() {
        assert_eq!(exponential(MINUTE, 0), MINUTE);
        assert_eq!(exponential(MINUTE, -5), MINUTE);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_above_the_exponential_delay() {
        for attempts in 1..=12 {
            let exact = exponential(MINUTE, attempts);
            let ceiling = exact + exact / 5;
            for _ in 0..200 {
                let d = delay(MINUTE, attempts);
                assert!(d >= exact, "attempt {attempts}: {d:?} < {exact:?}");
                assert!(d <= ceiling, "attempt {attempts}: {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies_the_delay() {
        let seen: std::collections::HashSet<_> = (0..50).map(|_| delay(MINUTE, 3)).collect();
        assert!(seen.len() > 1, "50 delays were all {seen:?}");
    }

    #[test]
    fn a_zero_base_retries_at_once() {
        assert_eq!(delay(Duration::ZERO, 4), Duration::ZERO);
    }
}
