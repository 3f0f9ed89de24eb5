//! `KeyRing`: the unwrapped data keys, one of them active, that seal and
//! open field values.
//!
//! It must not reuse a nonce (every seal draws a fresh random one), leave a
//! plaintext buffer unzeroized, or put key bytes or plaintext into an error
//! or `Debug` output. It does no I/O: loading and storing keys is the
//! caller's job.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use aes_gcm::Nonce;
use aes_gcm::aead::{Aead, Payload};
use zeroize::Zeroizing;

use super::{Aad, DataKey, KEY_ID_LEN, NONCE_LEN, VaultError, key_id_of};
use crate::domain::secret::Secret;

/// The data keys by id, and the id of the one new values are sealed with.
///
/// A sealed value is `[4-byte big-endian key id][12-byte random nonce]
/// [AES-256-GCM ciphertext + 16-byte tag]`, authenticated together with the
/// [`Aad`] of the place it is stored. With random nonces a key should seal
/// well under 2^32 values before it is rotated out.
pub struct KeyRing {
    keys: BTreeMap<u32, DataKey>,
    active: u32,
}

impl KeyRing {
    /// A ring of `keys` sealing new values with key `active`, which must be
    /// among them. A repeated id is refused rather than silently dropped.
    pub fn new(
        keys: impl IntoIterator<Item = (u32, DataKey)>,
        active: u32,
    ) -> Result<Self, VaultError> {
        let mut map = BTreeMap::new();
        for (id, key) in keys {
            match map.entry(id) {
                Entry::Vacant(slot) => {
                    slot.insert(key);
                }
                Entry::Occupied(_) => return Err(VaultError::DuplicateKey(id)),
            }
        }
        if !map.contains_key(&active) {
            return Err(VaultError::ActiveKeyMissing(active));
        }
        Ok(Self { keys: map, active })
    }

    /// The id of the key new values are sealed with.
    pub fn active_id(&self) -> u32 {
        self.active
    }

    /// The ids of all keys in the ring, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    /// Whether the ring holds key `id`.
    pub fn contains(&self, id: u32) -> bool {
        self.keys.contains_key(&id)
    }

    /// Seals `plaintext` for the place described by `aad`, under the active
    /// key with a fresh random nonce.
    ///
    /// Fails only on values over 64 GiB ([`VaultError::TooLarge`]).
    pub fn seal(&self, aad: &Aad, plaintext: &Secret) -> Result<Vec<u8>, VaultError> {
        let key = self
            .keys
            .get(&self.active)
            .ok_or(VaultError::UnknownKey(self.active))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let aad_bytes = aad.encode();
        let payload = Payload {
            msg: plaintext.expose().as_bytes(),
            aad: &aad_bytes,
        };
        let ciphertext = key
            .cipher()
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| VaultError::TooLarge)?;
        let mut out = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&self.active.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens a value sealed for the place described by `aad`, with the key
    /// named in its header.
    pub fn open(&self, aad: &Aad, sealed: &[u8]) -> Result<Secret, VaultError> {
        let id = key_id_of(sealed).ok_or(VaultError::Malformed)?;
        let key = self.keys.get(&id).ok_or(VaultError::UnknownKey(id))?;
        let body = sealed.get(KEY_ID_LEN..).ok_or(VaultError::Malformed)?;
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let aad_bytes = aad.encode();
        let payload = Payload {
            msg: ciphertext,
            aad: &aad_bytes,
        };
        let plain = Zeroizing::new(
            key.cipher()
                .decrypt(&super::nonce(nonce)?, payload)
                .map_err(|_| VaultError::Tampered)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| VaultError::NotUtf8)?;
        Ok(Secret::new(text.to_owned()))
    }

