//! End-to-end tests of `steward member erase`, `steward canary audit` and the vault-sealed
//! `steward import`: the real binary on SQLite, its output and its exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use steward_store::Store;
use steward_vault::store::{Access, open_stored};
use steward_vault::{Keyring, SEALING_SCHEME, Vault};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn db(&self) -> String {
        format!("sqlite://{}", self.path("steward.db").display())
    }
    fn keys(&self) -> String {
        self.path("steward.keys").display().to_string()
    }
    fn canaries(&self) -> String {
        self.path("canaries.jsonl").display().to_string()
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env_remove("STEWARD_TAXONOMY")
            .env("STEWARD_DB", self.db())
            .env("STEWARD_KEY_FILE", self.keys())
            .current_dir(self.dir.path())
            .output()
            .expect("steward runs")
    }
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
    fn seed(&self, members: u32) {
        self.ok(&[
            "seed",
            "--members",
            &members.to_string(),
            "--canaries",
            &self.canaries(),
        ]);
    }
    fn store(&self) -> Store {
        Store::open(&self.db()).unwrap()
    }
    fn audit(&self, outputs: &Path) -> (Option<i32>, serde_json::Value) {
        let out = self.run(&[
            "canary",
            "audit",
            "--canaries",
            &self.canaries(),
            "--outputs",
            &outputs.display().to_string(),
            "--json",
        ]);
        (out.status.code(), json(&out))
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn found_in(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["found_in"].as_str().unwrap().to_owned())
        .collect()
}

fn tokens(env: &Env) -> Vec<String> {
    steward_store::seed::read_canaries(Path::new(&env.canaries()))
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect()
}

fn build_dataset(env: &Env, out: &Path) -> serde_json::Value {
    json(&env.ok(&[
        "datasets",
        "build",
        &repo("datasets/profiles.toml").display().to_string(),
        "--out",
        &out.display().to_string(),
        "--json",
    ]))
}

