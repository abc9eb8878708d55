//! The vault's side of the store: the `vault_member_keys` table (registered as the `vault`
//! migration set), a [`MemberKeyStore`] over the caller's transaction, and a [`Sealer`] for the
//! store's bulk paths (generator, import).
//!
//! Wrapped keys live in the database so a key and the content it protects commit together.
//! A shredded member keeps a tombstone row (no key bytes). SQLite may keep overwritten bytes in
//! free pages until they are reused; that is one more reason erasure also rotates the KEK and
//! destroys the old version ([`Vault::erase_member`]), which makes any leftover copy of the
//! wrapped key — in free pages or in a backup — useless.

use std::collections::HashMap;
use std::sync::Mutex;

use steward_store::{
    Migration, MigrationSet, MigrationSql, SealContext, SealError, SealedBytes, Sealer, Store,
    StoreError, Tx, Value,
};

use crate::envelope::{ContentCipher, ContentKind, NoncePool, RowBinding, WrappedKey};
use crate::keystore::{MemberKeyState, MemberKeyStore};
use crate::reason::{GrantHandle, OpenReason};
use crate::vault::Opened;
use crate::{KeyStoreError, Vault, VaultError};

/// The value of the store's `sealing` column for blobs this vault sealed.
pub const SEALING_SCHEME: &str = "steward-vault-v1";

/// The vault's tables. No foreign key to `members`: the tombstone of an erased member must
/// outlive the member's row.
pub const VAULT_MIGRATIONS: MigrationSet = MigrationSet {
    name: "vault",
    migrations: &[Migration {
        version: 1,
        name: "member_keys",
        sql: MigrationSql::Portable(
            "CREATE TABLE vault_member_keys (
                member_id {INT} PRIMARY KEY,
                wrapped_key {BYTES},
                kek_version {INT},
                shredded {INT} NOT NULL DEFAULT 0,
                CHECK ((shredded = 0 AND wrapped_key IS NOT NULL AND kek_version IS NOT NULL)
                    OR (shredded = 1 AND wrapped_key IS NULL AND kek_version IS NULL))
            );
            CREATE INDEX ix_vault_member_keys_kek ON vault_member_keys (kek_version);",
        ),
    }],
};

/// Applies the vault's migrations to `store` (idempotent).
pub fn migrate(store: &Store) -> Result<(), VaultError> {
    store.migrate(&VAULT_MIGRATIONS)?;
    Ok(())
}

fn store_err(e: StoreError) -> KeyStoreError {
    KeyStoreError::with_source(format!("vault_member_keys: {e}"), e)
}

impl From<StoreError> for KeyStoreError {
    fn from(e: StoreError) -> KeyStoreError {
        store_err(e)
    }
}

/// A [`MemberKeyStore`] writing through the caller's transaction.
#[derive(Debug)]
pub struct TxKeyStore<'a, 'tx> {
    tx: &'a mut Tx<'tx>,
}

impl<'a, 'tx> TxKeyStore<'a, 'tx> {
    /// Key storage inside `tx`.
    pub fn new(tx: &'a mut Tx<'tx>) -> TxKeyStore<'a, 'tx> {
        TxKeyStore { tx }
    }
}

/// How many members hold a key, and how many keys were shredded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCounts {
    /// Members with a live (wrapped) content key.
    pub active: u64,
    /// Tombstones of destroyed keys.
    pub shredded: u64,
}

impl TxKeyStore<'_, '_> {
    /// Counts live and shredded member keys.
    pub fn counts(&mut self) -> Result<KeyCounts, VaultError> {
        let active = self.tx.query_i64(
            "SELECT COUNT(*) FROM vault_member_keys WHERE shredded = 0",
            &[],
        )?;
        let shredded = self.tx.query_i64(
            "SELECT COUNT(*) FROM vault_member_keys WHERE shredded = 1",
            &[],
        )?;
        Ok(KeyCounts {
            active: u64::try_from(active).unwrap_or(0),
            shredded: u64::try_from(shredded).unwrap_or(0),
        })
    }
}

