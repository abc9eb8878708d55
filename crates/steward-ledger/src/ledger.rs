//! The stored ledger: appending inside the caller's store transaction, member sets,
//! checkpoints, proofs from storage and each member's access history.

use std::collections::HashMap;
use std::ops::Range;

use steward_store::{Dialect, Row, Store, Tx, Value};

use crate::checkpoint::{Checkpoint, CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
use crate::entry::{Entry, Subjects};
use crate::error::LedgerError;
use crate::hash::{Hash, leaf_hash};
use crate::memberset::{MemberSet, Membership};
use crate::merkle::{self, Frontier, NodeSource, Tree};
use crate::schema::LEDGER_MIGRATIONS;

/// PostgreSQL advisory lock that serialises appenders across connections, so sequence
/// numbers are dense and never collide (SQLite's write lock does this by itself).
const APPEND_LOCK: i64 = 0x5354_4C47;

pub(crate) fn int(v: u64) -> Result<Value, LedgerError> {
    i64::try_from(v)
        .map(Value::Int)
        .map_err(|_| LedgerError::EntryInvalid {
            detail: format!("{v} does not fit a 64-bit signed column"),
        })
}

pub(crate) fn uint(row: &Row, i: usize) -> Result<u64, LedgerError> {
    let v = row.i64(i)?;
    u64::try_from(v).map_err(|_| LedgerError::Storage {
        detail: format!("negative value {v} in column {i}"),
    })
}

pub(crate) fn bytes(row: &Row, i: usize) -> Result<&[u8], LedgerError> {
    row.get(i).as_bytes().ok_or_else(|| LedgerError::Storage {
        detail: format!("column {i} is not bytes"),
    })
}

/// An entry that names a member, with what proves it.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub entry: Entry,
    pub leaf_hash: Hash,
    /// The inclusion proof against the history's checkpoint; `None` for entries appended
    /// after it (not yet checkpointed).
    pub proof: Option<Vec<Hash>>,
    /// For batch releases: the proof that the member is in the entry's member set.
    pub membership: Option<Membership>,
}

/// Entries naming one member, newest first, with proofs against one checkpoint.
#[derive(Debug, Clone)]
pub struct AccessHistory {
    pub member: u64,
    /// How many entries name the member in all (`items` may hold only the newest).
    pub total: u64,
    pub checkpoint: Option<SignedCheckpoint>,
    pub items: Vec<HistoryItem>,
}

/// The ledger of one log (`origin` names it in checkpoints). Holds no state of its own: the
/// database is the truth, so any process can append, checkpoint or verify.
#[derive(Debug, Clone)]
pub struct Ledger {
    origin: String,
}

