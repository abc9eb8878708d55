//! Full verification of a stored ledger: recompute every leaf and the tree, check every
//! checkpoint's signature and root, and name the first bad sequence number for each kind of
//! tampering found.
//!
//! What can be pinned to one entry and what cannot: an entry whose bytes no longer match its
//! stored leaf hash, and any entry whose embedded sequence number disagrees with its place
//! (deleted, inserted, reordered rows) is named exactly. An attacker who rewrites an entry
//! *and* recomputes every derived column leaves only the signed roots to contradict them; the
//! first bad entry is then known to lie between the last checkpoint that still matches and
//! the first that does not, so checkpoint often (the group committer can sign one per batch).

use steward_store::Tx;

use crate::checkpoint::{Checkpoint, CheckpointVerifier};
use crate::entry::encoded_seq;
use crate::error::LedgerError;
use crate::hash::{Hash, leaf_hash};
use crate::ledger::{Ledger, bytes, uint};
use crate::merkle::Frontier;

/// The kinds of tampering verification tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// An entry's bytes changed (they no longer match the stored leaf hash, or are unreadable).
    EntryChanged,
    /// An entry is missing: its sequence number appears nowhere.
    EntryDeleted,
    /// An extra entry was inserted: more rows than sequence numbers, or one number twice.
    EntryInserted,
    /// Entries are present but out of order.
    EntryReordered,
    /// The recomputed root disagrees with a validly signed checkpoint: the entries before it
    /// were rewritten (with their derived columns), somewhere from `first_bad` on.
    RootMismatch,
    /// A stored checkpoint's signature does not verify (`first_bad` is its tree size).
    CheckpointForged,
    /// The access-history indexes disagree with the entries (a row removed would hide the
    /// entry from a member's history); found by [`verify_indexes`].
    IndexMismatch,
}

impl ProblemKind {
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::EntryChanged => "ledger.tamper.entry_changed",
            ProblemKind::EntryDeleted => "ledger.tamper.entry_deleted",
            ProblemKind::EntryInserted => "ledger.tamper.entry_inserted",
            ProblemKind::EntryReordered => "ledger.tamper.entry_reordered",
            ProblemKind::RootMismatch => "ledger.tamper.root_mismatch",
            ProblemKind::CheckpointForged => "ledger.tamper.checkpoint_forged",
            ProblemKind::IndexMismatch => "ledger.tamper.index_mismatch",
        }
    }
}

/// One kind of tampering with the first place it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The first bad sequence number (for a forged checkpoint, its tree size; for a root
    /// mismatch, the first entry not covered by a good checkpoint).
    pub first_bad: u64,
    /// For a root mismatch: the first bad entry is before this one.
    pub bad_before: Option<u64>,
    pub detail: String,
}

/// What verification found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints whose signature verified and whose root matched the recomputed tree.
    pub checkpoints_ok: u64,
    /// The largest checkpoint that verified.
    pub latest: Option<Checkpoint>,
    /// The root of the whole log as recomputed.
    pub root: Hash,
    /// At most one problem per kind, the earliest; sorted by kind.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first bad sequence number over all entry problems. An entry pinned exactly
    /// (changed, deleted, inserted, reordered) inside the range of a root mismatch explains
    /// it and is the answer; otherwise the start of that range is the earliest entry that can
    /// be bad.
    pub fn first_bad_seq(&self) -> Option<u64> {
        let exact = self
            .problems
            .iter()
            .filter(|p| {
                !matches!(
                    p.kind,
                    ProblemKind::CheckpointForged | ProblemKind::RootMismatch
                )
            })
            .map(|p| p.first_bad)
            .min();
        let range = self
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::RootMismatch)
            .map(|p| (p.first_bad, p.bad_before.unwrap_or(u64::MAX)));
        match (exact, range) {
            (Some(e), Some((_, end))) if e < end => Some(e),
            (Some(_), Some((start, _))) | (None, Some((start, _))) => Some(start),
            (Some(e), None) => Some(e),
            (None, None) => None,
        }
    }

    fn note(&mut self, kind: ProblemKind, first_bad: u64, detail: String) {
        self.note_range(kind, first_bad, None, detail);
    }

    fn note_range(
        &mut self,
        kind: ProblemKind,
        first_bad: u64,
        bad_before: Option<u64>,
        detail: String,
    ) {
        match self.problems.iter_mut().find(|p| p.kind == kind) {
            Some(p) if p.first_bad <= first_bad => {}
            Some(p) => {
                p.first_bad = first_bad;
                p.bad_before = bad_before;
                p.detail = detail;
            }
            None => self.problems.push(Problem {
                kind,
                first_bad,
                bad_before,
                detail,
            }),
        }
    }
}

