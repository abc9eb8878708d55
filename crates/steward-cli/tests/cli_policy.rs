//! End-to-end tests of `steward policy ...`: the real binary, its output and its exit codes
//! (0 ok, 1 denied or failed check, 2 bad input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn steward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env_remove("STEWARD_TAXONOMY")
        .output()
        .expect("steward runs")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn policy_case(name: &str) -> String {
    repo(&format!("crates/steward-core/tests/data/policies/{name}"))
        .display()
        .to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn check_accepts_the_default_policy() {
    let out = steward(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("keeps all 4 built-in invariants"), "{text}");
    let out = steward(&[
        "policy",
        "check",
        &repo("policies/default.toml").display().to_string(),
        "--json",
    ]);
    assert_eq!(json(&out)["ok"], true);
}

#[test]
fn check_refuses_a_policy_that_breaks_an_invariant_with_exit_1() {
    let out = steward(&[
        "policy",
        "check",
        &policy_case("err/invariant-private-content-for-ai.toml"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "policy.invariant");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("train-on-messages") && msg.contains("member.content.message"),
        "{msg}"
    );
}

#[test]
fn explain_prints_the_documented_json_keys_and_exit_code() {
    let out = steward(&[
        "policy",
        "explain",
        "--purpose",
        "ai.training",
        "--category",
        "member.profile.skills",
        "--jurisdiction",
        "US",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["allowed"], true);
    assert_eq!(v["form"], "deidentified");
    assert_eq!(v["rule"], "ai-training-profile");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("ai-training-profile")
    );

    // The same member in Germany has not opted in: denied, exit 1, the missing key named.
    let out = steward(&[
        "policy",
        "explain",
        "--purpose",
        "ai.training",
        "--category",
        "member.profile.skills",
        "--jurisdiction",
        "DE",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["allowed"], false);
    assert_eq!(v["missing_consent"], "ai.training");

    // ...and opting in changes the answer.
    let out = steward(&[
        "policy",
        "explain",
        "--purpose",
        "ai.training",
        "--category",
        "member.profile.skills",
        "--jurisdiction",
        "DE",
        "--consent",
        "ai.training=on",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn explain_never_allows_a_private_message_for_ads_even_with_every_consent() {
    let mut args = vec![
        "policy",
        "explain",
        "--purpose",
        "ads.targeting",
        "--category",
        "member.content.message",
        "--visibility",
        "private",
        "--json",
    ];
    let consents: Vec<String> = ["ads.personalized", "ads.third_party", "ai.training"]
        .iter()
        .map(|k| format!("{k}=on"))
        .collect();
    for c in &consents {
        args.push("--consent");
        args.push(c);
    }
    let out = steward(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(json(&out)["reason"].as_str().unwrap().contains("invariant"));
}

#[test]
fn bad_input_exits_2_with_a_stable_code() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "policy",
                "explain",
                "--purpose",
                "ai.trainig",
                "--category",
                "member",
                "--json",
            ],
            "policy.unknown_purpose",
        ),
        (
            &[
                "policy",
                "explain",
                "--purpose",
                "ai.training",
                "--category",
                "nope",
                "--json",
            ],
            "policy.unknown_category",
        ),
        (
            &[
                "policy",
                "explain",
                "--purpose",
                "ai.training",
                "--category",
                "member",
                "--visibility",
                "secret",
                "--json",
            ],
            "policy.unknown_visibility",
        ),
        (
            &[
                "policy",
                "explain",
                "--purpose",
                "ai.training",
                "--category",
                "member",
                "--consent",
                "ai.training=maybe",
                "--json",
            ],
            "consent.invalid_value",
        ),
        (
            &["policy", "matrix", "/nonexistent/policy.toml", "--json"],
            "io.read",
        ),
    ];
    for (args, code) in cases {
        let out = steward(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["error"]["code"], code, "{args:?}");
    }
}

#[test]
fn invalid_utf8_and_malformed_files_are_bad_input_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, b"version = \"\xff\xfe\"\n").unwrap();
    let out = steward(&["policy", "matrix", bad.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input.invalid_utf8"));

    let out = steward(&["policy", "matrix", &policy_case("err/syntax.toml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax.toml:2:8"));

    let tax = dir.path().join("tax.toml");
    std::fs::write(
        &tax,
        "[[category]]\nname = \"member.content.message\"\nprivate_content = false\n",
    )
    .unwrap();
    let out = steward(&["policy", "check", "--taxonomy", tax.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("taxonomy.weakening"));
}

#[test]
fn matrix_lists_every_category_and_json_has_all_allowed_cells() {
    let out = steward(&["policy", "matrix"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("member.content.message"));
    let out = steward(&["policy", "matrix", "--json"]);
    let v = json(&out);
    let cells = v["allowed_cells"].as_array().unwrap();
    // No allowed cell hands private messages to ads or AI.
    assert!(
        cells
            .iter()
            .all(|c| !(c["category"] == "member.content.message"
                && (c["purpose"].as_str().unwrap().starts_with("ads")
                    || c["purpose"].as_str().unwrap().starts_with("ai"))))
    );
    assert!(
        cells
            .iter()
            .any(|c| c["purpose"] == "ads.targeting" && c["category"] == "member.profile.skills")
    );
}

#[test]
fn diff_counts_affected_members_from_a_population_file() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.toml");
    let src = std::fs::read_to_string(repo("policies/default.toml"))
        .unwrap()
        .replace(
            "consent = [\"ads.personalized\", \"ads.attr.skills\"]",
            "consent = [\"ads.personalized\", \"ads.attr.skills\", \"ads.third_party\"]",
        );
    std::fs::write(&new, src).unwrap();
    let pop = dir.path().join("pop.jsonl");
    std::fs::write(
        &pop,
        "{\"jurisdiction\": \"US\", \"count\": 5}\n{\"jurisdiction\": \"FR\", \"count\": 3}\n{\"jurisdiction\": \"US\", \"consent\": {\"ads.third_party\": false}}\n",
    )
    .unwrap();
    let out = steward(&[
        "policy",
        "diff",
        &repo("policies/default.toml").display().to_string(),
        new.to_str().unwrap(),
        "--population",
        pop.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["members_affected"], 4);
    assert_eq!(v["population"], 9);
    assert_eq!(v["changes"].as_array().unwrap().len(), 1);

    std::fs::write(
        &pop,
        "{\"jurisdiction\": \"US\", \"consent\": {\"nope\": true}}\n",
    )
    .unwrap();
    let out = steward(&[
        "policy",
        "diff",
        &repo("policies/default.toml").display().to_string(),
        new.to_str().unwrap(),
        "--population",
        pop.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["policy", "matrix"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn activation_is_verified_diffed_over_stored_members_and_ledgered() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", db.as_str()]);
        steward(&all)
    };
    let keys = dir.path().join("steward.keys");
    let seeded = run(&[
        "seed",
        "--members",
        "60",
        "--key-file",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(
        seeded.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let new = dir.path().join("new.toml");
    let src = std::fs::read_to_string(repo("policies/default.toml"))
        .unwrap()
        .replace("version = \"2026.11.0\"", "version = \"2026.11.1\"")
        .replace(
            "consent = [\"ads.personalized\", \"ads.attr.skills\"]",
            "consent = [\"ads.personalized\", \"ads.attr.skills\", \"ads.third_party\"]",
        );
    std::fs::write(&new, src).unwrap();

    // A policy that breaks an invariant is refused and nothing is recorded.
    let out = run(&[
        "policy",
        "activate",
        &policy_case("err/invariant-sensitive-for-ads.toml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let active = json(&run(&["policy", "active", "--json"]));
    assert_eq!(active["history"].as_array().unwrap().len(), 0);

    let out = run(&["policy", "activate", new.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["ledger_seq"], 0);
    assert_eq!(v["diff"]["population"], 60);
    assert!(v["diff"]["members_affected"].as_u64().unwrap() <= 60);
    let active = json(&run(&["policy", "active", "--json"]));
    assert!(active["active"].as_str().unwrap().starts_with("2026.11.1@"));

    // Activating the same policy again changes nothing and writes no entry.
    let out = run(&["policy", "activate", new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already active"));
    assert_eq!(
        json(&run(&["policy", "active", "--json"]))["history"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn member_reads_changes_and_exports_are_in_their_access_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let keys = dir.path().join("steward.keys");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .args(["--db", db.as_str()])
            .env("STEWARD_KEY_FILE", &keys)
            .output()
            .expect("steward runs")
    };
    assert_eq!(run(&["seed", "--members", "20"]).status.code(), Some(0));
    assert_eq!(run(&["member", "show", "4"]).status.code(), Some(0));
    assert_eq!(
        run(&["member", "set", "4", "ai.training=off"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["member", "update", "4", "headline=Data engineer"])
            .status
            .code(),
        Some(0)
    );
    let out_dir = dir.path().join("export");
    assert_eq!(
        run(&["member", "export", "4", "--out", out_dir.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // Another member's activity is not in member 4's history.
    assert_eq!(run(&["member", "show", "5"]).status.code(), Some(0));
    // A refused change (unknown key) is bad input and writes nothing.
    assert_eq!(
        run(&["member", "set", "4", "nope=on"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["ledger", "checkpoint"]).status.code(), Some(0));

    let out = run(&["member", "access-history", "4", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = json(&out);
    let text = history.to_string();
    for action in ["read", "settings.change", "profile.update", "export"] {
        assert!(
            text.contains(&format!("\"{action}\"")),
            "{action} missing from {text}"
        );
    }
    // The profile value never enters the ledger.
    assert!(!text.contains("Data engineer"), "{text}");
    assert_eq!(run(&["ledger", "verify"]).status.code(), Some(0));
}

#[test]
fn demo_prepares_a_network_and_prints_a_working_link_per_role() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = steward(&[
        "demo",
        "--dir",
        demo.to_str().unwrap(),
        "--members",
        "200",
        "--no-serve",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for role in [
        "member",
        "advertiser",
        "reviewer",
        "approver",
        "engineer",
        "auditor",
        "admin",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(role) && l.contains("#token=stw_")),
            "{role}: {text}"
        );
    }
    // The key file is private to its owner, and nothing private is in the database in clear.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(demo.join("steward.keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let db = std::fs::read(demo.join("steward.db")).unwrap();
    let canaries = std::fs::read_to_string(demo.join("steward.db.canaries.jsonl")).unwrap();
    let mut checked = 0;
    for line in canaries.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let token = v["token"].as_str().unwrap();
        assert!(
            !db.windows(token.len()).any(|w| w == token.as_bytes()),
            "canary {token} in the database file"
        );
        checked += 1;
    }
    assert!(checked > 0);
    // A second run reuses the folder.
    let again = steward(&["demo", "--dir", demo.to_str().unwrap(), "--no-serve"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("reusing"));
}