impl Ledger {
    pub fn new(origin: impl Into<String>) -> Ledger {
        Ledger {
            origin: origin.into(),
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Creates or upgrades the ledger tables in `store` (idempotent).
    pub fn install(store: &Store) -> Result<(), LedgerError> {
        store.migrate(&LEDGER_MIGRATIONS)?;
        Ok(())
    }

    /// The number of entries (the next sequence number), as seen by `tx`.
    pub fn size(tx: &mut Tx<'_>) -> Result<u64, LedgerError> {
        let next = tx.query_i64("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries", &[])?;
        u64::try_from(next).map_err(|_| LedgerError::Storage {
            detail: "negative sequence number".into(),
        })
    }

    /// Appends one entry inside the caller's transaction and returns its sequence number.
    /// It commits or rolls back with everything else the transaction wrote.
    pub fn append(&self, tx: &mut Tx<'_>, entry: Entry) -> Result<u64, LedgerError> {
        Ok(self.append_batch(tx, vec![entry])?.start)
    }

    /// Appends entries in order inside the caller's transaction; returns their sequence
    /// numbers. One `MAX(seq)` look-up and multi-row inserts, whatever the batch size.
    pub fn append_batch(
        &self,
        tx: &mut Tx<'_>,
        entries: Vec<Entry>,
    ) -> Result<Range<u64>, LedgerError> {
        if tx.dialect() == Dialect::Postgres {
            // `execute`, not `query`: the function returns `void`, which has no value to read.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[Value::Int(APPEND_LOCK)],
            )?;
        }
        let first = Ledger::size(tx)?;
        let mut rows = Vec::with_capacity(entries.len());
        let mut subject_rows = Vec::new();
        let mut set_rows = Vec::new();
        for (offset, mut entry) in entries.into_iter().enumerate() {
            let seq = first + offset as u64;
            entry.seq = seq;
            entry.normalize();
            match &entry.subjects {
                Subjects::Members(ids) => {
                    for id in ids {
                        subject_rows.push(vec![int(*id)?, int(seq)?]);
                    }
                }
                Subjects::MemberSet {
                    digest,
                    count,
                    set_id,
                } => {
                    check_member_set(tx, set_id, digest, *count)?;
                    set_rows.push(vec![Value::from(set_id.as_str()), int(seq)?]);
                }
            }
            let encoded = entry.encode()?;
            let leaf = leaf_hash(&encoded);
            rows.push(vec![
                int(seq)?,
                Value::Bytes(encoded),
                Value::Bytes(leaf.0.to_vec()),
            ]);
        }
        let end = first + rows.len() as u64;
        tx.insert_rows("ledger_entries", &["seq", "entry", "leaf_hash"], &rows, "")?;
        tx.insert_rows("ledger_subjects", &["member_id", "seq"], &subject_rows, "")?;
        tx.insert_rows("ledger_set_entries", &["set_id", "seq"], &set_rows, "")?;
        Ok(first..end)
    }

    /// Stores a member set (a batch release's members) under `set_id` and returns the
    /// subjects to put in the entry that records the release. Storing the same set again
    /// is a no-op; a different set under the same id is an error.
    pub fn store_member_set(
        &self,
        tx: &mut Tx<'_>,
        set_id: &str,
        set: &MemberSet,
    ) -> Result<Subjects, LedgerError> {
        let digest = set.digest();
        let subjects = Subjects::MemberSet {
            digest,
            count: set.len(),
            set_id: set_id.to_owned(),
        };
        let existing = tx.query_opt(
            "SELECT digest, member_count FROM ledger_member_sets WHERE set_id = $1",
            &[Value::from(set_id)],
        )?;
        if let Some(row) = existing {
            if bytes(&row, 0)? != digest.0.as_slice() || uint(&row, 1)? != set.len() {
                return Err(LedgerError::EntryInvalid {
                    detail: format!("member set `{set_id}` is already stored with other members"),
                });
            }
            return Ok(subjects);
        }
        tx.execute(
            "INSERT INTO ledger_member_sets (set_id, digest, member_count) VALUES ($1, $2, $3)",
            &[
                Value::from(set_id),
                Value::Bytes(digest.0.to_vec()),
                int(set.len())?,
            ],
        )?;
        let mut rows = Vec::with_capacity(set.ids().len().min(100_000));
        for chunk in set.ids().chunks(100_000) {
            rows.clear();
            for id in chunk {
                rows.push(vec![Value::from(set_id), int(*id)?]);
            }
            tx.insert_rows(
                "ledger_member_set_members",
                &["set_id", "member_id"],
                &rows,
                "",
            )?;
        }
        Ok(subjects)
    }

    /// Loads a stored member set and checks it against the digest recorded for it.
    pub fn member_set(tx: &mut Tx<'_>, set_id: &str) -> Result<MemberSet, LedgerError> {
        let head = tx
            .query_opt(
                "SELECT digest, member_count FROM ledger_member_sets WHERE set_id = $1",
                &[Value::from(set_id)],
            )?
            .ok_or_else(|| LedgerError::MemberSetNotFound {
                set_id: set_id.to_owned(),
            })?;
        let digest = Hash::from_slice(bytes(&head, 0)?)?;
        let mut ids = Vec::new();
        tx.query_each(
            "SELECT member_id FROM ledger_member_set_members WHERE set_id = $1 ORDER BY member_id",
            &[Value::from(set_id)],
            |row| {
                ids.push(uint(row, 0)?);
                Ok::<(), LedgerError>(())
            },
        )?;
        let set = MemberSet::from_sorted(ids)?;
        if set.digest() != digest || set.len() != uint(&head, 1)? {
            return Err(LedgerError::ProofInvalid {
                detail: format!("stored members of set `{set_id}` do not match its digest"),
            });
        }
        Ok(set)
    }

    /// One stored entry, decoded.
    pub fn entry(tx: &mut Tx<'_>, seq: u64) -> Result<Entry, LedgerError> {
        let row = tx
            .query_opt(
                "SELECT entry FROM ledger_entries WHERE seq = $1",
                &[int(seq)?],
            )?
            .ok_or(LedgerError::EntryNotFound { seq })?;
        Entry::decode(bytes(&row, 0)?)
    }

    /// The tree of the first `size` stored leaf hashes (as stored: `verify` is what checks
    /// them against the entries).
    pub fn tree(tx: &mut Tx<'_>, size: u64) -> Result<Tree, LedgerError> {
        let mut tree = Tree::new();
        tx.query_each(
            "SELECT leaf_hash FROM ledger_entries WHERE seq < $1 ORDER BY seq",
            &[int(size)?],
            |row| {
                tree.push(Hash::from_slice(bytes(row, 0)?)?);
                Ok::<(), LedgerError>(())
            },
        )?;
        if tree.size() != size {
            return Err(LedgerError::SizeOutOfRange {
                size,
                available: tree.size(),
            });
        }
        Ok(tree)
    }

    /// The inclusion proof of entry `index` in the tree of the first `size` entries, from
    /// the node cache: O(log² n) look-ups, whatever the ledger's length.
    pub fn inclusion_proof(
        tx: &mut Tx<'_>,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        check_size(tx, size)?;
        let watermark = node_watermark(tx)?;
        merkle::inclusion_proof(&mut StoredNodes::new(tx, watermark), index, size)
    }

    /// The consistency proof between the trees of the first `old_size` and `new_size`
    /// entries and the old tree's head, from the node cache.
    pub fn consistency_proof(
        tx: &mut Tx<'_>,
        old_size: u64,
        new_size: u64,
    ) -> Result<(Hash, Vec<Hash>), LedgerError> {
        check_size(tx, new_size)?;
        let watermark = node_watermark(tx)?;
        let mut nodes = StoredNodes::new(tx, watermark);
        let proof = merkle::consistency_proof(&mut nodes, old_size, new_size)?;
        Ok((merkle::root_at(&mut nodes, old_size)?, proof))
    }

    /// The tree head of the first `size` entries, from the node cache.
    pub fn root_at(tx: &mut Tx<'_>, size: u64) -> Result<Hash, LedgerError> {
        check_size(tx, size)?;
        let watermark = node_watermark(tx)?;
        merkle::root_at(&mut StoredNodes::new(tx, watermark), size)
    }

    /// The checkpoint with the largest tree size, if any (signature not checked here).
    pub fn latest_checkpoint(tx: &mut Tx<'_>) -> Result<Option<SignedCheckpoint>, LedgerError> {
        let row = tx.query_opt(
            "SELECT note FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1",
            &[],
        )?;
        row.map(|r| note_to_signed(&r.text(0)?)).transpose()
    }

    /// All stored checkpoint notes, smallest tree first.
    pub fn checkpoint_notes(tx: &mut Tx<'_>) -> Result<Vec<(u64, String)>, LedgerError> {
        let rows = tx.query(
            "SELECT tree_size, note FROM ledger_checkpoints ORDER BY tree_size",
            &[],
        )?;
        rows.iter().map(|r| Ok((uint(r, 0)?, r.text(1)?))).collect()
    }

    /// The newest `limit` stored checkpoints (smallest tree first among them) and how many
    /// are stored in all: a listing whose cost does not grow with the ledger's age.
    pub fn latest_checkpoint_notes(
        tx: &mut Tx<'_>,
        limit: u32,
    ) -> Result<(Vec<(u64, String)>, u64), LedgerError> {
        let total = tx.query_i64("SELECT COUNT(*) FROM ledger_checkpoints", &[])?;
        let rows = tx.query(
            "SELECT tree_size, note FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT $1",
            &[i64::from(limit).into()],
        )?;
        let mut notes = rows
            .iter()
            .map(|r| Ok((uint(r, 0)?, r.text(1)?)))
            .collect::<Result<Vec<_>, LedgerError>>()?;
        notes.reverse();
        Ok((notes, u64::try_from(total).unwrap_or(0)))
    }

    /// Signs a checkpoint of everything appended so far and stores it in `tx`. It extends
    /// the previous checkpoint's frontier (whose root must match that checkpoint's signed
    /// root) with the leaves appended since, so it costs O(new entries), and a new
    /// checkpoint can never silently sign over history rewritten before the previous one.
    pub fn checkpoint(
        &self,
        tx: &mut Tx<'_>,
        signer: &CheckpointSigner,
        time_ms: u64,
    ) -> Result<SignedCheckpoint, LedgerError> {
        let verifier = signer.verifier();
        if tx.dialect() == Dialect::Postgres {
            // Serialise with appenders and other checkpointers: the checkpoint then covers a
            // prefix with no gap, and two checkpointers never race for the same tree size.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[Value::Int(APPEND_LOCK)],
            )?;
        }
        let previous = tx.query_opt(
            "SELECT tree_size, note, frontier FROM ledger_checkpoints \
             ORDER BY tree_size DESC LIMIT 1",
            &[],
        )?;
        let mut frontier = Frontier::new();
        if let Some(row) = &previous {
            let size = uint(row, 0)?;
            let note = row.text(1)?;
            let signed = verifier.verify(&note)?;
            let peaks = bytes(row, 2)?
                .chunks(32)
                .map(Hash::from_slice)
                .collect::<Result<Vec<_>, _>>()?;
            frontier = Frontier::from_parts(size, peaks)?;
            if signed.size != size || frontier.root() != signed.root {
                return Err(LedgerError::ProofInvalid {
                    detail: format!("stored frontier of checkpoint {size} does not match its root"),
                });
            }
        }
        let from = frontier.size();
        let signed_root = frontier.root();
        // The node cache is extended from its watermark, normally `from`; a ledger written
        // before the cache existed is backfilled once here. Its frontier comes from the
        // cached nodes and must reach the previous checkpoint's signed root at `from`.
        let watermark = node_watermark(tx)?;
        let start = watermark.min(from);
        if start < from {
            frontier = stored_frontier(&mut StoredNodes::new(tx, watermark), start)?;
        }
        let mut nodes: Vec<Vec<Value>> = Vec::new();
        let mut node_error = None;
        tx.query_each(
            "SELECT seq, leaf_hash FROM ledger_entries WHERE seq >= $1 ORDER BY seq",
            &[int(start)?],
            |row| {
                let seq = uint(row, 0)?;
                if seq != frontier.size() {
                    return Err(LedgerError::Storage {
                        detail: format!("entry {} is missing", frontier.size()),
                    });
                }
                frontier.push_recording(Hash::from_slice(bytes(row, 1)?)?, |height, index, hash| {
                    // Below the watermark the node is cached already.
                    if (index + 1) << height > watermark {
                        match int(index) {
                            Ok(idx) => nodes.push(vec![
                                Value::Int(i64::from(height)),
                                idx,
                                Value::Bytes(hash.0.to_vec()),
                            ]),
                            Err(e) => node_error = Some(e),
                        }
                    }
                });
                if frontier.size() == from && start < from && frontier.root() != signed_root {
                    return Err(LedgerError::ProofInvalid {
                        detail: format!(
                            "cached Merkle nodes below {start} do not lead to checkpoint {from}'s root"
                        ),
                    });
                }
                Ok(())
            },
        )?;
        if let Some(e) = node_error {
            return Err(e);
        }
        for chunk in nodes.chunks(NODE_INSERT_ROWS) {
            tx.insert_rows("ledger_nodes", &["height", "idx", "hash"], chunk, "")?;
        }
        if frontier.size() > watermark {
            set_node_watermark(tx, watermark, frontier.size())?;
        }
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: frontier.size(),
            root: frontier.root(),
            time_ms,
        };
        if let Some(row) = previous.as_ref().filter(|_| frontier.size() == from) {
            // Nothing new: the previous checkpoint still describes the log.
            return note_to_signed(&row.text(1)?);
        }
        let signed = signer.sign(&checkpoint)?;
        let peaks: Vec<u8> = frontier.peaks().iter().flat_map(|h| h.0).collect();
        tx.execute(
            "INSERT INTO ledger_checkpoints (tree_size, root, time_ms, note, frontier) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                int(checkpoint.size)?,
                Value::Bytes(checkpoint.root.0.to_vec()),
                int(time_ms)?,
                Value::from(signed.note.as_str()),
                Value::Bytes(peaks),
            ],
        )?;
        Ok(signed)
    }

    /// Every entry that names `member` — directly, or through a batch release's member set —
    /// newest first, each with an inclusion proof against the latest checkpoint (checked with
    /// `verifier`) and, for batch releases, a membership proof.
    pub fn access_history(
        tx: &mut Tx<'_>,
        member: u64,
        verifier: &CheckpointVerifier,
    ) -> Result<AccessHistory, LedgerError> {
        Ledger::access_history_newest(tx, member, verifier, usize::MAX)
    }

    /// The newest `limit` entries of [`Ledger::access_history`], with the total: what a
    /// page costs stays flat however long the member's history grows.
    pub fn access_history_newest(
        tx: &mut Tx<'_>,
        member: u64,
        verifier: &CheckpointVerifier,
        limit: usize,
    ) -> Result<AccessHistory, LedgerError> {
        let mut seqs: Vec<(u64, Option<String>)> = Vec::new();
        tx.query_each(
            "SELECT seq FROM ledger_subjects WHERE member_id = $1",
            &[int(member)?],
            |row| {
                seqs.push((uint(row, 0)?, None));
                Ok::<(), LedgerError>(())
            },
        )?;
        tx.query_each(
            "SELECT e.seq, e.set_id FROM ledger_member_set_members m \
             JOIN ledger_set_entries e ON e.set_id = m.set_id WHERE m.member_id = $1",
            &[int(member)?],
            |row| {
                seqs.push((uint(row, 0)?, Some(row.text(1)?)));
                Ok::<(), LedgerError>(())
            },
        )?;
        seqs.sort_by_key(|s| std::cmp::Reverse(s.0));
        seqs.dedup_by_key(|s| s.0);
        let total = seqs.len() as u64;
        seqs.truncate(limit);

        let checkpoint = match Ledger::latest_checkpoint(tx)? {
            Some(signed) => {
                verifier.verify(&signed.note)?;
                Some(signed)
            }
            None => None,
        };
        let watermark = node_watermark(tx)?;
        let mut proofs = Vec::with_capacity(seqs.len());
        {
            let mut nodes = StoredNodes::new(tx, watermark);
            for (seq, _) in &seqs {
                proofs.push(match &checkpoint {
                    Some(c) if *seq < c.checkpoint.size => Some(merkle::inclusion_proof(
                        &mut nodes,
                        *seq,
                        c.checkpoint.size,
                    )?),
                    _ => None,
                });
            }
        }
        let mut items = Vec::with_capacity(seqs.len());
        for ((seq, set_id), proof) in seqs.into_iter().zip(proofs) {
            let row = tx
                .query_opt(
                    "SELECT entry FROM ledger_entries WHERE seq = $1",
                    &[int(seq)?],
                )?
                .ok_or(LedgerError::EntryNotFound { seq })?;
            let encoded = bytes(&row, 0)?;
            let entry = Entry::decode(encoded)?;
            if entry.seq != seq {
                return Err(LedgerError::ProofInvalid {
                    detail: format!("stored entry {seq} carries sequence number {}", entry.seq),
                });
            }
            let membership = match (&entry.subjects, set_id) {
                (Subjects::MemberSet { set_id, digest, .. }, Some(_)) => {
                    let set = Ledger::member_set(tx, set_id)?;
                    if set.digest() != *digest {
                        return Err(LedgerError::ProofInvalid {
                            detail: format!("entry {seq} names another digest for `{set_id}`"),
                        });
                    }
                    Some(set.membership(member)?)
                }
                // The index says the member is named directly: the entry must agree.
                (subjects, None) if subjects.names(member) => None,
                _ => {
                    return Err(LedgerError::ProofInvalid {
                        detail: format!(
                            "the subject index names member {member} in entry {seq}, the entry does not"
                        ),
                    });
                }
            };
            items.push(HistoryItem {
                leaf_hash: leaf_hash(encoded),
                entry,
                proof,
                membership,
            });
        }
        Ok(AccessHistory {
            member,
            total,
            checkpoint,
            items,
        })
    }
}

