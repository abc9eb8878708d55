//! The single-pass gate (`read_many_in`, and `read_in` built on it) against the per-request
//! gate it replaced (`gate::reference`), on a seeded network where every data-driven exclusion
//! reason occurs: explicit AI-training opt-outs and EU members left at their default (consent),
//! hidden sections and connections-only posts (visibility), deleted members, minors, and
//! private content. Same records, same order, same reports, alone and read together. Runs on
//! SQLite and, when configured, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Db, each_backend};
use steward_core::{Form, Policy, Taxonomy};
use steward_store::gate::{self, reference};
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{Exclusion, Gate, GateError, GateReport, GateRequest, GatedRecord};
use steward_store::{PlaintextForTestsOnly, StoreError, member};

/// Reads that together touch every source, every profile column, every form a purpose is
/// given, purposes that protect minors and one that does not, exact categories and prefixes
/// (with denied and private leaves).
fn requests(at: i64) -> Vec<GateRequest<'static>> {
    vec![
        GateRequest {
            purpose: "ai.training",
            categories: &["member.profile", "member.content", "member.activity", "org"],
            form: Form::Deidentified,
            at_ms: at,
        },
        GateRequest {
            purpose: "ai.training",
            categories: &["member.demographic.gender"],
            form: Form::Aggregate,
            at_ms: at,
        },
        GateRequest {
            purpose: "analytics.insights",
            categories: &[
                "member.profile.location",
                "member.profile.industry",
                "member.profile.seniority",
            ],
            form: Form::Aggregate,
            at_ms: at,
        },
        GateRequest {
            purpose: "ads.targeting",
            categories: &["member.profile", "member.identity.contact.email"],
            form: Form::Audience,
            at_ms: at,
        },
        GateRequest {
            purpose: "personalization",
            categories: &[
                "member.profile",
                "member.connections",
                "member.activity",
                "member.content.post",
                "member.content.group_post.open",
                "org",
            ],
            form: Form::Pseudonymized,
            at_ms: at,
        },
        GateRequest {
            purpose: "service.core",
            categories: &["member", "org"],
            form: Form::Raw,
            at_ms: at,
        },
    ]
}

