//! Tamper-evident audit log: Merkle tree, signed checkpoints, inclusion and consistency proofs
