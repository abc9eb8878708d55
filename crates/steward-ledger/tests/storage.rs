//! The stored ledger on every backend: transactional appends, checkpoints, proofs, access
//! history with member sets, and group commit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{databases, entry, fill, signer};
use steward_ledger::bundle::InclusionBundle;
use steward_ledger::entry::Subjects;
use steward_ledger::error::LedgerError;
use steward_ledger::group::{GroupCommitOptions, GroupCommitter};
use steward_ledger::hash::leaf_hash;
use steward_ledger::ledger::Ledger;
use steward_ledger::memberset::{MemberSet, Membership, verify_membership};
use steward_ledger::merkle::{verify_consistency, verify_inclusion};
use steward_ledger::verify::verify;
use steward_store::Value;

fn ledger() -> Ledger {
    Ledger::new("steward.test/ledger")
}

#[test]
fn an_append_commits_or_vanishes_with_its_transaction() {
    for db in databases() {
        // The effect and its entry in one transaction that fails after both were written.
        let failed: Result<(), LedgerError> = db.store.transaction(|tx| {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS effects (id BIGINT PRIMARY KEY)")?;
            tx.execute("INSERT INTO effects (id) VALUES (1)", &[])?;
            ledger().append(tx, entry(0))?;
            Err(LedgerError::Storage {
                detail: "the effect failed late".into(),
            })
        });
        assert!(failed.is_err());
        let size = db.store.read(Ledger::size).unwrap();
        assert_eq!(size, 0, "{}: a rolled-back append left an entry", db.name);

        db.store
            .transaction(|tx| {
                tx.execute_batch("CREATE TABLE IF NOT EXISTS effects (id BIGINT PRIMARY KEY)")?;
                tx.execute("INSERT INTO effects (id) VALUES (2)", &[])?;
                let seq = ledger().append(tx, entry(1))?;
                assert_eq!(seq, 0);
                Ok::<(), LedgerError>(())
            })
            .unwrap();
        let (size, effects) = db
            .store
            .read(|tx| {
                Ok::<_, LedgerError>((
                    Ledger::size(tx)?,
                    tx.query_i64("SELECT COUNT(*) FROM effects", &[])?,
                ))
            })
            .unwrap();
        assert_eq!((size, effects), (1, 1), "{}", db.name);
    }
}

#[test]
fn checkpoints_extend_each_other_and_verify() {
    for db in databases() {
        fill(&db, 50, &[1, 8, 13, 50]);
        let s = signer();
        let report = db.store.read(|tx| verify(tx, &s.verifier(), None)).unwrap();
        assert!(report.ok(), "{}: {:?}", db.name, report.problems);
        assert_eq!(report.entries, 50);
        assert_eq!(report.checkpoints_ok, 4);
        // A checkpoint with nothing new returns the latest unchanged.
        let again = db
            .store
            .transaction(|tx| ledger().checkpoint(tx, &s, 1))
            .unwrap();
        assert_eq!(again.checkpoint.size, 50);
        // Consecutive checkpoints are consistent.
        let tree = db.store.read(|tx| Ledger::tree(tx, 50)).unwrap();
        let notes = db.store.read(Ledger::checkpoint_notes).unwrap();
        let cps: Vec<_> = notes
            .iter()
            .map(|(_, n)| s.verifier().verify(n).unwrap())
            .collect();
        for pair in cps.windows(2) {
            let proof = tree.consistency_proof(pair[0].size, pair[1].size).unwrap();
            verify_consistency(
                pair[0].size,
                pair[1].size,
                &pair[0].root,
                &pair[1].root,
                &proof,
            )
            .unwrap();
        }
    }
}

#[test]
fn a_checkpoint_refuses_to_build_on_a_forged_predecessor() {
    for db in databases() {
        fill(&db, 5, &[5]);
        db.store
            .transaction(|tx| {
                tx.execute(
                    "UPDATE ledger_checkpoints SET note = replace(note, '\n5\n', '\n6\n')",
                    &[],
                )?;
                Ok::<(), LedgerError>(())
            })
            .unwrap();
        let err = db
            .store
            .transaction(|tx| {
                ledger().append(tx, entry(5))?;
                ledger().checkpoint(tx, &signer(), 2)
            })
            .unwrap_err();
        assert_eq!(err.code(), "ledger.signature_invalid", "{}", db.name);
    }
}

