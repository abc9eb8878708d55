//! "Datasets that included me" and the release listing with status, as the privacy center
//! and the auditor view read them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use steward_core::Policy;
use steward_datasets::build::build_shipped;
use steward_datasets::included::datasets_including;
use steward_datasets::registry;
use steward_ledger::{Ledger, Subjects};
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store, Value};

#[test]
fn a_member_sees_the_datasets_that_included_them_with_their_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("n.db").display())).unwrap();
    seed(
        &store,
        &SeedConfig {
            members: 300,
            seed: 3,
            canary_path: dir.path().join("c.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    // Nothing built yet: nobody was included, and the listing is empty (not an error).
    assert!(datasets_including(&store, 1).unwrap().is_empty());
    registry::install(&store).unwrap();
    assert!(registry::list(&store).unwrap().is_empty());

    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("test");
    let out = dir.path().join("out");
    let profiles =
        build_shipped(&store, &policy, &ledger, "profiles", &out, SEED_EPOCH_MS).unwrap();
    let transitions = build_shipped(
        &store,
        &policy,
        &ledger,
        "career_transitions",
        &out,
        SEED_EPOCH_MS,
    )
    .unwrap();
    let members_of = |seq: u64| -> Vec<i64> {
        store
            .read(|tx| {
                let Subjects::MemberSet { set_id, .. } = Ledger::entry(tx, seq)?.subjects else {
                    panic!("a member set");
                };
                let set = Ledger::member_set(tx, &set_id)?;
                Ok::<_, steward_ledger::LedgerError>(set.ids().iter().map(|i| *i as i64).collect())
            })
            .unwrap()
    };
    let in_profiles = members_of(profiles.ledger_seq);
    let in_transitions = members_of(transitions.ledger_seq);
    let both = *in_profiles
        .iter()
        .find(|m| in_transitions.contains(m))
        .expect("someone is in both");
    let mut got: Vec<(String, String)> = datasets_including(&store, both)
        .unwrap()
        .into_iter()
        .map(|i| (i.dataset_id, i.status))
        .collect();
    got.sort();
    let mut want = vec![
        (profiles.id.clone(), "published".to_owned()),
        (transitions.id.clone(), "published".to_owned()),
    ];
    want.sort();
    assert_eq!(got, want);

    // A member in no release (the seeded network's first member without AI consent).
    let outsider = (1..=300)
        .find(|m| !in_profiles.contains(m) && !in_transitions.contains(m))
        .unwrap();
    assert!(datasets_including(&store, outsider).unwrap().is_empty());

    // Staleness (as the store's staleness marking records it) shows in both views.
    store
        .transaction(|tx| {
            tx.execute(
                "UPDATE datasets SET status = 'stale', stale_since = $1 WHERE dataset_id = $2",
                &[
                    Value::Int(SEED_EPOCH_MS + 1),
                    Value::from(profiles.id.as_str()),
                ],
            )
        })
        .unwrap();
    let mine = datasets_including(&store, both).unwrap();
    let p = mine.iter().find(|i| i.dataset_id == profiles.id).unwrap();
    assert_eq!(p.status, "stale");
    assert_eq!(p.stale_since_ms, Some(SEED_EPOCH_MS + 1));
    assert_eq!(p.name, "profiles");
    assert_eq!(p.purpose, "ai.training");
    let listed = registry::list(&store).unwrap();
    assert_eq!(listed.len(), 2);
    let p = listed.iter().find(|r| r.id == profiles.id).unwrap();
    assert_eq!(p.status, "stale");
    assert_eq!(p.members as usize, in_profiles.len());
    let t = listed.iter().find(|r| r.id == transitions.id).unwrap();
    assert_eq!(t.status, "published");
    assert_eq!(t.source, "career_transitions");
    assert_eq!(t.stale_since, None);
}
