//! Tampering with a stored ledger, one kind at a time: verification must notice it and name
//! the first bad sequence number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Db, databases, entry, fill, signer};
use steward_ledger::checkpoint::{Checkpoint, CheckpointSigner};
use steward_ledger::error::LedgerError;
use steward_ledger::hash::leaf_hash;
use steward_ledger::ledger::Ledger;
use steward_ledger::verify::{ProblemKind, VerifyReport, verify};
use steward_store::Value;

const CHECKPOINTS: [u64; 4] = [10, 20, 30, 40];

fn sql(db: &Db, statements: &[(&str, Vec<Value>)]) {
    db.store
        .transaction(|tx| {
            for (s, params) in statements {
                tx.execute(s, params)?;
            }
            Ok::<(), LedgerError>(())
        })
        .unwrap();
}

fn run_verify(db: &Db, trusted: Option<&str>) -> VerifyReport {
    db.store
        .read(|tx| verify(tx, &signer().verifier(), trusted))
        .unwrap()
}

fn stored_entry(db: &Db, seq: i64) -> Vec<u8> {
    db.store
        .read(|tx| {
            let row = tx.query_opt(
                "SELECT entry FROM ledger_entries WHERE seq = $1",
                &[Value::Int(seq)],
            )?;
            Ok::<_, LedgerError>(row.unwrap().get(0).as_bytes().unwrap().to_vec())
        })
        .unwrap()
}

/// Shifts `seq` of every row at or after `from` by `by`, in two steps so no primary key
/// collides midway on either backend.
fn shift(db: &Db, from: i64, by: i64) {
    sql(
        db,
        &[
            (
                "UPDATE ledger_entries SET seq = -(seq + $2) - 1 WHERE seq >= $1",
                vec![Value::Int(from), Value::Int(by)],
            ),
            (
                "UPDATE ledger_entries SET seq = -seq - 1 WHERE seq < 0",
                vec![],
            ),
        ],
    );
}

fn expect(report: &VerifyReport, kind: ProblemKind, first_bad: u64) {
    let found = report.problems.iter().find(|p| p.kind == kind);
    assert!(
        found.is_some_and(|p| p.first_bad == first_bad),
        "expected {kind:?} at {first_bad}, got {:?}",
        report.problems
    );
}

#[test]
fn an_untouched_ledger_verifies() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        let report = run_verify(&db, None);
        assert!(report.ok(), "{}: {:?}", db.name, report.problems);
        assert_eq!(report.checkpoints_ok, 4);
        assert_eq!(report.first_bad_seq(), None);
    }
}

#[test]
fn a_changed_entry_is_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        let mut bytes = stored_entry(&db, 17);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        sql(
            &db,
            &[(
                "UPDATE ledger_entries SET entry = $1 WHERE seq = 17",
                vec![Value::Bytes(bytes)],
            )],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryChanged, 17);
        expect(&report, ProblemKind::RootMismatch, 10);
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn a_changed_entry_with_recomputed_hash_is_caught_by_the_signed_roots() {
    for db in databases() {
        let every: Vec<u64> = (1..=40).collect();
        fill(&db, 40, &every);
        let mut e = entry(17);
        e.seq = 17;
        e.justification = "nothing to see here".into();
        e.normalize();
        let bytes = e.encode().unwrap();
        let leaf = leaf_hash(&bytes);
        sql(
            &db,
            &[(
                "UPDATE ledger_entries SET entry = $1, leaf_hash = $2 WHERE seq = 17",
                vec![Value::Bytes(bytes), Value::Bytes(leaf.0.to_vec())],
            )],
        );
        let report = run_verify(&db, None);
        assert!(
            !report
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::EntryChanged)
        );
        expect(&report, ProblemKind::RootMismatch, 17);
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn a_deleted_entry_is_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        sql(
            &db,
            &[("DELETE FROM ledger_entries WHERE seq = 17", vec![])],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryDeleted, 17);
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn a_deleted_entry_with_renumbered_rows_is_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        sql(
            &db,
            &[("DELETE FROM ledger_entries WHERE seq = 17", vec![])],
        );
        shift(&db, 18, -1);
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryDeleted, 17);
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn deleted_newest_entries_are_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        sql(
            &db,
            &[("DELETE FROM ledger_entries WHERE seq >= 35", vec![])],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryDeleted, 35);
        assert_eq!(report.first_bad_seq(), Some(35), "{}", db.name);
    }
}

