//! End-to-end tests of `steward insights transitions` (and its alias under `steward ads
//! insights`): the real binary on a seeded SQLite network — a DP release of job-function
//! moves, the same answer for the same question without a second charge, and a refusal past
//! the insights budget with its stable code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Env;

#[test]
fn career_transitions_from_the_cli() {
    let env = Env::new();
    let canaries = env.path("canaries.jsonl").display().to_string();
    env.ok(&[
        "seed",
        "--members",
        "1500",
        "--seed",
        "5",
        "--canaries",
        &canaries,
    ]);

    let first = env.ok(&["--json", "insights", "transitions", "--epsilon", "1"]);
    assert_eq!(first["charged"], true, "{first}");
    assert_eq!(first["cells"], 26 * 26);
    assert_eq!(first["budget"]["spent"].as_f64(), Some(1.0), "{first}");
    let rows = first["transitions"].as_array().unwrap();
    assert!(
        !rows.is_empty(),
        "1,500 members make some common moves: {first}"
    );
    for r in rows {
        assert!(r["count"].as_i64().unwrap() >= 10, "{r}");
        assert!(r["from"].is_string() && r["to"].is_string(), "{r}");
    }

    // The same question again, through the `ads insights` spelling: same answer, free.
    let again = env.ok(&["--json", "ads", "insights", "transitions", "--epsilon", "1"]);
    assert_eq!(again["charged"], false, "{again}");
    assert_eq!(again["transitions"], first["transitions"]);
    assert_eq!(again["budget"]["spent"].as_f64(), Some(1.0));

    // A budget of 1.5 leaves 0.5: a new question at ε 1 is refused with a stable code.
    let out = env.run(&[
        "--json",
        "insights",
        "transitions",
        "--epsilon",
        "0.9",
        "--budget",
        "1.5",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "dp.budget_exhausted", "{err}");

    // Human output names the budget.
    let text = env.run(&["insights", "transitions", "--epsilon", "1", "--top", "3"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("insights ε spent 1"), "{text}");
    assert!(text.contains("nothing spent"), "{text}");
}
