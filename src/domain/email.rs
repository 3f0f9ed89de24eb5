//! `Email`: a syntactically valid address, trimmed and lower-cased so that one person has one
//! account whatever case they type.

use std::{fmt, str::FromStr};

use super::DomainError;

/// An email address accepted for an account or an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(DomainError::new("Enter your email address."));
        }
        let invalid =
            || DomainError::new(format!("“{}” is not a valid email address.", raw.trim()));
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        // lettre must be able to address it, or the verification email could never be sent.
        lettre::Address::from_str(&value).map_err(|_| invalid())?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_a_plain_address() {
        let email = Email::parse("  Jane.Doe+shop@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "jane.doe+shop@example.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "",
            "   ",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@@example.com",
            "jane doe@example.com",
            "jane@exa mple.com",
            "jane@.example.com",
            "jane@example..com",
            "jane@example.com.",
            "jane@exam_ple.com",
            "jane\n@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }
}
