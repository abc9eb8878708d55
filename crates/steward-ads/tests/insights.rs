//! Career transitions: exact bounded counts through the gate (hidden experience, minors and
//! deleted members never count; each member's moves are bounded), a DP release that shows
//! common moves and hides rare ones, the same answer for the same question without a second
//! charge (even after the data changed), refusal past the insights budget, and ledger entries
//! that name no member.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{DAY, NOW, Net, each_backend};
use steward_ads::AdsError;
use steward_ads::insights::{self, CareerTransitions};
use steward_ledger::{Ledger, Subjects};
use steward_privacy::dp::{Epsilon, NoiseKey};
use steward_store::Value;

const IT: &str = "information_technology";

/// Gives each of `members` positions with these titles, one every three years from 2008.
fn positions(net: &Net, members: impl IntoIterator<Item = i64>, titles: &[&str]) {
    let rows: Vec<Vec<Value>> = members
        .into_iter()
        .flat_map(|m| {
            titles.iter().enumerate().map(move |(i, t)| {
                vec![
                    Value::Int(m),
                    Value::from("Acme"),
                    Value::from(*t),
                    Value::Int(2008 + 3 * i as i64),
                ]
            })
        })
        .collect();
    net.store()
        .transaction(|tx| {
            tx.insert_rows(
                "positions",
                &["member_id", "company_name", "title", "start_year"],
                &rows,
                "",
            )
        })
        .unwrap();
}

/// The fixture's moves:
/// - 1..=400: Software Developers → Chief Executives (information_technology → operations);
/// - 401..=403: Lawyers → Economists (legal → research), three members only;
/// - 404: information_technology → legal, with the experience section hidden;
/// - 405: the same move, a minor; 406: the same move, deleted;
/// - 500: six positions zig-zagging: only its first three distinct moves count, once each.
fn fixture(net: &Net) {
    positions(net, 1..=400, &["Software Developers", "Chief Executives"]);
    positions(net, 401..=403, &["Lawyers", "Economists"]);
    positions(net, 404..=406, &["Software Developers", "Lawyers"]);
    positions(
        net,
        [500],
        &[
            "Software Developers",
            "Lawyers",
            "Software Developers",
            "Lawyers",
            "Software Developers",
            "Economists",
        ],
    );
    net.store()
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO profile_visibility (member_id, section, visibility) VALUES (404, 'experience', 'private')",
                &[],
            )?;
            tx.execute("UPDATE members SET birth_year = 2015 WHERE member_id = 405", &[])?;
            tx.execute(
                "UPDATE members SET deleted_at = $1 WHERE member_id = 406",
                &[Value::Int(NOW - DAY)],
            )?;
            Ok::<(), steward_store::StoreError>(())
        })
        .unwrap();
}

fn release(net: &Net, key: &NoiseKey, eps: f64, at: i64) -> Result<CareerTransitions, AdsError> {
    net.store().transaction(|tx| {
        insights::career_transitions(
            tx,
            &net.ledger,
            &net.policy,
            key,
            Epsilon::from_f64(eps).unwrap(),
            at,
        )
    })
}

fn count(r: &CareerTransitions, from: &str, to: &str) -> Option<i64> {
    r.transitions
        .iter()
        .find(|t| t.from == from && t.to == to)
        .map(|t| t.count)
}

#[test]
fn exact_counts_come_through_the_gate_and_are_bounded_per_member() {
    each_backend(|net| {
        fixture(net);
        let exact = net
            .store()
            .read(|tx| insights::transition_counts(tx, &net.policy, NOW))
            .unwrap();
        let get = |f: &str, t: &str| exact.get(&(f.to_owned(), t.to_owned())).copied();
        assert_eq!(get(IT, "operations"), Some(400));
        assert_eq!(get("legal", "research"), Some(3));
        // Only member 500 moves IT → legal: 404 hides the section, 405 is a minor, 406 is
        // deleted; and 500's repeated move counts once.
        assert_eq!(get(IT, "legal"), Some(1));
        assert_eq!(get("legal", IT), Some(1));
        assert_eq!(get(IT, "research"), Some(1));
        assert_eq!(exact.values().sum::<i64>(), 400 + 3 + 3, "{exact:?}");
    });
}

