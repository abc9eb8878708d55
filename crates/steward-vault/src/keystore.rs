//! Where members' wrapped content keys live: a small trait the store implements, and an
//! in-memory implementation for tests and benchmarks.

use std::collections::BTreeMap;

use crate::envelope::WrappedKey;
use crate::error::KeyStoreError;

/// What the key store knows about one member's content key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberKeyState {
    /// No key was ever made for the member.
    Absent,
    /// The member's content key, wrapped under a KEK.
    Present(WrappedKey),
    /// The key was destroyed (crypto-shredding). The tombstone holds no key material; it exists
    /// so that the member's content fails with a clear error and no new key is silently made.
    Shredded,
}

/// Storage of wrapped member content keys. Every method takes `&mut self` so a database
/// transaction can implement it. Implementations keep only [`WrappedKey`] bytes,
/// which are useless without the keyring; the store-backed one lives with the database so a
/// key write commits in the same transaction as the content it protects.
pub trait MemberKeyStore {
    /// The member's key state.
    fn get(&mut self, member: i64) -> Result<MemberKeyState, KeyStoreError>;
    /// Stores (inserts or replaces) a member's wrapped key.
    fn put(&mut self, member: i64, key: &WrappedKey) -> Result<(), KeyStoreError>;
    /// Destroys a member's wrapped key, leaving a tombstone. Returns whether a key was there.
    fn shred(&mut self, member: i64) -> Result<bool, KeyStoreError>;
    /// Members holding a key wrapped under a KEK version other than `current` (what a rotation
    /// must re-wrap), with their wrapped keys.
    fn wrapped_under_other_than(
        &mut self,
        current: u32,
    ) -> Result<Vec<(i64, WrappedKey)>, KeyStoreError>;
    /// The KEK versions in use by at least one wrapped key.
    fn kek_versions_in_use(&mut self) -> Result<Vec<u32>, KeyStoreError>;
}

/// An in-memory [`MemberKeyStore`] for tests and benchmarks.
#[derive(Debug, Default, Clone)]
pub struct InMemoryKeyStore {
    keys: BTreeMap<i64, MemberKeyState>,
}

impl InMemoryKeyStore {
    /// An empty store.
    pub fn new() -> InMemoryKeyStore {
        InMemoryKeyStore::default()
    }
}

impl MemberKeyStore for InMemoryKeyStore {
    fn get(&mut self, member: i64) -> Result<MemberKeyState, KeyStoreError> {
        Ok(self
            .keys
            .get(&member)
            .cloned()
            .unwrap_or(MemberKeyState::Absent))
    }

    fn put(&mut self, member: i64, key: &WrappedKey) -> Result<(), KeyStoreError> {
        if matches!(self.keys.get(&member), Some(MemberKeyState::Shredded)) {
            return Err(KeyStoreError::new(format!(
                "member `{member}` was shredded; refusing to store a new key"
            )));
        }
        self.keys
            .insert(member, MemberKeyState::Present(key.clone()));
        Ok(())
    }

    fn shred(&mut self, member: i64) -> Result<bool, KeyStoreError> {
        let previous = self.keys.insert(member, MemberKeyState::Shredded);
        Ok(matches!(previous, Some(MemberKeyState::Present(_))))
    }

    fn wrapped_under_other_than(
        &mut self,
        current: u32,
    ) -> Result<Vec<(i64, WrappedKey)>, KeyStoreError> {
        Ok(self
            .keys
            .iter()
            .filter_map(|(member, state)| match state {
                MemberKeyState::Present(key) if key.kek_version() != current => {
                    Some((*member, key.clone()))
                }
                _ => None,
            })
            .collect())
    }

    fn kek_versions_in_use(&mut self) -> Result<Vec<u32>, KeyStoreError> {
        let mut versions: Vec<u32> = self
            .keys
            .values()
            .filter_map(|state| match state {
                MemberKeyState::Present(key) => Some(key.kek_version()),
                _ => None,
            })
            .collect();
        versions.sort_unstable();
        versions.dedup();
        Ok(versions)
    }
}
