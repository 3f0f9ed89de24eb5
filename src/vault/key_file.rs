//! The master key file, `<data dir>/master.key`: read it, or create it once (mode 0600).

use std::{fs, io::Write, path::Path};

use super::{MasterKey, VaultError};

impl MasterKey {
    /// Reads `path`, or creates it with a fresh key (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let io_err = |e: std::io::Error| VaultError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
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
                Ok(key)
            }
            Err(e) => Err(io_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).expect("create");
        let second = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(first.derive("x")[..], second.derive("x")[..]);
        assert_ne!(first.derive("x")[..], first.derive("y")[..]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
