//! End-to-end tests of `steward ads`: the real binary on a seeded SQLite network — estimates,
//! refusals with their exit codes and stable error codes, a campaign launched, simulated
//! traffic and a DP report that repeats itself and refuses past budget.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;

#[test]
fn ads_end_to_end() {
    let env = Env::new();
    let canaries = env.path("canaries.jsonl").display().to_string();
    env.ok(&[
        "seed",
        "--members",
        "1500",
        "--seed",
        "3",
        "--canaries",
        &canaries,
    ]);

    // Estimates are rounded and never exact below the minimum.
    let e = env.ok(&[
        "--json",
        "ads",
        "audience",
        "estimate",
        "not seniority in (cxo, owner)",
    ]);
    let about = e["estimate"]["about"].as_u64().unwrap();
    assert!(about >= 300, "{e}");

    // Bad input: exit 2 with a stable code.
    assert_eq!(
        env.fails(&[
            "--json",
            "ads",
            "audience",
            "estimate",
            "message_topic = layoffs"
        ]),
        (2, "ads.unknown_attribute".to_owned())
    );
    assert_eq!(
        env.fails(&[
            "--json",
            "ads",
            "--min-audience",
            "99",
            "audience",
            "estimate",
            "industry = x"
        ]),
        (2, "ads.config".to_owned())
    );
    // A micro-targeted audience: refused, exit 1.
    assert_eq!(
        env.fails(&[
            "--json",
            "ads",
            "audience",
            "create",
            "--advertiser",
            "acme",
            "--name",
            "tiny",
            "seniority = owner and company_size = 1-10 and years_experience = 20+",
        ]),
        (1, "ads.audience_too_small".to_owned())
    );

    let a = env.ok(&[
        "--json",
        "ads",
        "audience",
        "create",
        "--advertiser",
        "acme",
        "--name",
        "broad",
        "not seniority in (cxo, owner)",
    ]);
    let aid = a["id"].as_i64().unwrap().to_string();
    let c = env.ok(&[
        "--json",
        "ads",
        "campaign",
        "create",
        "--advertiser",
        "acme",
        "--name",
        "spring",
        "--audience",
        &aid,
        "--budget",
        "1",
    ]);
    let cid = c["id"].as_i64().unwrap().to_string();
    assert_eq!(c["status"], "draft");
    // Someone else's campaign does not exist.
    assert_eq!(
        env.fails(&[
            "--json",
            "ads",
            "campaign",
            "launch",
            "--advertiser",
            "globex",
            &cid
        ]),
        (1, "ads.not_found".to_owned())
    );
    let l = env.ok(&[
        "--json",
        "ads",
        "campaign",
        "launch",
        "--advertiser",
        "acme",
        &cid,
    ]);
    assert_eq!(l["status"], "active");
    let s = env.ok(&[
        "--json",
        "ads",
        "events",
        "simulate",
        "--campaign",
        &cid,
        "--seed",
        "9",
        "--impressions",
        "5000",
    ]);
    assert!(s["kept"].as_u64().unwrap() >= 5000, "{s}");

    let report = |eps: &str| {
        env.ok(&[
            "--json",
            "ads",
            "report",
            &cid,
            "--advertiser",
            "acme",
            "--by",
            "seniority",
            "--days",
            "7",
            "--epsilon",
            eps,
        ])
    };
    let r1 = report("0.5");
    assert_eq!(r1["charged"], true);
    assert_eq!(r1["campaign_budget"]["remaining"], 0.5);
    let r2 = report("0.5");
    assert_eq!(r2["charged"], false);
    assert_eq!(r1["rows"], r2["rows"], "the same question, the same answer");
    assert_eq!(
        env.fails(&[
            "--json",
            "ads",
            "report",
            &cid,
            "--advertiser",
            "acme",
            "--by",
            "industry",
            "--epsilon",
            "0.6",
        ]),
        (1, "dp.budget_exhausted".to_owned())
    );
    // Text output names the budget.
    let out = env.run(&[
        "ads",
        "report",
        &cid,
        "--advertiser",
        "acme",
        "--by",
        "seniority",
        "--epsilon",
        "0.5",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("campaign ε spent 0.5 of 1"), "{text}");
}
