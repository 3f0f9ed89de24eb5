//! The vault: the master key, and the keys derived from it. Only this module touches key
//! bytes. (Sealing secrets at rest with AES-256-GCM arrives with the connections issue.)

use std::{fmt, fs, io::Write, path::Path};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::domain::Secret;

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("is not a base64-encoded 32-byte key (generate one with `openssl rand -base64 32`)")]
    BadMasterKey,
    #[error("cannot read or create the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// The 256-bit key everything at rest is protected by. Debug prints no bytes; dropped memory
/// is zeroed.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn from_base64(raw: &str) -> Result<Self, VaultError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(raw.trim())
                .map_err(|_| VaultError::BadMasterKey)?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::BadMasterKey)?;
        Ok(Self(Zeroizing::new(key)))
    }

    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::fill(&mut key[..]);
        Self(key)
    }

    pub fn to_base64(&self) -> Secret {
        Secret::new(STANDARD.encode(&self.0[..]))
    }

    /// Reads `path`, or creates it with a fresh key (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let io_err = |source| VaultError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io_err)?;
                file.write_all(key.to_base64().expose().as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io_err)?;
                tracing::info!(path = %path.display(), "generated a new master key");
                Ok(key)
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// A 64-byte key for one purpose (e.g. signing session cookies), derived with HMAC-SHA512
    /// so that the master key itself is never used for two jobs.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 64]> {
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(&self.0[..])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_rejections() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(key.to_base64().expose()).expect("round trip");
        assert_eq!(key.derive("x")[..], again.derive("x")[..]);
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(!format!("{key:?}").contains(key.to_base64().expose()));
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = MasterKey::generate();
        assert_ne!(key.derive("a")[..], key.derive("b")[..]);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).expect("create");
        let second = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(first.derive("x")[..], second.derive("x")[..]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
