//! Steward's ledger: a tamper-evident audit log of every privileged access, release and
//! policy change, with proofs a member or an auditor can check without trusting us.
//!
//! The design follows Certificate Transparency. Each entry has one canonical byte encoding
//! ([`entry`]); its SHA-256 leaf hash goes into an RFC 6962 / RFC 9162 Merkle tree
//! ([`merkle`]); the tree's size and root are signed with Ed25519 as a C2SP checkpoint
//! ([`checkpoint`]). Anyone holding a checkpoint can then be shown that an entry is in the log
//! (an inclusion proof) and that a later checkpoint extends an earlier one (a consistency
//! proof), in O(log n) hashes. The bytes are specified in `docs/ledger-format.md`, and
//! `scripts/verify-ledger-proof.py` checks our proofs with nothing but Python.
//!
//! Three decisions shape the crate:
//!
//! * **The ledger writes through the caller's store transaction.** [`Ledger::append`] takes the
//!   store's `Tx`, so an access and its entry commit together or not at all; [`group`] batches
//!   stand-alone entries into one commit for throughput, acknowledging each only once durable.
//!   The database is the only state, so any process can append, checkpoint or verify.
//! * **The signing key comes in as bytes.** The vault owns the keyring; this crate never reads
//!   key files, so crates that must not reach the vault (datasets, ads) can depend on it.
//! * **Members are found without listing millions of ids.** A batch release records a member
//!   set as a Merkle digest plus a stored table ([`memberset`]); a member gets a proof that they
//!   were — or were not — in it, next to the proof that the release entry is in the log.
//!
//! [`verify`] recomputes everything from the stored entries and names the first bad sequence
//! number for each kind of tampering; what it can and cannot pin down is explained there.

pub mod audit;
pub mod bundle;
pub mod checkpoint;
pub mod entry;
pub mod error;
pub mod group;
pub mod hash;
pub mod ledger;
pub mod memberset;
pub mod merkle;
pub mod schema;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
pub use entry::{Entry, Subjects};
pub use error::LedgerError;
pub use hash::Hash;
pub use ledger::{AccessHistory, HistoryItem, Ledger};
pub use memberset::{MemberSet, Membership};
pub use verify::{ProblemKind, VerifyReport};
