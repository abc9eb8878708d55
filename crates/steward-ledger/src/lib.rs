//! Tamper-evident audit log: Merkle tree, signed checkpoints, inclusion and consistency proofs
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
