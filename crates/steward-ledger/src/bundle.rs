//! Self-contained proof files: an entry, its inclusion proof and the signed checkpoint it is
//! proven against, in a line-based text format that a few lines of Python can check
//! (`scripts/verify-ledger-proof.py`; format in `docs/ledger-format.md`).
//!
//! ```text
//! steward-ledger-proof 1
//! seq 7
//! size 100
//! entry <base64 canonical entry bytes>
//! path <base64 hash>            one line per proof hash, leaf side first
//! checkpoint                    the signed note follows verbatim to the end of the file
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{Checkpoint, CheckpointVerifier};
use crate::entry::Entry;
use crate::error::LedgerError;
use crate::hash::{Hash, leaf_hash};
use crate::merkle::verify_inclusion;

const HEADER: &str = "steward-ledger-proof 1";

/// An entry with the proof that it is in the log described by a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionBundle {
    pub seq: u64,
    pub size: u64,
    /// Canonical entry bytes.
    pub entry: Vec<u8>,
    pub path: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

fn malformed(detail: impl Into<String>) -> LedgerError {
    LedgerError::ProofMalformed {
        detail: detail.into(),
    }
}

impl InclusionBundle {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{HEADER}\nseq {}\nsize {}\nentry {}\n",
            self.seq,
            self.size,
            BASE64.encode(&self.entry)
        );
        for h in &self.path {
            out.push_str("path ");
            out.push_str(&BASE64.encode(h.0));
            out.push('\n');
        }
        out.push_str("checkpoint\n");
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<InclusionBundle, LedgerError> {
        let Some((head, checkpoint)) = text.split_once("\ncheckpoint\n") else {
            return Err(malformed("no `checkpoint` line"));
        };
        let mut lines = head.lines();
        if lines.next() != Some(HEADER) {
            return Err(malformed(format!("the first line must be `{HEADER}`")));
        }
        let mut field = |name: &str| -> Result<String, LedgerError> {
            let line = lines
                .next()
                .ok_or_else(|| malformed(format!("missing `{name}`")))?;
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| malformed(format!("expected `{name}`, found `{line}`")))
        };
        let number = |s: String, name: &str| {
            s.parse::<u64>()
                .map_err(|_| malformed(format!("bad {name} `{s}`")))
        };
        let seq = number(field("seq")?, "seq")?;
        let size = number(field("size")?, "size")?;
        let entry = BASE64
            .decode(field("entry")?)
            .map_err(|_| malformed("entry is not base64"))?;
        let mut path = Vec::new();
        for line in lines {
            let b64 = line
                .strip_prefix("path ")
                .ok_or_else(|| malformed(format!("unexpected line `{line}`")))?;
            let raw = BASE64
                .decode(b64)
                .map_err(|_| malformed("path hash is not base64"))?;
            path.push(Hash::from_slice(&raw)?);
        }
        Ok(InclusionBundle {
            seq,
            size,
            entry,
            path,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Checks everything offline: the checkpoint signature, that the proof is for the
    /// checkpoint's tree size, that the entry decodes and carries the claimed sequence
    /// number, and that the inclusion proof leads to the signed root.
    pub fn verify(
        &self,
        verifier: &CheckpointVerifier,
    ) -> Result<(Entry, Checkpoint), LedgerError> {
        let checkpoint = verifier.verify(&self.checkpoint)?;
        if checkpoint.size != self.size {
            return Err(LedgerError::ProofInvalid {
                detail: format!(
                    "proof is for a tree of {} entries, the checkpoint signs {}",
                    self.size, checkpoint.size
                ),
            });
        }
        let entry = Entry::decode(&self.entry)?;
        if entry.seq != self.seq {
            return Err(LedgerError::ProofInvalid {
                detail: format!(
                    "entry carries sequence number {}, not {}",
                    entry.seq, self.seq
                ),
            });
        }
        verify_inclusion(
            self.seq,
            self.size,
            &leaf_hash(&self.entry),
            &self.path,
            &checkpoint.root,
        )?;
        Ok((entry, checkpoint))
    }
}

const CONSISTENCY_HEADER: &str = "steward-ledger-consistency 1";

/// Proof that the log described by a newer checkpoint extends the one described by an older
/// checkpoint: an auditor who kept the old checkpoint checks the new one without the log.
///
/// ```text
/// steward-ledger-consistency 1
/// path <base64 hash>            one line per proof hash (RFC 9162 §2.1.4 order)
/// old                           the older signed note follows, then
/// new                           the newer signed note, to the end of the file
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyBundle {
    pub path: Vec<Hash>,
    pub old_checkpoint: String,
    pub new_checkpoint: String,
}

impl ConsistencyBundle {
    pub fn to_text(&self) -> String {
        let mut out = format!("{CONSISTENCY_HEADER}\n");
        for h in &self.path {
            out.push_str("path ");
            out.push_str(&BASE64.encode(h.0));
            out.push('\n');
        }
        out.push_str("old\n");
        out.push_str(&self.old_checkpoint);
        out.push_str("new\n");
        out.push_str(&self.new_checkpoint);
        out
    }

    /// Whether `text` looks like a consistency proof file (rather than an inclusion proof).
    pub fn is_consistency(text: &str) -> bool {
        text.starts_with(CONSISTENCY_HEADER)
    }

    pub fn parse(text: &str) -> Result<ConsistencyBundle, LedgerError> {
        let Some(rest) = text
            .strip_prefix(CONSISTENCY_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
        else {
            return Err(malformed(format!(
                "the first line must be `{CONSISTENCY_HEADER}`"
            )));
        };
        let Some(old_at) = rest
            .find("old\n")
            .filter(|i| *i == 0 || rest[..*i].ends_with('\n'))
        else {
            return Err(malformed("no `old` line"));
        };
        let mut path = Vec::new();
        for line in rest[..old_at].lines() {
            let b64 = line
                .strip_prefix("path ")
                .ok_or_else(|| malformed(format!("unexpected line `{line}`")))?;
            let raw = BASE64
                .decode(b64)
                .map_err(|_| malformed("path hash is not base64"))?;
            path.push(Hash::from_slice(&raw)?);
        }
        let notes = &rest[old_at + 4..];
        let Some((old_checkpoint, new_checkpoint)) = notes.split_once("\nnew\n") else {
            return Err(malformed("no `new` line"));
        };
        Ok(ConsistencyBundle {
            path,
            old_checkpoint: format!("{old_checkpoint}\n"),
            new_checkpoint: new_checkpoint.to_owned(),
        })
    }

    /// Checks both signatures, that both checkpoints name the same log, and the consistency
    /// proof between them.
    pub fn verify(
        &self,
        verifier: &CheckpointVerifier,
    ) -> Result<(Checkpoint, Checkpoint), LedgerError> {
        let old = verifier.verify(&self.old_checkpoint)?;
        let new = verifier.verify(&self.new_checkpoint)?;
        if old.origin != new.origin {
            return Err(LedgerError::ProofInvalid {
                detail: format!(
                    "checkpoints of different logs: `{}` and `{}`",
                    old.origin, new.origin
                ),
            });
        }
        crate::merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &self.path)?;
        Ok((old, new))
    }
}
