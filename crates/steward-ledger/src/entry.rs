//! Ledger entries and their canonical byte encoding (specified in `docs/ledger-format.md`).
//!
//! The encoding is length-prefixed binary in a fixed field order rather than canonical JSON:
//! there is exactly one encoding per entry, a verifier needs only `struct.unpack` to read it,
//! and no escaping or number-formatting rule can differ between implementations.

use crate::error::LedgerError;
use crate::hash::{Hash, leaf_hash};

/// The first byte of every encoded entry; a new layout gets a new version.
pub const ENTRY_FORMAT_VERSION: u8 = 1;

const SUBJECTS_MEMBERS: u8 = 0;
const SUBJECTS_MEMBER_SET: u8 = 1;

/// Who an entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subjects {
    /// Member ids named one by one, strictly ascending (empty for entries about no member,
    /// such as a policy load).
    Members(Vec<u64>),
    /// A batch release: the digest of a stored member set (see [`crate::memberset`]), its
    /// size and the id under which the set is stored.
    MemberSet {
        digest: Hash,
        count: u64,
        set_id: String,
    },
}

impl Subjects {
    /// No member.
    pub fn none() -> Subjects {
        Subjects::Members(Vec::new())
    }

    /// Members named one by one, in any order; duplicates are dropped.
    pub fn members(ids: impl IntoIterator<Item = u64>) -> Subjects {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        Subjects::Members(ids)
    }

    /// Whether `member` is named directly (a member set is looked up separately).
    pub fn names(&self, member: u64) -> bool {
        match self {
            Subjects::Members(ids) => ids.binary_search(&member).is_ok(),
            Subjects::MemberSet { .. } => false,
        }
    }
}

/// One ledger entry: who did what to whose data, for which purpose, under which policy.
///
/// Holds member ids, so it deliberately does not implement `Serialize`: the CLI and the
/// server choose what leaves the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log (0-based; equal to the leaf index). Assigned by the ledger when
    /// the entry is appended; the value passed to `append` is ignored.
    pub seq: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: u64,
    /// Who acted: a member id, a staff account, a service name.
    pub actor: String,
    /// The actor's role when acting (`member`, `reviewer`, `engineer`, `system`, ...).
    pub role: String,
    /// The purpose the access was made for (`member.self_access`, `ai.training`, ...).
    pub purpose: String,
    /// What happened (`read`, `export`, `consent.change`, `policy.load`, `release`, ...).
    pub action: String,
    pub subjects: Subjects,
    /// Data categories touched, strictly ascending.
    pub categories: Vec<String>,
    /// Why, in the actor's words (may be empty).
    pub justification: String,
    /// The active policy version when the access was decided.
    pub policy_version: String,
    /// The release, grant or case id this entry belongs to (empty if none).
    pub reference: String,
    /// `allowed`, `denied`, `ok`, `failed`, ...
    pub outcome: String,
    /// A short machine-readable summary (e.g. a policy diff's counts, exclusions by reason),
    /// written by the caller; may be empty.
    pub details: String,
}

impl Entry {
    /// An entry with the required fields set and everything else empty.
    pub fn new(
        time_ms: u64,
        actor: impl Into<String>,
        role: impl Into<String>,
        purpose: impl Into<String>,
        action: impl Into<String>,
    ) -> Entry {
        Entry {
            seq: 0,
            time_ms,
            actor: actor.into(),
            role: role.into(),
            purpose: purpose.into(),
            action: action.into(),
            subjects: Subjects::none(),
            categories: Vec::new(),
            justification: String::new(),
            policy_version: String::new(),
            reference: String::new(),
            outcome: String::new(),
            details: String::new(),
        }
    }

    /// Sorts and de-duplicates the lists, so that any entry a caller builds encodes.
    pub fn normalize(&mut self) {
        self.categories.sort_unstable();
        self.categories.dedup();
        if let Subjects::Members(ids) = &mut self.subjects {
            ids.sort_unstable();
            ids.dedup();
        }
    }

