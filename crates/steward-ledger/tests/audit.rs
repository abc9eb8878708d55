//! Audited member operations: the change and its ledger entry commit together, a refused
//! change writes no entry, and entries never carry the member's profile values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_ledger::audit::{self, Context};
use steward_ledger::{Ledger, Subjects};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("a.db").display())).unwrap();
    seed(
        &store,
        &SeedConfig {
            members: 3,
            seed: 9,
            canary_path: dir.path().join("c.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    Ledger::install(&store).unwrap();
    (dir, store)
}

const CTX: Context<'static> = Context {
    actor: &Actor::Member,
    at_ms: 1_800_000_000_000,
    policy_version: "test@000000000000",
};

#[test]
fn a_profile_change_is_ledgered_without_its_value() {
    let (_d, store) = store();
    let seq = store
        .transaction(|tx| {
            audit::update_profile(
                tx,
                &Taxonomy::builtin(),
                2,
                "headline=Confidential Headline Xyzzy",
                &CTX,
            )
        })
        .unwrap()
        .1;
    let entry = store.read(|tx| Ledger::entry(tx, seq)).unwrap();
    assert_eq!(entry.action, "profile.update");
    assert_eq!(entry.subjects, Subjects::members([2]));
    let encoded = String::from_utf8_lossy(&entry.encode().unwrap()).into_owned();
    assert!(
        !encoded.contains("Xyzzy"),
        "the ledger must not hold profile values"
    );
    assert!(entry.details.contains("headline"));
}

#[test]
fn a_refused_change_writes_no_entry_and_a_good_one_names_the_member() {
    let (_d, store) = store();
    let t = Taxonomy::builtin();
    let before = store.read(Ledger::size).unwrap();
    let bad = store.transaction(|tx| audit::change_setting(tx, &t, 1, "ai.trainig=off", &CTX));
    assert_eq!(bad.map(|_| ()).map_err(|e| e.code()), Err("store.invalid"));
    assert_eq!(store.read(Ledger::size).unwrap(), before);

    let (change, seq) = store
        .transaction(|tx| audit::change_setting(tx, &t, 1, "ai.training=off", &CTX))
        .unwrap();
    assert_eq!(change.new_value, "off");
    let entry = store.read(|tx| Ledger::entry(tx, seq)).unwrap();
    assert!(entry.subjects.names(1));
    assert_eq!(entry.policy_version, "test@000000000000");
}

#[test]
fn self_access_is_recorded_with_its_categories() {
    let (_d, store) = store();
    let seq = store
        .transaction(|tx| {
            audit::record_self_access(tx, 3, "export", &["member", "member.settings"], &CTX)
        })
        .unwrap();
    let entry = store.read(|tx| Ledger::entry(tx, seq)).unwrap();
    assert_eq!(entry.action, "export");
    assert_eq!(
        entry.categories,
        vec!["member".to_owned(), "member.settings".to_owned()]
    );
}