/// A root some trusted party signed, to compare against the recomputed tree.
struct Target {
    checkpoint: Checkpoint,
    source: String,
}

/// Rows handed from the database reader to the hashing thread, in order.
type RowBatch = Vec<(u64, Vec<u8>, Vec<u8>)>;
const BATCH_ROWS: usize = 4096;

/// The state of one pass over the entries.
struct Scan {
    report: VerifyReport,
    targets: Vec<Target>,
    next_target: usize,
    last_good_size: u64,
    frontier: Frontier,
    occurrences: Vec<u8>,
    cap: usize,
    out_of_range: u64,
    first_misplaced: Option<(u64, Option<u64>)>,
}

impl Scan {
    /// Compares the tree so far with every target of exactly this size.
    fn check_targets(&mut self) {
        while let Some(t) = self.targets.get(self.next_target) {
            if t.checkpoint.size != self.frontier.size() {
                break;
            }
            if self.frontier.root() == t.checkpoint.root {
                self.report.checkpoints_ok += 1;
                self.last_good_size = t.checkpoint.size;
                self.report.latest = Some(t.checkpoint.clone());
            } else {
                let detail = format!(
                    "entries from {} to {} do not match the root signed in the {}",
                    self.last_good_size,
                    t.checkpoint.size.saturating_sub(1),
                    t.source
                );
                self.report.note_range(
                    ProblemKind::RootMismatch,
                    self.last_good_size,
                    Some(t.checkpoint.size),
                    detail,
                );
            }
            self.next_target += 1;
        }
    }

    fn row(&mut self, key: u64, encoded: &[u8], stored_leaf: &[u8]) {
        let position = self.frontier.size();
        let leaf = leaf_hash(encoded);
        if leaf.0.as_slice() != stored_leaf {
            self.report.note(
                ProblemKind::EntryChanged,
                position,
                format!("entry {position} does not match its stored leaf hash"),
            );
        }
        let embedded = encoded_seq(encoded);
        match embedded {
            Some(e) => match usize::try_from(e).ok().filter(|e| *e < self.cap) {
                Some(i) => {
                    if self.occurrences.len() <= i {
                        self.occurrences.resize(i + 1, 0);
                    }
                    self.occurrences[i] = self.occurrences[i].saturating_add(1).min(2);
                }
                None => self.out_of_range += 1,
            },
            None => self.report.note(
                ProblemKind::EntryChanged,
                position,
                format!("entry {position} is not a readable entry"),
            ),
        }
        let misplaced = (embedded.is_some() && embedded != Some(position)) || key != position;
        if misplaced && self.first_misplaced.is_none() {
            self.first_misplaced = Some((position, embedded));
        }
        self.frontier.push(leaf);
        self.check_targets();
    }
}

