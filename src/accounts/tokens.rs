//! One-time tokens for links we email: 256 random bits, sent once, stored only as SHA-256.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::domain::Secret;

/// A fresh token (to put in a link) and its hash (to store).
pub fn generate() -> (Secret, String) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    (Secret::new(token), hash)
}

/// The stored form of a token: hex SHA-256. Looking a hash up by equality in the database is
/// safe: an attacker cannot steer the hash of their guess towards a stored one.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_consistently() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(hash(a.expose()), ha);
        assert_eq!(ha.len(), 64);
    }
}