/// Rows per multi-row insert of cached nodes (3 parameters each, well under both
/// databases' parameter limits).
const NODE_INSERT_ROWS: usize = 300;

fn check_size(tx: &mut Tx<'_>, size: u64) -> Result<(), LedgerError> {
    let available = Ledger::size(tx)?;
    if size > available {
        return Err(LedgerError::SizeOutOfRange { size, available });
    }
    Ok(())
}

/// How many leaves the node cache covers: every perfect subtree of height >= 1 inside the
/// first `size` leaves is in `ledger_nodes`.
pub(crate) fn node_watermark(tx: &mut Tx<'_>) -> Result<u64, LedgerError> {
    match tx.query_opt("SELECT size FROM ledger_node_watermark WHERE id = 1", &[])? {
        Some(row) => uint(&row, 0),
        None => Ok(0),
    }
}

fn set_node_watermark(tx: &mut Tx<'_>, old: u64, new: u64) -> Result<(), LedgerError> {
    if old == 0
        && tx
            .query_opt("SELECT size FROM ledger_node_watermark WHERE id = 1", &[])?
            .is_none()
    {
        tx.execute(
            "INSERT INTO ledger_node_watermark (id, size) VALUES (1, $1)",
            &[int(new)?],
        )?;
    } else {
        tx.execute(
            "UPDATE ledger_node_watermark SET size = $1 WHERE id = 1",
            &[int(new)?],
        )?;
    }
    Ok(())
}

