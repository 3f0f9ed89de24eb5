//! `Vault`: the key ring loaded from the database, shared by the whole process. Seals with
//! the newest data key; if a ciphertext names a key this process has not seen yet (another
//! process rotated), it reloads the ring from the database once and tries again.

use std::sync::{Arc, RwLock};

use super::{Aad, DataKey, KeyRing, MasterKey, VaultError};
use crate::{
    db::{self, Db, DbError},
    domain::Secret,
};

/// Why the vault could not load, seal or open.
#[derive(Debug, thiserror::Error)]
pub enum VaultServiceError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The process's key ring plus what it needs to reload it.
pub struct Vault {
    master: MasterKey,
    db: Db,
    ring: RwLock<Arc<KeyRing>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

async fn load_ring(master: &MasterKey, db: &Db) -> Result<KeyRing, VaultServiceError> {
    let mut rows = db::vault_keys::all(db).await?;
    if rows.is_empty() {
        // First start: create data key 1 (a concurrent first start may win; then use theirs).
        let key = DataKey::generate();
        match db::vault_keys::insert(db, 1, &master.wrap(1, &key)?).await {
            Ok(()) | Err(DbError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        rows = db::vault_keys::all(db).await?;
    }
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = u32::try_from(row.id).map_err(|_| VaultError::WrappedKeyMalformed)?;
        keys.push((id, master.unwrap(id, &row.wrapped)?));
    }
    let active = keys.iter().map(|(id, _)| *id).max().unwrap_or(1);
    Ok(KeyRing::new(keys, active)?)
}

impl Vault {
    /// Loads every data key. Fails with `WrongMasterKey` if the master key cannot open them.
    pub async fn load(master: MasterKey, db: Db) -> Result<Self, VaultServiceError> {
        let ring = load_ring(&master, &db).await?;
        Ok(Self {
            master,
            db,
            ring: RwLock::new(Arc::new(ring)),
        })
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Re-reads the key ring from the database (after a rotation by any process).
    pub async fn reload(&self) -> Result<(), VaultServiceError> {
        let ring = Arc::new(load_ring(&self.master, &self.db).await?);
        match self.ring.write() {
            Ok(mut guard) => *guard = ring,
            Err(e) => *e.into_inner() = ring,
        }
        Ok(())
    }

    /// Seals `secret` for the place `aad` describes, under the newest data key.
    pub async fn seal(&self, aad: &Aad, secret: &Secret) -> Result<Vec<u8>, VaultServiceError> {
        Ok(self.sealing_ring().await?.seal(aad, secret)?)
    }

    /// The ring [`seal`](Self::seal) uses (reloaded first if another process added a newer
    /// key), for sealing where no I/O may happen: inside a database transaction, whose
    /// connection must not wait for another one from the pool.
    pub async fn sealing_ring(&self) -> Result<Arc<KeyRing>, VaultServiceError> {
        let newest = db::vault_keys::newest_id(&self.db).await?;
        if newest.is_some_and(|id| i64::from(self.ring().active_id()) < id) {
            self.reload().await?;
        }
        Ok(self.ring())
    }

    /// Opens a sealed value; reloads the ring once if it names an unknown key.
    pub async fn open(&self, aad: &Aad, sealed: &[u8]) -> Result<Secret, VaultServiceError> {
        match self.ring().open(aad, sealed) {
            Err(VaultError::UnknownKey(_)) => {
                self.reload().await?;
                Ok(self.ring().open(aad, sealed)?)
            }
            other => Ok(other?),
        }
    }

    /// Adds a new data key and makes it the active one; returns its id.
    pub async fn add_key(&self) -> Result<u32, VaultServiceError> {
        let next = db::vault_keys::newest_id(&self.db).await?.unwrap_or(0) + 1;
        let id = u32::try_from(next).map_err(|_| VaultError::WrappedKeyMalformed)?;
        db::vault_keys::insert(&self.db, next, &self.master.wrap(id, &DataKey::generate())?)
            .await?;
        self.reload().await?;
        Ok(id)
    }

    /// Re-encrypts `sealed` under the active key (used by rotation).
    pub async fn reseal(&self, aad: &Aad, sealed: &[u8]) -> Result<Vec<u8>, VaultServiceError> {
        let secret = self.open(aad, sealed).await?;
        Ok(self.ring().seal(aad, &secret)?)
    }

    pub fn active_key_id(&self) -> u32 {
        self.ring().active_id()
    }
}