fn wrapped_from(value: &Value) -> Result<WrappedKey, KeyStoreError> {
    let bytes = value
        .as_bytes()
        .ok_or_else(|| KeyStoreError::new("wrapped key column is not bytes"))?;
    WrappedKey::from_bytes(bytes.to_vec())
        .map_err(|e| KeyStoreError::new(format!("stored wrapped key: {e}")))
}

/// A member's key state from a `vault_member_keys` row's `wrapped_key` and `shredded`.
pub(crate) fn key_state(
    wrapped_key: &Value,
    shredded: &Value,
) -> Result<MemberKeyState, KeyStoreError> {
    if shredded.as_i64() == Some(1) {
        return Ok(MemberKeyState::Shredded);
    }
    Ok(MemberKeyState::Present(wrapped_from(wrapped_key)?))
}

/// A [`MemberKeyStore`] over the caller's transaction that answers `get` from states read
/// beforehand in one query (a send session reads all its batch's authors at once), and the
/// table for any member it was not given. Each prefetched state is used once: a write drops
/// it, so what it answers is what the table holds in this transaction.
#[derive(Debug)]
pub(crate) struct PrefetchedKeyStore<'a, 'tx> {
    /// The table, for everything but prefetched reads.
    pub(crate) inner: TxKeyStore<'a, 'tx>,
    /// Member → their key state, read in this transaction.
    pub(crate) states: &'a mut HashMap<i64, MemberKeyState>,
}

impl MemberKeyStore for PrefetchedKeyStore<'_, '_> {
    fn get(&mut self, member: i64) -> Result<MemberKeyState, KeyStoreError> {
        match self.states.remove(&member) {
            Some(state) => Ok(state),
            None => self.inner.get(member),
        }
    }

    fn put(&mut self, member: i64, key: &WrappedKey) -> Result<(), KeyStoreError> {
        self.states.remove(&member);
        self.inner.put(member, key)
    }

    fn shred(&mut self, member: i64) -> Result<bool, KeyStoreError> {
        self.states.remove(&member);
        self.inner.shred(member)
    }

    fn wrapped_under_other_than(
        &mut self,
        current: u32,
    ) -> Result<Vec<(i64, WrappedKey)>, KeyStoreError> {
        self.inner.wrapped_under_other_than(current)
    }

    fn kek_versions_in_use(&mut self) -> Result<Vec<u32>, KeyStoreError> {
        self.inner.kek_versions_in_use()
    }
}

impl MemberKeyStore for TxKeyStore<'_, '_> {
    fn get(&mut self, member: i64) -> Result<MemberKeyState, KeyStoreError> {
        let row = self
            .tx
            .query_opt(
                "SELECT wrapped_key, shredded FROM vault_member_keys WHERE member_id = $1",
                &[member.into()],
            )
            .map_err(store_err)?;
        match row {
            None => Ok(MemberKeyState::Absent),
            Some(row) => key_state(row.get(0), row.get(1)),
        }
    }

    fn put(&mut self, member: i64, key: &WrappedKey) -> Result<(), KeyStoreError> {
        let changed = self
            .tx
            .execute(
                "INSERT INTO vault_member_keys (member_id, wrapped_key, kek_version, shredded)
                 VALUES ($1, $2, $3, 0)
                 ON CONFLICT (member_id) DO UPDATE
                 SET wrapped_key = excluded.wrapped_key, kek_version = excluded.kek_version
                 WHERE vault_member_keys.shredded = 0",
                &[
                    member.into(),
                    key.as_bytes().to_vec().into(),
                    i64::from(key.kek_version()).into(),
                ],
            )
            .map_err(store_err)?;
        if changed == 0 {
            return Err(KeyStoreError::new(format!(
                "member `{member}` was shredded; refusing to store a new key"
            )));
        }
        Ok(())
    }

