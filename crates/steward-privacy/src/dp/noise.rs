//! Consistent noise: the randomness for a query comes from a keyed hash of the query's
//! canonical form, so asking the same question twice gives the same answer and averaging
//! repeated answers gains nothing (LinkedIn's PriPeARL).
//!
//! A [`CanonicalQuery`] is a set of named fields (campaign, metric, breakdown cell, date
//! window, mechanism and its parameter...) encoded with length prefixes in name order, so
//! neither field order nor a separator inside a value can make two different questions
//! collide or one question look like two. [`NoiseKey::rng`] turns it into a ChaCha20 stream
//! seeded by HMAC-SHA-256(key, "steward-dp-v1" ‖ canonical bytes). Without the key the noise
//! is unpredictable; with the same key and question it is reproducible across runs and
//! versions (ChaCha20's output is fixed by its specification, unlike `StdRng`'s).

use std::collections::BTreeMap;

use chacha20::ChaCha20Rng;
use hmac::{Hmac, KeyInit, Mac};
use rand_core::SeedableRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::DpError;

const DOMAIN: &[u8] = b"steward-dp-v1";

/// The secret behind consistent noise. Zeroized on drop; `Debug` shows nothing of it.
#[derive(Clone)]
pub struct NoiseKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for NoiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoiseKey(..)")
    }
}

impl NoiseKey {
    pub fn from_bytes(bytes: [u8; 32]) -> NoiseKey {
        NoiseKey(Zeroizing::new(bytes))
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<NoiseKey, DpError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(DpError::InvalidParameter(
                "a noise key is 64 hex digits".to_owned(),
            ));
        }
        let mut out = Zeroizing::new([0u8; 32]);
        for (i, slot) in out.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).unwrap_or("");
            *slot = u8::from_str_radix(pair, 16).map_err(|_| {
                DpError::InvalidParameter("a noise key is 64 hex digits".to_owned())
            })?;
        }
        Ok(NoiseKey(out))
    }

    /// The key as hex, for whoever stores it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = String::with_capacity(64);
        for b in self.0.iter() {
            s.push_str(&format!("{b:02x}"));
        }
        Zeroizing::new(s)
    }

    /// The 32-byte seed of `query`'s noise stream.
    pub fn seed(&self, query: &CanonicalQuery) -> [u8; 32] {
        // HMAC accepts keys of any length; the fallback keeps the function total.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_slice()) else {
            return [0u8; 32];
        };
        mac.update(DOMAIN);
        mac.update(&query.bytes());
        let out = mac.finalize().into_bytes();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&out[..32]);
        seed
    }

    /// The noise stream of `query`: the same stream for the same key and question.
    pub fn rng(&self, query: &CanonicalQuery) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.seed(query))
    }

    /// The noise streams of `query` with one field, `field`, varying (a release's cells): the
    /// keyed hash of everything but that field is computed once, so each cell costs one hash
    /// of its own bytes and the hash's finalization. Each stream is the one
    /// `self.rng(&query.clone().with(field, value))` gives, bit for bit.
    pub fn cells(&self, query: &CanonicalQuery, field: &str) -> CellStreams {
        let mut before = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_slice()).ok();
        if let Some(mac) = before.as_mut() {
            mac.update(DOMAIN);
        }
        let mut after = Vec::new();
        for (name, value) in &query.fields {
            if name.as_str() < field {
                if let Some(mac) = before.as_mut() {
                    encode_field(name, value, |part| mac.update(part));
                }
            } else if name.as_str() > field {
                encode_field(name, value, |part| after.extend_from_slice(part));
            }
        }
        let mut name = Vec::new();
        encode_part(field.as_bytes(), |part| name.extend_from_slice(part));
        CellStreams {
            before,
            name,
            after,
        }
    }
}

/// The noise streams of one query's cells ([`NoiseKey::cells`]).
#[derive(Clone)]
pub struct CellStreams {
    /// The keyed hash after the domain and the fields that sort before the cell's field;
    /// `None` only if HMAC refused the key, where [`NoiseKey::seed`] falls back to zeros too.
    before: Option<Hmac<Sha256>>,
    /// The cell field's encoded name.
    name: Vec<u8>,
    /// The encoded fields that sort after the cell's field.
    after: Vec<u8>,
}

impl std::fmt::Debug for CellStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keyed-hash state is derived from the secret key: nothing of it is shown.
        f.write_str("CellStreams(..)")
    }
}

