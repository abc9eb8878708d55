//! The hash type and the RFC 6962 domain-separated leaf and node hashes.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::LedgerError;

/// A SHA-256 digest: a leaf hash, a node hash, a tree root or a member-set digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
    pub fn empty_tree() -> Hash {
        Hash(Sha256::digest([]).into())
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Hash, LedgerError> {
        let bytes = hex::decode(text.trim()).map_err(|e| LedgerError::BadHash {
            detail: format!("`{}`: {e}", text.trim()),
        })?;
        Hash::from_slice(&bytes)
    }

    /// Takes exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, LedgerError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| LedgerError::BadHash {
            detail: format!("expected 32 bytes, got {}", bytes.len()),
        })?;
        Ok(Hash(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// `SHA-256(0x00 || data)`: the hash of a leaf (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One 65-byte buffer, so the hasher sees a single update: measurably faster than three.
    let mut buffer = [0u8; 65];
    buffer[0] = 0x01;
    buffer[1..33].copy_from_slice(&left.0);
    buffer[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buffer).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_is_sha256_of_nothing() {
        assert_eq!(
            Hash::empty_tree().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let a = leaf_hash(b"");
        // RFC 6962 reference: the hash of the empty leaf.
        assert_eq!(
            a.to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(&a.0);
        concatenated.extend_from_slice(&a.0);
        assert_ne!(node_hash(&a, &a), leaf_hash(&concatenated));
    }

    #[test]
    fn bad_hex_is_an_error_not_a_panic() {
        assert_eq!(
            Hash::from_hex("zz").map_err(|e| e.code()),
            Err("ledger.bad_hash")
        );
        assert_eq!(
            Hash::from_hex("abcd").map_err(|e| e.code()),
            Err("ledger.bad_hash")
        );
    }
}
