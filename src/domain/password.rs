//! `Password`: a new password that meets the policy. Passwords being checked at login are
//! plain `Secret`s; only new ones go through `Password::parse`.

use super::{DomainError, Secret};

const MIN_LEN: usize = 10;
/// Longer inputs are refused so that hashing cannot be used to burn CPU.
const MAX_LEN: usize = 128;
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "qwerty",
    "qwertyuiop",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "abc123",
    "123456",
    "1234567890",
    "changeme",
    "cartbridge",
    "bigcommerce",
    "trustno1",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
];

/// A password accepted for a new account or a reset.
pub struct Password(Secret);

impl Password {
    /// Checks the policy; `email` is the account's address, which must not be the password.
    pub fn parse(raw: Secret, email: &str) -> Result<Self, DomainError> {
        let value = raw.expose();
        let chars = value.chars().count();
        if chars < MIN_LEN {
            return Err(DomainError::new(format!(
                "Choose a password of at least {MIN_LEN} characters."
            )));
        }
        if chars > MAX_LEN {
            return Err(DomainError::new(format!(
                "Choose a password of at most {MAX_LEN} characters."
            )));
        }
        let lower = value.to_lowercase();
        let first = lower.chars().next();
        let distinct = {
            let mut seen: Vec<char> = lower.chars().collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        let local = email.split('@').next().unwrap_or_default();
        let weak = distinct < 4
            || lower.chars().all(|c| Some(c) == first)
            || COMMON
                .iter()
                .any(|c| lower.trim_end_matches(char::is_numeric) == *c || lower == *c)
            || lower == email
            || (local.len() >= 4 && lower.contains(local));
        if weak {
            return Err(DomainError::new(
                "That password is too easy to guess. Use a longer mix of words, numbers or symbols, not your email address.",
            ));
        }
        Ok(Self(raw))
    }

    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Password, DomainError> {
        Password::parse(Secret::new(raw.into()), "jane.doe@example.com")
    }

    #[test]
    fn accepts_a_reasonable_password() {
        assert!(parse("correct horse battery").is_ok());
    }

    #[test]
    fn rejects_weak_passwords() {
        for raw in [
            "short",
            "aaaaaaaaaaaa",
            "password123",
            "Password1234",
            "1234567890",
            "ababababab",
            "jane.doe@example.com",
            "jane.doe-rocks-2026",
        ] {
            assert!(parse(raw).is_err(), "{raw:?} should be rejected");
        }
        assert!(parse(&"x1y2z3".repeat(30)).is_err(), "too long");
    }
}
