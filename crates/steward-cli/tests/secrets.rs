//! Secrets stay out of logs, and a key file others can read is refused.
//!
//! `steward serve` runs with `RUST_LOG=trace` while members, reviewers and an approver use it
//! (tokens in headers, private messages sent, reported, opened under a grant) and CLI commands
//! run beside it; then every log line is searched for the key file's keys (hex, both cases, and
//! base64 in the standard and URL-safe alphabets), every token secret, the planted message text
//! and every canary the generator planted in private content. Separately, a key file that its
//! group or others may read makes `serve` and every command that opens the vault exit 2 with
//! `vault.key_file_permissions`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{free_port, http, wait_for_port};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_steward"));
        c.env_remove("STEWARD_TAXONOMY")
            .env(
                "STEWARD_DB",
                format!("sqlite://{}", self.path("steward.db").display()),
            )
            .env("STEWARD_KEY_FILE", self.path("steward.keys"))
            .env("RUST_LOG", "trace")
            .current_dir(self.dir.path());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.command()
            .arg("--json")
            .args(args)
            .output()
            .expect("steward runs")
    }
    fn ok(&self, args: &[&str], logs: &mut String) -> Value {
        let out = self.run(args);
        logs.push_str(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Every form a 32-byte key given in hex could take in a log line.
fn key_forms(hex_key: &str) -> Vec<String> {
    let bytes: Vec<u8> = (0..hex_key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_key[i..i + 2], 16).unwrap())
        .collect();
    let mut forms = vec![hex_key.to_lowercase(), hex_key.to_uppercase()];
    for (alphabet, pad) in [
        (STANDARD, true),
        (STANDARD, false),
        (URL_SAFE, true),
        (URL_SAFE, false),
    ] {
        forms.push(base64(&bytes, alphabet, pad));
    }
    // Any 16 hex digits of the key (a truncated or split print still leaks).
    forms.extend(
        hex_key
            .as_bytes()
            .chunks(16)
            .map(|c| String::from_utf8_lossy(c).to_lowercase()),
    );
    // A Debug print of the bytes as a list of numbers.
    forms.push(
        format!("{:?}", &bytes[..8])
            .trim_end_matches(']')
            .to_owned(),
    );
    forms
}

fn key_file_keys(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("kek ") || l.starts_with("ledger-signing "))
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn no_key_token_or_private_content_reaches_a_log_line() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
    };
    let mut logs = String::new();
    let canaries_path = env.path("canaries.jsonl").display().to_string();
    env.ok(
        &["seed", "--members", "40", "--canaries", &canaries_path],
        &mut logs,
    );
    let planted = format!("private-plant-{:016x}", rand_u64());
    let planted_cli = format!("private-cli-plant-{:016x}", rand_u64());
    // A message through the CLI, and tokens for a member, a reviewer and an approver.
    let sent = env.ok(
        &[
            "messages",
            "send",
            "--as-member",
            "1",
            "--to",
            "2",
            &planted_cli,
        ],
        &mut logs,
    );
    let conversation = sent["conversation_id"].as_i64().unwrap();
    let mut tokens = Vec::new();
    let mut token = |args: &[&str], logs: &mut String| {
        let mut all = vec!["tokens", "create"];
        all.extend_from_slice(args);
        let t = env.ok(&all, logs)["token"].as_str().unwrap().to_owned();
        tokens.push(t.clone());
        t
    };
    let member1 = token(&["--role", "member", "--member", "1"], &mut logs);
    let member2 = token(&["--role", "member", "--member", "2"], &mut logs);
    let reviewer = token(&["--role", "reviewer"], &mut logs);
    let approver = token(&["--role", "approver"], &mut logs);
    let auditor = token(&["--role", "auditor"], &mut logs);

    let port = free_port();
    let log_path = env.path("serve.log");
    let mut server = env
        .command()
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::from(
            std::fs::File::create(env.path("serve.out")).unwrap(),
        ))
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    wait_for_port(port);
    let send = format!("/api/v1/members/1/conversations/{conversation}/messages");
    let (s, j) = http(
        port,
        "POST",
        &send,
        &member1,
        Some(&serde_json::json!({ "text": planted })),
    );
    assert_eq!(s, 200, "{j}");
    let message = j["message_id"].as_i64().unwrap();
    let (s, j) = http(
        port,
        "GET",
        &format!("/api/v1/members/2/conversations/{conversation}"),
        &member2,
        None,
    );
    assert_eq!(s, 200, "{j}");
    assert!(j.to_string().contains(&planted), "the recipient reads it");
    let (s, j) = http(
        port,
        "POST",
        &format!("/api/v1/members/2/messages/{message}/report"),
        &member2,
        Some(&serde_json::json!({ "reason": "spam" })),
    );
    assert_eq!(s, 200, "{j}");
    let case = j["case_id"].as_i64().unwrap();
    let (s, j) = http(
        port,
        "POST",
        &format!("/api/v1/cases/{case}/grants"),
        &reviewer,
        Some(&serde_json::json!({ "justification": "reported" })),
    );
    assert_eq!(s, 200, "{j}");
    let grant = j["grant_id"].as_i64().unwrap();
    let (s, j) = http(
        port,
        "POST",
        &format!("/api/v1/grants/{grant}/approve"),
        &approver,
        None,
    );
    assert_eq!(s, 200, "{j}");
    let (s, j) = http(
        port,
        "POST",
        &format!("/api/v1/grants/{grant}/open"),
        &reviewer,
        None,
    );
    assert_eq!(s, 200, "{j}");
    assert!(j.to_string().contains(&planted), "the reviewer opens it");
    for path in [
        "/api/v1/members/1",
        "/api/v1/members/1/settings",
        "/api/v1/members/1/access-history",
        "/api/v1/members/1/export",
    ] {
        let (s, _) = http(port, "GET", path, &member1, None);
        assert_eq!(s, 200, "{path}");
    }
    let (s, _) = http(port, "GET", "/api/v1/ledger/checkpoints", &auditor, None);
    assert_eq!(s, 200);
    // Failed sign-ins: the presented secret must not be logged either.
    let wrong = format!("stw_{}", "ab".repeat(32));
    let (s, _) = http(port, "GET", "/api/v1/whoami", &wrong, None);
    assert_eq!(s, 401);
    tokens.push(wrong);
    let bad_body = format!("{{\"text\": \"{planted}-in-a-bad-body\", \"oops\": 1}}");
    let (s, _) = http(
        port,
        "POST",
        &send,
        &member1,
        Some(&serde_json::from_str::<Value>(&bad_body).unwrap()),
    );
    assert!((400..500).contains(&s));
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    logs.push_str(&std::fs::read_to_string(&log_path).unwrap());
    // The CLI opens under a grant and reads as a participant beside the server.
    env.ok(
        &[
            "messages",
            "read",
            "--as-member",
            "2",
            "--conversation",
            &conversation.to_string(),
        ],
        &mut logs,
    );
    env.ok(&["ledger", "verify"], &mut logs);

    // Trace logging was on: the request spans of the HTTP layer are there.
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "trace logging is on:\n{logs}"
    );
    assert!(
        logs.contains(&format!("/api/v1/grants/{grant}/open")),
        "the server's request log is captured:\n{logs}"
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    for key in key_file_keys(&env.path("steward.keys")) {
        for form in key_forms(&key) {
            secrets.push(("key material".into(), form));
        }
    }
    for t in &tokens {
        secrets.push(("token".into(), t.clone()));
        secrets.push((
            "token".into(),
            t.trim_start_matches("stw_").chars().take(24).collect(),
        ));
    }
    secrets.push(("private message".into(), planted.clone()));
    secrets.push(("private message".into(), planted_cli.clone()));
    let canaries = std::fs::read_to_string(env.path("canaries.jsonl")).unwrap();
    for line in canaries.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(t) = v["token"].as_str() {
            secrets.push(("canary in private content".into(), t.to_owned()));
        }
    }
    assert!(
        secrets
            .iter()
            .filter(|(k, _)| k.starts_with("canary"))
            .count()
            > 0
    );
    let leaks: Vec<String> = secrets
        .iter()
        .filter(|(_, s)| s.len() >= 8 && logs.contains(s.as_str()))
        .map(|(what, s)| {
            let line = logs.lines().find(|l| l.contains(s.as_str())).unwrap_or("");
            format!("{what} `{s}` in: {}", &line[..line.len().min(300)])
        })
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

