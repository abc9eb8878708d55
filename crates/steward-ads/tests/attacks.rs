//! Attacks on what advertisers see: differencing two audiences that differ by one member,
//! averaging a repeated report, and spending past the privacy budget; and off-platform
//! conversions of members without consent. Run on SQLite and PostgreSQL where the store is
//! involved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{DAY, NOW, Net, each_backend};
use steward_ads::audience::{self, AdsConfig, Estimate, estimate_from_count};
use steward_ads::campaign;
use steward_ads::events::{self, AdEvent, EventKind, Simulation};
use steward_ads::report::{Dimension, ReportRequest, campaign_report};
use steward_ads::{AdsError, Eligibility, Expr};
use steward_privacy::dp::{Epsilon, NoiseKey};

/// The best advantage an attacker gets at telling reach `n` from `n + 1` from one estimate:
/// the total-variation distance between the two empirical output distributions (the best
/// threshold or set test cannot do better), over `trials` different audiences.
fn differencing_advantage(key: &NoiseKey, config: &AdsConfig, n: u64, trials: usize) -> f64 {
    use std::collections::BTreeMap;
    let mut h0: BTreeMap<u64, f64> = BTreeMap::new();
    let mut h1: BTreeMap<u64, f64> = BTreeMap::new();
    for t in 0..trials {
        // Two audiences, two canonical forms (an attacker cannot ask one question twice with
        // different member sets under the same noise: the expression is the question).
        let a = format!("industry in (x{t})");
        let b = format!("industry in (x{t}) and not skill in (y{t})");
        let value = |e: Estimate| match e {
            Estimate::About(v) => v,
            Estimate::BelowMinimum { .. } => 0,
        };
        *h0.entry(value(estimate_from_count(key, config, &a, n).unwrap()))
            .or_default() += 1.0;
        *h1.entry(value(estimate_from_count(key, config, &b, n + 1).unwrap()))
            .or_default() += 1.0;
    }
    let keys: std::collections::BTreeSet<u64> = h0.keys().chain(h1.keys()).copied().collect();
    keys.iter()
        .map(|k| (h0.get(k).unwrap_or(&0.0) - h1.get(k).unwrap_or(&0.0)).abs())
        .sum::<f64>()
        / (2.0 * trials as f64)
}

#[test]
fn differencing_two_audiences_one_member_apart_reveals_almost_nothing() {
    let key = NoiseKey::from_bytes([77; 32]);
    let config = AdsConfig::default();
    // ε = 0.1 per estimate bounds the true advantage by tanh(ε/2) ≈ 0.05; allow sampling error.
    for n in [300, 994, 1049, 12_449] {
        let adv = differencing_advantage(&key, &config, n, 10_000);
        assert!(adv < 0.08, "reach {n} vs {}: advantage {adv:.3}", n + 1);
    }
}

#[test]
fn without_noise_rounding_alone_would_leak_at_bucket_edges() {
    // The control for the test above: rounding alone maps 1049 and 1050 (or 994 and 995) to
    // different values every time, so rounding is not what protects the member — the noise is.
    let r = steward_privacy::dp::round_two_significant;
    assert_ne!(r(1049), r(1050));
    assert_ne!(r(994), r(995));
}

#[test]
fn two_real_audiences_one_member_apart_get_uninformative_estimates() {
    each_backend(|net| {
        let index = net.index();
        // `rust` = members 1..=400; one of them opts out, and the same audience now reaches
        // one member fewer.
        let expr = Expr::parse("skill = rust").unwrap();
        let before = audience::estimate(&index, &net.key, &net.config, &expr).unwrap();
        net.set(1, "ads.personalized", false, NOW - 1);
        let mut after_index = index.clone();
        after_index
            .apply_change(net.store(), &net.policy, 1, NOW)
            .unwrap();
        assert_eq!(after_index.count(&expr).unwrap(), 399);
        let after = audience::estimate(&after_index, &net.key, &net.config, &expr).unwrap();
        // Same question, same noise: the estimate moves only if 399 + noise and 400 + noise
        // round differently; either way it is a multiple of 10, never the exact count.
        for e in [before, after] {
            match e {
                Estimate::About(v) => assert_eq!(v % 10, 0),
                Estimate::BelowMinimum { .. } => panic!("above the minimum"),
            }
        }
        // Asking again changes nothing.
        assert_eq!(
            audience::estimate(&after_index, &net.key, &net.config, &expr).unwrap(),
            after
        );
        // Reordering the expression is the same question.
        let same = Expr::parse("skill in (Rust)").unwrap();
        assert_eq!(
            audience::estimate(&after_index, &net.key, &net.config, &same).unwrap(),
            after
        );
    });
}