#[test]
fn the_release_shows_common_moves_hides_rare_ones_and_is_paid_once() {
    each_backend(|net| {
        fixture(net);
        let key = NoiseKey::from_bytes([9; 32]);
        let first = release(net, &key, 1.0, NOW).unwrap();
        assert!(first.charged);
        assert_eq!(first.cells, 26 * 26);
        assert_eq!(first.cells, first.suppressed + first.transitions.len());
        let n = count(&first, IT, "operations").expect("400 members made this move");
        assert!((n - 400).abs() <= 40, "{n}");
        assert_eq!(
            count(&first, "legal", "research"),
            None,
            "a move three members made must not be shown: {first:?}"
        );
        assert!(
            first
                .transitions
                .iter()
                .all(|t| t.count >= insights::TRANSITIONS_SUPPRESS_BELOW)
        );
        assert_eq!(first.budget.spent, Epsilon(1_000_000));

        // The same question the same day: the same answer, nothing spent — even though 50
        // more members made a move meanwhile (fresh counts under the same noise would reveal
        // the change exactly).
        positions(net, 600..650, &["Lawyers", "Economists"]);
        let again = release(net, &key, 1.0, NOW + 1000).unwrap();
        assert!(!again.charged);
        assert_eq!(again.transitions, first.transitions);
        assert_eq!(again.budget.spent, Epsilon(1_000_000));

        // The next day is a new question: charged, and the new movers show.
        let next = release(net, &key, 1.0, NOW + DAY).unwrap();
        assert!(next.charged);
        assert_eq!(next.budget.spent, Epsilon(2_000_000));
        let moved = count(&next, "legal", "research").expect("53 members made this move");
        assert!((moved - 53).abs() <= 30, "{moved}");
    });
}

#[test]
fn the_insights_budget_refuses_a_release_past_it() {
    each_backend(|net| {
        fixture(net);
        net.store()
            .transaction(|tx| insights::set_insights_budget(tx, Epsilon::from_f64(1.5).unwrap()))
            .unwrap();
        let key = NoiseKey::from_bytes([3; 32]);
        let ok = release(net, &key, 1.0, NOW).unwrap();
        assert_eq!(ok.budget.remaining, Epsilon(500_000));
        let e = release(net, &key, 1.0, NOW + DAY).unwrap_err();
        assert_eq!(e.code(), "dp.budget_exhausted", "{e}");
        // A smaller question still fits; the refused one spent nothing.
        let small = release(net, &key, 0.5, NOW + DAY).unwrap();
        assert_eq!(small.budget.remaining, Epsilon(0));
        // Asking the paid question again costs nothing even with the budget used up.
        assert!(!release(net, &key, 1.0, NOW).unwrap().charged);
    });
}

#[test]
fn transitions_releases_are_ledgered_without_members() {
    each_backend(|net| {
        fixture(net);
        let key = NoiseKey::from_bytes([4; 32]);
        let r = release(net, &key, 1.0, NOW).unwrap();
        let e = net
            .store()
            .read(|tx| Ledger::entry(tx, r.ledger_seq))
            .unwrap();
        assert_eq!(e.purpose, insights::INSIGHTS);
        assert_eq!(e.action, "release");
        assert_eq!(e.subjects, Subjects::none());
        assert_eq!(e.categories, vec![insights::EXPERIENCE_CATEGORY.to_owned()]);
        assert!(e.reference.starts_with("insights:career_transitions:"));
        assert!(e.details.contains("charged=true"), "{}", e.details);
        for id in ["404", "500", "401"] {
            assert!(!e.details.contains(id), "{}", e.details);
        }
    });
}

fn skills(
    net: &Net,
    key: &NoiseKey,
    eps: f64,
    delta: f64,
    k: usize,
    at: i64,
) -> Result<insights::SkillsInDemand, AdsError> {
    net.store().transaction(|tx| {
        insights::skills_in_demand(
            tx,
            &net.ledger,
            &net.policy,
            key,
            Epsilon::from_f64(eps).unwrap(),
            delta,
            k,
            at,
        )
    })
}