/// Streams every entry through `scan`. The database is read on this thread (a transaction
/// stays on its connection's thread) while a second thread hashes, so reading and hashing
/// overlap; batches keep the hand-over cheap.
fn scan_entries(tx: &mut Tx<'_>, mut scan: Scan) -> Result<Scan, LedgerError> {
    scan.check_targets();
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<RowBatch>(8);
        let worker = scope.spawn(move || {
            for batch in receiver {
                for (key, encoded, leaf) in &batch {
                    scan.row(*key, encoded, leaf);
                }
            }
            scan
        });
        let mut batch: RowBatch = Vec::with_capacity(BATCH_ROWS);
        let read = tx.query_each(
            "SELECT seq, entry, leaf_hash FROM ledger_entries ORDER BY seq",
            &[],
            |row| {
                batch.push((
                    uint(row, 0)?,
                    bytes(row, 1)?.to_vec(),
                    bytes(row, 2)?.to_vec(),
                ));
                if batch.len() == BATCH_ROWS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    sender.send(full).map_err(|_| LedgerError::Storage {
                        detail: "the verification thread stopped".into(),
                    })?;
                }
                Ok::<(), LedgerError>(())
            },
        );
        if read.is_ok() && !batch.is_empty() {
            // A send only fails if the worker died, which `join` reports below.
            let _ = sender.send(batch);
        }
        drop(sender);
        let scan = worker.join().map_err(|_| LedgerError::Storage {
            detail: "the verification thread failed".into(),
        })?;
        read.map(|()| scan)
    })
}

/// Verifies the whole stored ledger. `trusted` is a signed checkpoint kept outside the
/// database (an auditor's copy); the stored log must extend it.
pub fn verify(
    tx: &mut Tx<'_>,
    verifier: &CheckpointVerifier,
    trusted: Option<&str>,
) -> Result<VerifyReport, LedgerError> {
    let mut report = VerifyReport::default();
    let mut targets: Vec<Target> = Vec::new();
    for (size, note) in Ledger::checkpoint_notes(tx)? {
        match verifier.verify(&note) {
            Ok(c) if c.size == size => targets.push(Target {
                checkpoint: c,
                source: format!("stored checkpoint {size}"),
            }),
            Ok(c) => report.note(
                ProblemKind::CheckpointForged,
                size,
                format!(
                    "checkpoint stored at size {size} is signed for size {}",
                    c.size
                ),
            ),
            Err(e) => report.note(
                ProblemKind::CheckpointForged,
                size,
                format!("checkpoint at size {size}: {e}"),
            ),
        }
    }
    if let Some(note) = trusted {
        let c = verifier.verify(note)?;
        targets.push(Target {
            source: format!("trusted checkpoint {}", c.size),
            checkpoint: c,
        });
    }
    targets.sort_by_key(|t| t.checkpoint.size);

    // How many times each embedded sequence number occurs, saturating at 2; numbers beyond
    // the cap count as out of range.
    let hint = Ledger::size(tx)?;
    let cap = usize::try_from(hint.saturating_mul(2).max(1024)).unwrap_or(usize::MAX);
    let scan = Scan {
        report,
        targets,
        next_target: 0,
        last_good_size: 0,
        frontier: Frontier::new(),
        occurrences: Vec::new(),
        cap,
        out_of_range: 0,
        first_misplaced: None,
    };
    let Scan {
        mut report,
        targets,
        frontier,
        occurrences,
        out_of_range,
        first_misplaced,
        ..
    } = scan_entries(tx, scan)?;
    report.entries = frontier.size();
    report.root = frontier.root();

    // Classify the first misplaced entry. Every position before it holds the entry with its
    // own number, so what the misplaced row carries tells what happened there.
    let rows = frontier.size();
    if let Some((position, embedded)) = first_misplaced {
        let occurs = |s: u64| -> bool {
            usize::try_from(s)
                .ok()
                .and_then(|i| occurrences.get(i).copied())
                .is_some_and(|n| n > 0)
        };
        let duplicates = occurrences.iter().any(|n| *n >= 2);
        let distinct_in_range = occurrences
            .iter()
            .take(usize::try_from(rows).unwrap_or(usize::MAX))
            .filter(|n| **n > 0)
            .count() as u64;
        match embedded {
            // A number already seen before this position: rows were inserted at or after it.
            Some(e) if e < position => report.note(
                ProblemKind::EntryInserted,
                e,
                format!("entry at position {position} repeats sequence number {e}"),
            ),
            // Sequence number `position` comes later: out of order, or pushed back by rows
            // inserted here (then there are more rows than numbers).
            Some(e) if e > position && occurs(position) => {
                if duplicates || distinct_in_range < rows || out_of_range > 0 {
                    report.note(
                        ProblemKind::EntryInserted,
                        position,
                        format!("extra entry at position {position} (carries {e})"),
                    );
                } else {
                    report.note(
                        ProblemKind::EntryReordered,
                        position,
                        format!("entry at position {position} carries sequence number {e}"),
                    );
                }
            }
            Some(e) if e > position => report.note(
                ProblemKind::EntryDeleted,
                position,
                format!("no entry carries sequence number {position} (next is {e})"),
            ),
            Some(_) => report.note(
                ProblemKind::EntryReordered,
                position,
                format!("row key at position {position} differs from its entry's number"),
            ),
            None => {}
        }
    }

    // Checkpoints that claim more entries than are stored: the tail was deleted.
    for t in targets.iter().filter(|t| t.checkpoint.size > rows) {
        report.note(
            ProblemKind::EntryDeleted,
            rows,
            format!(
                "the {} covers {} entries, only {rows} are stored",
                t.source, t.checkpoint.size
            ),
        );
    }
    report.problems.sort_by_key(|p| p.kind);
    Ok(report)
}

