//! Display names typed by users: trimmed, bounded, free of control characters and of the
//! invisible characters that let one name pass for another (bidi overrides and isolates,
//! zero-width characters). Must not decide anything about uniqueness or casing.

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
    if value.chars().any(is_invisible) {
        return Err(DomainError::new(
            "The name cannot contain invisible characters (text-direction marks or zero-width characters); retype it rather than pasting it.",
        ));
    }
    Ok(value.to_owned())
}

/// Characters that change how a name is displayed without being seen: bidi embeddings,
/// overrides, isolates and marks, zero-width spaces and joiners, the byte-order mark, and
/// other invisible format characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                // soft hyphen
        | '\u{061C}'              // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{180E}'              // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, (non-)joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // zero-width no-break space (BOM)
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        | '\u{E0000}'..='\u{E007F}' // tags
    )
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

    #[test]
    fn refuses_bidi_controls_and_zero_width_characters() {
        for spoof in [
            "Acme\u{202E}gpj.exe",
            "Ac\u{200B}me",
            "Acme\u{200D}",
            "\u{2066}Acme\u{2069}",
            "Acme\u{FEFF}",
            "Ac\u{200F}me",
        ] {
            let e = CompanyName::parse(spoof).expect_err(spoof);
            assert!(e.to_string().contains("invisible"), "{spoof:?}");
        }
        assert!(CompanyName::parse("Café Müller & Söhne — 東京").is_ok());
    }
}
