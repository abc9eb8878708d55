//! Keyed pseudonyms for the member behind each row. The key is drawn fresh for every build
//! and never stored, so a pseudonym links rows of one release and nothing else: not another
//! release, not the member id.

use steward_privacy::pseudonym::ReleaseKey;

/// The domain a member pseudonym is derived in.
const DOMAIN: &str = "steward.datasets.member";

/// A per-build key, random and held only in memory (zeroized on drop by the privacy crate).
#[derive(Debug)]
pub struct BuildKey(ReleaseKey);

impl BuildKey {
    pub fn random() -> BuildKey {
        BuildKey(ReleaseKey::from_bytes(rand::random::<[u8; 32]>()))
    }

    /// A fixed key, for tests that need stable pseudonyms.
    pub fn from_bytes(bytes: [u8; 32]) -> BuildKey {
        BuildKey(ReleaseKey::from_bytes(bytes))
    }

    /// The pseudonym of `member`: 16 hex digits (64 bits) of HMAC-SHA-256.
    pub fn member(&self, member: i64) -> String {
        self.0.pseudonym(DOMAIN, &member.to_be_bytes()).short_hex(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_within_a_key_and_differ_across_keys() {
        let a = BuildKey::from_bytes([1; 32]);
        let b = BuildKey::from_bytes([2; 32]);
        assert_eq!(a.member(42), a.member(42));
        assert_ne!(a.member(42), a.member(43));
        assert_ne!(a.member(42), b.member(42));
        assert_eq!(a.member(42).len(), 16);
        assert!(!a.member(42).contains("42"));
    }
}
