//! End-to-end tests of `steward privacy anonymize|detect|scrub` on small files: the real
//! binary, its outputs checked independently here, and its exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn steward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .output()
        .expect("steward runs")
}

fn anon_data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../steward-privacy/tests/data/anon")
        .join(name)
        .display()
        .to_string()
}

fn anonymize(dir: &Path, algorithm: &str, extra: &[&str]) -> (Output, PathBuf, PathBuf) {
    let out = dir.join(format!("{algorithm}.csv"));
    let report = dir.join(format!("{algorithm}.json"));
    let input = anon_data("people.csv");
    let qi = format!(
        "zip={},sex={},age=bands:5/10/20",
        anon_data("zip.csv"),
        anon_data("sex.csv")
    );
    let mut args = vec![
        "privacy",
        "anonymize",
        "--input",
        input.as_str(),
        "--sep",
        ";",
        "--qi",
        qi.as_str(),
        "--sensitive",
        "diagnosis",
        "--k",
        "2",
        "--algorithm",
        algorithm,
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (steward(&args), out, report)
}

/// k and distinct l of a `;`-separated table, counted here without Steward's code.
fn k_and_l(csv: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let sens = header.iter().position(|h| *h == "diagnosis").unwrap();
    let mut classes: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(';').collect();
        let key = cells
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != sens)
            .map(|(_, c)| (*c).to_owned())
            .collect();
        classes.entry(key).or_default().push(cells[sens].to_owned());
    }
    let k = classes.values().map(Vec::len).min().unwrap_or(0);
    let l = classes
        .values()
        .map(|v| {
            let mut d = v.clone();
            d.sort();
            d.dedup();
            d.len()
        })
        .min()
        .unwrap_or(0);
    (k, l)
}

#[test]
fn anonymize_releases_a_table_whose_k_and_l_hold_when_recounted() {
    let dir = tempfile::tempdir().unwrap();
    for algorithm in ["optimal", "mondrian"] {
        let (out, csv, report) = anonymize(dir.path(), algorithm, &["--l", "2"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{algorithm}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (k, l) = k_and_l(&csv);
        assert!(k >= 2 && l >= 2, "{algorithm}: recounted k={k} l={l}");
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        assert!(r.is_object());
    }
}

#[test]
fn anonymize_refuses_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, _) = anonymize(dir.path(), "optimal", &["--k", "0"]);
    assert_ne!(out.status.code(), Some(0));
    let missing = steward(&[
        "privacy",
        "anonymize",
        "--input",
        "/nonexistent.csv",
        "--qi",
        "a=flat",
        "--k",
        "2",
        "--out",
        "/tmp/x.csv",
    ]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn detect_and_scrub_find_and_remove_an_email() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\": 7, \"text\": \"Write to jane.doe@example.com today\"}\n",
    )
    .unwrap();
    let out = steward(&["privacy", "detect", "--jsonl", input.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["id"], 7);
    let spans = line["spans"].as_array().unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s["type"] == "EMAIL_ADDRESS" && s["start"] == 9 && s["end"] == 29),
        "{line}"
    );
}

#[test]
fn scrub_replaces_pii_on_stdin_with_typed_placeholders() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["privacy", "scrub"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Call me at +1 415 555 0132 or mail jane.doe@example.com\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("jane.doe") && !text.contains("555 0132"),
        "{text}"
    );
    assert!(
        text.contains("<EMAIL>") && text.contains("<PHONE>"),
        "{text}"
    );
}
