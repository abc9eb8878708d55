//! Tamper-evident audit log: Merkle tree, signed checkpoints, inclusion and consistency proofs
pub mod checkpoint;
pub mod entry;
pub mod error;
pub mod hash;
pub mod memberset;
pub mod merkle;
