//! The ledger's typed errors, each with a stable code.

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("bad hash: {detail}")]
    BadHash { detail: String },
    #[error("tree size {size} is out of range (the tree has {available} leaves)")]
    SizeOutOfRange { size: u64, available: u64 },
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof does not verify: {detail}")]
    ProofInvalid { detail: String },
    #[error("malformed ledger entry: {detail}")]
    EntryMalformed { detail: String },
    #[error("invalid ledger entry: {detail}")]
    EntryInvalid { detail: String },
    #[error("malformed checkpoint: {detail}")]
    CheckpointMalformed { detail: String },
    #[error("checkpoint signature does not verify: {detail}")]
    SignatureInvalid { detail: String },
    #[error("malformed key: {detail}")]
    KeyMalformed { detail: String },
    #[error("malformed proof file: {detail}")]
    ProofMalformed { detail: String },
    #[error("member set is not sorted and unique at position {position}")]
    MemberSetUnsorted { position: usize },
    #[error("member set `{set_id}` not found")]
    MemberSetNotFound { set_id: String },
    #[error("ledger entry {seq} not found")]
    EntryNotFound { seq: u64 },
    #[error("no checkpoint has been signed yet")]
    NoCheckpoint,
    #[error("ledger storage failed: {detail}")]
    Storage { detail: String },
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
}

impl LedgerError {
    /// A stable identifier for the kind of error, for scripts and HTTP answers.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::BadHash { .. } => "ledger.bad_hash",
            LedgerError::SizeOutOfRange { .. } => "ledger.size_out_of_range",
            LedgerError::IndexOutOfRange { .. } => "ledger.index_out_of_range",
            LedgerError::ProofInvalid { .. } => "ledger.proof_invalid",
            LedgerError::EntryMalformed { .. } => "ledger.entry_malformed",
            LedgerError::EntryInvalid { .. } => "ledger.entry_invalid",
            LedgerError::CheckpointMalformed { .. } => "ledger.checkpoint_malformed",
            LedgerError::SignatureInvalid { .. } => "ledger.signature_invalid",
            LedgerError::KeyMalformed { .. } => "ledger.key_malformed",
            LedgerError::ProofMalformed { .. } => "ledger.proof_malformed",
            LedgerError::MemberSetUnsorted { .. } => "ledger.member_set_unsorted",
            LedgerError::MemberSetNotFound { .. } => "ledger.member_set_not_found",
            LedgerError::EntryNotFound { .. } => "ledger.entry_not_found",
            LedgerError::NoCheckpoint => "ledger.no_checkpoint",
            LedgerError::Storage { .. } => "ledger.storage",
            LedgerError::Store(e) => e.code(),
        }
    }
}
