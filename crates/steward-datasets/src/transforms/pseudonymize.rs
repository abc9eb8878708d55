//! Keyed pseudonyms for the member behind each row. The key is drawn fresh for every build
//! and never stored, so a pseudonym links rows of one release and nothing else: not another
//! release, not the member id.

use steward_privacy::pseudonym::ReleaseKey;

/// The domain a member pseudonym is derived in.
const DOMAIN: &str = "steward.datasets.member";
/// The domain item pseudonyms (posts a member engaged with) are derived in.
const ITEM_DOMAIN: &str = "steward.datasets.item";

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

    /// The pseudonym of item `id` of `kind` (`post`, `job`, `company`): `kind:` and 16 hex
    /// digits, in a domain of its own so an item never shares a pseudonym with a member.
    pub fn item(&self, kind: &str, id: i64) -> String {
        let mut input = Vec::with_capacity(kind.len() + 9);
        input.extend_from_slice(kind.as_bytes());
        input.push(0);
        input.extend_from_slice(&id.to_be_bytes());
        format!(
            "{kind}:{}",
            self.0.pseudonym(ITEM_DOMAIN, &input).short_hex(8)
        )
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
        assert_eq!(a.item("post", 42), a.item("post", 42));
        assert_ne!(a.item("post", 42), a.item("job", 42));
        assert_ne!(a.item("post", 42), b.item("post", 42));
        assert!(a.item("post", 42).starts_with("post:"));
        assert!(!a.item("post", 42).ends_with(&a.member(42)));
    }
}
