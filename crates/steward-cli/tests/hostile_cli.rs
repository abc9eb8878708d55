//! Path traversal through dataset names and ids: a spec whose name climbs out of the output
//! folder is refused before anything is written, and an id that looks like a path names no
//! dataset. Nothing lands outside the output folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("--json")
        .args(args)
        .env_remove("STEWARD_TAXONOMY")
        .env(
            "STEWARD_DB",
            format!("sqlite://{}", dir.join("steward.db").display()),
        )
        .env("STEWARD_KEY_FILE", dir.join("steward.keys"))
        .current_dir(dir)
        .output()
        .expect("steward runs")
}

fn error_code(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_default();
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                // The database's own files change as the registry table is installed.
                if !rel.contains("steward.db") {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dataset_names_and_ids_cannot_leave_the_output_folder() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    let canaries = dir.join("canaries.jsonl").display().to_string();
    let out = run(&dir, &["seed", "--members", "200", "--canaries", &canaries]);
    assert_eq!(out.status.code(), Some(0));
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/profiles.toml"
    ))
    .unwrap();
    let before = files(root.path());
    for name in [
        "../../escaped",
        "..",
        "/tmp/escaped",
        "a/../../b",
        "x\\..\\..\\y",
        "name\nwith-newline",
        "%2e%2e%2fescaped",
    ] {
        let spec = shipped.replacen(
            "name = \"profiles\"",
            &format!("name = {}", serde_json::json!(name)),
            1,
        );
        assert_ne!(spec, shipped);
        let spec_path = dir.join("evil.toml");
        std::fs::write(&spec_path, spec).unwrap();
        let out = run(
            &dir,
            &["datasets", "build", "evil.toml", "--out", "datasets/out"],
        );
        assert_eq!(
            (out.status.code(), error_code(&out).as_str()),
            (Some(2), "datasets.spec"),
            "{name:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&spec_path).unwrap();
    }
    for id in ["../../etc/passwd", "/etc/passwd", "..", "profiles/../../x"] {
        for cmd in ["show", "verify"] {
            let out = run(&dir, &["datasets", cmd, id]);
            assert_eq!(
                (out.status.code(), error_code(&out).as_str()),
                (Some(1), "datasets.not_found"),
                "{cmd} {id:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!String::from_utf8_lossy(&out.stdout).contains("root:"));
        }
    }
    assert_eq!(
        before,
        files(root.path()),
        "nothing written anywhere by refused builds"
    );
}
