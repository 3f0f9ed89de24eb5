//! `Secret`: text that must never be shown — BigCommerce API tokens, client
//! secrets, a master key in its base64 form.
//!
//! Its one job is to keep the text out of sight: it must not implement
//! `Display` or `Serialize`, must not print its contents through `Debug`,
//! and must not hand the text out through any door but [`Secret::expose`].
//! The memory holding the text is zeroized when the value is dropped.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

/// A secret string: redacted in `Debug`, zeroized on drop, readable only
/// through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Takes ownership of `value`. The text is copied into an exactly sized
    /// buffer and `value`'s whole allocation (spare capacity included) is
    /// zeroized, so no stray copy is left behind by a later shrink.
    pub fn new(mut value: String) -> Self {
        let exact: Box<str> = Box::from(value.as_str());
        value.zeroize();
        Self(SecretString::from(exact))
    }

    /// The secret text. This is the only way to read it: call it at the last
    /// moment (building an HTTP header, sealing) and don't keep the `&str`.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the secret is the empty string (e.g. a blank form field).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Forms carry secrets (passwords, tokens typed by a user) straight into this type.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
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

    const SENTINEL: &str = "SENTINEL-token-7f3a9c";

    #[test]
    fn expose_returns_the_text() {
        let s = Secret::new(SENTINEL.to_owned());
        assert_eq!(s.expose(), SENTINEL);
        assert!(!s.is_empty());
        assert!(Secret::new(String::new()).is_empty());
    }

    #[test]
    fn clone_keeps_the_text() {
        let s = Secret::new(SENTINEL.to_owned());
        let c = s.clone();
        drop(s);
        assert_eq!(c.expose(), SENTINEL);
    }

    #[test]
    fn debug_is_redacted() {
        let mut big = String::with_capacity(1024);
        big.push_str(SENTINEL);
        let s = Secret::new(big);
        let shown = format!("{s:?} {s:#?} {:?}", Some(&s));
        assert!(!shown.contains(SENTINEL));
        assert!(!shown.contains("7f3a9c"));
        assert!(shown.contains("Secret(..)"));
    }
}