#[test]
fn proof_bundles_verify_offline_and_fail_when_altered() {
    for db in databases() {
        fill(&db, 21, &[21]);
        let s = signer();
        let bundle = db
            .store
            .read(|tx| {
                let cp = Ledger::latest_checkpoint(tx)?.unwrap();
                let tree = Ledger::tree(tx, cp.checkpoint.size)?;
                let entry = tx
                    .query_opt("SELECT entry FROM ledger_entries WHERE seq = 13", &[])?
                    .unwrap();
                Ok::<_, LedgerError>(InclusionBundle {
                    seq: 13,
                    size: 21,
                    entry: entry.get(0).as_bytes().unwrap().to_vec(),
                    path: tree.inclusion_proof(13, 21)?,
                    checkpoint: cp.note,
                })
            })
            .unwrap();
        let text = bundle.to_text();
        let parsed = InclusionBundle::parse(&text).unwrap();
        let (entry, cp) = parsed.verify(&s.verifier()).unwrap();
        assert_eq!((entry.seq, cp.size), (13, 21));
        assert_eq!(entry.justification, "case 13");

        let mut wrong_seq = parsed.clone();
        wrong_seq.seq = 12;
        assert!(wrong_seq.verify(&s.verifier()).is_err());
        let mut wrong_entry = parsed.clone();
        let last = wrong_entry.entry.len() - 1;
        wrong_entry.entry[last] ^= 1;
        assert!(wrong_entry.verify(&s.verifier()).is_err());
        let other_key = steward_ledger::checkpoint::CheckpointSigner::from_seed(
            "steward.test/ledger",
            &[8; 32],
        )
        .unwrap();
        assert_eq!(
            parsed.verify(&other_key.verifier()).unwrap_err().code(),
            "ledger.signature_invalid"
        );
        assert_eq!(
            InclusionBundle::parse("nonsense").unwrap_err().code(),
            "ledger.proof_malformed"
        );
    }
}

#[test]
fn access_history_lists_every_entry_naming_a_member_with_proofs() {
    for db in databases() {
        let s = signer();
        let set = MemberSet::new((0..5000u64).filter(|m| m % 7 != 3));
        db.store
            .transaction(|tx| {
                for i in 0..30 {
                    ledger().append(tx, entry(i))?;
                }
                let subjects = ledger().store_member_set(tx, "dataset:jobs-2026-11", &set)?;
                let mut release = entry(30);
                release.action = "release".into();
                release.purpose = "ai.training".into();
                release.subjects = subjects;
                ledger().append(tx, release)?;
                ledger().checkpoint(tx, &s, 5)?;
                // One entry after the checkpoint: listed, but without a proof yet.
                ledger().append(tx, entry(31))?;
                Ok::<(), LedgerError>(())
            })
            .unwrap();

        // Member 4 is named directly by entries 4, 14, 24 and is in the set.
        let history = db
            .store
            .read(|tx| Ledger::access_history(tx, 4, &s.verifier()))
            .unwrap();
        let seqs: Vec<u64> = history.items.iter().map(|i| i.entry.seq).collect();
        assert_eq!(seqs, vec![30, 24, 14, 4], "{}", db.name);
        let cp = history.checkpoint.clone().unwrap().checkpoint;
        for item in &history.items {
            let proof = item.proof.as_ref().unwrap();
            assert_eq!(item.leaf_hash, leaf_hash(&item.entry.encode().unwrap()));
            verify_inclusion(item.entry.seq, cp.size, &item.leaf_hash, proof, &cp.root).unwrap();
        }
        let release = &history.items[0];
        let Subjects::MemberSet { digest, count, .. } = &release.entry.subjects else {
            panic!("the release names a member set");
        };
        let answer = release.membership.as_ref().unwrap();
        assert!(matches!(answer, Membership::Present(_)));
        assert!(verify_membership(4, answer, digest, *count).unwrap());

        // Member 3 is excluded from the set: the release does not appear for them.
        let history = db
            .store
            .read(|tx| Ledger::access_history(tx, 3, &s.verifier()))
            .unwrap();
        assert_eq!(
            history
                .items
                .iter()
                .map(|i| i.entry.seq)
                .collect::<Vec<_>>(),
            vec![23, 13, 3]
        );

        // Member 1 is named by entry 31, which is newer than the checkpoint.
        let history = db
            .store
            .read(|tx| Ledger::access_history(tx, 1, &s.verifier()))
            .unwrap();
        assert_eq!(history.items[0].entry.seq, 31);
        assert!(history.items[0].proof.is_none());
        assert!(history.items[1].proof.is_some());

        // "Was I in the dataset?" for someone who was not: a checkable no.
        let stored = db
            .store
            .read(|tx| Ledger::member_set(tx, "dataset:jobs-2026-11"))
            .unwrap();
        let no = stored.membership(10).unwrap();
        assert!(!verify_membership(10, &no, &set.digest(), set.len()).unwrap());
    }
}

#[test]
fn member_sets_are_checked_on_append_and_on_read() {
    for db in databases() {
        let set = MemberSet::new([1, 2, 3]);
        let err = db
            .store
            .transaction(|tx| {
                let mut e = entry(0);
                e.subjects = Subjects::MemberSet {
                    digest: set.digest(),
                    count: 3,
                    set_id: "never-stored".into(),
                };
                ledger().append(tx, e)
            })
            .unwrap_err();
        assert_eq!(err.code(), "ledger.member_set_not_found");
        let err = db
            .store
            .transaction(|tx| {
                ledger().store_member_set(tx, "d", &set)?;
                ledger().store_member_set(tx, "d", &MemberSet::new([1, 2]))
            })
            .unwrap_err();
        assert_eq!(err.code(), "ledger.entry_invalid");
        db.store
            .transaction(|tx| ledger().store_member_set(tx, "d", &set).map(|_| ()))
            .unwrap();
        db.store
            .transaction(|tx| {
                tx.execute(
                    "DELETE FROM ledger_member_set_members WHERE member_id = $1",
                    &[Value::Int(2)],
                )?;
                Ok::<(), LedgerError>(())
            })
            .unwrap();
        let err = db.store.read(|tx| Ledger::member_set(tx, "d")).unwrap_err();
        assert_eq!(err.code(), "ledger.proof_invalid", "{}", db.name);
    }
}