impl CellStreams {
    /// The 32-byte seed of the cell whose field has `value`.
    pub fn seed(&self, value: &str) -> [u8; 32] {
        let Some(mut mac) = self.before.clone() else {
            return [0u8; 32];
        };
        mac.update(&self.name);
        encode_part(value.as_bytes(), |part| mac.update(part));
        mac.update(&self.after);
        let out = mac.finalize().into_bytes();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&out[..32]);
        seed
    }

    /// The noise stream of the cell whose field has `value`.
    pub fn rng(&self, value: &str) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.seed(value))
    }
}

/// One part of the canonical encoding: u32-BE length, then the bytes.
fn encode_part(part: &[u8], mut sink: impl FnMut(&[u8])) {
    sink(&(part.len() as u32).to_be_bytes());
    sink(part);
}

/// One field of the canonical encoding: its name, then its value.
fn encode_field(name: &str, value: &str, mut sink: impl FnMut(&[u8])) {
    encode_part(name.as_bytes(), &mut sink);
    encode_part(value.as_bytes(), &mut sink);
}

/// A question in canonical form: named fields, each with one value, compared by content.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CanonicalQuery {
    fields: BTreeMap<String, String>,
}

impl CanonicalQuery {
    pub fn new() -> CanonicalQuery {
        CanonicalQuery::default()
    }

    /// Sets a field (a later value for the same name replaces the earlier one).
    pub fn with(mut self, name: &str, value: impl ToString) -> CanonicalQuery {
        self.fields.insert(name.to_owned(), value.to_string());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The canonical encoding: for each field in name order, u32-BE length + name, u32-BE
    /// length + value.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            encode_field(name, value, |part| out.extend_from_slice(part));
        }
        out
    }

    /// SHA-256 of the canonical encoding, hex: the id under which an accountant remembers
    /// that this question was already paid for.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let d = Sha256::digest(self.bytes());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn field_order_does_not_change_the_question() {
        let a = CanonicalQuery::new()
            .with("metric", "clicks")
            .with("cell", "x");
        let b = CanonicalQuery::new()
            .with("cell", "x")
            .with("metric", "clicks");
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn separators_inside_values_cannot_forge_another_question() {
        let a = CanonicalQuery::new().with("a", "b\0c");
        let b = CanonicalQuery::new().with("a", "b").with("c", "");
        assert_ne!(a.bytes(), b.bytes());
    }

    #[test]
    fn the_same_question_gets_the_same_stream_and_another_key_another() {
        let key = NoiseKey::from_bytes([9; 32]);
        let q = CanonicalQuery::new()
            .with("campaign", 4)
            .with("metric", "clicks");
        let mut r1 = key.rng(&q);
        let mut r2 = key.rng(&q);
        assert_eq!(r1.next_u64(), r2.next_u64());
        let other = NoiseKey::from_bytes([8; 32]);
        assert_ne!(key.seed(&q), other.seed(&q));
        assert_ne!(
            key.seed(&q),
            key.seed(&q.clone().with("metric", "impressions"))
        );
    }

    #[test]
    fn cell_streams_are_the_streams_of_the_query_with_the_cell() {
        let key = NoiseKey::from_bytes([5; 32]);
        for q in [
            CanonicalQuery::new(),
            CanonicalQuery::new().with("bench", "x"),
            CanonicalQuery::new().with("zeta", 1).with("alpha", "a"),
            CanonicalQuery::new()
                .with("cell", "old")
                .with("metric", "clicks"),
        ] {
            let cells = key.cells(&q, "cell");
            for value in ["", "a", "g17", "industry\u{1f}rust"] {
                assert_eq!(
                    cells.seed(value),
                    key.seed(&q.clone().with("cell", value)),
                    "{q:?} / {value}"
                );
                assert_eq!(
                    cells.rng(value).next_u64(),
                    key.rng(&q.clone().with("cell", value)).next_u64()
                );
            }
        }
    }

    #[test]
    fn keys_round_trip_through_hex_and_never_print() {
        let key = NoiseKey::from_bytes([0xab; 32]);
        let back = NoiseKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(
            back.seed(&CanonicalQuery::new()),
            key.seed(&CanonicalQuery::new())
        );
        assert_eq!(format!("{key:?}"), "NoiseKey(..)");
        assert!(NoiseKey::from_hex("zz").is_err());
    }
}
