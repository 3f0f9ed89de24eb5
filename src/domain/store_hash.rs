//! `StoreHash`: the short id BigCommerce gives every store (`abc123`),
//! read from whatever a merchant pastes — the bare hash, `stores/HASH`, the
//! API path or the control-panel address.
//!
//! It must not do I/O or DNS look-ups, guess at addresses it cannot read a
//! hash from unambiguously (custom domains, look-alike hosts), or let an
//! unchecked string through: a `StoreHash` always matches `^[a-z0-9]{1,32}$`.

use std::fmt;
use std::str::FromStr;

use url::{Host, Url};

/// Longest store hash accepted.
const MAX_HASH_LEN: usize = 32;
/// Longest input looked at; anything longer is refused unread.
const MAX_INPUT_LEN: usize = 2048;
/// The only host of the API path.
const API_HOST: &str = "api.bigcommerce.com";
/// Control-panel hosts are `store-HASH.mybigcommerce.com`.
const STORE_HOST_PREFIX: &str = "store-";
const STORE_HOST_SUFFIX: &str = ".mybigcommerce.com";
const STORE_DOMAIN: &str = "mybigcommerce.com";

/// The forms we accept, for error messages.
const FORMS: &str = "Paste the API path (https://api.bigcommerce.com/stores/HASH/v3/), \
                     the control-panel URL (https://store-HASH.mybigcommerce.com/manage) \
                     or the bare hash.";

/// A BigCommerce store hash: 1 to 32 characters of `a-z0-9`, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreHash(String);

/// Why pasted text was not read as a store hash. Each message tells the
/// merchant what to paste instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreHashError {
    /// Nothing but whitespace.
    #[error("Enter the store hash or the API path.")]
    Empty,
    /// Over 2048 bytes: not a hash or an address.
    #[error("That is far too long to be a store hash or an address. {FORMS}")]
    InputTooLong,
    /// Spaces, tabs, line breaks or control characters inside the text.
    #[error(
        "Remove the spaces, line breaks or invisible characters inside what you pasted: \
         a store hash is letters and digits only, like abc123."
    )]
    InvisibleCharacters,
    /// Characters outside ASCII, such as look-alike letters.
    #[error(
        "That contains characters that only look like plain letters or digits (such as \
         letters from another alphabet). A store hash uses only a-z and 0-9: copy it \
         again from the BigCommerce control panel or type it by hand."
    )]
    NonAscii,
    /// A character that cannot be part of a hash.
    #[error(
        "A store hash is made only of the letters a-z and digits 0-9; '{0}' can't be part of it."
    )]
    InvalidCharacter(char),
    /// More than 32 characters.
    #[error("A store hash has at most 32 characters; that one has {0}. {FORMS}")]
    HashTooLong(usize),
    /// `stores/` or an api.bigcommerce.com address without a hash after it.
    #[error(
        "The store hash is missing: it comes right after /stores/, as in \
         https://api.bigcommerce.com/stores/HASH/v3/ or stores/HASH."
    )]
    MissingHash,
    /// `stores/HASH/more`.
    #[error("After stores/ put only the store hash, as in stores/abc123.")]
    ExtraAfterHash,
    /// A scheme other than http or https.
    #[error("Only web addresses (https://...) can be read, not '{0}:' ones. {FORMS}")]
    UnsupportedScheme(String),
    /// A user name or password in the address.
    #[error("Remove the user name or password (the part before @) from the address. {FORMS}")]
    Credentials,
    /// A port number in the address.
    #[error("Remove the port number (:{0}) from the address: BigCommerce addresses don't use one.")]
    Port(u16),
    /// A mybigcommerce.com address that is not `store-HASH.mybigcommerce.com`.
    #[error(
        "That mybigcommerce.com address holds no store hash; the control-panel address \
         looks like https://store-HASH.mybigcommerce.com/manage. {FORMS}"
    )]
    NoHashInSubdomain,
    /// Any other host, such as the store's own domain.
    #[error("That address holds no store hash (custom domains don't). {FORMS}")]
    NoHashInHost,
    /// Text that is neither a hash nor a readable address.
    #[error("That doesn't look like a store hash or a BigCommerce address. {FORMS}")]
    Unreadable,
}

