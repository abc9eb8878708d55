//! Audiences, campaigns and eligibility on SQLite and PostgreSQL: the minimum enforced on every
//! path (create, edit, attach, launch, resume, shrink), opt-outs and per-attribute toggles,
//! unknown and disallowed attributes, matched lists, and ledger entries without member ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{MEMBERS, NOW, Net, each_backend};
use steward_ads::audience::{self, Estimate};
use steward_ads::campaign::{self, PAUSED_BELOW_MINIMUM, Status};
use steward_ads::{AdsError, AudienceIndex, Eligibility, Expr};
use steward_core::Policy;
use steward_ledger::{Ledger, Subjects};

fn create(
    net: &Net,
    index: &AudienceIndex,
    name: &str,
    expr: &str,
) -> Result<audience::Saved, AdsError> {
    net.store().transaction(|tx| {
        audience::create(
            tx,
            &net.ledger,
            index,
            &net.key,
            &net.config,
            "acme",
            name,
            expr,
            NOW,
        )
    })
}

fn code<T: std::fmt::Debug>(r: Result<T, AdsError>) -> &'static str {
    match r {
        Err(e) => e.code(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

#[test]
fn a_299_member_audience_is_refused_on_every_path() {
    each_backend(|net| {
        let index = net.index();
        assert_eq!(
            index.count(&Expr::parse("skill = scala").unwrap()).unwrap(),
            299
        );
        assert_eq!(
            index
                .count(&Expr::parse("skill = kotlin").unwrap())
                .unwrap(),
            300
        );

        // Create: 299 refused, without the number.
        let err = create(net, &index, "tiny", "skill = scala").unwrap_err();
        assert_eq!(err.code(), "ads.audience_too_small");
        assert!(!err.to_string().contains("299"), "{err}");
        // 300 accepted.
        let kotlin = create(net, &index, "kotlin devs", "skill = kotlin").unwrap();
        assert!(matches!(kotlin.estimate, Estimate::About(n) if n >= 300));
        let rust = create(net, &index, "rust devs", "skill in (rust)").unwrap();

        // Edit to 299: refused, the stored expression is unchanged.
        let edit = net.store().transaction(|tx| {
            audience::edit(
                tx,
                &net.ledger,
                &index,
                &net.key,
                &net.config,
                "acme",
                rust.audience.id,
                "skill = scala",
                NOW,
            )
        });
        assert_eq!(code(edit), "ads.audience_too_small");
        let kept = net
            .store()
            .read(|tx| audience::get(tx, "acme", rust.audience.id))
            .unwrap();
        assert_eq!(kept.expression.as_deref(), Some("skill in (rust)"));

        // Two campaigns on the 300-member audience; one launched.
        let (c1, c2) = net
            .store()
            .transaction(|tx| {
                let c1 = campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "one",
                    Some(kotlin.audience.id),
                    None,
                    NOW,
                )?;
                let c2 = campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "two",
                    Some(kotlin.audience.id),
                    None,
                    NOW,
                )?;
                campaign::launch(tx, &net.ledger, &index, &net.config, "acme", c1.id, NOW)?;
                Ok::<_, AdsError>((c1, c2))
            })
            .unwrap();

        // One member switches the skills attribute off: the audience shrinks to 299.
        net.set(7, "ads.attr.skills", false, NOW - 1000);
        let mut index = index;
        index
            .apply_change(net.store(), &net.policy, 7, NOW)
            .unwrap();
        assert_eq!(
            index
                .count(&Expr::parse("skill = kotlin").unwrap())
                .unwrap(),
            299
        );

        // Shrink: the active campaign pauses.
        let paused = net
            .store()
            .transaction(|tx| campaign::enforce_minimums(tx, &net.ledger, &index, &net.config, NOW))
            .unwrap();
        assert_eq!(paused, vec![c1.id]);
        let c1_now = net
            .store()
            .read(|tx| campaign::get(tx, "acme", c1.id))
            .unwrap();
        assert_eq!(c1_now.status, Status::Paused);
        assert_eq!(c1_now.pause_reason.as_deref(), Some(PAUSED_BELOW_MINIMUM));

        // Resume: refused.
        let resume = net.store().transaction(|tx| {
            campaign::resume(tx, &net.ledger, &index, &net.config, "acme", c1.id, NOW)
        });
        assert_eq!(code(resume), "ads.audience_too_small");

        // The "re-enabled launch button": the draft was fine when the client rendered it;
        // the server recounts and refuses.
        let launch = net.store().transaction(|tx| {
            campaign::launch(tx, &net.ledger, &index, &net.config, "acme", c2.id, NOW)
        });
        assert_eq!(code(launch), "ads.audience_too_small");
        let c2_now = net
            .store()
            .read(|tx| campaign::get(tx, "acme", c2.id))
            .unwrap();
        assert_eq!(c2_now.status, Status::Draft);

        // Attach: refused, for an existing campaign and on creation.
        let untargeted = net
            .store()
            .transaction(|tx| {
                campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "broad",
                    None,
                    None,
                    NOW,
                )
            })
            .unwrap();
        let attach = net.store().transaction(|tx| {
            campaign::attach_audience(
                tx,
                &net.ledger,
                &index,
                &net.config,
                "acme",
                untargeted.id,
                kotlin.audience.id,
                NOW,
            )
        });
        assert_eq!(code(attach), "ads.audience_too_small");
        let create_attached = net.store().transaction(|tx| {
            campaign::create(
                tx,
                &net.ledger,
                &index,
                &net.config,
                "acme",
                "three",
                Some(kotlin.audience.id),
                None,
                NOW,
            )
        });
        assert_eq!(code(create_attached), "ads.audience_too_small");

        // And the eligibility snapshot serves no paused campaign.
        let elig = net
            .store()
            .read(|tx| Eligibility::build(tx, &index))
            .unwrap();
        assert!(!elig.is_eligible(1, c1.id));
    });
}