fn rand_u64() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (t as u64) ^ (u64::from(std::process::id()) << 32)
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
    };
    let mut logs = String::new();
    let canaries_path = env.path("canaries.jsonl").display().to_string();
    env.ok(
        &["seed", "--members", "10", "--canaries", &canaries_path],
        &mut logs,
    );
    let key_file = env.path("steward.keys");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600,
        "created owner-only"
    );
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let commands: Vec<Vec<&str>> = vec![
        vec!["serve", "--addr", &addr],
        vec!["messages", "send", "--as-member", "1", "--to", "2", "hi"],
        vec!["cases", "approve", "1", "--as", "nobody"],
        vec!["ledger", "checkpoint"],
        vec!["keys", "status"],
        vec!["member", "erase", "3"],
    ];
    for mode in [0o644, 0o640, 0o604, 0o660, 0o606] {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        for args in &commands {
            let mut child = env
                .command()
                .arg("--json")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // A server that started anyway would never exit: give it a bounded time.
            let started = Instant::now();
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break Some(s);
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            let status = status.unwrap_or_else(|| panic!("{args:?} ran with mode {mode:o}"));
            let err: Value = stderr
                .lines()
                .rev()
                .find_map(|l| {
                    serde_json::from_str::<Value>(l)
                        .ok()
                        .filter(|v| v["error"].is_object())
                })
                .unwrap_or(Value::Null);
            assert_eq!(
                (status.code(), err["error"]["code"].as_str()),
                (Some(2), Some("vault.key_file_permissions")),
                "{args:?} with a key file of mode {mode:o}: {stderr}"
            );
            assert!(
                !stderr.contains(&key_file_keys(&key_file)[0]),
                "the refusal does not print the key"
            );
        }
    }
    // Owner-only again: accepted.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(&["keys", "status"], &mut logs);
}
