//! The login throttle's rule (OWASP ASVS 4.0 §2.2.1: anti-automation that stops brute force
//! and credential testing without letting anyone lock the real user out, and never more
//! than 100 failed attempts per hour on one account). Pure: `db::login_attempts` counts.
//!
//! - Per address: 30 failures in 15 minutes, whatever the emails.
//! - Per account, soft: 5 failures in 15 minutes lock the account *for addresses that have
//!   failed recently*; an address with no recent failure still gets its attempt, so the
//!   owner is not locked out by someone else's guessing. Each such address gets one wrong
//!   guess, then it is held back too.
//! - Per account, hard: 100 failures in an hour from all addresses together, the ASVS cap,
//!   after which every address waits.

use crate::db::login_attempts::Recent;

pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
pub const MAX_FAILURES_PER_EMAIL_PER_HOUR: i64 = 100;
pub const HOUR_SECS: i64 = 3600;

/// Seconds to wait, or `None` if this (already recorded) attempt may check its password.
pub fn wait(recent: &Recent, now: i64) -> Option<i64> {
    let until = |oldest: Option<i64>, window: i64| (oldest.unwrap_or(now) + window - now).max(1);
    if recent.by_ip > MAX_FAILURES_PER_IP {
        return Some(until(recent.oldest_ip, FAILURE_WINDOW_SECS));
    }
    if recent.by_email_hour > MAX_FAILURES_PER_EMAIL_PER_HOUR {
        return Some(until(recent.oldest_email_hour, HOUR_SECS));
    }
    // `by_ip` counts this attempt: 1 means this address has no other recent attempt.
    let fresh_address = recent.by_ip <= 1;
    if recent.by_email > MAX_FAILURES_PER_EMAIL && !fresh_address {
        return Some(until(recent.oldest_email, FAILURE_WINDOW_SECS));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(by_email: i64, by_ip: i64, by_email_hour: i64) -> Recent {
        Recent {
            by_email,
            oldest_email: Some(100),
            by_email_hour,
            oldest_email_hour: Some(100),
            by_ip,
            oldest_ip: Some(100),
        }
    }

    #[test]
    fn five_failures_hold_back_the_guessing_address_only() {
        assert_eq!(
            wait(&recent(5, 5, 5), 200),
            None,
            "the fifth attempt is checked"
        );
        assert_eq!(wait(&recent(6, 6, 6), 200), Some(800), "the sixth waits");
        assert_eq!(
            wait(&recent(6, 1, 6), 200),
            None,
            "a fresh address is let through"
        );
    }

    #[test]
    fn the_address_limit_and_the_hourly_account_cap_hold_for_everyone() {
        assert_eq!(wait(&recent(1, 31, 1), 200), Some(800));
        assert_eq!(wait(&recent(1, 30, 1), 200), None);
        assert_eq!(wait(&recent(101, 1, 101), 200), Some(3500));
        assert_eq!(wait(&recent(100, 1, 100), 200), None);
    }
}
