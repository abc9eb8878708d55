//! Keyed pseudonyms: HMAC-SHA-256 of an identifier under a per-release key.
//!
//! A release (one dataset build, one export) gets its own [`ReleaseKey`], derived from a
//! long-lived [`MasterKey`] and the release's name. Within a release the same identifier always
//! maps to the same pseudonym, so joins inside the release still work; across releases the keys
//! differ, so two releases cannot be linked on pseudonyms unless they were deliberately built
//! under the same release name. Without the key a pseudonym reveals nothing but equality, and
//! HMAC (unlike a bare hash) cannot be reversed by hashing every known member id.
//!
//! Keys live in [`zeroize::Zeroizing`] buffers and are wiped when dropped; their `Debug` output
//! never shows the bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Why a key could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PseudonymError {
    /// A hex key had the wrong length or a non-hex character.
    #[error("a key must be 64 hex characters (32 bytes), got {0} characters or a non-hex digit")]
    BadKeyHex(usize),
    /// A release name was empty.
    #[error("a release name must not be empty")]
    EmptyRelease,
}

impl PseudonymError {
    /// Stable code for scripts and logs.
    pub fn code(&self) -> &'static str {
        match self {
            PseudonymError::BadKeyHex(_) => "pseudonym.bad_key",
            PseudonymError::EmptyRelease => "pseudonym.empty_release",
        }
    }
}

/// The long-lived secret from which release keys are derived. Wiped on drop.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Takes ownership of 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(hex: &str) -> Result<MasterKey, PseudonymError> {
        Ok(MasterKey::from_bytes(parse_hex_32(hex)?))
    }

    /// The key of one release: HMAC(master, "steward/pseudonym/release\0" ‖ name). Different
    /// names give independent keys; the same name always gives the same key.
    pub fn release_key(&self, release: &str) -> Result<ReleaseKey, PseudonymError> {
        if release.is_empty() {
            return Err(PseudonymError::EmptyRelease);
        }
        let mut mac = hmac_with(&self.bytes[..]);
        mac.update(b"steward/pseudonym/release\0");
        mac.update(release.as_bytes());
        Ok(ReleaseKey::from_bytes(finish(mac)))
    }
}

/// The key of one release. Wiped on drop.
pub struct ReleaseKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for ReleaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReleaseKey(..)")
    }
}

impl ReleaseKey {
    /// Takes ownership of 32 secret bytes (for a key stored elsewhere, e.g. the vault).
    pub fn from_bytes(bytes: [u8; 32]) -> ReleaseKey {
        ReleaseKey {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(hex: &str) -> Result<ReleaseKey, PseudonymError> {
        Ok(ReleaseKey::from_bytes(parse_hex_32(hex)?))
    }

    /// The pseudonym of `identifier` in `domain` (e.g. `"member"`, `"EMAIL_ADDRESS"`). The
    /// domain keeps equal strings of different kinds apart; a NUL separates the two so that
    /// (`"ab"`, `"c"`) and (`"a"`, `"bc"`) cannot collide.
    pub fn pseudonym(&self, domain: &str, identifier: &[u8]) -> Pseudonym {
        let mut mac = hmac_with(&self.bytes[..]);
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(identifier);
        Pseudonym(finish(mac))
    }
}

/// A 256-bit pseudonym. Equal identifiers under the same key and domain give equal pseudonyms.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(pub [u8; 32]);

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pseudonym({})", self.short_hex(8))
    }
}

impl Pseudonym {
    /// All 64 hex characters.
    pub fn to_hex(&self) -> String {
        self.short_hex(32)
    }

    /// The first `bytes` bytes as hex (at most 32): short forms for placeholders in text, where
    /// 8 bytes (64 bits) keep accidental collisions negligible for any realistic release.
    pub fn short_hex(&self, bytes: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.min(32) * 2);
        for b in self.0.iter().take(bytes) {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        s
    }
}

fn hmac_with(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length, so `new_from_slice` cannot fail here; the match
    // only exists because the API is general. A 32-byte key is always accepted.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
    }
}

fn finish(mac: HmacSha256) -> [u8; 32] {
    let tag = mac.finalize().into_bytes();
    let mut out = [0u8; 32];
    out.copy_from_slice(&tag[..]);
    out
}

fn parse_hex_32(hex: &str) -> Result<[u8; 32], PseudonymError> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return Err(PseudonymError::BadKeyHex(hex.len()));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or(PseudonymError::BadKeyHex(hex.len()))?;
        let lo = hex_value(pair[1]).ok_or(PseudonymError::BadKeyHex(hex.len()))?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = hmac_with(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        let tag = Pseudonym(finish(mac)).to_hex();
        assert_eq!(
            tag,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn stable_within_a_release() {
        let master = MasterKey::from_hex(MASTER).unwrap();
        let a = master.release_key("2026-11").unwrap();
        let b = master.release_key("2026-11").unwrap();
        assert_eq!(
            a.pseudonym("member", b"m-42"),
            b.pseudonym("member", b"m-42")
        );
        assert_ne!(
            a.pseudonym("member", b"m-42"),
            a.pseudonym("member", b"m-43")
        );
    }

    #[test]
    fn unlinkable_across_releases_and_domains() {
        let master = MasterKey::from_hex(MASTER).unwrap();
        let a = master.release_key("2026-11").unwrap();
        let b = master.release_key("2026-12").unwrap();
        assert_ne!(
            a.pseudonym("member", b"m-42"),
            b.pseudonym("member", b"m-42")
        );
        assert_ne!(
            a.pseudonym("member", b"m-42"),
            a.pseudonym("email", b"m-42")
        );
        // The separator keeps domain and identifier apart.
        assert_ne!(a.pseudonym("ab", b"c"), a.pseudonym("a", b"bc"));
    }

    #[test]
    fn bad_keys_are_rejected_with_a_code() {
        let e = MasterKey::from_hex("abcd").unwrap_err();
        assert_eq!(e.code(), "pseudonym.bad_key");
        let bad_digit = format!("{}zz", &MASTER[..62]);
        assert_eq!(
            ReleaseKey::from_hex(&bad_digit).unwrap_err(),
            PseudonymError::BadKeyHex(64)
        );
        let master = MasterKey::from_hex(MASTER).unwrap();
        assert_eq!(
            master.release_key("").unwrap_err().code(),
            "pseudonym.empty_release"
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = ReleaseKey::from_hex(MASTER).unwrap();
        let shown = format!("{key:?} {:?}", MasterKey::from_hex(MASTER).unwrap());
        assert!(!shown.contains("0001"));
    }
}
