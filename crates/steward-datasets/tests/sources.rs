//! The `engagement_sequences` and `career_transitions` sources on a seeded SQLite network:
//! what never enters (events on connections-only, open- and closed-group posts and on member
//! profiles; hidden experience sections; members without AI-training consent, deleted
//! members, minors), what the rows are, and their shipped specs built end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use steward_core::{Policy, Taxonomy};
use steward_datasets::build::build_shipped;
use steward_datasets::sinks::parquet;
use steward_datasets::sources::{Silent, career_transitions, engagement_sequences};
use steward_datasets::transforms::pseudonymize::BuildKey;
use steward_datasets::{Spec, build};
use steward_ledger::{Ledger, Subjects};
use steward_privacy::anon::checker;
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, read_canaries, seed};
use steward_store::{PlaintextForTestsOnly, Store, member};

struct Net {
    store: Store,
    dir: tempfile::TempDir,
    canaries: Vec<String>,
}

fn network(members: u32) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("net.db").display());
    let store = Store::open(&url).unwrap();
    let canary_path = dir.path().join("canaries.jsonl");
    seed(
        &store,
        &SeedConfig {
            members,
            seed: 23,
            canary_path: canary_path.clone(),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let canaries = read_canaries(&canary_path)
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect();
    Net {
        store,
        dir,
        canaries,
    }
}

/// Why each member may not enter an AI-training dataset (absent: they may).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Barred {
    NoConsent,
    Deleted,
    Minor,
}

fn barred(net: &Net) -> HashMap<i64, Barred> {
    let t = Taxonomy::builtin();
    let ai = t.consent_key_id("ai.training").unwrap();
    net.store
        .read(|tx| {
            let mut out = HashMap::new();
            for row in tx.query("SELECT member_id FROM members", &[])? {
                let id = row.i64(0)?;
                let m = member::get_member(tx, id)?;
                let why = if m.deleted_at.is_some() {
                    Some(Barred::Deleted)
                } else if steward_store::vocab::may_be_minor(m.birth_year, SEED_EPOCH_MS) {
                    Some(Barred::Minor)
                } else if !member::effective_consent(tx, &t, &m, SEED_EPOCH_MS)?.granted(ai) {
                    Some(Barred::NoConsent)
                } else {
                    None
                };
                if let Some(w) = why {
                    out.insert(id, w);
                }
            }
            Ok::<_, steward_store::StoreError>(out)
        })
        .unwrap()
}