    /// The canonical bytes of this entry (see `docs/ledger-format.md`).
    pub fn encode(&self) -> Result<Vec<u8>, LedgerError> {
        let mut out = Vec::with_capacity(128 + self.justification.len() + self.details.len());
        out.push(ENTRY_FORMAT_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_str(&mut out, "actor", &self.actor)?;
        put_str(&mut out, "role", &self.role)?;
        put_str(&mut out, "purpose", &self.purpose)?;
        put_str(&mut out, "action", &self.action)?;
        match &self.subjects {
            Subjects::Members(ids) => {
                if let Some(i) = first_unsorted(ids) {
                    return Err(invalid(format!(
                        "subject member ids must be strictly ascending (position {i})"
                    )));
                }
                out.push(SUBJECTS_MEMBERS);
                put_len(&mut out, "subjects", ids.len())?;
                for id in ids {
                    out.extend_from_slice(&id.to_be_bytes());
                }
            }
            Subjects::MemberSet {
                digest,
                count,
                set_id,
            } => {
                out.push(SUBJECTS_MEMBER_SET);
                out.extend_from_slice(&digest.0);
                out.extend_from_slice(&count.to_be_bytes());
                put_str(&mut out, "set_id", set_id)?;
            }
        }
        if let Some(i) = first_unsorted(&self.categories) {
            return Err(invalid(format!(
                "categories must be strictly ascending (position {i})"
            )));
        }
        put_len(&mut out, "categories", self.categories.len())?;
        for category in &self.categories {
            put_str(&mut out, "category", category)?;
        }
        put_str(&mut out, "justification", &self.justification)?;
        put_str(&mut out, "policy_version", &self.policy_version)?;
        put_str(&mut out, "reference", &self.reference)?;
        put_str(&mut out, "outcome", &self.outcome)?;
        put_str(&mut out, "details", &self.details)?;
        Ok(out)
    }

    /// Parses canonical bytes. Anything that is not the one canonical encoding of some
    /// entry (unknown version, truncation, trailing bytes, unsorted lists, bad UTF-8) is
    /// rejected, so equal entries always have equal bytes and equal leaf hashes.
    pub fn decode(bytes: &[u8]) -> Result<Entry, LedgerError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8("version")?;
        if version != ENTRY_FORMAT_VERSION {
            return Err(malformed(format!("unknown entry format version {version}")));
        }
        let seq = r.u64("seq")?;
        let time_ms = r.u64("time_ms")?;
        let actor = r.string("actor")?;
        let role = r.string("role")?;
        let purpose = r.string("purpose")?;
        let action = r.string("action")?;
        let subjects = match r.u8("subjects kind")? {
            SUBJECTS_MEMBERS => {
                let n = r.len("subjects")?;
                // Each id needs 8 bytes: refuse counts the input cannot hold before
                // allocating, so a hostile length cannot exhaust memory.
                if n > r.remaining() / 8 {
                    return Err(malformed("subject count exceeds the entry length".into()));
                }
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    ids.push(r.u64("subject")?);
                }
                if let Some(i) = first_unsorted(&ids) {
                    return Err(malformed(format!(
                        "subject member ids not strictly ascending at position {i}"
                    )));
                }
                Subjects::Members(ids)
            }
            SUBJECTS_MEMBER_SET => {
                let digest = Hash(r.array("member set digest")?);
                let count = r.u64("member set count")?;
                let set_id = r.string("set_id")?;
                Subjects::MemberSet {
                    digest,
                    count,
                    set_id,
                }
            }
            other => return Err(malformed(format!("unknown subjects kind {other}"))),
        };
        let n = r.len("categories")?;
        if n > r.remaining() / 4 {
            return Err(malformed("category count exceeds the entry length".into()));
        }
        let mut categories = Vec::with_capacity(n);
        for _ in 0..n {
            categories.push(r.string("category")?);
        }
        if let Some(i) = first_unsorted(&categories) {
            return Err(malformed(format!(
                "categories not strictly ascending at position {i}"
            )));
        }
        let entry = Entry {
            seq,
            time_ms,
            actor,
            role,
            purpose,
            action,
            subjects,
            categories,
            justification: r.string("justification")?,
            policy_version: r.string("policy_version")?,
            reference: r.string("reference")?,
            outcome: r.string("outcome")?,
            details: r.string("details")?,
        };
        if r.remaining() != 0 {
            return Err(malformed(format!("{} trailing bytes", r.remaining())));
        }
        Ok(entry)
    }

    /// The Merkle leaf hash of this entry's canonical bytes.
    pub fn leaf_hash(&self) -> Result<Hash, LedgerError> {
        Ok(leaf_hash(&self.encode()?))
    }
}

/// The sequence number stored inside canonical entry bytes, read without decoding the rest
/// (verification checks it against the row's position on every entry).
pub fn encoded_seq(bytes: &[u8]) -> Option<u64> {
    if bytes.first() != Some(&ENTRY_FORMAT_VERSION) {
        return None;
    }
    let seq: [u8; 8] = bytes.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(seq))
}

