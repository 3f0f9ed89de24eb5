//! Display names typed by users: trimmed, bounded, free of control characters.

use std::fmt;

use super::DomainError;

/// The longest display name (company, connection, OAuth client) we accept.
pub const MAX_NAME_CHARS: usize = 100;

/// The rule for every name a user types: trimmed, not empty (`empty` says what to enter),
/// at most `MAX_NAME_CHARS` characters, no control characters.
pub fn display_name(raw: &str, empty: &str) -> Result<String, DomainError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(DomainError::new(empty));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::new(format!(
            "Keep the name to {MAX_NAME_CHARS} characters or fewer."
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::new(
            "The name cannot contain control characters.",
        ));
    }
    Ok(value.to_owned())
}

/// A tenant's (company's) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        display_name(raw, "Enter your company name.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CompanyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            CompanyName::parse("  Acme Ltd ").map(|n| n.0),
            Ok("Acme Ltd".into())
        );
        assert!(CompanyName::parse("  ").is_err());
        assert!(CompanyName::parse(&"x".repeat(101)).is_err());
        assert!(CompanyName::parse("Acme\u{0}").is_err());
    }
}