#[test]
fn another_advertisers_audience_or_campaign_does_not_exist() {
    each_backend(|net| {
        let index = net.index();
        let a = create(net, &index, "rust", "skill = rust").unwrap();
        let r = net.store().transaction(|tx| {
            campaign::create(
                tx,
                &net.ledger,
                &index,
                &net.config,
                "globex",
                "steal",
                Some(a.audience.id),
                None,
                NOW,
            )
        });
        assert_eq!(code(r), "ads.not_found");
    });
}

#[test]
fn opted_out_members_are_never_in_the_index_or_an_eligible_set() {
    each_backend(|net| {
        // Member 2 (software, ontario, kotlin, rust) turns personalized ads off.
        net.set(2, "ads.personalized", false, NOW - 5000);
        let index = net.index();
        assert!(!index.knows(2));
        assert!(index.knows(4));
        for expr in [
            "industry = software",
            "region = ontario",
            "skill in (kotlin, rust)",
            "not industry = finance",
            "not seniority in (director)",
            "years_experience in (0-1, 2-4)",
        ] {
            let members = index.evaluate(&Expr::parse(expr).unwrap()).unwrap();
            assert!(!members.contains(2), "{expr} matched an opted-out member");
        }
        let a = create(net, &index, "software", "industry = software").unwrap();
        let (targeted, broad) = net
            .store()
            .transaction(|tx| {
                let t = campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "t",
                    Some(a.audience.id),
                    None,
                    NOW,
                )?;
                campaign::launch(tx, &net.ledger, &index, &net.config, "acme", t.id, NOW)?;
                let b = campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "b",
                    None,
                    None,
                    NOW,
                )?;
                campaign::launch(tx, &net.ledger, &index, &net.config, "acme", b.id, NOW)?;
                Ok::<_, AdsError>((t.id, b.id))
            })
            .unwrap();
        let elig = net
            .store()
            .read(|tx| Eligibility::build(tx, &index))
            .unwrap();
        assert!(!elig.is_eligible(2, targeted));
        assert!(elig.is_eligible(4, targeted));
        assert!(
            elig.is_eligible(2, broad),
            "untargeted campaigns use no attribute"
        );
        assert_eq!(elig.campaigns_for(2), vec![broad]);
        for m in 1..=MEMBERS {
            if m != 2 && m <= 600 {
                assert!(elig.is_eligible(m, targeted), "member {m}");
            } else {
                assert!(!elig.is_eligible(m, targeted), "member {m}");
            }
        }
        // Turning it back on brings the member back, after the index is updated.
        net.set(2, "ads.personalized", true, NOW - 10);
        let mut index = index;
        index
            .apply_change(net.store(), &net.policy, 2, NOW)
            .unwrap();
        assert!(
            index
                .evaluate(&Expr::parse("industry = software").unwrap())
                .unwrap()
                .contains(2)
        );
    });
}