#[test]
fn an_inserted_entry_is_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        shift(&db, 17, 1);
        let mut forged = entry(999);
        forged.seq = 17;
        forged.normalize();
        let bytes = forged.encode().unwrap();
        let leaf = leaf_hash(&bytes);
        sql(
            &db,
            &[(
                "INSERT INTO ledger_entries (seq, entry, leaf_hash) VALUES (17, $1, $2)",
                vec![Value::Bytes(bytes), Value::Bytes(leaf.0.to_vec())],
            )],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryInserted, 17);
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn reordered_entries_are_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        sql(
            &db,
            &[
                ("UPDATE ledger_entries SET seq = -1 WHERE seq = 17", vec![]),
                ("UPDATE ledger_entries SET seq = 17 WHERE seq = 18", vec![]),
                ("UPDATE ledger_entries SET seq = 18 WHERE seq = -1", vec![]),
            ],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::EntryReordered, 17);
        assert!(
            !report
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::EntryDeleted)
        );
        assert_eq!(report.first_bad_seq(), Some(17), "{}", db.name);
    }
}

#[test]
fn forged_checkpoints_are_named() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        // Signed by another key, and a real note with its root edited.
        let impostor = CheckpointSigner::from_seed("steward.test/ledger", &[9; 32]).unwrap();
        let fake = impostor
            .sign(&Checkpoint {
                origin: "steward.test/ledger".into(),
                size: 20,
                root: leaf_hash(b"whatever"),
                time_ms: 1,
            })
            .unwrap();
        let notes = db.store.read(Ledger::checkpoint_notes).unwrap();
        let edited = notes[2].1.replacen("\n30\n", "\n31\n", 1);
        sql(
            &db,
            &[
                (
                    "UPDATE ledger_checkpoints SET note = $1 WHERE tree_size = 20",
                    vec![Value::from(fake.note)],
                ),
                (
                    "UPDATE ledger_checkpoints SET note = $1 WHERE tree_size = 30",
                    vec![Value::from(edited)],
                ),
            ],
        );
        let report = run_verify(&db, None);
        expect(&report, ProblemKind::CheckpointForged, 20);
        assert_eq!(report.checkpoints_ok, 2);
        assert_eq!(report.first_bad_seq(), None, "{}: no entry is bad", db.name);
    }
}

#[test]
fn a_trusted_checkpoint_catches_a_truncated_log_with_its_checkpoints_gone() {
    for db in databases() {
        fill(&db, 40, &CHECKPOINTS);
        let trusted = db.store.read(Ledger::latest_checkpoint).unwrap().unwrap();
        sql(
            &db,
            &[
                ("DELETE FROM ledger_entries WHERE seq >= 25", vec![]),
                (
                    "DELETE FROM ledger_checkpoints WHERE tree_size > 20",
                    vec![],
                ),
            ],
        );
        assert!(
            run_verify(&db, None).ok(),
            "without the auditor's copy the truncation is invisible"
        );
        let report = run_verify(&db, Some(&trusted.note));
        expect(&report, ProblemKind::EntryDeleted, 25);
        assert_eq!(report.first_bad_seq(), Some(25), "{}", db.name);
        // A trusted checkpoint that is not signed by the key is an error, not a report.
        let err = db
            .store
            .read(|tx| {
                verify(
                    tx,
                    &signer().verifier(),
                    Some("o\n1\nAA==\ntime 1\n\n\u{2014} x AAAA\n"),
                )
            })
            .unwrap_err();
        assert_eq!(err.code(), "ledger.signature_invalid");
    }
}

#[test]
fn a_removed_index_row_that_would_hide_an_entry_is_named() {
    use steward_ledger::memberset::MemberSet;
    use steward_ledger::verify::verify_indexes;
    for db in databases() {
        fill(&db, 20, &[20]);
        db.store
            .transaction(|tx| {
                let ledger = Ledger::new("steward.test/ledger");
                let subjects = ledger.store_member_set(tx, "d1", &MemberSet::new([5, 6, 7]))?;
                let mut release = entry(20);
                release.subjects = subjects;
                ledger.append(tx, release).map(|_| ())
            })
            .unwrap();
        let deep = |db: &Db| {
            db.store
                .read(|tx| {
                    let mut report = verify(tx, &signer().verifier(), None)?;
                    verify_indexes(tx, &mut report)?;
                    Ok::<_, LedgerError>(report)
                })
                .unwrap()
        };
        assert!(deep(&db).ok(), "{}: {:?}", db.name, deep(&db).problems);

        // Entry 13 names members 3 and 101: hide it from member 3.
        sql(
            &db,
            &[(
                "DELETE FROM ledger_subjects WHERE member_id = 3 AND seq = 13",
                vec![],
            )],
        );
        let report = deep(&db);
        expect(&report, ProblemKind::IndexMismatch, 13);
        // The log itself is intact: only the index pass sees it.
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        sql(
            &db,
            &[(
                "INSERT INTO ledger_subjects (member_id, seq) VALUES (3, 13)",
                vec![],
            )],
        );
        assert!(deep(&db).ok());

        // Drop member 6 from the stored set of the release (entry 20).
        sql(
            &db,
            &[(
                "DELETE FROM ledger_member_set_members WHERE member_id = 6",
                vec![],
            )],
        );
        expect(&deep(&db), ProblemKind::IndexMismatch, 20);
    }
}
