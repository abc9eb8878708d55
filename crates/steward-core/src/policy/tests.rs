//! Unit and property tests of compilation and decisions.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::consent::defaults_for;

fn builtin() -> Policy {
    Policy::builtin().expect("the default policy loads")
}

fn ids(p: &Policy, purpose: &str, category: &str) -> (PurposeId, CategoryId) {
    let t = p.taxonomy();
    (
        t.purpose_id(purpose).expect(purpose),
        t.category_id(category).expect(category),
    )
}

fn key(p: &Policy, k: &str) -> ConsentKey {
    p.taxonomy().consent_key_id(k).expect(k)
}

#[test]
fn default_policy_loads_and_verifies() {
    let p = builtin();
    assert!(p.rules().len() > 10);
    assert_eq!(
        p.cell_count(),
        p.taxonomy().purposes().len() * p.taxonomy().categories().len() * 5
    );
}

#[test]
fn opted_out_member_is_denied_ai_training_and_told_why() {
    let p = builtin();
    let (ai, skills) = ids(&p, "ai.training", "member.profile.skills");
    let us = defaults_for(p.taxonomy(), "US");
    assert_eq!(
        p.decide(ai, skills, Visibility::Public, us).form(),
        Some(Form::Deidentified)
    );
    let opted_out = us.with(key(&p, "ai.training"), false);
    let d = p.decide(ai, skills, Visibility::Public, opted_out);
    assert_eq!(
        d,
        Decision::Deny(Denial::MissingConsent {
            rule: d.rule().expect("a rule"),
            key: key(&p, "ai.training")
        })
    );
    let e = p.explain(ai, skills, Visibility::Public, opted_out);
    assert!(!e.allowed);
    assert_eq!(e.missing_consent.as_deref(), Some("ai.training"));
    assert!(e.reason.contains("ai-training-profile"), "{}", e.reason);
}

#[test]
fn eu_member_is_out_of_ai_training_by_default() {
    let p = builtin();
    let (ai, skills) = ids(&p, "ai.training", "member.profile.skills");
    assert!(
        !p.decide(
            ai,
            skills,
            Visibility::Public,
            defaults_for(p.taxonomy(), "DE")
        )
        .is_allowed()
    );
}

#[test]
fn private_content_is_never_allowed_for_gated_purposes_whatever_the_consent() {
    let p = builtin();
    let t = p.taxonomy().clone();
    for purpose in t.purpose_ids() {
        let name = t.purpose_name(purpose);
        let gated = ["ai", "ads", "analytics", "personalization"]
            .iter()
            .any(|pre| crate::taxonomy::name_is_under(name, pre));
        if !gated {
            continue;
        }
        for category in t.category_ids() {
            for v in Visibility::ALL {
                if t.is_private_content(category, v) {
                    assert!(
                        !p.decide(purpose, category, v, ConsentSet::ALL).is_allowed(),
                        "{name} {} {v}",
                        t.category_name(category)
                    );
                }
            }
        }
    }
}

#[test]
fn connections_only_post_is_not_ai_training_data() {
    let p = builtin();
    let (ai, post) = ids(&p, "ai.training", "member.content.post");
    assert!(
        p.decide(ai, post, Visibility::Public, ConsentSet::ALL)
            .is_allowed()
    );
    assert!(
        !p.decide(ai, post, Visibility::Connections, ConsentSet::ALL)
            .is_allowed()
    );
}

#[test]
fn ads_attribute_toggle_removes_only_that_attribute() {
    let p = builtin();
    let (ads, skills) = ids(&p, "ads.targeting", "member.profile.skills");
    let (_, industry) = ids(&p, "ads.targeting", "member.profile.industry");
    let c = ConsentSet::ALL.with(key(&p, "ads.attr.skills"), false);
    assert!(!p.decide(ads, skills, Visibility::Public, c).is_allowed());
    assert_eq!(
        p.decide(ads, industry, Visibility::Public, c).form(),
        Some(Form::Audience)
    );
    let off = ConsentSet::ALL.with(key(&p, "ads.personalized"), false);
    assert!(
        !p.decide(ads, industry, Visibility::Public, off)
            .is_allowed()
    );
}

