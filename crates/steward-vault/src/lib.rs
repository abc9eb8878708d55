//! Steward's vault: the only code that can turn sealed private content back into plaintext.
//!
//! Private messages, attachments, private notes and closed-group posts are stored as sealed
//! blobs. This crate is the sole holder of the keys that open them, and the crate graph keeps
//! it out of every pipeline (`steward-datasets` and `steward-ads` cannot depend on it), so a
//! training or ads job has no code path to plaintext even if a policy were wrong.
//!
//! **Envelope encryption.** Each member has a content key (DEK, AES-256) that seals everything
//! they write. DEKs are stored only wrapped (AES-256-GCM) under a key-encryption key (KEK) from
//! the [`Keyring`], a key file outside the database that its owner alone may read (mode 0600;
//! anything looser is refused). Rotation adds a KEK version and re-wraps the DEKs — 69 bytes
//! each — without touching content. Erasing a member destroys their wrapped DEK
//! (crypto-shredding); [`Vault::erase_member`] also rotates the KEK and destroys the old
//! versions, so a database backup taken before the erasure holds the DEK under a KEK that no
//! longer exists. That is why the key file must never be backed up beside the database. The
//! price is paid by every member: once the old KEK is retired, a database copy made before the
//! erasure no longer opens anyone's sealed content. An operator who must restore such backups
//! keeps old versions for the backup retention window (`steward keys rotate --keep-old`, then
//! retire later), which delays the shredding inside those backups to the end of the window.
//! Per-bucket KEKs (members hashed into buckets, one KEK each) would confine that cost to one
//! bucket; not built yet.
//!
//! **In the store.** Wrapped keys live in the `vault_member_keys` table (the `vault` migration
//! set, [`store::VAULT_MIGRATIONS`]), written through the caller's transaction
//! ([`TxKeyStore`]), so a key commits with the first content sealed under it. The store's bulk
//! paths call a [`steward_store::Sealer`] without a transaction handle; [`VaultSealer`] serves
//! them with keys provisioned and committed beforehand, and refuses any other author.
//!
//! **Row binding.** Every ciphertext is authenticated together with its row ([`RowBinding`]:
//! kind, item id, conversation id, author) as AES-GCM associated data, so a blob copied onto
//! another row, or a byte flipped anywhere, fails with `vault.aead_failure` and nothing is
//! returned.
//!
//! **Reasons, not switches.** [`Vault::open`] takes an [`OpenReason`]: a participant's read
//! (`service.core`), a member's own access or export (`member.self_access`), a grant-scoped
//! report review (`safety.report_review`), or a two-person-approved security investigation
//! (`security.investigation`). There is no variant for AI, ads or analytics. The vault checks
//! what it can see (participation, grant purpose, approval count, scope); the caller validates
//! grants against the store and clock, and ledgers every open whose [`AccessRecord`] says so.
//!
//! **Trust & safety flows** ([`safety`]) are the vault's privileged callers: messaging with
//! ingest scanning (participants only, quarantined content withheld from recipients), reports
//! and cases, staff roles, and grant-scoped review — a reviewer's grant, approved by someone
//! else (two approvers for a security investigation), covering the reported message and a few
//! before it, expiring, each open ledgered in the same transaction. See
//! `docs/trust-and-safety.md`.
//!
//! **Formats** (big-endian integers):
//!
//! ```text
//! sealed blob v1  = 0x01 | DEK generation u32 | nonce[12] | ciphertext | tag[16]
//!   AD            = "steward.sealed.v1\0" | blob[0..5] | kind u8 | item i64
//!                   | has-conversation u8 | conversation i64 | author i64
//! wrapped DEK v1  = 0x81 | KEK version u32 | DEK generation u32 | nonce[12] | key[32] | tag[16]
//!   AD            = "steward.dek.v1\0" | wrapped[0..9] | member i64
//! ```
//!
//! Nonces are 96 random bits from the operating system per seal. With one DEK per member, the
//! birthday bound (2^32 seals per key for a 2^-32 collision chance) is far beyond what one
//! member writes. Keys are wiped on drop ([`zeroize`]), their `Debug` shows no key bytes, and
//! they are written nowhere but the key file.

pub mod envelope;
pub mod erasure;
pub mod error;
pub mod keyring;
pub mod keystore;
pub mod reason;
pub mod safety;
pub mod store;
pub mod vault;

pub use envelope::{ContentKind, Plaintext, RowBinding, WrappedKey};
pub use erasure::{ErasureError, ErasureOutcome, Requester, erase_member};
pub use error::{KeyStoreError, VaultError};
pub use keyring::Keyring;
pub use keystore::{InMemoryKeyStore, MemberKeyState, MemberKeyStore};
pub use reason::{GrantHandle, GrantPurpose, OpenReason};
pub use safety::{Safety, SafetyConfig, SafetyError};
pub use store::{SEALING_SCHEME, TxKeyStore, VAULT_MIGRATIONS, VaultSealer};
pub use vault::{AccessRecord, ErasureReport, Opened, RotationReport, Vault};
