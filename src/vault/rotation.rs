//! Key rotation: add a data key, then re-encrypt every sealed column (`db::sealed`) under it.
//!
//! Safe while servers run: they reload the key ring when they meet a key id they do not
//! know, and seal with the newest key in the database. Each value is swapped only if its row
//! still holds the ciphertext we read (optimistic update); a row changed meanwhile is read
//! again and retried. Old data keys are kept, so anything missed still opens.
//! This module reports what it did; printing is the caller's job. Plaintext exists only
//! inside `Vault::reseal`.

use std::collections::BTreeMap;

use super::{Aad, Vault, VaultServiceError, key_id_of};
use crate::db::{
    self, Db,
    sealed::{SEALED_FIELDS, SealedField, SealedValue},
};

/// Rows read per query.
const BATCH: i64 = 200;
/// Attempts per row when its value keeps changing under us.
const ATTEMPTS: usize = 5;
/// Full passes over a column; a later pass picks up values a server sealed under the old key
/// just before it saw the new one.
const PASSES: usize = 3;

/// What happened to one sealed column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldReport {
    /// `table.column`.
    pub column: String,
    /// Values re-encrypted under the new key.
    pub resealed: u64,
    /// Values already under the new key (sealed by a server after the key was added).
    pub current: u64,
    /// Updates that lost a race with a concurrent change and were retried.
    pub retried: u64,
    /// Values deleted or cleared while we worked on them.
    pub vanished: u64,
    /// Rows whose value could not be re-encrypted; they stay under their old key.
    pub failed: Vec<FailedRow>,
}

/// A value rotation could not move to the new key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FailedRow {
    pub tenant_id: i64,
    pub id: i64,
    /// Why (a vault error message: never key bytes or plaintext).
    pub reason: String,
}

/// The outcome of `rotate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The new data key, now active.
    pub key_id: u32,
    pub fields: Vec<FieldReport>,
}

impl RotationReport {
    /// Rows left under an old key because they could not be re-encrypted.
    pub fn failed(&self) -> usize {
        self.fields.iter().map(|f| f.failed.len()).sum()
    }
}

/// Which data keys exist and how many stored secrets each one seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The key new values are sealed with.
    pub active: u32,
    /// Every key id (stored or named by a value) and its number of values.
    pub keys: BTreeMap<u32, u64>,
    /// Values that are not vault ciphertext at all (too short to carry a header).
    pub unreadable: u64,
}

/// Adds a data key and re-encrypts every sealed value under it.
pub async fn rotate(vault: &Vault, db: &Db) -> Result<RotationReport, VaultServiceError> {
    let key_id = vault.add_key().await?;
    let mut fields = Vec::with_capacity(SEALED_FIELDS.len());
    for field in SEALED_FIELDS {
        fields.push(reseal_field(vault, db, field).await?);
    }
    Ok(RotationReport { key_id, fields })
}

/// Counts stored secrets per data key.
pub async fn status(vault: &Vault, db: &Db) -> Result<KeyStatus, VaultServiceError> {
    vault.reload().await?;
    let mut keys: BTreeMap<u32, u64> = BTreeMap::new();
    for row in db::vault_keys::all(db).await? {
        if let Ok(id) = u32::try_from(row.id) {
            keys.insert(id, 0);
        }
    }
    let mut unreadable = 0;
    for field in SEALED_FIELDS {
        for (key, count) in count_by_key(db, field).await? {
            match key {
                Some(id) => *keys.entry(id).or_insert(0) += count,
                None => unreadable += count,
            }
        }
    }
    Ok(KeyStatus {
        active: vault.active_key_id(),
        keys,
        unreadable,
    })
}

/// How many values of `field` are sealed under each data key id (`None`: not a vault
/// ciphertext at all). Reads every value, in batches.
async fn count_by_key(
    db: &Db,
    field: &SealedField,
) -> Result<BTreeMap<Option<u32>, u64>, crate::db::DbError> {
    const BATCH: i64 = 500;
    let mut counts = BTreeMap::new();
    let mut after = 0;
    loop {
        let rows = db::sealed::batch(db, field, after, BATCH).await?;
        for row in &rows {
            *counts.entry(key_id_of(&row.ciphertext)).or_insert(0) += 1;
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == BATCH => after = last.id,
            _ => return Ok(counts),
        }
    }
}

/// Passes over one column until a pass finds nothing left to re-encrypt.
async fn reseal_field(
    vault: &Vault,
    db: &Db,
    field: &SealedField,
) -> Result<FieldReport, VaultServiceError> {
    let mut report = FieldReport {
        column: format!("{}.{}", field.table, field.column),
        ..FieldReport::default()
    };
    let mut failed = BTreeMap::new();
    for pass in 0..PASSES {
        let before = report.resealed;
        let mut after = 0;
        loop {
            let rows = db::sealed::batch(db, field, after, BATCH).await?;
            for row in &rows {
                let outcome = reseal_row(vault, db, field, row).await?;
                match outcome {
                    Outcome::Resealed { retries } => {
                        report.resealed += 1;
                        report.retried += retries;
                    }
                    Outcome::Current { retries } => {
                        // Counted once, on the first pass (later passes see every value so).
                        if pass == 0 {
                            report.current += 1;
                        }
                        report.retried += retries;
                    }
                    Outcome::Vanished => report.vanished += 1,
                    Outcome::Failed(reason) => {
                        failed.insert((row.tenant_id, row.id), reason);
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == BATCH => after = last.id,
                _ => break,
            }
        }
        if report.resealed == before {
            break;
        }
    }
    report.failed = failed
        .into_iter()
        .map(|((tenant_id, id), reason)| FailedRow {
            tenant_id,
            id,
            reason,
        })
        .collect();
    Ok(report)
}

enum Outcome {
    Resealed { retries: u64 },
    Current { retries: u64 },
    Vanished,
    Failed(String),
}

/// Re-encrypts one value, re-reading it if it changed before our update landed.
async fn reseal_row(
    vault: &Vault,
    db: &Db,
    field: &SealedField,
    row: &SealedValue,
) -> Result<Outcome, VaultServiceError> {
    let aad = Aad::new(row.tenant_id, field.table, row.id, field.field);
    let active = vault.active_key_id();
    let mut current = row.ciphertext.clone();
    for retries in 0..ATTEMPTS as u64 {
        // A newer key than ours means another rotation is running: leave its values alone.
        if key_id_of(&current).is_some_and(|id| id >= active) {
            return Ok(Outcome::Current { retries });
        }
        let resealed = match vault.reseal(&aad, &current).await {
            Ok(resealed) => resealed,
            Err(VaultServiceError::Vault(e)) => return Ok(Outcome::Failed(e.to_string())),
            Err(e) => return Err(e),
        };
        if db::sealed::replace(db, field, row.tenant_id, row.id, &current, &resealed).await? {
            return Ok(Outcome::Resealed { retries });
        }
        match db::sealed::find(db, field, row.tenant_id, row.id).await? {
            Some(changed) => current = changed,
            None => return Ok(Outcome::Vanished),
        }
    }
    Ok(Outcome::Failed(format!(
        "the value changed {ATTEMPTS} times while being re-encrypted"
    )))
}