/// A launched campaign on `industry = software` with simulated traffic in the 7 days before
/// NOW's day.
fn campaign_with_traffic(net: &Net, budget: f64) -> i64 {
    let index = net.index();
    let saved = net
        .store()
        .transaction(|tx| {
            audience::create(
                tx,
                &net.ledger,
                &index,
                &net.key,
                &net.config,
                "acme",
                "sw",
                "industry = software",
                NOW,
            )
        })
        .unwrap();
    let id = net
        .store()
        .transaction(|tx| {
            let c = campaign::create(
                tx,
                &net.ledger,
                &index,
                &net.config,
                "acme",
                "spring",
                Some(saved.audience.id),
                Some(Epsilon::from_f64(budget).unwrap()),
                NOW,
            )?;
            campaign::launch(tx, &net.ledger, &index, &net.config, "acme", c.id, NOW)?;
            Ok::<_, AdsError>(c.id)
        })
        .unwrap();
    let elig = net
        .store()
        .read(|tx| Eligibility::build(tx, &index))
        .unwrap();
    let day0 = NOW.div_euclid(DAY) * DAY;
    let sim = Simulation::new(id, 42, 20_000, day0 - 7 * DAY, day0);
    let evs = events::simulate(&elig, index.targetable(), &sim).unwrap();
    let rec = net
        .store()
        .transaction(|tx| events::record(tx, &net.policy, &evs))
        .unwrap();
    assert!(rec.kept > 20_000);
    id
}

#[test]
fn a_repeated_report_is_the_same_report_and_is_paid_once() {
    each_backend(|net| {
        let id = campaign_with_traffic(net, 2.0);
        let req = ReportRequest {
            campaign_id: id,
            by: Some(Dimension::Seniority),
            days: 7,
            epsilon: Epsilon::from_f64(0.5).unwrap(),
        };
        let first = net
            .store()
            .transaction(|tx| {
                campaign_report(tx, &net.ledger, &net.policy, &net.key, "acme", &req, NOW)
            })
            .unwrap();
        assert!(first.charged);
        assert_eq!(first.campaign_budget.spent, Epsilon(500_000));
        let mut answers = Vec::new();
        for k in 0..20 {
            // Later the same day: same window, same question.
            let r = net
                .store()
                .transaction(|tx| {
                    campaign_report(
                        tx,
                        &net.ledger,
                        &net.policy,
                        &net.key,
                        "acme",
                        &req,
                        NOW + k * 60_000,
                    )
                })
                .unwrap();
            assert!(!r.charged);
            answers.push(r.rows);
        }
        assert!(
            answers.iter().all(|a| *a == first.rows),
            "averaging has nothing to average"
        );
        let after = net
            .store()
            .read(|tx| steward_ads::report::accountant(tx, "acme", id, Epsilon(2_000_000)))
            .unwrap();
        assert_eq!(
            after.get("campaign").unwrap().spent.epsilon,
            Epsilon(500_000)
        );
        // The report is consistent and close to the truth for the big cells.
        for row in &first.rows {
            if let Some(f) = row.funnel {
                assert!(f.clicks <= f.impressions && f.impressions >= 0 && f.conversions >= 0);
            }
        }
        let entry = first
            .rows
            .iter()
            .find(|r| r.cell == "entry")
            .and_then(|r| r.funnel)
            .unwrap();
        // 400 `entry` members of the audience, at most 10 impressions each count.
        assert!((3_000..=4_200).contains(&entry.impressions), "{entry:?}");
    });
}