fn ids(net: &Net, sql: &str) -> Vec<i64> {
    net.store
        .read(|tx| {
            tx.query(sql, &[])?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

fn member_set(net: &Net, seq: u64) -> BTreeSet<i64> {
    net.store
        .read(|tx| {
            let entry = Ledger::entry(tx, seq)?;
            let Subjects::MemberSet { set_id, .. } = entry.subjects else {
                panic!("a release names a member set");
            };
            let set = Ledger::member_set(tx, &set_id)?;
            Ok::<_, steward_ledger::LedgerError>(set.ids().iter().map(|i| *i as i64).collect())
        })
        .unwrap()
}

fn file_text(dir: &std::path::Path) -> String {
    let (header, rows) = parquet::read(&dir.join("data.parquet")).unwrap();
    let mut out = header.join("\t");
    for r in rows {
        out.push('\n');
        out.push_str(&r.join("\t"));
    }
    for f in ["datasheet.json", "datasheet.md"] {
        out.push('\n');
        out.push_str(&std::fs::read_to_string(dir.join(f)).unwrap());
    }
    out
}

fn fields(spec: &str) -> Vec<String> {
    Spec::shipped(spec).unwrap().fields
}

#[test]
fn engagement_sequences_hold_only_public_items_of_consenting_adults() {
    let net = network(500);
    let policy = Policy::builtin().unwrap();
    let barred = barred(&net);
    for w in [Barred::NoConsent, Barred::Deleted, Barred::Minor] {
        assert!(barred.values().any(|b| *b == w), "the network has {w:?}");
    }
    // The network has events on every kind of item a release must not mention.
    for (what, sql) in [
        (
            "connections-only posts",
            "SELECT COUNT(*) FROM engagement_events e JOIN posts p ON p.post_id = e.target_id WHERE e.target_kind = 'post' AND p.visibility = 'connections'",
        ),
        (
            "closed-group posts",
            "SELECT COUNT(*) FROM engagement_events e JOIN posts p ON p.post_id = e.target_id WHERE e.target_kind = 'post' AND p.visibility = 'group_closed'",
        ),
        (
            "open-group posts",
            "SELECT COUNT(*) FROM engagement_events e JOIN posts p ON p.post_id = e.target_id WHERE e.target_kind = 'post' AND p.visibility = 'group_open'",
        ),
        (
            "member profiles",
            "SELECT COUNT(*) FROM engagement_events WHERE target_kind = 'member'",
        ),
    ] {
        assert!(ids(&net, sql)[0] > 0, "no engagement on {what}");
    }

    // Every pseudonym the source can emit for a post, with what the post is.
    let key = BuildKey::from_bytes([7; 32]);
    let posts: HashMap<String, (i64, String, i64)> = net
        .store
        .read(|tx| {
            let mut m = HashMap::new();
            for r in tx.query("SELECT post_id, visibility, member_id FROM posts", &[])? {
                let id = r.i64(0)?;
                m.insert(key.item("post", id), (id, r.text(1)?, r.i64(2)?));
            }
            Ok::<_, steward_store::StoreError>(m)
        })
        .unwrap();

    let f = fields("engagement_sequences");
    let x =
        engagement_sequences::read(&net.store, &policy, &f, SEED_EPOCH_MS, &key, &Silent).unwrap();
    assert!(x.rows.len() > 1000, "{} rows", x.rows.len());
    let col = |name: &str| f.iter().position(|h| h == name).unwrap();
    let (item, kind, index, week) = (
        col("item"),
        col("item_kind"),
        col("sequence_index"),
        col("event_week"),
    );
    let mut post_rows = 0;
    for (row, m) in x.rows.iter().zip(&x.members) {
        assert_eq!(barred.get(m), None, "member {m} is barred but has events");
        assert!(
            ["post", "job", "company"].contains(&row[kind].as_str()),
            "{row:?}"
        );
        assert!(row[item].starts_with(&format!("{}:", row[kind])), "{row:?}");
        if row[kind] == "post" {
            post_rows += 1;
            let (id, vis, author) = posts
                .get(&row[item])
                .unwrap_or_else(|| panic!("unknown post pseudonym {}", row[item]));
            assert_eq!(vis, "public", "post {id} is {vis}");
            assert_eq!(
                barred.get(author),
                None,
                "post {id}'s author may not be in AI training"
            );
        }
    }
    assert!(post_rows > 100, "{post_rows} post events");
    // Each member's sequence is numbered 0, 1, 2, ... in time order.
    let mut by_member: BTreeMap<i64, Vec<(u64, &str)>> = BTreeMap::new();
    for (row, m) in x.rows.iter().zip(&x.members) {
        by_member
            .entry(*m)
            .or_default()
            .push((row[index].parse().unwrap(), row[week].as_str()));
    }
    for seq in by_member.values() {
        for (i, (n, _)) in seq.iter().enumerate() {
            assert_eq!(*n, i as u64);
        }
        assert!(seq.windows(2).all(|w| w[0].1 <= w[1].1), "weeks in order");
    }
    for reason in [
        engagement_sequences::TARGET_IS_A_PROFILE,
        engagement_sequences::TARGET_NOT_RELEASED,
    ] {
        assert!(
            x.source_exclusions.get(reason).copied().unwrap_or(0) > 0,
            "{reason}: {:?}",
            x.source_exclusions
        );
    }
    let events = &x.reports[0];
    for reason in ["consent", "minor", "deleted_member"] {
        assert!(
            events
                .excluded_rows
                .iter()
                .any(|(k, v)| k.as_str() == reason && *v > 0),
            "{reason}: {events:?}"
        );
    }

    // The shipped spec, built: k confirmed, pseudonyms only, no canary, members as above.
    let ledger = Ledger::new("test");
    let out = net.dir.path().join("out");
    let built = build_shipped(
        &net.store,
        &policy,
        &ledger,
        "engagement_sequences",
        &out,
        SEED_EPOCH_MS,
    )
    .unwrap();
    let s = &built.datasheet;
    assert!(s.privacy.k_confirmed >= 5, "k = {}", s.privacy.k_confirmed);
    assert!(
        s.source_exclusions
            .contains_key(engagement_sequences::TARGET_IS_A_PROFILE)
    );
    let (header, rows) = parquet::read(&built.path.join("data.parquet")).unwrap();
    assert_eq!(header[0], "member_pseudonym");
    assert!(!header.iter().any(|h| h == "member_id"));
    assert_eq!(rows.len() as u64, s.composition.rows);
    let qis = ["event_week", "item_kind"];
    let check = checker::check(&header, &rows, &qis, None, None).unwrap();
    assert!(check.k >= 5);
    for m in member_set(&net, built.ledger_seq) {
        assert_eq!(barred.get(&m), None, "member {m} released");
    }
    // A fresh key per build: no item pseudonym of the fixed test key appears.
    let text = file_text(&built.path);
    let fixed: BTreeSet<&str> = x.rows.iter().map(|r| r[item].as_str()).collect();
    let item_col = header.iter().position(|h| h == "item").unwrap();
    assert!(rows.iter().all(|r| !fixed.contains(r[item_col].as_str())));
    for c in &net.canaries {
        assert!(!text.contains(c.as_str()), "canary {c} leaked");
    }
}

#[test]
fn career_transitions_leave_out_hidden_experience_and_barred_members() {
    let net = network(600);
    let policy = Policy::builtin().unwrap();
    let barred = barred(&net);
    // Members who hide their experience section (private) while allowing AI training.
    let hidden: BTreeSet<i64> = ids(
        &net,
        "SELECT member_id FROM profile_visibility WHERE section = 'experience' AND visibility = 'private'",
    )
    .into_iter()
    .filter(|m| !barred.contains_key(m))
    .collect();
    assert!(
        !hidden.is_empty(),
        "the network has hidden experience sections"
    );
    let positions: HashMap<i64, i64> = net
        .store
        .read(|tx| {
            let mut m = HashMap::new();
            for r in tx.query(
                "SELECT member_id, COUNT(*) FROM positions GROUP BY member_id",
                &[],
            )? {
                m.insert(r.i64(0)?, r.i64(1)?);
            }
            Ok::<_, steward_store::StoreError>(m)
        })
        .unwrap();
    assert!(
        barred
            .keys()
            .any(|m| positions.get(m).copied().unwrap_or(0) >= 2),
        "barred members have careers to leave out"
    );

    let f = fields("career_transitions");
    let x = career_transitions::read(&net.store, &policy, &f, SEED_EPOCH_MS, &Silent).unwrap();
    assert!(x.rows.len() > 200, "{} rows", x.rows.len());
    let mut per_member: HashMap<i64, i64> = HashMap::new();
    for m in &x.members {
        assert_eq!(barred.get(m), None, "member {m} is barred");
        assert!(!hidden.contains(m), "member {m} hides their experience");
        *per_member.entry(*m).or_default() += 1;
    }
    // One row per pair of consecutive positions.
    for (m, n) in &per_member {
        assert_eq!(*n, positions[m] - 1, "member {m}");
    }
    let col = |name: &str| f.iter().position(|h| h == name).unwrap();
    let bands: BTreeSet<&str> = x
        .rows
        .iter()
        .map(|r| r[col("years_band")].as_str())
        .collect();
    assert!(
        bands
            .iter()
            .all(|b| ["0-1", "2-4", "5-9", "10+"].contains(b)),
        "{bands:?}"
    );
    let functions: BTreeSet<&str> = x
        .rows
        .iter()
        .map(|r| r[col("from_function")].as_str())
        .collect();
    assert!(functions.len() > 5, "{functions:?}");
    assert!(
        !functions.contains("unknown"),
        "every seeded title is an O*NET title"
    );
    assert!(
        x.source_exclusions
            .get(career_transitions::SINGLE_POSITION)
            .copied()
            .unwrap_or(0)
            > 0
    );

    let ledger = Ledger::new("test");
    let out = net.dir.path().join("out");
    let spec = Spec::shipped("career_transitions").unwrap();
    let built = build(&net.store, &policy, &ledger, &spec, &out, SEED_EPOCH_MS).unwrap();
    let s = &built.datasheet;
    let (header, rows) = parquet::read(&built.path.join("data.parquet")).unwrap();
    assert_eq!(header, f, "no member or pseudonym column");
    let qis: Vec<&str> = spec
        .quasi_identifiers
        .iter()
        .map(|q| q.field.as_str())
        .collect();
    let check = checker::check(&header, &rows, &qis, Some("to_function"), None).unwrap();
    assert!(check.k >= 5, "k = {}", check.k);
    assert!(check.l_distinct() >= 2, "l = {}", check.l_distinct());
    assert_eq!(check.k, s.privacy.k_confirmed);
    assert!(s.privacy.linkage_attack_success_rate <= 1.0 / 5.0);
    for m in member_set(&net, built.ledger_seq) {
        assert_eq!(barred.get(&m), None, "member {m} released");
        assert!(!hidden.contains(&m), "member {m} hides their experience");
    }
    let text = file_text(&built.path);
    for c in &net.canaries {
        assert!(!text.contains(c.as_str()), "canary {c} leaked");
    }
}