#[test]
fn a_switched_off_attribute_is_excluded_for_exactly_that_attribute() {
    each_backend(|net| {
        // Member 3: software, director, bavaria. Switches industry off.
        net.set(3, "ads.attr.industry", false, NOW - 5000);
        let index = net.index();
        let has = |e: &str| {
            index
                .evaluate(&Expr::parse(e).unwrap())
                .unwrap()
                .contains(3)
        };
        assert!(!has("industry = software"));
        assert!(
            !has("not industry = finance"),
            "an exclusion on a switched-off attribute uses it"
        );
        assert!(has("seniority = director"));
        assert!(has("region = bavaria"));
        assert!(has("seniority = director and not region = ontario"));
        assert!(!has("seniority = director and industry = software"));
    });
}

#[test]
fn profile_changes_move_members_between_bitmaps() {
    each_backend(|net| {
        let mut index = net.index();
        let software = Expr::parse("industry = software").unwrap();
        assert_eq!(index.count(&software).unwrap(), 600);
        net.store()
            .transaction(|tx| {
                tx.execute(
                    "UPDATE members SET industry = 'Finance' WHERE member_id = 10",
                    &[],
                )
            })
            .unwrap();
        index
            .apply_change(net.store(), &net.policy, 10, NOW)
            .unwrap();
        assert_eq!(index.count(&software).unwrap(), 599);
        assert!(
            index
                .evaluate(&Expr::parse("industry = finance").unwrap())
                .unwrap()
                .contains(10)
        );
        // Hiding the section takes the attribute away.
        net.store()
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO profile_visibility (member_id, section, visibility) VALUES (11, 'industry', 'private')",
                    &[],
                )
            })
            .unwrap();
        index
            .apply_change(net.store(), &net.policy, 11, NOW)
            .unwrap();
        assert_eq!(index.count(&software).unwrap(), 598);
        // Erasure takes the member out entirely.
        net.store()
            .transaction(|tx| {
                tx.execute(
                    "UPDATE members SET deleted_at = 1 WHERE member_id = 12",
                    &[],
                )
            })
            .unwrap();
        index
            .apply_changes(net.store(), &net.policy, &[12], NOW)
            .unwrap();
        assert!(!index.knows(12));
    });
}

#[test]
fn private_content_and_disallowed_attributes_cannot_be_targeted() {
    each_backend(|net| {
        let index = net.index();
        for expr in [
            "message_topic = layoffs",
            "private_message in (job)",
            "industry = software and note = secret",
            "gender = female",
        ] {
            let err = create(net, &index, "x", expr).unwrap_err();
            assert_eq!(err.code(), "ads.unknown_attribute", "{expr}");
        }
        // A policy without the skills rule: skills can no longer be named.
        let src = steward_core::policy::DEFAULT_POLICY_TOML.replace(
            "id = \"ads-targeting-skills\"\npurpose = \"ads.targeting\"",
            "id = \"ads-targeting-skills\"\npurpose = \"personalization.recommendations\"",
        );
        assert_ne!(src, steward_core::policy::DEFAULT_POLICY_TOML);
        let policy = Policy::load(net.policy.taxonomy().clone(), "no-skills.toml", &src).unwrap();
        let narrow = AudienceIndex::build(net.store(), &policy, NOW).unwrap();
        let err = narrow
            .count(&Expr::parse("skill = rust").unwrap())
            .unwrap_err();
        assert_eq!(err.code(), "ads.attribute_not_allowed");
        assert_eq!(
            Expr::parse_allowed("skill = rust", &policy)
                .unwrap_err()
                .code(),
            "ads.attribute_not_allowed"
        );
        assert!(
            narrow
                .values_of(steward_ads::attr::Attribute::Skill)
                .is_empty()
        );
    });
}

