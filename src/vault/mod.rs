//! The vault: envelope encryption for secrets stored in the database.
//!
//! A [`MasterKey`] (from `CARTBRIDGE_MASTER_KEY` or `<data dir>/master.key`)
//! wraps the [`DataKey`]s kept in the database; a [`KeyRing`] of unwrapped
//! data keys seals and opens field values with AES-256-GCM, each bound by an
//! [`Aad`] to the tenant, table, record and field it belongs to.
//!
//! This module must not do I/O (beyond `key_file`, which reads or creates the master key
//! file), logging or configuration lookup, and nothing
//! it returns — errors included — may contain key bytes or plaintext.

mod key_file;
mod keyring;
mod keys;
pub mod rotation;
mod service;

pub use keyring::KeyRing;
pub use keys::{DataKey, MasterKey};
pub use service::{Vault, VaultServiceError};

/// Length of the key-id header of a sealed value.
const KEY_ID_LEN: usize = 4;

/// The nonce at the start of `bytes` (which must be exactly `NONCE_LEN` long).
fn nonce(bytes: &[u8]) -> Result<aes_gcm::Nonce<aes_gcm::aead::consts::U12>, VaultError> {
    let array: [u8; NONCE_LEN] = bytes.try_into().map_err(|_| VaultError::Malformed)?;
    Ok(array.into())
}
/// Length of an AES-GCM nonce (96 bits).
const NONCE_LEN: usize = 12;
/// Length of an AES-GCM authentication tag.
const TAG_LEN: usize = 16;

/// Why the vault refused. Messages never contain key bytes or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The sealed value is shorter than a header, nonce and tag.
    #[error("the sealed value is too short to be a vault ciphertext")]
    Malformed,
    /// The sealed value names a data key the key ring does not hold.
    #[error("the sealed value names data key {0}, which is not in the key ring")]
    UnknownKey(u32),
    /// Authentication failed: the bytes were altered, the value was moved
    /// to another tenant/record/field, or the key is not the one it was
    /// sealed with.
    #[error(
        "the sealed value failed authentication: it was altered, copied from \
         another record, or sealed under a different key"
    )]
    Tampered,
    /// Opened correctly but the plaintext is not UTF-8 (cannot come from
    /// [`KeyRing::seal`]).
    #[error("the opened value is not UTF-8 text")]
    NotUtf8,
    /// The value is too large for AES-GCM (over 64 GiB).
    #[error("the value is too large to seal")]
    TooLarge,
    /// A stored wrapped data key does not have the wrapped-key length.
    #[error("a stored data key is truncated or corrupt (wrong length)")]
    WrappedKeyMalformed,
    /// The master key failed to unwrap a stored data key.
    #[error(
        "the master key cannot open the stored data keys: CARTBRIDGE_MASTER_KEY \
         (or <data dir>/master.key) is not the key this database was created with"
    )]
    WrongMasterKey,
    /// The master key text is not standard base64.
    #[error(
        "the master key is not valid standard base64: it must be 44 characters \
         (A-Z, a-z, 0-9, +, / and = padding) encoding 32 bytes, \
         e.g. the output of `openssl rand -base64 32`"
    )]
    MasterKeyNotBase64,
    /// The master key decodes to the wrong number of bytes.
    #[error(
        "the master key decodes to {0} bytes but must be exactly 32 \
         (44 characters of standard base64)"
    )]
    MasterKeyWrongLength(usize),
    /// [`KeyRing::new`] was given an active key id it does not hold.
    #[error("the active data key {0} is not among the keys given to the key ring")]
    ActiveKeyMissing(u32),
    /// [`KeyRing::new`] was given two keys with the same id.
    #[error("data key {0} was given to the key ring twice")]
    DuplicateKey(u32),
    #[error("cannot read or create the master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// Associated data binding a ciphertext to where it lives, so a sealed value
/// copied to another tenant, table, record or field fails to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad {
    tenant_id: i64,
    table: &'static str,
    record_id: i64,
    field: &'static str,
}

impl Aad {
    /// Version tag at the start of every encoding.
    const DOMAIN: &'static [u8] = b"cartbridge/aad/v1";

    /// Associated data for `field` of row `record_id` in `table`, owned by
    /// `tenant_id`.
    pub const fn new(
        tenant_id: i64,
        table: &'static str,
        record_id: i64,
        field: &'static str,
    ) -> Self {
        Self {
            tenant_id,
            table,
            record_id,
            field,
        }
    }

    /// Unambiguous byte encoding: the version tag, then each part in order,
    /// integers as 8-byte big-endian, strings as a 4-byte big-endian length
    /// followed by the bytes. Any string is safe, NUL included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(Self::DOMAIN.len() + 24 + self.table.len() + self.field.len());
        out.extend_from_slice(Self::DOMAIN);
        out.extend_from_slice(&self.tenant_id.to_be_bytes());
        push_str(&mut out, self.table);
        out.extend_from_slice(&self.record_id.to_be_bytes());
        push_str(&mut out, self.field);
        out
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Static table/field names are short; saturate rather than panic.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The data-key id in a sealed value's header, or `None` if it is too short
/// to be a sealed value. Used by rotation to find values still under an old
/// key.
pub fn key_id_of(sealed: &[u8]) -> Option<u32> {
    if sealed.len() < KEY_ID_LEN + NONCE_LEN + TAG_LEN {
        return None;
    }
    let header: [u8; KEY_ID_LEN] = sealed.get(..KEY_ID_LEN)?.try_into().ok()?;
    Some(u32::from_be_bytes(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_encoding_is_unambiguous() {
        let a = Aad::new(1, "ab", 2, "c").encode();
        let b = Aad::new(1, "a", 2, "bc").encode();
        assert_ne!(a, b);
        let c = Aad::new(1, "a\0", 2, "b").encode();
        let d = Aad::new(1, "a", 2, "\0b").encode();
        assert_ne!(c, d);
        assert_ne!(Aad::new(1, "t", 2, "f"), Aad::new(2, "t", 1, "f"));
        assert_ne!(
            Aad::new(1, "t", 2, "f").encode(),
            Aad::new(2, "t", 1, "f").encode()
        );
        assert!(a.starts_with(b"cartbridge/aad/v1"));
    }

    #[test]
    fn key_id_of_reads_the_header() {
        let mut sealed = vec![0u8; KEY_ID_LEN + NONCE_LEN + TAG_LEN];
        sealed[..4].copy_from_slice(&0x0102_0304u32.to_be_bytes());
        assert_eq!(key_id_of(&sealed), Some(0x0102_0304));
        assert_eq!(key_id_of(&sealed[..sealed.len() - 1]), None);
        assert_eq!(key_id_of(&[]), None);
    }

    #[test]
    fn error_messages_are_actionable() {
        let msg = VaultError::WrongMasterKey.to_string();
        assert!(msg.contains("CARTBRIDGE_MASTER_KEY"));
        assert!(msg.contains("master.key"));
        assert!(VaultError::UnknownKey(7).to_string().contains('7'));
    }
}
