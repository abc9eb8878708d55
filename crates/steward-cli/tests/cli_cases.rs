//! End-to-end tests of `steward staff`, `steward messages` and `steward cases`: the real binary
//! on a seeded SQLite database (and a fresh PostgreSQL database when
//! `STEWARD_TEST_POSTGRES_URL` is set), its JSON output and exit codes (1 refused, 2 bad input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const PHISHING: &str = "URGENT: verify your account at http://paypa1-account-verify.com/login";

struct Env {
    db: String,
    key_file: String,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            let _ = psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(admin_url: &str, sql: &str) -> Result<(), String> {
    let store = steward_store::Store::open_with(
        admin_url,
        &steward_store::OpenOptions {
            skip_migrations: true,
            ..steward_store::OpenOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    store.execute_batch(sql).map_err(|e| e.to_string())
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .args(["--db", &self.db])
            .env_remove("STEWARD_TAXONOMY")
            .env_remove("STEWARD_DB")
            .env("STEWARD_KEY_FILE", &self.key_file)
            .output()
            .expect("steward runs")
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn refused(&self, args: &[&str], exit: i32, code: &str) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        let err: Value = serde_json::from_slice(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?} {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(err["error"]["code"], code, "{args:?}");
        assert_eq!(out.status.code(), Some(exit), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "a refusal prints nothing on stdout");
    }
}

fn sqlite_env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("steward.db").display());
    let key_file = dir.path().join("steward.keys").display().to_string();
    Env {
        db,
        key_file,
        dir,
        pg: None,
    }
}

fn postgres_env() -> Option<Env> {
    let url = std::env::var("STEWARD_TEST_POSTGRES_URL").ok()?;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "steward_cli_cases_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    psql(
        &url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .unwrap();
    psql(&url, &format!("CREATE DATABASE {name}")).unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("steward.keys").display().to_string();
    Some(Env {
        db: format!("{base}/{name}"),
        key_file,
        dir,
        pg: Some((url.clone(), name)),
    })
}

fn envs() -> Vec<Env> {
    let mut out = vec![sqlite_env()];
    out.extend(postgres_env());
    for env in &out {
        let canaries = env.dir.path().join("canaries.jsonl").display().to_string();
        let seeded = env.ok(&[
            "seed",
            "--members",
            "30",
            "--key-file",
            &env.key_file,
            "--canaries",
            &canaries,
        ]);
        assert_eq!(seeded["members"], 30);
        assert!(Path::new(&env.key_file).exists());
    }
    out
}

fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}

