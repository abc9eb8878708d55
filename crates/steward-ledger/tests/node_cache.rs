//! The Merkle node cache proofs are built from: proofs and tree heads read from it equal the
//! in-memory tree's at every size, whether the entries are checkpointed or not yet; a ledger
//! written before the cache existed is backfilled by its next checkpoint; and a tampered
//! node is caught by `verify_indexes` (and can only make a proof fail, never pass wrongly).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{databases, entry, fill, signer};
use steward_ledger::error::LedgerError;
use steward_ledger::hash::Hash;
use steward_ledger::ledger::Ledger;
use steward_ledger::merkle::{Tree, verify_consistency, verify_inclusion};
use steward_ledger::verify::{ProblemKind, VerifyReport, verify_indexes};
use steward_store::Value;

fn ledger() -> Ledger {
    Ledger::new("steward.test/ledger")
}

fn leaves(db: &common::Db, size: u64) -> Tree {
    db.store.read(|tx| Ledger::tree(tx, size)).unwrap()
}

fn nodes(db: &common::Db) -> i64 {
    db.store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ledger_nodes", &[]))
        .unwrap()
}

/// Every inclusion and consistency proof of the tree of `size` leaves, from the cache, equals
/// the in-memory tree's and verifies.
fn proofs_match(db: &common::Db, size: u64) {
    let tree = leaves(db, size);
    db.store
        .read(|tx| {
            assert_eq!(
                Ledger::root_at(tx, size)?,
                tree.root(),
                "{} root {size}",
                db.name
            );
            for index in 0..size {
                let proof = Ledger::inclusion_proof(tx, index, size)?;
                assert_eq!(proof, tree.inclusion_proof(index, size)?, "{}", db.name);
                verify_inclusion(
                    index,
                    size,
                    &tree.leaf(index).unwrap(),
                    &proof,
                    &tree.root(),
                )?;
            }
            for old in 0..=size {
                let (old_root, proof) = Ledger::consistency_proof(tx, old, size)?;
                assert_eq!(old_root, tree.root_at(old)?);
                assert_eq!(proof, tree.consistency_proof(old, size)?);
                verify_consistency(old, size, &old_root, &tree.root(), &proof)?;
            }
            Ok::<(), LedgerError>(())
        })
        .unwrap();
}

#[test]
fn proofs_from_the_cache_equal_the_trees_checkpointed_or_not() {
    for db in databases() {
        // Checkpoints at uneven sizes; entries 41..45 are appended after the last one.
        fill(&db, 45, &[1, 2, 7, 16, 17, 40]);
        // Perfect subtrees of height >= 1 inside 40 leaves: 20 + 10 + 5 + 2 + 1.
        assert_eq!(nodes(&db), 38, "{}", db.name);
        for size in [1, 2, 3, 7, 16, 17, 31, 40, 41, 44, 45] {
            proofs_match(&db, size);
        }
        // A size past the log is refused, not answered.
        let past = db.store.read(|tx| Ledger::inclusion_proof(tx, 0, 46));
        assert!(
            matches!(past, Err(LedgerError::SizeOutOfRange { .. })),
            "{}: {past:?}",
            db.name
        );
    }
}

#[test]
fn a_ledger_from_before_the_cache_is_backfilled_by_its_next_checkpoint() {
    for db in databases() {
        fill(&db, 37, &[5, 30]);
        // As a ledger written by an earlier version: no cached node at all.
        db.store
            .execute_batch("DELETE FROM ledger_nodes; DELETE FROM ledger_node_watermark;")
            .unwrap();
        // Proofs still come out right (computed from the leaves)...
        proofs_match(&db, 30);
        // ...and the next checkpoint, even with nothing new to sign, fills the cache.
        let s = signer();
        let latest = db
            .store
            .transaction(|tx| ledger().checkpoint(tx, &s, 2))
            .unwrap();
        assert_eq!(latest.checkpoint.size, 37, "{}", db.name);
        assert_eq!(nodes(&db), 18 + 9 + 4 + 2 + 1, "{}", db.name);
        proofs_match(&db, 37);
        let mut report = VerifyReport::default();
        db.store.read(|tx| verify_indexes(tx, &mut report)).unwrap();
        assert!(report.ok(), "{}: {:?}", db.name, report.problems);
    }
}

#[test]
fn a_tampered_node_is_caught_and_cannot_forge_a_proof() {
    for db in databases() {
        fill(&db, 16, &[16]);
        // Replace the root of leaves 4..8 with another hash.
        db.store
            .transaction(|tx| {
                tx.execute(
                    "UPDATE ledger_nodes SET hash = $1 WHERE height = 2 AND idx = 1",
                    &[Value::Bytes(vec![0xab; 32])],
                )
            })
            .unwrap();
        let mut report = VerifyReport::default();
        db.store.read(|tx| verify_indexes(tx, &mut report)).unwrap();
        let problem = report
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::IndexMismatch)
            .unwrap_or_else(|| panic!("{}: not caught: {:?}", db.name, report.problems));
        // Named by the last entry under it (a tampered leaf is always named at or before it).
        assert_eq!(problem.first_bad, 7, "{}", db.name);
        // A proof through the bad node no longer leads to the signed root.
        let signed = db.store.read(Ledger::latest_checkpoint).unwrap().unwrap();
        let tree = leaves(&db, 16);
        let proof = db
            .store
            .read(|tx| Ledger::inclusion_proof(tx, 0, 16))
            .unwrap();
        let leaf: Hash = tree.leaf(0).unwrap();
        assert!(verify_inclusion(0, 16, &leaf, &proof, &signed.checkpoint.root).is_err());
    }
}

#[test]
fn access_history_proofs_come_from_the_cache() {
    for db in databases() {
        fill(&db, 100, &[64, 100]);
        let s = signer();
        let history = db
            .store
            .read(|tx| Ledger::access_history(tx, 3, &s.verifier()))
            .unwrap();
        let checkpoint = history.checkpoint.clone().unwrap().checkpoint;
        assert_eq!(checkpoint.size, 100);
        // Entries 3, 13, ..., 93 name member 3.
        assert_eq!(history.items.len(), 10, "{}", db.name);
        for item in &history.items {
            let proof = item.proof.as_ref().unwrap();
            verify_inclusion(
                item.entry.seq,
                100,
                &item.leaf_hash,
                proof,
                &checkpoint.root,
            )
            .unwrap();
        }
        // One more entry, not yet checkpointed: listed without a proof.
        db.store
            .transaction(|tx| ledger().append(tx, entry(103)))
            .unwrap();
        let history = db
            .store
            .read(|tx| Ledger::access_history(tx, 3, &s.verifier()))
            .unwrap();
        assert_eq!(history.items.len(), 11);
        assert!(history.items[0].proof.is_none());
    }
}
