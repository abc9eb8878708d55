//! Gate tests: what each purpose receives per consent, jurisdiction, visibility, age and
//! deletion; private content refused for every purpose; denials naming the rule; the same
//! checks against a seeded network. Every test runs on SQLite and, when configured, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{Db, each_backend};
use steward_core::consent::Actor;
use steward_core::{Form, Policy, Taxonomy};
use steward_store::import::import_bytes;
use steward_store::schema::table;
use steward_store::seed::{SeedConfig, read_canaries, seed};
use steward_store::{
    Exclusion, Gate, GateError, GateReport, GateRequest, GatedRecord, PlaintextForTestsOnly, member,
};

const T: i64 = 1_767_000_000_000;

fn load(db: &Db, kind: &str, lines: &[String]) {
    let text = lines.join("\n");
    import_bytes(
        &db.store,
        table(kind).unwrap(),
        kind,
        text.as_bytes(),
        &PlaintextForTestsOnly,
    )
    .unwrap();
}

fn m(id: i64, country: &str, birth_year: Option<i64>, deleted: bool) -> String {
    serde_json::json!({
        "member_id": id, "first_name": format!("First{id}"), "last_name": format!("Last{id}"),
        "email": format!("m{id}@example.com"), "phone": null, "headline": format!("Headline {id}"),
        "summary": format!("Summary {id}"), "city": "City", "region": "Region", "country": country,
        "industry": "Software Publishers", "job_function": "engineering", "seniority": "entry",
        "company_size": "11-50", "years_experience": 3, "jurisdiction": country, "gender": "female",
        "birth_year": birth_year, "created_at": T, "deleted_at": if deleted { Some(T + 1) } else { None },
    })
    .to_string()
}

fn post(id: i64, member: i64, visibility: &str, group: Option<i64>, body: &str) -> String {
    serde_json::json!({"post_id": id, "member_id": member, "group_id": group, "visibility": visibility, "body": body, "created_at": T + id}).to_string()
}