    fn shred(&mut self, member: i64) -> Result<bool, KeyStoreError> {
        let had_key = matches!(self.get(member)?, MemberKeyState::Present(_));
        self.tx
            .execute(
                "INSERT INTO vault_member_keys (member_id, wrapped_key, kek_version, shredded)
                 VALUES ($1, NULL, NULL, 1)
                 ON CONFLICT (member_id) DO UPDATE
                 SET wrapped_key = NULL, kek_version = NULL, shredded = 1",
                &[member.into()],
            )
            .map_err(store_err)?;
        Ok(had_key)
    }

    fn wrapped_under_other_than(
        &mut self,
        current: u32,
    ) -> Result<Vec<(i64, WrappedKey)>, KeyStoreError> {
        let rows = self
            .tx
            .query(
                "SELECT member_id, wrapped_key FROM vault_member_keys
                 WHERE shredded = 0 AND kek_version <> $1 ORDER BY member_id",
                &[i64::from(current).into()],
            )
            .map_err(store_err)?;
        rows.iter()
            .map(|row| {
                let member = row.i64(0).map_err(store_err)?;
                Ok((member, wrapped_from(row.get(1))?))
            })
            .collect()
    }

    fn kek_versions_in_use(&mut self) -> Result<Vec<u32>, KeyStoreError> {
        let rows = self
            .tx
            .query(
                "SELECT DISTINCT kek_version FROM vault_member_keys
                 WHERE shredded = 0 ORDER BY kek_version",
                &[],
            )
            .map_err(store_err)?;
        rows.iter()
            .map(|row| {
                let v = row.i64(0).map_err(store_err)?;
                u32::try_from(v).map_err(|_| KeyStoreError::new("KEK version out of range"))
            })
            .collect()
    }
}

/// The row binding of a store [`SealContext`].
pub fn binding_for(context: &SealContext<'_>) -> Result<RowBinding, VaultError> {
    let kind = match context.table {
        "messages" => ContentKind::Message,
        "attachments" => ContentKind::Attachment,
        "private_notes" => ContentKind::PrivateNote,
        "posts" => ContentKind::ClosedGroupPost,
        _ => return Err(VaultError::Refused("not a table of sealed content")),
    };
    Ok(RowBinding {
        kind,
        item_id: context.row_id,
        conversation_id: context.container_id,
        author: context.member_id,
    })
}

/// A [`Sealer`] for the store's bulk paths (generator, import), which call it inside their own
/// transaction where the vault cannot write. It therefore seals only for members whose keys it
/// provisioned — created and committed — beforehand; any other author is an error, so content
/// can never be sealed under a key that is not durably stored.
pub struct VaultSealer {
    keys: HashMap<i64, ContentCipher>,
    /// `Sealer::seal` takes `&self`; sealers are `Sync`, so a mutex (never contended: one
    /// transaction seals at a time).
    nonces: Mutex<NoncePool>,
}

impl std::fmt::Debug for VaultSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSealer")
            .field("members", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl VaultSealer {
    /// Creates (if needed) and commits content keys for `members`, then holds them unwrapped
    /// in memory (wiped on drop) for sealing.
    pub fn provision(
        vault: &Vault,
        store: &Store,
        members: impl IntoIterator<Item = i64>,
    ) -> Result<VaultSealer, VaultError> {
        store.transaction(|tx| VaultSealer::in_transaction(vault, tx, members))
    }

    /// Like [`VaultSealer::provision`], inside the caller's transaction: new keys commit with
    /// whatever the caller then writes (the send path: `in_transaction(vault, tx, [author])`,
    /// then `steward_store::content::insert_message(tx, &sealer, ...)`).
    pub fn in_transaction(
        vault: &Vault,
        tx: &mut Tx<'_>,
        members: impl IntoIterator<Item = i64>,
    ) -> Result<VaultSealer, VaultError> {
        let mut key_store = TxKeyStore::new(tx);
        let mut keys = HashMap::new();
        for member in members {
            let (dek, generation) = vault.member_key_for_sealing(&mut key_store, member)?;
            keys.insert(member, ContentCipher::new(&dek, generation)?);
        }
        Ok(VaultSealer {
            keys,
            nonces: Mutex::new(NoncePool::new()),
        })
    }

    /// Whether `member`'s content key is held already.
    pub(crate) fn holds(&self, member: i64) -> bool {
        self.keys.contains_key(&member)
    }

    /// A sealer with no keys yet; [`VaultSealer::ensure_member`] adds them.
    pub(crate) fn empty() -> VaultSealer {
        VaultSealer {
            keys: HashMap::new(),
            nonces: Mutex::new(NoncePool::new()),
        }
    }

    /// Adds `member`'s content key (made in `tx` if they have none) unless it is held already:
    /// a send session unwraps each author's key once per transaction.
    pub(crate) fn ensure_member(
        &mut self,
        vault: &Vault,
        keys: &mut (impl MemberKeyStore + ?Sized),
        member: i64,
    ) -> Result<(), VaultError> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.keys.entry(member) {
            let (dek, generation) = vault.member_key_for_sealing(keys, member)?;
            e.insert(ContentCipher::new(&dek, generation)?);
        }
        Ok(())
    }
}

