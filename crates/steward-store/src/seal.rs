//! The seam where private content is sealed on its way into the store.
//!
//! The store never sees a key: whoever writes private content hands in a [`Sealer`], and the
//! bytes it returns go into a `*_sealed` column untouched. The vault provides the real sealer
//! (envelope encryption with per-member keys). Until it does, tests and the generator use
//! [`PlaintextForTestsOnly`], which — as its name says — protects nothing.

use std::fmt;

use thiserror::Error;

/// Where a piece of private content will live, so a sealer can bind its ciphertext to the row
/// (associated data) and pick the author's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The table (`messages`, `attachments`, `private_notes`, `posts`).
    pub table: &'a str,
    /// The row's primary key.
    pub row_id: i64,
    /// The author, whose content key seals it.
    pub member_id: i64,
    /// The conversation (messages, attachments) or group (closed-group posts), if any.
    pub container_id: Option<i64>,
}

/// Opaque bytes produced by a [`Sealer`]. Printing shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBytes(Vec<u8>);

impl SealedBytes {
    /// Wraps bytes a sealer produced.
    pub fn from_sealer_output(bytes: Vec<u8>) -> SealedBytes {
        SealedBytes(bytes)
    }
    /// The stored bytes, for the vault (which opens them) and for storage.
    pub fn as_stored_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn into_stored_bytes(self) -> Vec<u8> {
        self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBytes(<{} bytes>)", self.0.len())
    }
}

/// Sealing failed; nothing is stored.
#[derive(Debug, Error)]
#[error("sealing failed: {0}")]
pub struct SealError(pub String);

impl SealError {
    pub fn code(&self) -> &'static str {
        "store.seal_failed"
    }
}

/// Turns plaintext private content into the bytes stored for it.
pub trait Sealer: Send + Sync {
    /// A short name recorded beside each sealed value (`sealing` column), so the opener knows
    /// which scheme and key version made it.
    fn scheme(&self) -> &str;
    fn seal(&self, context: &SealContext<'_>, plaintext: &[u8]) -> Result<SealedBytes, SealError>;
}

/// NOT A SEALER: stores the plaintext behind a marker prefix. Exists only so tests and the
/// generator can write private-content rows before the vault provides encryption. Anything
/// stored with it is readable by anyone holding the database file; its scheme name says so in
/// every row it writes, so such rows are easy to find and re-seal.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlaintextForTestsOnly;

impl PlaintextForTestsOnly {
    /// The marker prefix and the scheme name written to the `sealing` column.
    pub const SCHEME: &'static str = "plaintext-for-tests-only";
    const PREFIX: &'static [u8] = b"PLAINTEXT-FOR-TESTS-ONLY\0";

    /// Recovers the plaintext of bytes this non-sealer wrote (tests and the canary audit's
    /// self-checks only); `None` for anything else.
    pub fn unwrap_for_tests(stored: &[u8]) -> Option<&[u8]> {
        stored.strip_prefix(Self::PREFIX)
    }
}

impl Sealer for PlaintextForTestsOnly {
    fn scheme(&self) -> &str {
        Self::SCHEME
    }
    fn seal(&self, _: &SealContext<'_>, plaintext: &[u8]) -> Result<SealedBytes, SealError> {
        let mut out = Vec::with_capacity(Self::PREFIX.len() + plaintext.len());
        out.extend_from_slice(Self::PREFIX);
        out.extend_from_slice(plaintext);
        Ok(SealedBytes(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_sealer_round_trips_and_names_itself() {
        let ctx = SealContext {
            table: "messages",
            row_id: 1,
            member_id: 2,
            container_id: Some(3),
        };
        let s = PlaintextForTestsOnly.seal(&ctx, b"hello").unwrap();
        assert_eq!(
            PlaintextForTestsOnly::unwrap_for_tests(s.as_stored_bytes()),
            Some(&b"hello"[..])
        );
        assert_eq!(
            format!("{s:?}"),
            format!("SealedBytes(<{} bytes>)", s.len())
        );
        assert_eq!(PlaintextForTestsOnly.scheme(), "plaintext-for-tests-only");
        assert_eq!(PlaintextForTestsOnly::unwrap_for_tests(b"other"), None);
    }
}
