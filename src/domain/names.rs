//! Display names typed by users: trimmed, bounded, free of control characters.

use std::fmt;

use super::DomainError;

/// A tenant's (company's) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(DomainError::new("Enter your company name."));
        }
        if value.chars().count() > 100 {
            return Err(DomainError::new(
                "Keep the company name under 100 characters.",
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(DomainError::new(
                "The company name cannot contain control characters.",
            ));
        }
        Ok(Self(value.to_owned()))
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