#[test]
fn a_reported_message_goes_through_a_grant() {
    for env in envs() {
        env.ok(&["staff", "add", "rita", "--role", "reviewer"]);
        env.ok(&["staff", "add", "ravi", "--role", "reviewer"]);
        env.ok(&["staff", "add", "alex", "--role", "approver"]);
        let staff = env.ok(&["staff", "list"]);
        let rita = staff["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "rita")
            .unwrap();
        assert_eq!(rita["roles"], serde_json::json!(["reviewer"]));
        env.refused(
            &["staff", "add", "eve", "--role", "overlord"],
            2,
            "safety.invalid",
        );

        let first = env.ok(&[
            "messages",
            "send",
            "--as-member",
            "1",
            "--to",
            "2",
            "hello from one",
        ]);
        let conv = id(&first, "conversation_id");
        let phish = env.ok(&[
            "messages",
            "send",
            "--as-member",
            "1",
            "--conversation",
            &conv,
            PHISHING,
        ]);
        assert_eq!(phish["verdict"], "phishing");
        let reported = id(&phish, "message_id");

        // The recipient sees a warning, the author their text; a stranger nothing.
        let read = env.ok(&[
            "messages",
            "read",
            "--as-member",
            "2",
            "--conversation",
            &conv,
        ]);
        let msgs = read["messages"].as_array().unwrap();
        assert_eq!(msgs[0]["text"], "hello from one");
        assert_eq!(msgs[1]["hidden"], true);
        assert!(msgs[1].get("text").is_none());
        assert!(msgs[1]["warning"].as_str().unwrap().contains("phishing"));
        let own = env.ok(&[
            "messages",
            "read",
            "--as-member",
            "1",
            "--conversation",
            &conv,
        ]);
        assert_eq!(own["messages"][1]["text"], PHISHING);
        env.refused(
            &[
                "messages",
                "read",
                "--as-member",
                "3",
                "--conversation",
                &conv,
            ],
            1,
            "safety.not_participant",
        );
        env.refused(
            &[
                "messages",
                "send",
                "--as-member",
                "3",
                "--conversation",
                &conv,
                "hi",
            ],
            1,
            "safety.not_participant",
        );

        let report = env.ok(&[
            "messages",
            "report",
            "--as-member",
            "2",
            "--message",
            &reported,
            "--reason",
            "phishing",
        ]);
        let case = id(&report, "case_id");
        let cases = env.ok(&["cases", "list", "--status", "open"]);
        assert!(
            cases["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["case_id"] == report["case_id"])
        );

        env.refused(
            &[
                "cases",
                "request-grant",
                &case,
                "--as",
                "alex",
                "--justification",
                "x",
            ],
            1,
            "safety.not_staff_role",
        );
        env.refused(
            &[
                "cases",
                "request-grant",
                &case,
                "--as",
                "rita",
                "--justification",
                "x",
                "--hours",
                "100",
            ],
            1,
            "safety.duration_too_long",
        );
        let grant = env.ok(&[
            "cases",
            "request-grant",
            &case,
            "--as",
            "rita",
            "--justification",
            "member report of phishing",
        ]);
        let g = id(&grant, "grant_id");
        assert_eq!(grant["status"], "pending");
        assert_eq!(grant["scope"].as_array().unwrap().len(), 2);

        env.refused(
            &["cases", "open", &g, "--as", "rita"],
            1,
            "safety.not_approved",
        );
        env.refused(
            &["cases", "approve", &g, "--as", "rita"],
            1,
            "safety.not_staff_role",
        );
        env.ok(&["staff", "add", "rita", "--role", "approver"]);
        env.refused(
            &["cases", "approve", &g, "--as", "rita"],
            1,
            "safety.self_approval",
        );
        env.refused(
            &["cases", "open", "999", "--as", "rita"],
            1,
            "safety.no_grant",
        );
        let approved = env.ok(&["cases", "approve", &g, "--as", "alex"]);
        assert_eq!(approved["status"], "active");
        let expires = approved["expires_at_ms"].as_i64().unwrap().to_string();

        let opened = env.ok(&["cases", "open", &g, "--as", "rita"]);
        let items = opened["opened"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["text"], PHISHING);
        env.refused(
            &["cases", "open", &g, "--as", "ravi"],
            1,
            "safety.not_grant_holder",
        );
        env.refused(
            &["cases", "open", &g, "--as", "rita", "--at-ms", &expires],
            1,
            "safety.grant_expired",
        );
        env.refused(
            &["cases", "open", &g, "--as", "rita", "--message", "1"],
            1,
            "safety.out_of_scope",
        );

        // Each open is in the members' access history, with a proof once checkpointed.
        env.ok(&["ledger", "checkpoint", "--key-file", &env.key_file]);
        for member in ["1", "2"] {
            let history = env.ok(&[
                "member",
                "access-history",
                member,
                "--key-file",
                &env.key_file,
            ]);
            let opens: Vec<&Value> = history["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["entry"]["action"] == "content.open")
                .collect();
            assert_eq!(opens.len(), 2, "member {member}: {history}");
            for o in opens {
                assert_eq!(o["entry"]["actor"], "staff:rita");
                assert!(o["inclusion_proof"].is_array());
                assert!(
                    !o.to_string().contains("paypa1"),
                    "no content in the ledger"
                );
            }
        }
        let verified = env.run(&["ledger", "verify", "--key-file", &env.key_file]);
        assert_eq!(verified.status.code(), Some(0));

        let shown = env.ok(&["cases", "show", &case]);
        assert_eq!(shown["grants"][0]["approvers"][0], "alex");
        assert!(
            !shown.to_string().contains("paypa1"),
            "case details carry no content"
        );

        env.refused(
            &[
                "cases",
                "decide",
                &case,
                "--as",
                "rita",
                "--decision",
                "ban",
            ],
            2,
            "safety.invalid",
        );
        let decided = env.ok(&[
            "cases",
            "decide",
            &case,
            "--as",
            "rita",
            "--decision",
            "remove_message",
            "--note",
            "confirmed",
        ]);
        assert_eq!(decided["decision"], "remove_message");
        env.refused(
            &["cases", "open", &g, "--as", "rita"],
            1,
            "safety.case_closed",
        );
        env.refused(
            &[
                "cases",
                "decide",
                &case,
                "--as",
                "rita",
                "--decision",
                "warn",
            ],
            1,
            "safety.case_closed",
        );
        let read = env.ok(&[
            "messages",
            "read",
            "--as-member",
            "1",
            "--conversation",
            &conv,
        ]);
        assert_eq!(read["messages"][1]["hidden"], true, "removed for everyone");
    }
}

#[test]
fn a_security_investigation_needs_two_approvers() {
    for env in envs() {
        env.ok(&["staff", "add", "erin", "--role", "engineer"]);
        env.ok(&["staff", "add", "alex", "--role", "approver"]);
        env.ok(&["staff", "add", "ana", "--role", "approver"]);
        let sent = env.ok(&[
            "messages",
            "send",
            "--as-member",
            "4",
            "--to",
            "5",
            "suspicious login link",
        ]);
        let report = env.ok(&[
            "messages",
            "report",
            "--as-member",
            "5",
            "--message",
            &id(&sent, "message_id"),
            "--reason",
            "account takeover",
        ]);
        let grant = env.ok(&[
            "cases",
            "request-grant",
            &id(&report, "case_id"),
            "--as",
            "erin",
            "--justification",
            "credential theft investigation",
            "--investigation",
        ]);
        let g = id(&grant, "grant_id");
        let once = env.ok(&["cases", "approve", &g, "--as", "alex"]);
        assert_eq!(once["status"], "pending");
        env.refused(
            &["cases", "open", &g, "--as", "erin"],
            1,
            "safety.needs_second_approver",
        );
        env.refused(
            &["cases", "approve", &g, "--as", "alex"],
            1,
            "safety.already_approved",
        );
        env.ok(&["cases", "approve", &g, "--as", "ana"]);
        let opened = env.ok(&["cases", "open", &g, "--as", "erin"]);
        assert_eq!(opened["opened"][0]["text"], "suspicious login link");
    }
}

/// `steward tokens create --staff NAME` makes a token that acts as that staff account with a
/// role it holds, and refuses everything else with a stable code: an unknown name, a role the
/// account does not hold, an ambiguous account without `--role`. The database never holds
/// the secret.
#[test]
fn a_staff_token_acts_as_its_account_and_only_with_its_roles() {
    for env in envs() {
        env.ok(&["staff", "add", "rita", "--role", "reviewer"]);
        env.ok(&[
            "staff", "add", "sam", "--role", "reviewer", "--role", "approver",
        ]);

        let made = env.ok(&["tokens", "create", "--staff", "rita"]);
        assert_eq!(made["role"], "reviewer", "the only role rita holds: {made}");
        assert_eq!(made["staff"], "rita");
        assert!(made["member"].is_null());
        let secret = made["token"].as_str().unwrap();
        let store = steward_store::Store::open(&env.db).unwrap();
        let principal = steward_server::auth::authenticate(&store, secret)
            .unwrap()
            .expect("the new token authenticates");
        assert_eq!(principal.role, steward_server::auth::Role::Reviewer);
        assert_eq!(principal.staff.as_deref(), Some("rita"));
        assert_eq!(principal.token_id, made["token_id"].as_str().unwrap());

        let as_approver = env.ok(&["tokens", "create", "--staff", "sam", "--role", "approver"]);
        assert_eq!(as_approver["role"], "approver");
        assert_eq!(as_approver["staff"], "sam");

        env.refused(
            &["tokens", "create", "--staff", "nobody"],
            2,
            "token.no_such_staff",
        );
        env.refused(
            &["tokens", "create", "--staff", "rita", "--role", "approver"],
            2,
            "token.staff_role",
        );
        env.refused(
            &["tokens", "create", "--staff", "sam"],
            2,
            "token.staff_role",
        );

        // Only a hash is stored: the secret appears nowhere in the database file.
        if env.pg.is_none() {
            drop(store);
            let path = env.db.trim_start_matches("sqlite://");
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{file} holds the token's secret"
                    );
                }
            }
        }
    }
}
