//! Key material: the data keys that seal field values, and the master key
//! that wraps data keys for storage in the database (envelope encryption).
//!
//! Key bytes must not leave this module except as a cipher handed to
//! [`super::KeyRing`] or as ciphertext: no `Display`, no `Serialize`, no byte
//! accessor, a redacting `Debug`, and every buffer zeroized on drop.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, Zeroizing};

use super::{NONCE_LEN, TAG_LEN, VaultError};
use crate::domain::secret::Secret;

/// Length of every key: AES-256.
const KEY_LEN: usize = 32;
/// Length of a wrapped data key: nonce, encrypted key, tag.
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// Prefix of the associated data used when wrapping a data key.
const WRAP_AAD_PREFIX: &str = "cartbridge/data-key/";

/// 32 key bytes on the heap (so moves don't copy them), zeroized on drop.
struct KeyBytes(Box<[u8; KEY_LEN]>);

impl KeyBytes {
    fn random() -> Self {
        let mut bytes = Box::new([0u8; KEY_LEN]);
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut out = Box::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        out.copy_from_slice(bytes);
        Some(Self(out))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0[..]).expect("key bytes are 32 long")
    }
}

impl Drop for KeyBytes {
    fn drop(&mut self) {
        (*self.0).zeroize();
    }
}

/// A 256-bit data key that seals field values. Zeroized on drop; `Debug`
/// shows `DataKey(..)`. Stored in the database only in wrapped form (see
/// [`MasterKey::wrap`]).
pub struct DataKey(KeyBytes);

impl DataKey {
    /// A fresh random key from the operating system's CSPRNG (via
    /// `rand::rng()`).
    pub fn generate() -> Self {
        Self(KeyBytes::random())
    }

    /// The AES-256-GCM cipher for this key.
    pub(super) fn cipher(&self) -> Aes256Gcm {
        self.0.cipher()
    }

    /// A key with the given bytes, for tests that need two equal keys.
    #[cfg(test)]
    pub(super) fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(KeyBytes(Box::new(bytes)))
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// The 256-bit master key (from `CARTBRIDGE_MASTER_KEY` or
/// `<data dir>/master.key`) that wraps the data keys. Zeroized on drop;
/// `Debug` shows `MasterKey(..)`.
pub struct MasterKey(KeyBytes);

impl MasterKey {
    /// A fresh random master key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(KeyBytes::random())
    }

    /// Parses standard (padded) base64 encoding exactly 32 bytes.
    /// Surrounding whitespace, such as a key file's trailing newline, is
    /// ignored. Errors never echo the text.
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let text = text.trim();
        let mut decoded =
            Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(text.len())));
        STANDARD
            .decode_vec(text, &mut decoded)
            .map_err(|_| VaultError::MasterKeyNotBase64)?;
        KeyBytes::from_slice(&decoded)
            .map(Self)
            .ok_or(VaultError::MasterKeyWrongLength(decoded.len()))
    }

    /// The key as standard base64 (44 characters), for writing the key file
    /// or showing it once to the operator.
    pub fn to_base64(&self) -> Secret {
        Secret::new(STANDARD.encode(&self.0.0[..]))
    }

    /// Wraps `key` for storage under `key_id`: `[12-byte random nonce]
    /// [encrypted key + 16-byte tag]`, AES-256-GCM with associated data
    /// `cartbridge/data-key/<key_id in decimal>`, so a wrapped key cannot be
    /// swapped onto another id.
    ///
    /// Fails only if AES-GCM refuses, which it cannot for 32 bytes.
    pub fn wrap(&self, key_id: u32, key: &DataKey) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let aad = wrap_aad(key_id);
        let payload = Payload {
            msg: &key.0.0[..],
            aad: &aad,
        };
        let ciphertext = self
            .0
            .cipher()
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| VaultError::TooLarge)?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Unwraps a data key stored under `key_id`. Any authentication failure
    /// is reported as [`VaultError::WrongMasterKey`], by far the likeliest
    /// cause (a wrong id or a corrupted row fail the same way).
    pub fn unwrap(&self, key_id: u32, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(VaultError::WrappedKeyMalformed);
        }
        let (nonce, ciphertext) = wrapped.split_at(NONCE_LEN);
        let aad = wrap_aad(key_id);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = Zeroizing::new(
            self.0
                .cipher()
                .decrypt(
                    &super::nonce(nonce).map_err(|_| VaultError::WrappedKeyMalformed)?,
                    payload,
                )
                .map_err(|_| VaultError::WrongMasterKey)?,
        );
        KeyBytes::from_slice(&plain)
            .map(DataKey)
            .ok_or(VaultError::WrappedKeyMalformed)
    }
}

