//! The vault: seals content under per-member keys, opens it only for a permitted reason, and
//! manages the key lifecycle (rotation, re-wrapping, crypto-shredding).

use std::sync::Mutex;

use crate::VaultError;
use crate::envelope::{
    self, ContentKind, NoncePool, Plaintext, RowBinding, SecretKey, WrappedKey, open_content,
    seal_content, unwrap_key, wrap_key,
};
use crate::keyring::Keyring;
use crate::keystore::{MemberKeyState, MemberKeyStore};
use crate::reason::OpenReason;

/// Content-key generation used for new member keys. One generation per member today; the field
/// is in every blob so a future per-member re-key needs no format change.
const FIRST_GENERATION: u32 = 1;

/// The sealing and opening service. Holds the keyring; the member key store is passed per
/// call so it can be a transaction of the caller's database.
#[derive(Debug)]
pub struct Vault {
    keyring: Keyring,
    /// Nonces for [`Vault::seal`], drawn from the OS a few at a time (a system call per seal
    /// cost about as much as the seal).
    nonces: Mutex<NoncePool>,
}

/// What an open did, for the caller to ledger. `ledger_required` is true for every reason but a
/// participant reading their own conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRecord {
    /// The purpose the open served.
    pub purpose: &'static str,
    /// What was opened.
    pub kind: ContentKind,
    /// The opened item's id.
    pub item_id: i64,
    /// Its conversation, if any.
    pub conversation_id: Option<i64>,
    /// Its author (an affected member).
    pub author: i64,
    /// The grant it was opened under, if any.
    pub grant_id: Option<i64>,
    /// Whether the caller must write a ledger entry in the same transaction.
    pub ledger_required: bool,
}

/// Opened content and the record of the access.
#[derive(Debug)]
#[must_use = "a privileged open must be ledgered: see `access.ledger_required`"]
pub struct Opened {
    /// The decrypted content (wiped on drop).
    pub plaintext: Plaintext,
    /// What to ledger.
    pub access: AccessRecord,
}

/// Outcome of a KEK rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    /// The new current KEK version.
    pub new_version: u32,
    /// How many member keys were re-wrapped under it.
    pub rewrapped: usize,
}

/// Outcome of erasing a member's key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureReport {
    /// Whether the member had a key to destroy (false on a repeated erasure).
    pub key_destroyed: bool,
    /// The KEK rotation that makes copies taken before the erasure unreadable.
    pub rotation: RotationReport,
    /// KEK versions destroyed afterwards.
    pub retired_keks: Vec<u32>,
}