/// Eight members whose differences each decide one thing:
/// 1 US defaults · 2 US opted out of AI training · 3 DE with no choice (EU default: off) ·
/// 4 DE opted in · 5 US minor · 6 US deleted · 7 US with headline and skills hidden ·
/// 8 US with the industry ad attribute off.
fn fixture(db: &Db) {
    load(
        db,
        "members",
        &[
            m(1, "US", Some(1990), false),
            m(2, "US", None, false),
            m(3, "DE", None, false),
            m(4, "DE", Some(1985), false),
            m(5, "US", Some(2012), false),
            m(6, "US", None, true),
            m(7, "US", None, false),
            m(8, "US", None, false),
        ],
    );
    let ev = |id: i64, member: i64, key: &str, value: &str| {
        serde_json::json!({"event_id": id, "member_id": member, "key": key, "value": value, "at": T + 10, "actor": "member"}).to_string()
    };
    load(
        db,
        "consent_events",
        &[
            ev(1, 2, "ai.training", "off"),
            ev(2, 4, "ai.training", "on"),
            ev(3, 8, "ads.attr.industry", "off"),
        ],
    );
    load(
        db,
        "profile_visibility",
        &[
            r#"{"member_id": 7, "section": "headline", "visibility": "private"}"#.to_owned(),
            r#"{"member_id": 7, "section": "skills", "visibility": "private"}"#.to_owned(),
        ],
    );
    load(
        db,
        "skills",
        &[
            r#"{"member_id": 1, "skill": "SQL", "endorsements": 1}"#.to_owned(),
            r#"{"member_id": 7, "skill": "Rust", "endorsements": 1}"#.to_owned(),
            r#"{"member_id": 8, "skill": "Go", "endorsements": 1}"#.to_owned(),
        ],
    );
    load(db, "network_groups", &[
        r#"{"group_id": 1, "name": "Open", "kind": "open", "member_id": 1, "description": null, "created_at": 1}"#.to_owned(),
        r#"{"group_id": 2, "name": "Closed", "kind": "closed", "member_id": 1, "description": null, "created_at": 1}"#.to_owned(),
    ]);
    load(
        db,
        "posts",
        &[
            post(1, 1, "public", None, "public by one"),
            post(2, 1, "connections", None, "connections-only by one"),
            post(3, 2, "public", None, "public by the opted-out member"),
            post(
                4,
                3,
                "public",
                None,
                "public by the EU member without consent",
            ),
            post(5, 4, "public", None, "public by the EU member who opted in"),
            post(6, 1, "group_open", Some(1), "open group post"),
            post(
                7,
                1,
                "group_closed",
                Some(2),
                "closed group post CANARY-gate-closed",
            ),
            post(8, 5, "public", None, "public by the minor"),
            post(9, 6, "public", None, "public by the deleted member"),
        ],
    );
    load(
        db,
        "conversations",
        &[r#"{"conversation_id": 1, "member_id": 1, "created_at": 1}"#.to_owned()],
    );
    load(db, "messages", &[r#"{"message_id": 1, "conversation_id": 1, "member_id": 1, "sent_at": 2, "content": "hello CANARY-gate-message", "verdict": null, "verdict_rule": null}"#.to_owned()]);
    load(db, "engagement_events", &[
        r#"{"event_id": 1, "member_id": 1, "kind": "like", "target_kind": "post", "target_id": 1, "at": 5}"#.to_owned(),
        r#"{"event_id": 2, "member_id": 2, "kind": "like", "target_kind": "post", "target_id": 1, "at": 5}"#.to_owned(),
    ]);
}

fn read(
    db: &Db,
    policy: &Policy,
    purpose: &str,
    categories: &[&str],
    form: Form,
    at: i64,
) -> Result<(Vec<GatedRecord>, GateReport), GateError> {
    let mut out = Vec::new();
    let report = Gate::new(&db.store, policy).read(
        &GateRequest {
            purpose,
            categories,
            form,
            at_ms: at,
        },
        |r| {
            out.push(r);
            Ok::<(), GateError>(())
        },
    )?;
    Ok((out, report))
}

fn profile_members(records: &[GatedRecord]) -> BTreeSet<i64> {
    records
        .iter()
        .filter_map(|r| match r {
            GatedRecord::Profile(p) => Some(p.member_id),
            _ => None,
        })
        .collect()
}

fn post_ids(records: &[GatedRecord]) -> BTreeSet<i64> {
    records
        .iter()
        .filter_map(|r| match r {
            GatedRecord::Post(p) => Some(p.post_id),
            _ => None,
        })
        .collect()
}

#[test]
fn ai_training_gets_only_consented_visible_adult_live_members() {
    let policy = Policy::builtin().unwrap();
    each_backend(|db| {
        fixture(db);
        let (records, report) = read(
            db,
            &policy,
            "ai.training",
            &["member.profile", "member.content", "member.activity"],
            Form::Deidentified,
            T + 1000,
        )
        .unwrap();
        assert_eq!(
            profile_members(&records),
            BTreeSet::from([1, 4, 7, 8]),
            "{}",
            db.backend
        );
        assert_eq!(
            post_ids(&records),
            BTreeSet::from([1, 5]),
            "only public posts of consenting adults"
        );
        let hidden = records
            .iter()
            .find_map(|r| match r {
                GatedRecord::Profile(p) if p.member_id == 7 => Some(p.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(hidden.headline, None, "a hidden section never leaves");
        assert_eq!(hidden.industry.as_deref(), Some("Software Publishers"));
        let visible = records
            .iter()
            .find_map(|r| match r {
                GatedRecord::Profile(p) if p.member_id == 1 => Some(p.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(visible.headline.as_deref(), Some("Headline 1"));
        assert_eq!(
            (visible.first_name, visible.email),
            (None, None),
            "no direct identifiers for AI training"
        );
        assert_eq!(
            visible.gender.as_deref(),
            None,
            "demographics only in aggregate form"
        );
        let skills: BTreeSet<i64> = records
            .iter()
            .filter_map(|r| match r {
                GatedRecord::Skill(s) => Some(s.member_id),
                _ => None,
            })
            .collect();
        assert_eq!(skills, BTreeSet::from([1, 8]));
        let engagement: BTreeSet<i64> = records
            .iter()
            .filter_map(|r| match r {
                GatedRecord::Engagement(e) => Some(e.member_id),
                _ => None,
            })
            .collect();
        assert_eq!(engagement, BTreeSet::from([1]));
        assert_eq!(
            report.excluded_members.get(&Exclusion::DeletedMember),
            Some(&1)
        );
        assert_eq!(report.excluded_members.get(&Exclusion::Minor), Some(&1));
        assert_eq!(
            report.excluded_members.get(&Exclusion::Consent),
            Some(&2),
            "the opted-out and the silent EU member"
        );
        assert!(report.excluded_rows[&Exclusion::Consent] > 0);
        assert!(
            report.excluded_rows[&Exclusion::Visibility] >= 2,
            "connections-only and open-group posts, hidden headline: {report:?}"
        );
        assert!(
            report.excluded_rows[&Exclusion::PrivateContent] >= 2,
            "the closed-group post and the message are counted, never read"
        );
        assert!(
            report
                .categories_denied
                .iter()
                .any(|(c, _)| c == "member.activity.search")
        );
        assert_eq!(report.rows_returned as usize, records.len());
        assert_eq!(report.members_returned, 4);
        for r in &records {
            assert!(!format!("{r:?}").contains("CANARY"), "{r:?}");
        }
    });
}

#[test]
fn private_content_is_refused_for_every_purpose() {
    let policy = Policy::builtin().unwrap();
    let t = Taxonomy::builtin();
    each_backend(|db| {
        fixture(db);
        for purpose in t.purposes().iter().map(|p| p.name.as_str()) {
            for category in [
                "member.content.message",
                "member.content.attachment",
                "member.content.private_note",
                "member.content.group_post.closed",
            ] {
                let e = read(db, &policy, purpose, &[category], Form::Aggregate, T).unwrap_err();
                assert_eq!(
                    e.code(),
                    "gate.private_content",
                    "{purpose} {category}: {e}"
                );
            }
        }
    });
}

#[test]
fn a_read_the_policy_never_allows_is_an_error_naming_the_rule() {
    let policy = Policy::builtin().unwrap();
    each_backend(|db| {
        fixture(db);
        match read(
            db,
            &policy,
            "ai.training",
            &["member.profile.skills"],
            Form::Raw,
            T,
        ) {
            Err(GateError::Denied { rule, reason, .. }) => {
                assert_eq!(rule.as_deref(), Some("ai-training-profile"));
                assert!(reason.contains("`raw`"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match read(
            db,
            &policy,
            "ads.targeting",
            &["member.content.post"],
            Form::Audience,
            T,
        ) {
            Err(e @ GateError::Denied { .. }) => assert!(e.to_string().contains("no rule"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read(db, &policy, "ai.nonsense", &["member"], Form::Aggregate, T)
                .unwrap_err()
                .code(),
            "gate.unknown_purpose"
        );
        assert_eq!(
            read(
                db,
                &policy,
                "ai.training",
                &["member.nope"],
                Form::Aggregate,
                T
            )
            .unwrap_err()
            .code(),
            "gate.unknown_category"
        );
    });
}

#[test]
fn an_opt_out_takes_effect_from_its_time_on() {
    let policy = Policy::builtin().unwrap();
    let t = Taxonomy::builtin();
    each_backend(|db| {
        fixture(db);
        db.store
            .transaction(|tx| {
                member::set_setting(tx, &t, 1, "ai.training=off", &Actor::Member, T + 2000)
            })
            .unwrap();
        let (before, _) = read(
            db,
            &policy,
            "ai.training",
            &["member.profile"],
            Form::Deidentified,
            T + 1500,
        )
        .unwrap();
        let (after, _) = read(
            db,
            &policy,
            "ai.training",
            &["member.profile"],
            Form::Deidentified,
            T + 2500,
        )
        .unwrap();
        assert!(profile_members(&before).contains(&1));
        assert!(!profile_members(&after).contains(&1), "{}", db.backend);
        // An EU member's opt-in counts; their silence does not.
        assert!(profile_members(&after).contains(&4));
        assert!(!profile_members(&after).contains(&3));
    });
}

#[test]
fn ad_targeting_honours_per_attribute_toggles() {
    let policy = Policy::builtin().unwrap();
    let t = Taxonomy::builtin();
    each_backend(|db| {
        fixture(db);
        db.store
            .transaction(|tx| {
                member::set_setting(tx, &t, 2, "ads.personalized=off", &Actor::Member, T + 20)
            })
            .unwrap();
        let (records, report) = read(
            db,
            &policy,
            "ads.targeting",
            &["member.profile.industry"],
            Form::Audience,
            T + 100,
        )
        .unwrap();
        assert_eq!(
            profile_members(&records),
            BTreeSet::from([1, 3, 4, 7]),
            "{}: {report:?}",
            db.backend
        );
        for r in &records {
            if let GatedRecord::Profile(p) = r {
                assert!(p.industry.is_some());
                assert_eq!(
                    (p.headline.as_ref(), p.email.as_ref(), p.gender.as_ref()),
                    (None, None, None)
                );
            }
        }
        assert_eq!(
            report.excluded_rows[&Exclusion::Consent],
            2,
            "the ads opt-out and the attribute toggle"
        );
        // Sensitive data is never an ad attribute.
        assert_eq!(
            read(
                db,
                &policy,
                "ads.targeting",
                &["member.demographic.gender"],
                Form::Audience,
                T
            )
            .unwrap_err()
            .code(),
            "gate.denied"
        );
    });
}

#[test]
fn a_seeded_network_read_for_ai_training_agrees_with_each_members_own_consent() {
    let policy = Policy::builtin().unwrap();
    let t = Taxonomy::builtin();
    each_backend(|db| {
        let canary_path = db.dir.path().join("canaries.jsonl");
        seed(
            &db.store,
            &SeedConfig {
                members: 400,
                seed: 3,
                canary_path: canary_path.clone(),
            },
            &PlaintextForTestsOnly,
        )
        .unwrap();
        let at = steward_store::seed::SEED_EPOCH_MS;
        let (records, report) = read(
            db,
            &policy,
            "ai.training",
            &[
                "member.profile",
                "member.content",
                "member.activity.engagement",
            ],
            Form::Deidentified,
            at,
        )
        .unwrap();
        assert!(report.rows_returned > 100, "{report:?}");
        let tokens: Vec<String> = read_canaries(&canary_path)
            .unwrap()
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert!(!tokens.is_empty());
        let ai = t.consent_key_id("ai.training").unwrap();
        let members: BTreeSet<i64> = records.iter().filter_map(GatedRecord::member_id).collect();
        db.store
            .read(|tx| {
                for id in &members {
                    let m = member::get_member(tx, *id)?;
                    assert!(m.deleted_at.is_none());
                    assert!(
                        !steward_store::vocab::may_be_minor(m.birth_year, at),
                        "member {id}"
                    );
                    assert!(
                        member::effective_consent(tx, &t, &m, at)?.granted(ai),
                        "member {id}"
                    );
                }
                Ok::<(), steward_store::StoreError>(())
            })
            .unwrap();
        for r in &records {
            if let GatedRecord::Post(p) = r {
                assert_eq!(p.visibility, steward_core::Visibility::Public);
            }
            let text = format!("{r:?}");
            assert!(
                !tokens.iter().any(|tok| text.contains(tok.as_str())),
                "canary leaked: {text}"
            );
        }
    });
}