impl Sealer for VaultSealer {
    fn scheme(&self) -> &str {
        SEALING_SCHEME
    }

    fn seal(&self, context: &SealContext<'_>, plaintext: &[u8]) -> Result<SealedBytes, SealError> {
        let binding = binding_for(context).map_err(|e| SealError(e.to_string()))?;
        let cipher = self.keys.get(&binding.author).ok_or_else(|| {
            SealError(format!(
                "no content key provisioned for member `{}`",
                binding.author
            ))
        })?;
        let nonce = self
            .nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .map_err(|e| SealError(e.to_string()))?;
        let sealed = cipher
            .seal(&binding, nonce, plaintext)
            .map_err(|e| SealError(e.to_string()))?;
        Ok(SealedBytes::from_sealer_output(sealed))
    }
}

/// Who is opening stored content, and on what authority. The participant lists come from the
/// database, not from the caller.
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    /// `service.core`: this member reads a conversation they take part in (or their own note).
    Participant(i64),
    /// `member.self_access`: this member views or exports their own conversations and notes.
    SelfAccess(i64),
    /// `safety.report_review` under a validated grant.
    ReportReview(&'a GrantHandle),
    /// `security.investigation` under a validated, two-person-approved grant.
    SecurityInvestigation(&'a GrantHandle),
}

/// Opens a stored message, attachment or private note for `access`: fetches the sealed row and
/// the conversation's participants in `tx`, then opens through [`Vault::open`]. The caller
/// ledgers the returned access record when it says so.
pub fn open_stored(
    vault: &Vault,
    tx: &mut Tx<'_>,
    access: Access<'_>,
    table: &str,
    row_id: i64,
) -> Result<Opened, VaultError> {
    let row = steward_store::content::sealed_content(tx, table, row_id)?;
    // Erasure replaced the blob with an empty tombstone: the author is gone, not the data
    // corrupted, and every reader (participant, reviewer) should hear exactly that.
    if row.sealing == steward_store::erase::ERASED_SEALING {
        return Err(VaultError::MemberShredded {
            member: row.member_id,
        });
    }
    if row.sealing != SEALING_SCHEME {
        return Err(VaultError::Malformed(
            "content was not sealed by this vault",
        ));
    }
    let binding = binding_for(&SealContext {
        table: row.table,
        row_id: row.row_id,
        member_id: row.member_id,
        container_id: row.container_id,
    })?;
    let participants: Vec<i64> = match row.container_id {
        Some(conversation) if row.table != "private_notes" => tx
            .query(
                "SELECT member_id FROM conversation_participants WHERE conversation_id = $1",
                &[conversation.into()],
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let reason = match access {
        Access::Participant(reader) => OpenReason::ParticipantRead {
            reader,
            participants: &participants,
        },
        Access::SelfAccess(member) => OpenReason::SelfAccess {
            member,
            participants: &participants,
        },
        Access::ReportReview(grant) => OpenReason::ReportReview(grant),
        Access::SecurityInvestigation(grant) => OpenReason::SecurityInvestigation(grant),
    };
    vault.open(
        &mut TxKeyStore::new(tx),
        &reason,
        &binding,
        row.sealed.as_stored_bytes(),
    )
}