impl Vault {
    /// A vault over `keyring`.
    pub fn new(keyring: Keyring) -> Vault {
        Vault {
            keyring,
            nonces: Mutex::new(NoncePool::new()),
        }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Makes sure `member` has a content key, creating and storing one if needed. Refuses for a
    /// shredded member.
    pub fn ensure_member_key(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        member: i64,
    ) -> Result<(), VaultError> {
        self.member_key_for_sealing(keys, member).map(|_| ())
    }

    pub(crate) fn member_key_for_sealing(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        member: i64,
    ) -> Result<(SecretKey, u32), VaultError> {
        match keys.get(member)? {
            MemberKeyState::Present(wrapped) => {
                let generation = wrapped.generation();
                Ok((self.unwrap(member, &wrapped)?, generation))
            }
            MemberKeyState::Shredded => Err(VaultError::MemberShredded { member }),
            MemberKeyState::Absent => {
                let dek = SecretKey::random()?;
                let wrapped = wrap_key(
                    self.keyring.current_kek()?,
                    self.keyring.current_kek_version(),
                    member,
                    FIRST_GENERATION,
                    &dek,
                )?;
                keys.put(member, &wrapped)?;
                Ok((dek, FIRST_GENERATION))
            }
        }
    }

    fn unwrap(&self, member: i64, wrapped: &WrappedKey) -> Result<SecretKey, VaultError> {
        unwrap_key(self.keyring.kek(wrapped.kek_version())?, member, wrapped)
    }

    /// Seals `plaintext` for the row `binding` under its author's content key (made on first
    /// use). Returns the sealed blob to store in place of the content.
    pub fn seal(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        binding: &RowBinding,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let (dek, generation) = self.member_key_for_sealing(keys, binding.author)?;
        let nonce = self
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        seal_content(&dek, generation, binding, nonce, plaintext)
    }

    /// Opens a sealed blob for a permitted `reason`. Fails with `vault.refused` if the reason
    /// does not cover the row, `vault.member_shredded` if the author was erased, and
    /// `vault.aead_failure` if the blob was altered or belongs to another row.
    pub fn open(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        reason: &OpenReason<'_>,
        binding: &RowBinding,
        sealed: &[u8],
    ) -> Result<Opened, VaultError> {
        reason.permits(binding).map_err(VaultError::Refused)?;
        let header = envelope::sealed_header(sealed)?;
        let wrapped = match keys.get(binding.author)? {
            MemberKeyState::Present(wrapped) => wrapped,
            MemberKeyState::Shredded => {
                return Err(VaultError::MemberShredded {
                    member: binding.author,
                });
            }
            MemberKeyState::Absent => {
                return Err(VaultError::NoMemberKey {
                    member: binding.author,
                });
            }
        };
        if wrapped.generation() != header.key_generation {
            // Sealed under a key generation this member does not hold: nothing can open it.
            return Err(VaultError::AeadFailure);
        }
        let dek = self.unwrap(binding.author, &wrapped)?;
        let plaintext = open_content(&dek, binding, sealed)?;
        Ok(Opened {
            plaintext,
            access: AccessRecord {
                purpose: reason.purpose(),
                kind: binding.kind,
                item_id: binding.item_id,
                conversation_id: binding.conversation_id,
                author: binding.author,
                grant_id: reason.grant_id(),
                ledger_required: reason.requires_ledger_entry(),
            },
        })
    }

    /// Re-wraps every member key not under the current KEK. Content is not touched.
    pub fn rewrap_all(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
    ) -> Result<usize, VaultError> {
        let current = self.keyring.current_kek_version();
        let kek = self.keyring.current_kek()?;
        let stale = keys.wrapped_under_other_than(current)?;
        for (member, wrapped) in &stale {
            let dek = self.unwrap(*member, wrapped)?;
            let rewrapped = wrap_key(kek, current, *member, wrapped.generation(), &dek)?;
            keys.put(*member, &rewrapped)?;
        }
        Ok(stale.len())
    }

    /// Adds a new KEK version (saved to the key file first) and re-wraps every member key under
    /// it. If the key store is transactional, commit it before retiring old versions.
    pub fn rotate(
        &mut self,
        keys: &mut (impl MemberKeyStore + ?Sized),
    ) -> Result<RotationReport, VaultError> {
        let new_version = self.keyring.rotate()?;
        let rewrapped = self.rewrap_all(keys)?;
        Ok(RotationReport {
            new_version,
            rewrapped,
        })
    }

    /// Destroys every KEK version that no wrapped key uses and that is not current. Call it only
    /// after the re-wrapped keys are durably committed. Returns the destroyed versions.
    pub fn retire_unused_keks(
        &mut self,
        keys: &mut (impl MemberKeyStore + ?Sized),
    ) -> Result<Vec<u32>, VaultError> {
        let in_use = keys.kek_versions_in_use()?;
        let current = self.keyring.current_kek_version();
        let mut retired = Vec::new();
        for version in self.keyring.kek_versions() {
            if version != current && !in_use.contains(&version) {
                self.keyring.drop_kek(version)?;
                retired.push(version);
            }
        }
        Ok(retired)
    }

    /// Destroys `member`'s content key: everything they wrote becomes unreadable here. Returns
    /// whether a key was destroyed. Copies of the key store taken earlier still hold the wrapped
    /// key; [`Vault::erase_member`] also closes that door.
    pub fn shred_member(
        &self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        member: i64,
    ) -> Result<bool, VaultError> {
        Ok(keys.shred(member)?)
    }

    /// Crypto-shredding that holds for backups too: destroys the member's key, rotates the KEK,
    /// re-wraps every other member's key and destroys the old KEK versions. A database copy made
    /// before the erasure holds the member's key wrapped under a KEK that no longer exists.
    ///
    /// With a transactional key store, prefer the steps one by one — `shred_member`, `rotate`,
    /// commit, `retire_unused_keks` — so no KEK is destroyed before the re-wraps are durable.
    pub fn erase_member(
        &mut self,
        keys: &mut (impl MemberKeyStore + ?Sized),
        member: i64,
    ) -> Result<ErasureReport, VaultError> {
        let key_destroyed = self.shred_member(keys, member)?;
        let rotation = self.rotate(keys)?;
        let retired_keks = self.retire_unused_keks(keys)?;
        Ok(ErasureReport {
            key_destroyed,
            rotation,
            retired_keks,
        })
    }
}