#[test]
fn the_budget_exhausted_refuses_with_a_stable_code() {
    each_backend(|net| {
        let id = campaign_with_traffic(net, 1.0);
        let ask = |by: Option<Dimension>, eps: f64| {
            net.store().transaction(|tx| {
                campaign_report(
                    tx,
                    &net.ledger,
                    &net.policy,
                    &net.key,
                    "acme",
                    &ReportRequest {
                        campaign_id: id,
                        by,
                        days: 7,
                        epsilon: Epsilon::from_f64(eps).unwrap(),
                    },
                    NOW,
                )
            })
        };
        let r1 = ask(None, 0.5).unwrap();
        assert_eq!(r1.campaign_budget.remaining, Epsilon(500_000));
        let r2 = ask(Some(Dimension::Industry), 0.5).unwrap();
        assert_eq!(r2.campaign_budget.remaining, Epsilon(0));
        let err = ask(Some(Dimension::Region), 0.1).unwrap_err();
        assert_eq!(err.code(), "dp.budget_exhausted");
        // A question already answered is still answered (it costs nothing).
        assert_eq!(ask(None, 0.5).unwrap().rows, r1.rows);
        // The refusal left no charge behind.
        let a = net
            .store()
            .read(|tx| steward_ads::report::accountant(tx, "acme", id, Epsilon(1_000_000)))
            .unwrap();
        assert_eq!(a.get("campaign").unwrap().spent.epsilon, Epsilon(1_000_000));
        // Another advertiser cannot ask about this campaign at all.
        let other = net.store().transaction(|tx| {
            campaign_report(
                tx,
                &net.ledger,
                &net.policy,
                &net.key,
                "globex",
                &ReportRequest {
                    campaign_id: id,
                    by: None,
                    days: 7,
                    epsilon: Epsilon::from_f64(0.1).unwrap(),
                },
                NOW,
            )
        });
        assert_eq!(other.unwrap_err().code(), "ads.not_found");
    });
}

#[test]
fn an_off_platform_conversion_without_consent_is_dropped() {
    each_backend(|net| {
        let id = campaign_with_traffic(net, 1.0);
        net.set(5, "ads.off_platform", false, NOW - DAY);
        let conv = |member: i64, on_platform: bool| AdEvent {
            campaign_id: id,
            member_id: member,
            kind: EventKind::Conversion,
            on_platform,
            at_ms: NOW,
        };
        let count = |member: i64| {
            net.store()
                .read(|tx| {
                    tx.query_i64(
                        "SELECT COUNT(*) FROM ads_events WHERE member_id = $1 AND kind = 'conversion' AND on_platform = 0 AND at = $2",
                        &[steward_store::Value::Int(member), steward_store::Value::Int(NOW)],
                    )
                })
                .unwrap()
        };
        let rec = net
            .store()
            .transaction(|tx| {
                events::record(
                    tx,
                    &net.policy,
                    &[
                        conv(5, false),
                        conv(5, true),
                        conv(6, false),
                        conv(999_999, true),
                    ],
                )
            })
            .unwrap();
        assert_eq!(rec.kept, 2);
        assert_eq!(rec.dropped_no_off_platform_consent, 1);
        assert_eq!(rec.dropped_unknown_member, 1);
        assert_eq!(count(5), 0);
        assert_eq!(count(6), 1);
        // Consent given later does not revive the dropped event, and applies from then on.
        net.set(5, "ads.off_platform", true, NOW + 1);
        let rec = net
            .store()
            .transaction(|tx| {
                events::record(
                    tx,
                    &net.policy,
                    &[AdEvent {
                        at_ms: NOW + 2,
                        ..conv(5, false)
                    }],
                )
            })
            .unwrap();
        assert_eq!(rec.kept, 1);
        assert_eq!(count(5), 0);
    });
}