/// The frontier of the first `size` leaves, from cached nodes (one per set bit of `size`).
fn stored_frontier(nodes: &mut StoredNodes<'_, '_>, size: u64) -> Result<Frontier, LedgerError> {
    let mut peaks = Vec::with_capacity(size.count_ones() as usize);
    let mut offset = 0u64;
    for height in (0..64u32).rev() {
        if size & (1u64 << height) != 0 {
            peaks.push(nodes.perfect(height, offset >> height)?);
            offset += 1u64 << height;
        }
    }
    Frontier::from_parts(size, peaks)
}

/// Perfect-subtree roots read from the database: leaves from `ledger_entries`, higher nodes
/// from `ledger_nodes` below the watermark, and above it (entries since the last checkpoint)
/// computed from their leaves. Remembers what it read, since the proofs of one history share
/// most of their upper nodes.
struct StoredNodes<'t, 'a> {
    tx: &'t mut Tx<'a>,
    watermark: u64,
    seen: HashMap<(u32, u64), Hash>,
}

impl<'t, 'a> StoredNodes<'t, 'a> {
    fn new(tx: &'t mut Tx<'a>, watermark: u64) -> Self {
        StoredNodes {
            tx,
            watermark,
            seen: HashMap::new(),
        }
    }

    fn read(&mut self, height: u32, index: u64) -> Result<Hash, LedgerError> {
        let first = index
            .checked_shl(height)
            .ok_or(LedgerError::IndexOutOfRange {
                index,
                size: u64::MAX,
            })?;
        let end = first.saturating_add(1u64 << height);
        if height == 0 {
            let row = self
                .tx
                .query_opt(
                    "SELECT leaf_hash FROM ledger_entries WHERE seq = $1",
                    &[int(index)?],
                )?
                .ok_or(LedgerError::EntryNotFound { seq: index })?;
            return Hash::from_slice(bytes(&row, 0)?);
        }
        if end <= self.watermark {
            let row = self
                .tx
                .query_opt(
                    "SELECT hash FROM ledger_nodes WHERE height = $1 AND idx = $2",
                    &[Value::Int(i64::from(height)), int(index)?],
                )?
                .ok_or_else(|| LedgerError::Storage {
                    detail: format!("cached Merkle node ({height}, {index}) is missing"),
                })?;
            return Hash::from_slice(bytes(&row, 0)?);
        }
        // Not cached yet: fold its leaves.
        let mut frontier = Frontier::new();
        self.tx.query_each(
            "SELECT leaf_hash FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq",
            &[int(first)?, int(end)?],
            |row| {
                frontier.push(Hash::from_slice(bytes(row, 0)?)?);
                Ok::<(), LedgerError>(())
            },
        )?;
        if frontier.size() != 1u64 << height {
            return Err(LedgerError::SizeOutOfRange {
                size: end,
                available: first + frontier.size(),
            });
        }
        Ok(frontier.root())
    }
}