fn first_unsorted<T: Ord>(items: &[T]) -> Option<usize> {
    items.windows(2).position(|w| w[0] >= w[1]).map(|i| i + 1)
}

fn invalid(detail: String) -> LedgerError {
    LedgerError::EntryInvalid { detail }
}

fn malformed(detail: String) -> LedgerError {
    LedgerError::EntryMalformed { detail }
}

fn put_len(out: &mut Vec<u8>, field: &str, len: usize) -> Result<(), LedgerError> {
    let len = u32::try_from(len).map_err(|_| invalid(format!("`{field}` is too long")))?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_str(out: &mut Vec<u8>, field: &str, value: &str) -> Result<(), LedgerError> {
    put_len(out, field, value.len())?;
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, field: &str, n: usize) -> Result<&[u8], LedgerError> {
        if self.remaining() < n {
            return Err(malformed(format!("truncated in `{field}`")));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], LedgerError> {
        let slice = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self, field: &str) -> Result<u8, LedgerError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u64(&mut self, field: &str) -> Result<u64, LedgerError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    fn len(&mut self, field: &str) -> Result<usize, LedgerError> {
        let n = u32::from_be_bytes(self.array(field)?);
        usize::try_from(n).map_err(|_| malformed(format!("`{field}` length overflows")))
    }

    fn string(&mut self, field: &str) -> Result<String, LedgerError> {
        let n = self.len(field)?;
        let bytes = self.take(field, n)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| malformed(format!("`{field}` is not valid UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Entry {
        let mut e = Entry::new(
            1_764_000_000_000,
            "staff:417",
            "reviewer",
            "safety.report_review",
            "message.open",
        );
        e.seq = 7;
        e.subjects = Subjects::members([42, 7]);
        e.categories = vec!["member.content.private_message".into()];
        e.justification = "reported message, case 991".into();
        e.policy_version = "2026-11-01".into();
        e.reference = "grant:55".into();
        e.outcome = "allowed".into();
        e
    }

    #[test]
    fn round_trips() {
        let e = sample();
        let bytes = e.encode().unwrap();
        assert_eq!(Entry::decode(&bytes).unwrap(), e);
        assert_eq!(encoded_seq(&bytes), Some(7));
        let mut batch = sample();
        batch.subjects = Subjects::MemberSet {
            digest: Hash([9; 32]),
            count: 1_000_000,
            set_id: "dataset:jobs-2026-11".into(),
        };
        assert_eq!(Entry::decode(&batch.encode().unwrap()).unwrap(), batch);
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_rejected() {
        let bytes = sample().encode().unwrap();
        for n in 0..bytes.len() {
            let err = Entry::decode(&bytes[..n]).unwrap_err();
            assert_eq!(err.code(), "ledger.entry_malformed", "truncated to {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Entry::decode(&longer).unwrap_err().code(),
            "ledger.entry_malformed"
        );
    }

    #[test]
    fn non_canonical_lists_are_rejected_both_ways() {
        let mut e = sample();
        e.subjects = Subjects::Members(vec![42, 7]);
        assert_eq!(e.encode().unwrap_err().code(), "ledger.entry_invalid");
        e.subjects = Subjects::Members(vec![7, 7]);
        assert_eq!(e.encode().unwrap_err().code(), "ledger.entry_invalid");
        e.normalize();
        assert_eq!(e.subjects, Subjects::Members(vec![7]));
        // Hand-build bytes with descending ids: decode must refuse them.
        let mut bytes = sample().encode().unwrap();
        let first_id = 1 + 8 + 8 + [9usize, 8, 20, 12].iter().map(|n| 4 + n).sum::<usize>() + 1 + 4;
        bytes[first_id..first_id + 8].copy_from_slice(&100u64.to_be_bytes());
        assert_eq!(
            Entry::decode(&bytes).unwrap_err().code(),
            "ledger.entry_malformed"
        );
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        let mut bytes = vec![ENTRY_FORMAT_VERSION];
        bytes.extend_from_slice(&[0; 16]);
        for _ in 0..4 {
            bytes.extend_from_slice(&0u32.to_be_bytes());
        }
        bytes.push(SUBJECTS_MEMBERS);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Entry::decode(&bytes).unwrap_err().code(),
            "ledger.entry_malformed"
        );
        assert_eq!(
            Entry::decode(&[2]).unwrap_err().code(),
            "ledger.entry_malformed"
        );
    }
}