/// Checks the indexes access history reads against the entries themselves: every member an
/// entry names has its `ledger_subjects` row and no other row exists, every batch release has
/// its `ledger_set_entries` row, every referenced member set still hashes to the digest its
/// entry recorded, and the cached Merkle nodes proofs are built from are the tree's own. Slower than [`verify`] (it decodes every entry and sorts the index), so it
/// is a separate pass; adds at most one [`ProblemKind::IndexMismatch`] to `report`.
pub fn verify_indexes(tx: &mut Tx<'_>, report: &mut VerifyReport) -> Result<(), LedgerError> {
    use crate::entry::{Entry, Subjects};
    use std::collections::BTreeMap;

    let mut expected: Vec<(u64, u64)> = Vec::new();
    let mut expected_sets: Vec<(u64, String)> = Vec::new();
    let mut digests: BTreeMap<String, (Hash, u64, u64)> = BTreeMap::new();
    let mut first_bad: Option<(u64, String)> = None;
    let flag = |seq: u64, detail: String, first_bad: &mut Option<(u64, String)>| {
        if first_bad.as_ref().is_none_or(|(s, _)| seq < *s) {
            *first_bad = Some((seq, detail));
        }
    };
    tx.query_each(
        "SELECT seq, entry FROM ledger_entries ORDER BY seq",
        &[],
        |row| {
            let seq = uint(row, 0)?;
            // Unreadable entries are `verify`'s finding; here they simply name no one.
            if let Ok(entry) = Entry::decode(bytes(row, 1)?) {
                match entry.subjects {
                    Subjects::Members(ids) => expected.extend(ids.into_iter().map(|m| (seq, m))),
                    Subjects::MemberSet {
                        digest,
                        count,
                        set_id,
                    } => {
                        digests
                            .entry(set_id.clone())
                            .or_insert((digest, count, seq));
                        expected_sets.push((seq, set_id));
                    }
                }
            }
            Ok::<(), LedgerError>(())
        },
    )?;
    let mut actual: Vec<(u64, u64)> = Vec::new();
    tx.query_each("SELECT seq, member_id FROM ledger_subjects", &[], |row| {
        actual.push((uint(row, 0)?, uint(row, 1)?));
        Ok::<(), LedgerError>(())
    })?;
    actual.sort_unstable();
    if let Some(i) =
        (0..expected.len().max(actual.len())).find(|i| expected.get(*i) != actual.get(*i))
    {
        let seq = match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) => e.0.min(a.0),
            (Some(e), None) => e.0,
            (None, Some(a)) => a.0,
            (None, None) => 0,
        };
        flag(
            seq,
            format!("the member index disagrees with entry {seq}"),
            &mut first_bad,
        );
    }
    let mut actual_sets: Vec<(u64, String)> = Vec::new();
    tx.query_each("SELECT seq, set_id FROM ledger_set_entries", &[], |row| {
        actual_sets.push((uint(row, 0)?, row.text(1)?));
        Ok::<(), LedgerError>(())
    })?;
    actual_sets.sort();
    if let Some(i) = (0..expected_sets.len().max(actual_sets.len()))
        .find(|i| expected_sets.get(*i) != actual_sets.get(*i))
    {
        let seq = expected_sets
            .get(i)
            .or(actual_sets.get(i))
            .map_or(0, |(s, _)| *s);
        flag(
            seq,
            format!("the member-set index disagrees with entry {seq}"),
            &mut first_bad,
        );
    }
    for (set_id, (digest, count, seq)) in digests {
        let matches = Ledger::member_set(tx, &set_id)
            .map(|set| set.digest() == digest && set.len() == count)
            .unwrap_or(false);
        if !matches {
            flag(
                seq,
                format!("stored members of `{set_id}` do not hash to the digest in entry {seq}"),
                &mut first_bad,
            );
        }
    }
    if let Some((seq, detail)) = check_node_cache(tx)? {
        flag(seq, detail, &mut first_bad);
    }
    if let Some((seq, detail)) = first_bad {
        report.note(ProblemKind::IndexMismatch, seq, detail);
        report.problems.sort_by_key(|p| p.kind);
    }
    Ok(())
}