impl StoreHash {
    /// Reads a store hash from pasted text, ignoring surrounding whitespace
    /// and letter case. Accepts `abc123`, `stores/abc123`, the API path
    /// `https://api.bigcommerce.com/stores/abc123/v3/` (any version or none,
    /// http or no scheme) and the control-panel or storefront address
    /// `https://store-abc123.mybigcommerce.com/...` (query and fragment
    /// ignored).
    pub fn parse(raw: &str) -> Result<Self, StoreHashError> {
        let input = raw.trim();
        if input.is_empty() {
            return Err(StoreHashError::Empty);
        }
        if input.len() > MAX_INPUT_LEN {
            return Err(StoreHashError::InputTooLong);
        }
        if !input.is_ascii() {
            return Err(StoreHashError::NonAscii);
        }
        if input
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(StoreHashError::InvisibleCharacters);
        }
        if let Some(scheme) = scheme_of(input) {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(StoreHashError::UnsupportedScheme(scheme));
            }
            return from_url(input);
        }
        if input.contains('.') {
            return from_url(&format!("https://{input}"));
        }
        if let Some(rest) = strip_prefix_ignore_case(input, "stores/") {
            return from_stores_path(rest);
        }
        if input.contains('/') {
            return Err(StoreHashError::Unreadable);
        }
        bare(input)
    }

    /// The hash, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for StoreHash {
    type Err = StoreHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The scheme of `input` if it starts with `letters:` (`https:`, `ftp:`,
/// `javascript:`). `host.com:8443` has a dot before the colon, so it is a
/// host, not a scheme.
fn scheme_of(input: &str) -> Option<&str> {
    let (prefix, _) = input.split_once(':')?;
    let is_scheme = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphabetic());
    is_scheme.then_some(prefix)
}

fn strip_prefix_ignore_case<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    let head = input.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    input.get(prefix.len()..)
}

/// `HASH` or `HASH/` after `stores/`.
fn from_stores_path(rest: &str) -> Result<StoreHash, StoreHashError> {
    let hash = rest.strip_suffix('/').unwrap_or(rest);
    if hash.is_empty() {
        return Err(StoreHashError::MissingHash);
    }
    if hash.contains('/') {
        return Err(StoreHashError::ExtraAfterHash);
    }
    bare(hash)
}

/// An http(s) address on api.bigcommerce.com or store-HASH.mybigcommerce.com.
fn from_url(text: &str) -> Result<StoreHash, StoreHashError> {
    let url = Url::parse(text).map_err(|_| StoreHashError::Unreadable)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(StoreHashError::UnsupportedScheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(StoreHashError::Credentials);
    }
    if let Some(port) = url.port() {
        return Err(StoreHashError::Port(port));
    }
    let Some(Host::Domain(host)) = url.host() else {
        return Err(StoreHashError::NoHashInHost);
    };
    if host == API_HOST {
        let mut segments = url.path_segments().ok_or(StoreHashError::MissingHash)?;
        let stores = segments.next().unwrap_or_default();
        let hash = segments.next().unwrap_or_default();
        if !stores.eq_ignore_ascii_case("stores") || hash.is_empty() {
            return Err(StoreHashError::MissingHash);
        }
        return bare(hash);
    }
    if let Some(sub) = host.strip_suffix(STORE_HOST_SUFFIX) {
        return match sub.strip_prefix(STORE_HOST_PREFIX) {
            Some(hash) if !hash.is_empty() => bare(hash),
            _ => Err(StoreHashError::NoHashInSubdomain),
        };
    }
    if host == STORE_DOMAIN {
        return Err(StoreHashError::NoHashInSubdomain);
    }
    Err(StoreHashError::NoHashInHost)
}

/// The hash itself: `^[a-z0-9]{1,32}$` after lowercasing.
fn bare(text: &str) -> Result<StoreHash, StoreHashError> {
    let hash = text.to_ascii_lowercase();
    if let Some(bad) = hash
        .chars()
        .find(|c| !c.is_ascii_lowercase() && !c.is_ascii_digit())
    {
        return Err(StoreHashError::InvalidCharacter(bad));
    }
    match hash.len() {
        0 => Err(StoreHashError::MissingHash),
        len if len > MAX_HASH_LEN => Err(StoreHashError::HashTooLong(len)),
        _ => Ok(StoreHash(hash)),
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
