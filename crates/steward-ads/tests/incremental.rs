//! Keeping the audience index current: after any sequence of profile, settings, visibility,
//! deletion and age changes, each followed by `apply_change` for the member it touched (a
//! gate read of that member only), the index equals a fresh build; and the counting fast path
//! agrees with the bitmap it counts and with facet-by-facet intersection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{NOW, Net};
use proptest::prelude::*;
use steward_ads::{AudienceIndex, Expr};
use steward_store::Value;

#[derive(Clone, Debug)]
enum Change {
    Consent(i64, &'static str, bool),
    Industry(i64, Option<&'static str>),
    Region(i64, &'static str),
    Seniority(i64, &'static str),
    AddSkill(i64, &'static str),
    RemoveSkill(i64, &'static str),
    Visibility(i64, &'static str, &'static str),
    Delete(i64),
    Minor(i64),
}

impl Change {
    fn member(&self) -> i64 {
        match self {
            Change::Consent(m, ..)
            | Change::Industry(m, _)
            | Change::Region(m, _)
            | Change::Seniority(m, _)
            | Change::AddSkill(m, _)
            | Change::RemoveSkill(m, _)
            | Change::Visibility(m, ..)
            | Change::Delete(m)
            | Change::Minor(m) => *m,
        }
    }
}

const KEYS: &[&str] = &[
    "ads.personalized",
    "ads.third_party",
    "ads.attr.skills",
    "ads.attr.industry",
    "ads.attr.region",
    "ads.attr.seniority",
];
const SKILLS: &[&str] = &["Kotlin", "Rust", "Scala", "Go"];

fn change() -> impl Strategy<Value = Change> {
    // Members 295..=305 straddle the fixture's skill boundaries (kotlin 1..=300, scala 301..).
    let m = 295i64..=305;
    prop_oneof![
        (m.clone(), prop::sample::select(KEYS), any::<bool>())
            .prop_map(|(m, k, on)| Change::Consent(m, k, on)),
        (
            m.clone(),
            prop::option::of(prop::sample::select(
                &["Software", "Retail", "finance "][..]
            ))
        )
            .prop_map(|(m, v)| Change::Industry(m, v)),
        (
            m.clone(),
            prop::sample::select(&["Ontario", "Bavaria", "Texas"][..])
        )
            .prop_map(|(m, v)| Change::Region(m, v)),
        (
            m.clone(),
            prop::sample::select(&["director", "entry", "vp"][..])
        )
            .prop_map(|(m, v)| Change::Seniority(m, v)),
        (m.clone(), prop::sample::select(SKILLS)).prop_map(|(m, s)| Change::AddSkill(m, s)),
        (m.clone(), prop::sample::select(SKILLS)).prop_map(|(m, s)| Change::RemoveSkill(m, s)),
        (
            m.clone(),
            prop::sample::select(&["skills", "industry", "location", "email"][..]),
            prop::sample::select(&["private", "public", "connections"][..])
        )
            .prop_map(|(m, s, v)| Change::Visibility(m, s, v)),
        m.clone().prop_map(Change::Delete),
        m.prop_map(Change::Minor),
    ]
}

fn apply(net: &Net, c: &Change, at: i64) {
    net.store()
        .transaction(|tx| {
            match c {
                Change::Consent(m, k, on) => {
                    tx.execute(
                        "INSERT INTO consent_events (member_id, key, value, at, actor) VALUES ($1, $2, $3, $4, 'member')",
                        &[
                            Value::Int(*m),
                            Value::from(*k),
                            Value::from(if *on { "on" } else { "off" }),
                            Value::Int(at),
                        ],
                    )?;
                }
                Change::Industry(m, v) => {
                    let v = v.map_or(Value::Null, Value::from);
                    tx.execute(
                        "UPDATE members SET industry = $1 WHERE member_id = $2",
                        &[v, Value::Int(*m)],
                    )?;
                }
                Change::Region(m, v) => {
                    tx.execute(
                        "UPDATE members SET region = $1 WHERE member_id = $2",
                        &[Value::from(*v), Value::Int(*m)],
                    )?;
                }
                Change::Seniority(m, v) => {
                    tx.execute(
                        "UPDATE members SET seniority = $1 WHERE member_id = $2",
                        &[Value::from(*v), Value::Int(*m)],
                    )?;
                }
                Change::AddSkill(m, s) => {
                    tx.execute(
                        "DELETE FROM skills WHERE member_id = $1 AND skill = $2",
                        &[Value::Int(*m), Value::from(*s)],
                    )?;
                    tx.execute(
                        "INSERT INTO skills (member_id, skill, endorsements) VALUES ($1, $2, 0)",
                        &[Value::Int(*m), Value::from(*s)],
                    )?;
                }
                Change::RemoveSkill(m, s) => {
                    tx.execute(
                        "DELETE FROM skills WHERE member_id = $1 AND skill = $2",
                        &[Value::Int(*m), Value::from(*s)],
                    )?;
                }
                Change::Visibility(m, s, v) => {
                    tx.execute(
                        "DELETE FROM profile_visibility WHERE member_id = $1 AND section = $2",
                        &[Value::Int(*m), Value::from(*s)],
                    )?;
                    tx.execute(
                        "INSERT INTO profile_visibility (member_id, section, visibility) VALUES ($1, $2, $3)",
                        &[Value::Int(*m), Value::from(*s), Value::from(*v)],
                    )?;
                }
                Change::Delete(m) => {
                    tx.execute(
                        "UPDATE members SET deleted_at = $1 WHERE member_id = $2",
                        &[Value::Int(at), Value::Int(*m)],
                    )?;
                }
                Change::Minor(m) => {
                    tx.execute(
                        "UPDATE members SET birth_year = 2015 WHERE member_id = $1",
                        &[Value::Int(*m)],
                    )?;
                }
            }
            Ok::<(), steward_store::StoreError>(())
        })
        .unwrap();
}

fn fresh(net: &Net) -> AudienceIndex {
    AudienceIndex::build(net.store(), &net.policy, NOW).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn an_index_kept_current_equals_a_fresh_build(changes in prop::collection::vec(change(), 1..10)) {
        let net = Net::new(common::sqlite());
        let mut index = net.index();
        for (i, c) in changes.iter().enumerate() {
            apply(&net, c, NOW - 10_000 + i as i64);
            index.apply_change(net.store(), &net.policy, c.member(), NOW).unwrap();
        }
        let rebuilt = fresh(&net);
        prop_assert!(index.same_contents(&rebuilt), "after {changes:?}");
        // The counts an advertiser's estimate starts from agree too.
        for text in ["skill in (kotlin, go)", "industry = software and not region = texas", "seniority in (vp, director) and not skill = rust"] {
            let e = Expr::parse(text).unwrap();
            prop_assert_eq!(index.count(&e).unwrap(), rebuilt.count(&e).unwrap(), "{}", text);
        }
    }
}

#[test]
fn same_contents_notices_a_stale_index() {
    let net = Net::new(common::sqlite());
    let index = net.index();
    apply(
        &net,
        &Change::Consent(7, "ads.personalized", false),
        NOW - 1,
    );
    let rebuilt = fresh(&net);
    assert!(!index.same_contents(&rebuilt));
    let mut kept = index.clone();
    kept.apply_change(net.store(), &net.policy, 7, NOW).unwrap();
    assert!(kept.same_contents(&rebuilt));
    // A change applied for another member leaves the stale one stale.
    let mut wrong = index;
    wrong
        .apply_change(net.store(), &net.policy, 8, NOW)
        .unwrap();
    assert!(!wrong.same_contents(&rebuilt));
}

/// Members of one clause on its own, as a set.
fn members_of(index: &AudienceIndex, clause: &str) -> BTreeSet<u32> {
    index
        .evaluate(&Expr::parse(clause).unwrap())
        .unwrap()
        .iter()
        .collect()
}

fn clause() -> impl Strategy<Value = String> {
    let values =
        |vs: &'static [&'static str]| prop::collection::vec(prop::sample::select(vs), 1..3);
    prop_oneof![
        (any::<bool>(), values(&["software", "finance", "retail"])).prop_map(|(n, v)| format!(
            "{}industry in ({})",
            if n { "not " } else { "" },
            v.join(", ")
        )),
        (any::<bool>(), values(&["director", "entry", "vp"])).prop_map(|(n, v)| format!(
            "{}seniority in ({})",
            if n { "not " } else { "" },
            v.join(", ")
        )),
        (any::<bool>(), values(&["kotlin", "rust", "scala", "go"])).prop_map(|(n, v)| format!(
            "{}skill in ({})",
            if n { "not " } else { "" },
            v.join(", ")
        )),
        (any::<bool>(), values(&["ontario", "bavaria"])).prop_map(|(n, v)| format!(
            "{}region in ({})",
            if n { "not " } else { "" },
            v.join(", ")
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn counting_agrees_with_the_bitmap_and_with_facet_intersection(clauses in prop::collection::vec(clause(), 1..5)) {
        static INDEX: std::sync::OnceLock<AudienceIndex> = std::sync::OnceLock::new();
        let index = INDEX.get_or_init(|| {
            let net = Net::new(common::sqlite());
            // Some opted-out members and switched-off skills, so `known` differs per attribute.
            for m in (1..=1000).step_by(37) {
                net.set(m, "ads.personalized", false, NOW - 1);
            }
            for m in (5..=1000).step_by(11) {
                net.set(m, "ads.attr.skills", false, NOW - 1);
            }
            net.index()
        });
        let text = clauses.join(" and ");
        let expr = Expr::parse(&text).unwrap();
        let bitmap = index.evaluate(&expr).unwrap();
        prop_assert_eq!(index.count(&expr).unwrap(), bitmap.len(), "{}", text);
        let mut expected: Option<BTreeSet<u32>> = None;
        for c in &clauses {
            let s = members_of(index, c);
            expected = Some(match expected {
                None => s,
                Some(e) => e.intersection(&s).copied().collect(),
            });
        }
        let got: BTreeSet<u32> = bitmap.iter().collect();
        prop_assert_eq!(got, expected.unwrap_or_default(), "{}", text);
    }
}
