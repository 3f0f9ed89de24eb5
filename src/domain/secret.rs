//! `Secret`: the one type every password, token and key travels in. It has no `Display`, its
//! `Debug` prints only `Secret(..)`, and its memory is wiped on drop.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A secret string. Exposure is explicit (`expose`) and should stay local to where the value
/// is handed to a hasher, the vault or an outgoing HTTP header.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// The plain value. Never log, render or store what this returns.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("sentinel-value-123".into());
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(secret.expose(), "sentinel-value-123");
    }
}