#[test]
fn group_commit_acknowledges_every_entry_once_durable() {
    for db in databases() {
        let store = db.store.clone();
        let signer = Arc::new(signer());
        let (committer, thread) = GroupCommitter::start(
            store.clone(),
            ledger(),
            Some(signer.clone()),
            GroupCommitOptions {
                max_batch: 64,
                checkpoint_every_batch: true,
            },
        );
        let mut workers = Vec::new();
        for w in 0..4u64 {
            let c = committer.clone();
            workers.push(std::thread::spawn(move || {
                (0..100u64)
                    .map(|i| c.append(entry(w * 1000 + i)).unwrap())
                    .collect::<Vec<_>>()
            }));
        }
        let mut seqs: Vec<u64> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        drop(committer);
        drop(thread);
        seqs.sort_unstable();
        assert_eq!(seqs, (0..400).collect::<Vec<_>>());
        let report = store
            .read(|tx| verify(tx, &signer.verifier(), None))
            .unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(report.entries, 400);
        assert_eq!(report.latest.unwrap().size, 400);
    }
}

#[test]
fn consistency_bundles_prove_a_later_checkpoint_extends_an_earlier_one() {
    use steward_ledger::bundle::ConsistencyBundle;
    for db in databases() {
        fill(&db, 30, &[7, 30]);
        let s = signer();
        let notes = db.store.read(Ledger::checkpoint_notes).unwrap();
        let tree = db.store.read(|tx| Ledger::tree(tx, 30)).unwrap();
        let bundle = ConsistencyBundle {
            path: tree.consistency_proof(7, 30).unwrap(),
            old_checkpoint: notes[0].1.clone(),
            new_checkpoint: notes[1].1.clone(),
        };
        let parsed = ConsistencyBundle::parse(&bundle.to_text()).unwrap();
        assert_eq!(parsed, bundle);
        assert!(ConsistencyBundle::is_consistency(&bundle.to_text()));
        let (old, new) = parsed.verify(&s.verifier()).unwrap();
        assert_eq!((old.size, new.size), (7, 30));

        // Swapped checkpoints, an altered proof, a checkpoint of a rewritten log: all fail.
        let swapped = ConsistencyBundle {
            old_checkpoint: bundle.new_checkpoint.clone(),
            new_checkpoint: bundle.old_checkpoint.clone(),
            ..bundle.clone()
        };
        assert!(swapped.verify(&s.verifier()).is_err());
        let mut altered = bundle.clone();
        altered.path[1].0[3] ^= 4;
        assert_eq!(
            altered.verify(&s.verifier()).unwrap_err().code(),
            "ledger.proof_invalid"
        );
        let mut other = steward_ledger::merkle::Tree::new();
        for i in 0..30u64 {
            other.push(leaf_hash(format!("rewritten {i}").as_bytes()));
        }
        let forged_new = s
            .sign(&steward_ledger::Checkpoint {
                origin: "steward.test/ledger".into(),
                size: 30,
                root: other.root(),
                time_ms: 9,
            })
            .unwrap();
        let forked = ConsistencyBundle {
            path: other.consistency_proof(7, 30).unwrap(),
            new_checkpoint: forged_new.note,
            ..bundle.clone()
        };
        assert!(
            forked.verify(&s.verifier()).is_err(),
            "{}: a fork verified",
            db.name
        );
        assert!(ConsistencyBundle::parse("steward-ledger-consistency 1\nold\nx").is_err());
    }
}

#[test]
fn one_bad_entry_does_not_fail_the_others_in_its_group_commit() {
    for db in databases() {
        let (committer, thread) = GroupCommitter::start(
            db.store.clone(),
            ledger(),
            None,
            GroupCommitOptions::default(),
        );
        // Queue everything before waiting, so the bad entry shares a batch with good ones.
        let mut pending = Vec::new();
        for i in 0..50u64 {
            let mut e = entry(i);
            if i == 25 {
                e.subjects = Subjects::MemberSet {
                    digest: leaf_hash(b"no such set"),
                    count: 1,
                    set_id: "missing".into(),
                };
            }
            pending.push(committer.submit(e).unwrap());
        }
        let results: Vec<_> = pending.into_iter().map(|p| p.wait()).collect();
        drop(committer);
        drop(thread);
        assert!(results[25].is_err(), "{}", db.name);
        let ok: Vec<u64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(ok.len(), 49);
        let mut sorted = ok.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..49).collect::<Vec<_>>());
        assert_eq!(db.store.read(Ledger::size).unwrap(), 49);
    }
}