impl MasterKey {
    /// A 64-byte key for one purpose (e.g. signing session cookies), derived with
    /// HMAC-SHA512 so that the master key itself never serves two jobs.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 64]> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(&self.0.0[..])
            .expect("HMAC accepts keys of any length");
        mac.update(b"cartbridge/derive/");
        mac.update(purpose.as_bytes());
        let mut out = Zeroizing::new([0u8; 64]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

fn wrap_aad(key_id: u32) -> Vec<u8> {
    format!("{WRAP_AAD_PREFIX}{key_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes that are also printable, so a leak would show as text too.
    const SENTINEL: [u8; KEY_LEN] = *b"SENTINEL-key-bytes-0123456789abc";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn wrap_unwrap_roundtrip() {
        let master = MasterKey::generate();
        let key = DataKey::from_bytes(SENTINEL);
        let wrapped = master.wrap(7, &key).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert!(!wrapped.windows(8).any(|w| w == &SENTINEL[..8]));
        let back = master.unwrap(7, &wrapped).unwrap();
        assert_eq!(*back.0.0, SENTINEL);
        assert_ne!(wrapped, master.wrap(7, &key).unwrap(), "fresh nonce");
    }

    #[test]
    fn unwrap_with_other_master_key_is_wrong_master_key() {
        let wrapped = MasterKey::generate().wrap(1, &DataKey::generate()).unwrap();
        let err = MasterKey::generate().unwrap(1, &wrapped).unwrap_err();
        assert_eq!(err, VaultError::WrongMasterKey);
        assert!(err.to_string().contains("CARTBRIDGE_MASTER_KEY"));
    }

    #[test]
    fn unwrap_rejects_other_id_and_bad_lengths() {
        let master = MasterKey::generate();
        let wrapped = master.wrap(1, &DataKey::generate()).unwrap();
        assert_eq!(
            master.unwrap(2, &wrapped).unwrap_err(),
            VaultError::WrongMasterKey
        );
        let err = master.unwrap(1, &wrapped[1..]).unwrap_err();
        assert_eq!(err, VaultError::WrappedKeyMalformed);
        assert!(master.unwrap(1, &[]).is_err());
    }

    #[test]
    fn base64_roundtrip_and_trailing_newline() {
        let master = MasterKey::generate();
        let text = master.to_base64();
        assert_eq!(text.expose().len(), 44);
        let back = MasterKey::from_base64(&format!("{}\n", text.expose())).unwrap();
        assert_eq!(*back.0.0, *master.0.0);
    }

    #[test]
    fn from_base64_rejects_wrong_length() {
        let short = STANDARD.encode([1u8; 16]);
        let err = MasterKey::from_base64(&short).unwrap_err();
        assert_eq!(err, VaultError::MasterKeyWrongLength(16));
        assert!(err.to_string().contains("16 bytes"));
        assert!(err.to_string().contains("exactly 32"));
        let long = STANDARD.encode([1u8; 33]);
        assert_eq!(
            MasterKey::from_base64(&long).unwrap_err(),
            VaultError::MasterKeyWrongLength(33)
        );
        assert_eq!(
            MasterKey::from_base64("").unwrap_err(),
            VaultError::MasterKeyWrongLength(0)
        );
    }

    #[test]
    fn from_base64_rejects_non_base64_without_echoing_it() {
        // URL-safe alphabet is not standard base64; padding is required.
        let url_safe = STANDARD
            .encode([0xfbu8; 32])
            .replace('+', "-")
            .replace('/', "_");
        let padded = STANDARD.encode([7u8; 32]);
        let unpadded = padded.trim_end_matches('=');
        for bad in [
            "not base64 at all!",
            "SENTINEL-SECRET-TEXT-with-dashes-and_unders==",
            url_safe.as_str(),
            unpadded,
        ] {
            let err = MasterKey::from_base64(bad).unwrap_err();
            assert_eq!(err, VaultError::MasterKeyNotBase64, "{bad}");
            let msg = err.to_string();
            assert!(msg.contains("base64") && msg.contains("44 characters"));
            assert!(!msg.contains("SENTINEL") && !format!("{err:?}").contains("SENTINEL"));
        }
    }

    #[test]
    fn debug_is_redacted() {
        let data = DataKey::from_bytes(SENTINEL);
        let master = MasterKey::from_base64(&STANDARD.encode(SENTINEL)).unwrap();
        let shown = format!("{data:?} {master:?} {data:#?} {master:#?}");
        assert!(!shown.contains("SENTINEL"));
        assert!(!shown.contains(&hex(&SENTINEL)));
        assert!(!shown.contains("83, 69, 78")); // decimal bytes of "SEN"
        assert_eq!(format!("{data:?}"), "DataKey(..)");
        assert_eq!(format!("{master:?}"), "MasterKey(..)");
    }
}