impl NodeSource for StoredNodes<'_, '_> {
    fn perfect(&mut self, height: u32, index: u64) -> Result<Hash, LedgerError> {
        if let Some(hash) = self.seen.get(&(height, index)) {
            return Ok(*hash);
        }
        let hash = self.read(height, index)?;
        self.seen.insert((height, index), hash);
        Ok(hash)
    }
}

fn check_member_set(
    tx: &mut Tx<'_>,
    set_id: &str,
    digest: &Hash,
    count: u64,
) -> Result<(), LedgerError> {
    let row = tx
        .query_opt(
            "SELECT digest, member_count FROM ledger_member_sets WHERE set_id = $1",
            &[Value::from(set_id)],
        )?
        .ok_or_else(|| LedgerError::MemberSetNotFound {
            set_id: set_id.to_owned(),
        })?;
    if bytes(&row, 0)? != digest.0.as_slice() || uint(&row, 1)? != count {
        return Err(LedgerError::EntryInvalid {
            detail: format!("entry's digest or count differs from stored member set `{set_id}`"),
        });
    }
    Ok(())
}

/// Parses a stored note without checking its signature (callers that rely on it verify).
fn note_to_signed(note: &str) -> Result<SignedCheckpoint, LedgerError> {
    let Some(split) = note.rfind("\n\n") else {
        return Err(LedgerError::CheckpointMalformed {
            detail: "no blank line between text and signatures".into(),
        });
    };
    Ok(SignedCheckpoint {
        checkpoint: Checkpoint::parse_body(&note[..split + 1])?,
        note: note.to_owned(),
    })
}

/// Opens a store for the ledger: the store's own migrations and the ledger's.
pub fn open_store(url: &str) -> Result<Store, LedgerError> {
    let store = Store::open(url)?;
    Ledger::install(&store)?;
    Ok(store)
}