#[test]
fn skills_in_demand_is_charged_to_the_insights_budget_and_paid_once() {
    each_backend(|net| {
        let key = NoiseKey::from_bytes([6; 32]);
        let first = skills(net, &key, 1.0, 1e-6, 2, NOW).unwrap();
        assert!(first.charged);
        assert_eq!(first.budget.spent, Epsilon(1_000_000));
        assert!((first.delta_budget.spent - 1e-6).abs() < 1e-15, "{first:?}");
        assert!(first.industries.iter().all(|i| i.skills.len() <= 2));

        // The same question the same day, with another k and after 200 more members learned
        // Kotlin: the stored release (top k is post-processing), nothing spent.
        net.store()
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO skills (member_id, skill, endorsements) \
                     SELECT member_id, 'Go', 0 FROM members WHERE member_id BETWEEN 601 AND 800",
                    &[],
                )
            })
            .unwrap();
        let again = skills(net, &key, 1.0, 1e-6, 3, NOW + 1000).unwrap();
        assert!(!again.charged);
        assert_eq!(again.budget.spent, Epsilon(1_000_000));
        for (a, b) in first.industries.iter().zip(&again.industries) {
            assert_eq!(a.industry, b.industry);
            assert_eq!(a.skills[..], b.skills[..a.skills.len()], "{a:?} {b:?}");
        }
        assert!(
            again
                .industries
                .iter()
                .all(|i| i.skills.iter().all(|(s, _)| s != "go")),
            "the stored release, not fresh counts: {again:?}"
        );

        // Skills and transitions share the ε budget: 1.5 in all leaves 0.5 for either.
        net.store()
            .transaction(|tx| insights::set_insights_budget(tx, Epsilon::from_f64(1.5).unwrap()))
            .unwrap();
        let e = skills(net, &key, 1.0, 1e-6, 3, NOW + DAY).unwrap_err();
        assert_eq!(e.code(), "dp.budget_exhausted", "{e}");
        let e = release(net, &key, 1.0, NOW + DAY).unwrap_err();
        assert_eq!(e.code(), "dp.budget_exhausted", "{e}");
        let spent: i64 = net
            .store()
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM ads_insights_releases", &[]))
            .unwrap();
        assert_eq!(spent, 1, "refused questions store nothing");

        // The δ budget refuses on its own: ε fits, δ does not.
        net.store()
            .transaction(|tx| {
                insights::set_insights_budget(tx, Epsilon::from_f64(10.0).unwrap())?;
                insights::set_insights_delta_budget(tx, 1.5e-6)
            })
            .unwrap();
        let e = skills(net, &key, 1.0, 1e-6, 3, NOW + DAY).unwrap_err();
        assert_eq!(e.code(), "dp.budget_exhausted", "{e}");
        assert!(e.to_string().contains("δ"), "{e}");
        let ok = skills(net, &key, 1.0, 5e-7, 3, NOW + DAY).unwrap();
        assert!(ok.charged);
        assert!(ok.delta_budget.remaining.abs() < 1e-15, "{ok:?}");
        assert_eq!(ok.budget.spent, Epsilon(2_000_000));
        // Paid questions are still answered, free, with both budgets used up.
        assert!(!skills(net, &key, 1.0, 1e-6, 3, NOW).unwrap().charged);
    });
}

#[test]
fn skills_releases_are_ledgered_without_members() {
    each_backend(|net| {
        let key = NoiseKey::from_bytes([7; 32]);
        let r = skills(net, &key, 1.0, 1e-6, 3, NOW).unwrap();
        let e = net
            .store()
            .read(|tx| Ledger::entry(tx, r.ledger_seq))
            .unwrap();
        assert_eq!(e.purpose, insights::INSIGHTS);
        assert_eq!(e.subjects, Subjects::none());
        assert!(e.reference.starts_with("insights:skills_in_demand:"));
        assert!(e.details.contains("charged=true"), "{}", e.details);
    });
}