#[test]
fn canary_audit_passes_a_clean_network_and_finds_planted_canaries() {
    let env = Env::new();
    env.seed(2500);
    let outputs = env.path("out");
    env.ok(&[
        "member",
        "export",
        "5",
        "--out",
        &outputs.join("exports/member-5").display().to_string(),
    ]);
    let built = build_dataset(&env, &outputs.join("datasets"));
    assert!(built["id"].is_string());
    std::fs::create_dir_all(outputs.join("logs")).unwrap();
    std::fs::write(outputs.join("logs/steward.log"), "INFO built profiles\n").unwrap();

    // Clean: exit 0, with what was searched.
    let (code, clean) = env.audit(&outputs);
    assert_eq!(code, Some(0), "{clean}");
    assert_eq!(clean["passed"], true);
    assert!(clean["canaries"].as_u64().unwrap() > 100);
    assert!(clean["files"].as_u64().unwrap() >= 10, "{clean}");
    assert!(clean["decoded_values"].as_u64().unwrap() > 1000, "{clean}");
    assert!(clean["db_rows"].as_u64().unwrap() > 10_000, "{clean}");
    let human = env.ok(&[
        "canary",
        "audit",
        "--canaries",
        &env.canaries(),
        "--outputs",
        &outputs.display().to_string(),
    ]);
    assert!(
        text(&human).contains("clean: no canary"),
        "{}",
        text(&human)
    );

    let all = tokens(&env);
    // 1. A canary in a report file: exit 1, naming the file.
    std::fs::create_dir_all(outputs.join("reports")).unwrap();
    let report = outputs.join("reports/weekly.txt");
    std::fs::write(&report, format!("top phrases: {}\n", all[0])).unwrap();
    let (code, found) = env.audit(&outputs);
    assert_eq!(code, Some(1));
    assert_eq!(found_in(&found), vec![format!("file {}", report.display())]);
    assert_eq!(found["findings"][0]["token"], all[0].as_str());
    let human = env.run(&[
        "canary",
        "audit",
        "--canaries",
        &env.canaries(),
        "--outputs",
        &outputs.display().to_string(),
    ]);
    assert_eq!(human.status.code(), Some(1));
    assert!(text(&human).contains(&format!("FOUND {}", all[0])));
    std::fs::remove_file(&report).unwrap();

    // 2. A canary inside a zstd-compressed Parquet file: found by decoding the columns.
    let leak = outputs.join("datasets/leak.parquet");
    let rows: Vec<Vec<String>> = (0..5000)
        .map(|i| vec![i.to_string(), format!("note {} {}", all[1], all[1])])
        .collect();
    steward_datasets::sinks::parquet::write(&leak, &["id".into(), "text".into()], &rows).unwrap();
    let (code, found) = env.audit(&outputs);
    assert_eq!(code, Some(1));
    let places = found_in(&found);
    assert!(
        places.contains(&format!("file {} (parquet column text)", leak.display())),
        "{places:?}"
    );
    let raw = std::fs::read(&leak).unwrap();
    let in_raw = raw.windows(all[1].len()).any(|w| w == all[1].as_bytes());
    assert_eq!(
        places.len(),
        if in_raw { 2 } else { 1 },
        "raw bytes hold the token: {in_raw}; {places:?}"
    );
    std::fs::remove_file(&leak).unwrap();

    // 3. A canary in a non-sealed database column (a profile field): found with its row.
    env.ok(&[
        "member",
        "update",
        "7",
        &format!("headline=Ask me about {}", all[2]),
    ]);
    let (code, found) = env.audit(&outputs);
    assert_eq!(code, Some(1));
    let places = found_in(&found);
    assert!(
        places.contains(&"database members.headline (row 7)".to_owned()),
        "{places:?}"
    );
    assert!(
        places
            .iter()
            .any(|p| p.starts_with("database profile_events.new_value"))
    );
    // The ledger entry for that change names the field, not the value.
    assert!(!places.iter().any(|p| p.contains("ledger")), "{places:?}");

    // A missing registry is bad input, not a pass.
    let out = env.run(&["canary", "audit", "--canaries", "/nonexistent/c.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn member_erase_end_to_end() {
    let env = Env::new();
    env.seed(400);
    let built = build_dataset(&env, &env.path("out/datasets"));
    let id = built["id"].as_str().unwrap().to_owned();
    let store = env.store();
    // A member in the dataset who wrote a message.
    let (m, message) = store
        .read(|tx| {
            let r = tx
                .query_opt(
                    "SELECT d.member_id, MIN(x.message_id) FROM dataset_members d \
                     JOIN messages x ON x.member_id = d.member_id WHERE d.dataset_id = $1 \
                     GROUP BY d.member_id ORDER BY d.member_id LIMIT 1",
                    &[id.as_str().into()],
                )?
                .unwrap();
            Ok::<_, steward_store::StoreError>((r.i64(0)?, r.i64(1)?))
        })
        .unwrap();
    drop(store);
    let backup = env.path("backup.db");
    std::fs::copy(env.path("steward.db"), &backup).unwrap();

    // Refusals first: nothing changes.
    let out = env.run(&["member", "erase", "999999", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let out = env.run(&[
        "member",
        "erase",
        &m.to_string(),
        "--as-staff",
        "ada.reviewer",
        "--reason",
        "request",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run(&[
        "member",
        "erase",
        &m.to_string(),
        "--as-staff",
        "root.admin",
    ]);
    assert_eq!(out.status.code(), Some(2));

    let out = env.ok(&["member", "erase", &m.to_string()]);
    let said = text(&out);
    assert!(said.contains(&format!("erased member {m}")), "{said}");
    assert!(said.contains("message from a deleted member"), "{said}");
    assert!(
        said.contains(&format!("datasets marked stale: {id}")),
        "{said}"
    );
    let again = env.ok(&["member", "erase", &m.to_string(), "--json"]);
    assert_eq!(json(&again)["already_erased"], true);
    let again = env.ok(&["member", "erase", &m.to_string()]);
    assert!(text(&again).contains("already erased"));

    // The registry shows the dataset stale with its count.
    let list = json(&env.ok(&["datasets", "list", "--json"]));
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"], "stale");
    assert_eq!(row["stale_counts"]["members_erased"], 1);
    let list = text(&env.ok(&["datasets", "list"]));
    assert!(
        list.contains("stale (0 withdrew AI-training consent, 1 erased)"),
        "{list}"
    );
    let show = text(&env.ok(&["datasets", "show", &id]));
    assert!(show.starts_with("status: stale"), "{show}");

    // The copy taken before cannot open the member's message with the key file as it is now.
    let vault = Vault::new(Keyring::open(Path::new(&env.keys())).unwrap());
    let copy = Store::open(&format!("sqlite://{}", backup.display())).unwrap();
    let err = copy
        .read(|tx| open_stored(&vault, tx, Access::SelfAccess(m), "messages", message))
        .unwrap_err();
    assert_eq!(err.code(), "vault.unknown_kek_version");

    // The canary audit still passes (the member's canaries went with their content).
    let (code, report) = env.audit(&env.path("out"));
    assert_eq!(code, Some(0), "{report}");
}

fn member_line(id: i64) -> String {
    serde_json::json!({
        "member_id": id, "first_name": format!("First{id}"), "last_name": format!("Last{id}"),
        "email": format!("m{id}@example.com"), "phone": null, "headline": "Engineer",
        "summary": null, "city": "Lyon", "region": "ARA", "country": "FR",
        "industry": "Software Publishers", "job_function": "engineering", "seniority": "entry",
        "company_size": "11-50", "years_experience": 3, "jurisdiction": "FR", "gender": null,
        "birth_year": 1990, "created_at": 1, "deleted_at": null,
    })
    .to_string()
}

#[test]
fn import_seals_private_content_through_the_vault() {
    let env = Env::new();
    let data = env.path("import");
    std::fs::create_dir_all(&data).unwrap();
    let write = |name: &str, lines: &[String]| {
        std::fs::write(data.join(name), lines.join("\n") + "\n").unwrap();
    };
    write(
        "members.jsonl",
        &[member_line(1), member_line(2), member_line(3)],
    );
    write(
        "conversations.jsonl",
        &[r#"{"conversation_id": 1, "member_id": 1, "created_at": 2}"#.to_owned()],
    );
    write(
        "conversation_participants.jsonl",
        &[
            r#"{"conversation_id": 1, "member_id": 1, "joined_at": 2}"#.to_owned(),
            r#"{"conversation_id": 1, "member_id": 2, "joined_at": 2}"#.to_owned(),
        ],
    );
    write(
        "messages.jsonl",
        &[
            r#"{"message_id": 1, "conversation_id": 1, "member_id": 1, "sent_at": 3, "content": "hello from the import, CANARY-import-0123456789", "verdict": null, "verdict_rule": null}"#.to_owned(),
            r#"{"message_id": 2, "conversation_id": 1, "member_id": 2, "sent_at": 4, "content": "hi back", "verdict": null, "verdict_rule": null}"#.to_owned(),
        ],
    );
    write(
        "private_notes.jsonl",
        &[r#"{"note_id": 1, "member_id": 3, "about_member_id": 1, "created_at": 5, "content": "met at a meetup"}"#.to_owned()],
    );
    let out = env.ok(&["import", &data.display().to_string(), "--json"]);
    let report = json(&out);
    assert_eq!(report["sealing"], SEALING_SCHEME);
    assert_eq!(report["authors_with_keys"], 3);

    let store = env.store();
    let rows = store
        .read(|tx| {
            tx.query(
                "SELECT sealing, content_sealed FROM messages UNION ALL \
                 SELECT sealing, content_sealed FROM private_notes",
                &[],
            )
        })
        .unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.text(0).unwrap(), SEALING_SCHEME);
        let b = r.get(1).as_bytes().unwrap();
        assert!(!b.windows(5).any(|w| w == b"hello" || w == b"meetu"));
    }
    let raw = std::fs::read(env.path("steward.db")).unwrap();
    assert!(!raw.windows(20).any(|w| w == b"CANARY-import-012345"));
    let vault = Vault::new(Keyring::open(Path::new(&env.keys())).unwrap());
    let text = store
        .read(|tx| open_stored(&vault, tx, Access::Participant(2), "messages", 1))
        .unwrap();
    assert_eq!(
        text.plaintext.as_str(),
        Some("hello from the import, CANARY-import-0123456789")
    );
    let note = store
        .read(|tx| open_stored(&vault, tx, Access::Participant(3), "private_notes", 1))
        .unwrap();
    assert_eq!(note.plaintext.as_str(), Some("met at a meetup"));
    // A non-participant cannot open it.
    let err = store
        .read(|tx| open_stored(&vault, tx, Access::Participant(3), "messages", 1))
        .unwrap_err();
    assert_eq!(err.code(), "vault.refused");
    drop(store);

    // After member 1 is erased, importing content they wrote is refused; nothing is written.
    env.ok(&["member", "erase", "1"]);
    let more = env.path("more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::write(
        more.join("messages.jsonl"),
        r#"{"message_id": 3, "conversation_id": 1, "member_id": 1, "sent_at": 9, "content": "back again", "verdict": null, "verdict_rule": null}"#,
    )
    .unwrap();
    let out = env.run(&["import", &more.display().to_string(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "import.erased_member");
    let n = env
        .store()
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM messages WHERE message_id = 3", &[]))
        .unwrap();
    assert_eq!(n, 0);
}