fn seeded(db: &Db) {
    seed(
        &db.store,
        &SeedConfig {
            members: 900,
            seed: 11,
            canary_path: db.dir.path().join("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
}

fn old_read(db: &Db, policy: &Policy, r: &GateRequest<'_>) -> (Vec<GatedRecord>, GateReport) {
    let mut out = Vec::new();
    let report = db
        .store
        .read(|tx| {
            reference::read_in(tx, policy, r, |rec| {
                out.push(rec);
                Ok::<(), GateError>(())
            })
        })
        .unwrap();
    (out, report)
}

fn new_read(db: &Db, policy: &Policy, r: &GateRequest<'_>) -> (Vec<GatedRecord>, GateReport) {
    let mut out = Vec::new();
    let report = Gate::new(&db.store, policy)
        .read(r, |rec| {
            out.push(rec);
            Ok::<(), GateError>(())
        })
        .unwrap();
    (out, report)
}

fn sorted(records: &[GatedRecord]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
    v.sort();
    v
}

#[test]
fn the_single_pass_read_returns_what_the_per_request_read_did() {
    let policy = Policy::builtin().unwrap();
    let t = Taxonomy::builtin();
    each_backend(|db| {
        seeded(db);
        let at = SEED_EPOCH_MS;
        let reqs = requests(at);

        // Every data-driven reason occurs, and both kinds of consent refusal are in the data.
        let mut reasons: BTreeMap<Exclusion, u64> = BTreeMap::new();
        let mut old_all = Vec::new();
        for r in &reqs {
            let (old_records, old_report) = old_read(db, &policy, r);
            let (new_records, new_report) = new_read(db, &policy, r);
            assert_eq!(new_report, old_report, "{} on {}", r.purpose, db.backend);
            assert_eq!(
                new_records.len(),
                old_records.len(),
                "{} on {}",
                r.purpose,
                db.backend
            );
            assert!(
                new_records == old_records,
                "{} on {}: records differ",
                r.purpose,
                db.backend
            );
            for (k, v) in old_report
                .excluded_rows
                .iter()
                .chain(&old_report.excluded_members)
            {
                *reasons.entry(*k).or_insert(0) += v;
            }
            old_all.push((old_records, old_report));
        }
        for why in [
            Exclusion::Consent,
            Exclusion::Visibility,
            Exclusion::DeletedMember,
            Exclusion::Minor,
            Exclusion::PrivateContent,
        ] {
            assert!(
                reasons.get(&why).copied().unwrap_or(0) > 0,
                "no {why} exclusion on {}: {reasons:?}",
                db.backend
            );
        }
        let ai = t.consent_key_id("ai.training").unwrap();
        let training: BTreeSet<i64> = old_all[0]
            .0
            .iter()
            .filter_map(GatedRecord::member_id)
            .collect();
        let (mut opted_out, mut eu_default) = (0, 0);
        db.store
            .read(|tx| {
                let ids: Vec<i64> = tx
                    .query("SELECT member_id FROM members ORDER BY member_id", &[])?
                    .iter()
                    .map(|r| r.i64(0))
                    .collect::<Result<_, _>>()?;
                for id in ids {
                    let m = member::get_member(tx, id)?;
                    if m.deleted_at.is_some() || member::effective_consent(tx, &t, &m, at)?.granted(ai)
                    {
                        continue;
                    }
                    assert!(!training.contains(&id), "member {id} is in without consent");
                    let said_off = tx.query_i64(
                        "SELECT COUNT(*) FROM consent_events WHERE member_id = $1 AND key = 'ai.training'",
                        &[id.into()],
                    )? > 0;
                    if said_off {
                        opted_out += 1;
                    } else {
                        eu_default += 1;
                    }
                }
                Ok::<(), StoreError>(())
            })
            .unwrap();
        assert!(opted_out > 0 && eu_default > 0, "{opted_out} {eu_default}");

        // All requests in one pass: each gets what it got alone.
        let mut together: Vec<Vec<GatedRecord>> = vec![Vec::new(); reqs.len()];
        let reports = Gate::new(&db.store, &policy)
            .read_many(&reqs, |i, rec| {
                together[i].push(rec);
                Ok::<(), GateError>(())
            })
            .unwrap();
        assert_eq!(reports.len(), reqs.len());
        for (i, (old_records, old_report)) in old_all.iter().enumerate() {
            assert_eq!(&reports[i], old_report, "request {i} on {}", db.backend);
            assert!(
                sorted(&together[i]) == sorted(old_records),
                "request {i} on {}: records differ",
                db.backend
            );
        }
    });
}

#[test]
fn requests_at_different_times_each_see_consent_as_of_their_own_time() {
    let policy = Policy::builtin().unwrap();
    each_backend(|db| {
        seeded(db);
        // Halfway through the seeded history some consent events have not happened yet.
        let (first, last) = db
            .store
            .read(|tx| {
                let r = tx.query("SELECT MIN(at), MAX(at) FROM consent_events", &[])?;
                Ok::<_, StoreError>((r[0].i64(0)?, r[0].i64(1)?))
            })
            .unwrap();
        let early = first + (last - first) / 2;
        let reqs = [requests(early).remove(0), requests(SEED_EPOCH_MS).remove(0)];
        let mut together: Vec<Vec<GatedRecord>> = vec![Vec::new(); 2];
        let reports = db
            .store
            .read(|tx| {
                gate::read_many_in(tx, &policy, &reqs, |i, rec| {
                    together[i].push(rec);
                    Ok::<(), GateError>(())
                })
            })
            .unwrap();
        for (i, r) in reqs.iter().enumerate() {
            let (old_records, old_report) = old_read(db, &policy, r);
            assert_eq!(reports[i], old_report, "request {i} on {}", db.backend);
            assert!(sorted(&together[i]) == sorted(&old_records));
        }
        assert_ne!(reports[0], reports[1], "the two times should differ");
    });
}
