//! `TimeZone`: an IANA time zone name ("Europe/Paris"), checked against the zone database
//! compiled in (`chrono-tz`). Pages show times in the viewer's zone; UTC is the fallback.
//! Must not guess a zone from anything but what the user (or their browser) named.

use std::{fmt, str::FromStr};

use chrono_tz::Tz;

use super::DomainError;

/// A time zone of the IANA database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TimeZone {
    pub const UTC: Self = Self(Tz::UTC);

    /// A zone name as typed or sent by a browser: trimmed; the case may differ
    /// ("europe/paris" is Europe/Paris).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::new(
                "Choose a time zone, such as Europe/London or America/New_York.",
            ));
        }
        if name.len() > 64 {
            return Err(DomainError::new(
                "That is not a time zone name: they look like Europe/London or America/New_York.",
            ));
        }
        Tz::from_str(name)
            .ok()
            .or_else(|| {
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .copied()
                    .find(|z| z.name().eq_ignore_ascii_case(name))
            })
            .map(Self)
            .ok_or(())
            .map_err(|_| {
                DomainError::new(format!(
                    "“{name}” is not a time zone we know. Pick one from the list, such as Europe/London or America/New_York."
                ))
            })
    }

    /// A name read back from the database (written by `parse`); `None` if absent or unknown.
    pub fn from_stored(raw: Option<&str>) -> Option<Self> {
        raw.and_then(|r| Tz::from_str(r).ok()).map(Self)
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> Tz {
        self.0
    }

    /// Every zone name, sorted (for the pickers' suggestions).
    pub fn all_names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> =
            chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_checked_against_the_database() {
        assert_eq!(
            TimeZone::parse("Europe/Paris").unwrap().name(),
            "Europe/Paris"
        );
        assert_eq!(
            TimeZone::parse(" europe/paris ").unwrap().name(),
            "Europe/Paris"
        );
        assert_eq!(TimeZone::parse("UTC").unwrap(), TimeZone::UTC);
        for bad in [
            "",
            "  ",
            "Europe/Atlantis",
            "Mars/Olympus",
            "+02:00",
            "CEST\u{0}",
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
        assert!(TimeZone::from_stored(Some("Nowhere/Else")).is_none());
        assert!(TimeZone::all_names().contains(&"America/New_York"));
    }
}