#[test]
fn sensitive_data_is_never_an_ads_attribute() {
    let p = builtin();
    let (ads, gender) = ids(&p, "ads.targeting", "member.demographic.gender");
    for v in Visibility::ALL {
        assert!(!p.decide(ads, gender, v, ConsentSet::ALL).is_allowed());
    }
}

#[test]
fn scanners_get_verdicts_and_spam_scanning_follows_the_setting() {
    let p = builtin();
    let (malware, msg) = ids(&p, "security.scan.malware", "member.content.message");
    let (spam, _) = ids(&p, "security.scan.spam", "member.content.message");
    assert_eq!(
        p.decide(malware, msg, Visibility::Private, ConsentSet::NONE)
            .form(),
        Some(Form::Verdict)
    );
    let off = ConsentSet::ALL.with(key(&p, "messaging.harmful_detection"), false);
    assert!(!p.decide(spam, msg, Visibility::Private, off).is_allowed());
    assert!(
        p.decide(spam, msg, Visibility::Private, ConsentSet::ALL)
            .is_allowed()
    );
}

#[test]
fn out_of_range_ids_are_denied_not_aliased() {
    let p = builtin();
    let d = p.decide(
        PurposeId(0),
        CategoryId(u16::MAX),
        Visibility::Public,
        ConsentSet::ALL,
    );
    assert_eq!(d, Decision::Deny(Denial::NoRule));
    let d = p.decide(
        PurposeId(u16::MAX),
        CategoryId(0),
        Visibility::Public,
        ConsentSet::ALL,
    );
    assert_eq!(d, Decision::Deny(Denial::NoRule));
}

#[test]
fn every_denied_explanation_of_a_forbidden_cell_names_the_invariant() {
    let p = builtin();
    let (ads, msg) = ids(&p, "ads.targeting", "member.content.message");
    let e = p.explain(ads, msg, Visibility::Private, ConsentSet::ALL);
    assert!(!e.allowed);
    assert!(
        e.reason
            .contains("private-content-never-for-ai-ads-analytics-personalization"),
        "{}",
        e.reason
    );
}

#[test]
fn diff_reports_cells_and_affected_members() {
    let old = builtin();
    let src = DEFAULT_POLICY_TOML.replace(
        "consent = [\"ads.personalized\", \"ads.attr.skills\"]",
        "consent = [\"ads.personalized\", \"ads.attr.skills\", \"ads.third_party\"]",
    );
    let new = Policy::load(old.taxonomy().clone(), "new.toml", &src).expect("loads");
    let mut pop = diff::Population::new();
    let t = old.taxonomy();
    pop.add(defaults_for(t, "US"), 10); // third_party on: unaffected
    pop.add(defaults_for(t, "DE"), 7); // third_party off by default: loses skills targeting
    let d = diff::diff(&old, &new, Some(&pop)).expect("same taxonomy");
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    let c = &d.changes[0];
    assert_eq!(
        (c.purpose.as_str(), c.category.as_str()),
        ("ads.targeting", "member.profile.skills")
    );
    assert_eq!(c.visibilities, vec!["public", "connections"]);
    assert_eq!(c.kind, diff::ChangeKind::Changed);
    assert_eq!(c.affected_members, Some(7));
    assert_eq!(d.members_affected, Some(7));
    assert!(diff::diff(&old, &old, None).expect("same").is_empty());
}

// ---------------------------------------------------------------- differential testing

fn name_pool(t: &Taxonomy) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut purposes: Vec<String> = t.purposes().iter().map(|p| p.name.clone()).collect();
    purposes.push("*".into());
    let mut cats: Vec<String> = t.categories().iter().map(|c| c.name.clone()).collect();
    cats.push("*".into());
    let keys = t.consent_keys().iter().map(|k| k.name.clone()).collect();
    (purposes, cats, keys)
}

#[derive(Debug, Clone)]
struct RandomRule {
    purpose: usize,
    categories: Vec<usize>,
    except: Vec<usize>,
    form: usize,
    consent: Vec<usize>,
    visibility: Option<Vec<usize>>,
}