    /// Opens `sealed` and seals it again under the active key (rotation).
    /// It always re-encrypts; check [`key_id_of`] first to skip values
    /// already under the active key.
    pub fn reseal(&self, aad: &Aad, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let secret = self.open(aad, sealed)?;
        self.seal(aad, &secret)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::TAG_LEN;

    const TOKEN: &str = "SENTINEL-api-token-9d8c7b";
    const OVERHEAD: usize = KEY_ID_LEN + NONCE_LEN + TAG_LEN;

    fn aad() -> Aad {
        Aad::new(42, "stores", 7, "access_token")
    }

    fn ring(id: u32) -> KeyRing {
        KeyRing::new([(id, DataKey::generate())], id).unwrap()
    }

    fn token() -> Secret {
        Secret::new(TOKEN.to_owned())
    }

    #[test]
    fn roundtrip() {
        let r = ring(1);
        let sealed = r.seal(&aad(), &token()).unwrap();
        assert_eq!(sealed.len(), OVERHEAD + TOKEN.len());
        assert_eq!(key_id_of(&sealed), Some(1));
        assert!(!sealed.windows(8).any(|w| w == &TOKEN.as_bytes()[..8]));
        assert_eq!(r.open(&aad(), &sealed).unwrap().expose(), TOKEN);
        let empty = r.seal(&aad(), &Secret::new(String::new())).unwrap();
        assert!(r.open(&aad(), &empty).unwrap().is_empty());
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let r = ring(1);
        let a = r.seal(&aad(), &token()).unwrap();
        let b = r.seal(&aad(), &token()).unwrap();
        assert_ne!(a, b);
        assert_ne!(
            a[KEY_ID_LEN..KEY_ID_LEN + NONCE_LEN],
            b[KEY_ID_LEN..KEY_ID_LEN + NONCE_LEN]
        );
    }

    #[test]
    fn wrong_aad_is_tampered() {
        let r = ring(1);
        let sealed = r.seal(&aad(), &token()).unwrap();
        for other in [
            Aad::new(43, "stores", 7, "access_token"),
            Aad::new(42, "stores", 8, "access_token"),
            Aad::new(42, "stores", 7, "client_secret"),
            Aad::new(42, "webhooks", 7, "access_token"),
        ] {
            assert_eq!(
                r.open(&other, &sealed).unwrap_err(),
                VaultError::Tampered,
                "{other:?}"
            );
        }
    }

    #[test]
    fn every_flipped_bit_fails() {
        let r = ring(1);
        let sealed = r.seal(&aad(), &token()).unwrap();
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                let err = r.open(&aad(), &bad).unwrap_err();
                if i < KEY_ID_LEN {
                    assert!(
                        matches!(err, VaultError::UnknownKey(id) if id != 1),
                        "{i}/{bit}"
                    );
                } else {
                    assert_eq!(err, VaultError::Tampered, "byte {i} bit {bit}");
                }
            }
        }
    }

    #[test]
    fn truncated_input_fails() {
        let r = ring(1);
        let sealed = r.seal(&aad(), &token()).unwrap();
        for len in 0..OVERHEAD {
            assert_eq!(
                r.open(&aad(), &sealed[..len]).unwrap_err(),
                VaultError::Malformed
            );
        }
        for len in OVERHEAD..sealed.len() {
            assert_eq!(
                r.open(&aad(), &sealed[..len]).unwrap_err(),
                VaultError::Tampered
            );
        }
    }

    #[test]
    fn unknown_key_and_wrong_key() {
        let sealed = ring(2).seal(&aad(), &token()).unwrap();
        assert_eq!(
            ring(1).open(&aad(), &sealed).unwrap_err(),
            VaultError::UnknownKey(2)
        );
        // Same id, different key bytes.
        assert_eq!(
            ring(2).open(&aad(), &sealed).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn reseal_moves_to_the_active_key() {
        let old = KeyRing::new([(1, DataKey::from_bytes([1; 32]))], 1).unwrap();
        let sealed = old.seal(&aad(), &token()).unwrap();
        let new = KeyRing::new(
            [(1, DataKey::from_bytes([1; 32])), (2, DataKey::generate())],
            2,
        )
        .unwrap();
        let resealed = new.reseal(&aad(), &sealed).unwrap();
        assert_eq!(key_id_of(&resealed), Some(2));
        assert_eq!(new.open(&aad(), &resealed).unwrap().expose(), TOKEN);
        assert_eq!(new.open(&aad(), &sealed).unwrap().expose(), TOKEN);
        assert_eq!(
            old.open(&aad(), &resealed).unwrap_err(),
            VaultError::UnknownKey(2)
        );
        let other = Aad::new(42, "stores", 8, "access_token");
        assert_eq!(
            new.reseal(&other, &sealed).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn construction_checks_ids() {
        let r = KeyRing::new([(3, DataKey::generate()), (1, DataKey::generate())], 3).unwrap();
        assert_eq!(r.active_id(), 3);
        assert_eq!(r.ids().collect::<Vec<_>>(), [1, 3]);
        assert!(r.contains(1) && r.contains(3) && !r.contains(2));
        let missing = KeyRing::new([(1, DataKey::generate())], 2).unwrap_err();
        assert_eq!(missing, VaultError::ActiveKeyMissing(2));
        let dup = KeyRing::new([(1, DataKey::generate()), (1, DataKey::generate())], 1);
        assert_eq!(dup.unwrap_err(), VaultError::DuplicateKey(1));
        assert!(KeyRing::new([], 0).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let sentinel = *b"SENTINEL-key-bytes-0123456789abc";
        let r = KeyRing::new([(5, DataKey::from_bytes(sentinel))], 5).unwrap();
        let shown = format!("{r:?} {r:#?}");
        assert_eq!(format!("{r:?}"), "KeyRing { active: 5, ids: [5] }");
        assert!(!shown.contains("SENTINEL") && !shown.contains("83, 69, 78"));
        let err = r.open(
            &Aad::new(1, "t", 1, "f"),
            &r.seal(&aad(), &token()).unwrap(),
        );
        let shown = format!("{err:?} {}", err.as_ref().unwrap_err());
        assert!(!shown.contains(TOKEN) && !shown.contains("SENTINEL"));
    }
}