/// Recomputes every perfect subtree below the node cache's watermark from the stored leaf
/// hashes and compares it with `ledger_nodes`; the first disagreement as (the last entry the
/// node covers, detail). From the leaf hashes, not the entries: an entry that no longer
/// matches its leaf hash is [`verify`]'s finding, pinned to that entry, and the node's last
/// entry never comes before a tampered leaf beneath it.
fn check_node_cache(tx: &mut Tx<'_>) -> Result<Option<(u64, String)>, LedgerError> {
    let watermark = crate::ledger::node_watermark(tx)?;
    let mut frontier = Frontier::new();
    let mut expected: Vec<(u32, u64, Hash)> = Vec::new();
    tx.query_each(
        "SELECT leaf_hash FROM ledger_entries WHERE seq < $1 ORDER BY seq",
        &[crate::ledger::int(watermark)?],
        |row| {
            let leaf = Hash::from_slice(bytes(row, 0)?)?;
            frontier.push_recording(leaf, |height, index, hash| {
                expected.push((height, index, hash));
            });
            Ok::<(), LedgerError>(())
        },
    )?;
    if frontier.size() < watermark {
        return Ok(Some((
            frontier.size(),
            format!(
                "the Merkle node cache covers {watermark} entries, only {} are stored",
                frontier.size()
            ),
        )));
    }
    let mut stored: Vec<(u32, u64, Hash)> = Vec::with_capacity(expected.len());
    tx.query_each("SELECT height, idx, hash FROM ledger_nodes", &[], |row| {
        let height = u32::try_from(uint(row, 0)?).map_err(|_| LedgerError::Storage {
            detail: "a cached Merkle node's height is out of range".into(),
        })?;
        stored.push((height, uint(row, 1)?, Hash::from_slice(bytes(row, 2)?)?));
        Ok::<(), LedgerError>(())
    })?;
    let key = |n: &(u32, u64, Hash)| (n.1 << n.0, n.0);
    expected.sort_unstable_by_key(key);
    stored.sort_unstable_by_key(key);
    let first_bad = (0..expected.len().max(stored.len()))
        .find(|i| expected.get(*i) != stored.get(*i))
        .map(|i| {
            let (height, index) = expected
                .get(i)
                .or(stored.get(i))
                .map_or((0, 0), |&(height, index, _)| (height, index));
            (
                ((index + 1) << height) - 1,
                format!("cached Merkle node ({height}, {index}) is not the tree's"),
            )
        });
    Ok(first_bad)
}