fn random_rule() -> impl Strategy<Value = RandomRule> {
    (
        any::<usize>(),
        prop::collection::vec(any::<usize>(), 1..4),
        prop::collection::vec(any::<usize>(), 0..2),
        0usize..6,
        prop::collection::vec(any::<usize>(), 0..3),
        prop::option::of(prop::collection::vec(0usize..5, 1..4)),
    )
        .prop_map(
            |(purpose, categories, except, form, consent, visibility)| RandomRule {
                purpose,
                categories,
                except,
                form,
                consent,
                visibility,
            },
        )
}

fn render(t: &Taxonomy, rules: &[RandomRule]) -> String {
    let (purposes, cats, keys) = name_pool(t);
    let q = |v: &[usize], pool: &[String]| {
        v.iter()
            .map(|i| format!("{:?}", pool[i % pool.len()]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::from("version = \"prop\"\n");
    for (i, r) in rules.iter().enumerate() {
        s.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\npurpose = {:?}\ncategories = [{}]\nexcept = [{}]\nform = {:?}\nconsent = [{}]\n",
            purposes[r.purpose % purposes.len()],
            q(&r.categories, &cats),
            q(&r.except, &cats),
            Form::ALL[r.form].as_str(),
            q(&r.consent, &keys),
        ));
        if let Some(v) = &r.visibility {
            let names: Vec<String> = v
                .iter()
                .map(|i| format!("{:?}", Visibility::ALL[*i].as_str()))
                .collect();
            s.push_str(&format!("visibility = [{}]\n", names.join(", ")));
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The compiled table agrees with the naive reference evaluator on random policies
    /// (invariants not enforced, so the whole space of rules is exercised) and random requests.
    #[test]
    fn compiled_table_agrees_with_reference(
        rules in prop::collection::vec(random_rule(), 0..8),
        requests in prop::collection::vec((any::<usize>(), any::<usize>(), 0usize..5, any::<u64>()), 64),
    ) {
        let t = Arc::new(Taxonomy::builtin());
        let src = render(&t, &rules);
        let file = PolicyFile::parse(&t, "prop.toml", &src).expect("generated policy parses");
        let policy = Policy::compile_unverified(t.clone(), file.clone(), src.as_bytes());
        let n_keys = t.consent_keys().len() as u32;
        for (p, c, v, bits) in requests {
            let purpose = PurposeId((p % t.purposes().len()) as u16);
            let category = CategoryId((c % t.categories().len()) as u16);
            let visibility = Visibility::ALL[v];
            let consent = ConsentSet::from_bits(bits & ((1u64 << n_keys) - 1));
            let fast = policy.decide(purpose, category, visibility, consent);
            let slow = reference::decide(&file, t.purpose_name(purpose), t.category_name(category), visibility, consent);
            prop_assert_eq!(fast, slow, "{} {} {}", t.purpose_name(purpose), t.category_name(category), visibility);
        }
    }

    /// A policy either loads, and then no cell of it breaks an invariant, or is refused
    /// naming an invariant that a cell of it really breaks.
    #[test]
    fn loading_accepts_exactly_the_policies_that_keep_the_invariants(
        rules in prop::collection::vec(random_rule(), 0..6),
    ) {
        let t = Arc::new(Taxonomy::builtin());
        let src = render(&t, &rules);
        let file = PolicyFile::parse(&t, "prop.toml", &src).expect("parses");
        let unverified = Policy::compile_unverified(t.clone(), file, src.as_bytes());
        let mut any_violation = false;
        for p in t.purpose_ids() {
            for c in t.category_ids() {
                for v in Visibility::ALL {
                    for e in unverified.cell_rules(p, c, v) {
                        any_violation |= invariants::violated(&t, p, c, v, e.form).is_some();
                    }
                }
            }
        }
        match Policy::load(t.clone(), "prop.toml", &src) {
            Ok(_) => prop_assert!(!any_violation),
            Err(PolicyError::Invariant { .. }) => prop_assert!(any_violation),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

#[test]
fn an_invariant_is_named_only_when_it_forbids_every_form() {
    let p = builtin();
    let (ai, name) = ids(&p, "ai.training", "member.identity.name");
    let e = p.explain(ai, name, Visibility::Public, ConsentSet::ALL);
    assert!(!e.allowed);
    assert!(!e.reason.contains("invariant"), "{}", e.reason);
}