#[test]
fn matched_lists_match_only_consenting_members_and_never_say_who() {
    each_backend(|net| {
        // Members 1..=100 refuse third-party matching.
        for m in 1..=100 {
            net.set(m, "ads.third_party", false, NOW - 5000);
        }
        let index = net.index();
        let salt = "acme-salt-2026";
        let all: Vec<String> = (1..=MEMBERS)
            .map(|i| audience::contact_hash(salt, &format!("M{i}@Example.com")))
            .collect();
        // 350 uploaded, 100 of them refuse: 250 matchable < 300.
        let small = net.store().transaction(|tx| {
            audience::create_matched(
                tx,
                &net.ledger,
                &net.policy,
                &index,
                &net.key,
                &net.config,
                "acme",
                "list",
                salt,
                &all[..350],
                NOW,
            )
        });
        assert_eq!(code(small), "ads.matched_too_small");
        let saved = net
            .store()
            .transaction(|tx| {
                audience::create_matched(
                    tx,
                    &net.ledger,
                    &net.policy,
                    &index,
                    &net.key,
                    &net.config,
                    "acme",
                    "list",
                    salt,
                    &all,
                    NOW,
                )
            })
            .unwrap();
        // The answer is a rounded, noised estimate; nothing per entry.
        assert!(matches!(saved.estimate, Estimate::About(n) if n % 10 == 0));
        let members = net
            .store()
            .read(|tx| audience::members(tx, &index, &saved.audience))
            .unwrap();
        assert_eq!(members.len(), 900);
        assert!((1..=100).all(|m| !members.contains(m)));
        // Revoking later takes the member out of the live audience.
        net.set(500, "ads.third_party", false, NOW - 10);
        let mut index = index;
        index
            .apply_change(net.store(), &net.policy, 500, NOW)
            .unwrap();
        let members = net
            .store()
            .read(|tx| audience::members(tx, &index, &saved.audience))
            .unwrap();
        assert!(!members.contains(500));
    });
}

#[test]
fn ledger_entries_of_ads_name_no_member() {
    each_backend(|net| {
        let index = net.index();
        let a = create(net, &index, "rust", "skill = rust").unwrap();
        net.store()
            .transaction(|tx| {
                let c = campaign::create(
                    tx,
                    &net.ledger,
                    &index,
                    &net.config,
                    "acme",
                    "c",
                    Some(a.audience.id),
                    None,
                    NOW,
                )?;
                campaign::launch(tx, &net.ledger, &index, &net.config, "acme", c.id, NOW)?;
                campaign::pause(tx, &net.ledger, "acme", c.id, NOW)?;
                Ok::<_, AdsError>(())
            })
            .unwrap();
        let entries = net
            .store()
            .read(|tx| {
                let n = Ledger::size(tx)?;
                (0..n)
                    .map(|i| Ledger::entry(tx, i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        assert!(entries.len() >= 4);
        for e in &entries {
            assert_eq!(e.subjects, Subjects::none(), "{e:?}");
            assert!(!e.details.contains("member"), "{}", e.details);
        }
        assert!(entries.iter().any(|e| e.action == "audience.create"));
        assert!(entries.iter().any(|e| e.action == "campaign.launch"));
    });
}

#[test]
fn skills_in_demand_releases_common_skills_and_never_rare_ones() {
    each_backend(|net| {
        // Three members hold a rare skill.
        net.store()
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO skills (member_id, skill, endorsements) VALUES (601, 'Cobol', 0), (602, 'Cobol', 0), (603, 'Cobol', 0)",
                    &[],
                )
            })
            .unwrap();
        let out = net
            .store()
            .transaction(|tx| {
                steward_ads::insights::skills_in_demand(
                    tx,
                    &net.ledger,
                    &net.policy,
                    &net.key,
                    steward_privacy::dp::Epsilon::from_f64(1.0).unwrap(),
                    1e-6,
                    3,
                    NOW,
                )
            })
            .unwrap();
        assert!(out.charged);
        let software = out
            .industries
            .iter()
            .find(|i| i.industry == "software")
            .unwrap();
        assert_eq!(software.skills[0].0, "rust", "{software:?}");
        assert_eq!(software.skills.len(), 3);
        assert!(
            out.industries
                .iter()
                .all(|i| i.skills.iter().all(|(s, _)| s != "cobol")),
            "a skill three members hold must not be released: {out:?}"
        );
    });
}
