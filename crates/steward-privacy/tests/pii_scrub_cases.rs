//! Data-driven scrubber cases: `tests/data/pii/scrub_cases.txt` holds pairs of lines
//! `in: TEXT` / `out: EXPECTED` (placeholders). One helper checks every case; run with
//! `UPDATE_EXPECT=1` to rewrite the expected lines from the current output after reviewing
//! the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use steward_privacy::pii::{Detector, Scrubber};

fn cases_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pii/scrub_cases.txt")
}

/// Scrubs `input` with placeholders.
fn scrub(detector: &Detector, input: &str) -> String {
    let found = detector.detect(input);
    Scrubber::placeholders().scrub(input, &found)
}

#[test]
fn scrub_cases() {
    let detector = Detector::new().unwrap();
    let source = std::fs::read_to_string(cases_path()).unwrap();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut rewritten = String::new();
    let mut failures = Vec::new();
    let mut input: Option<String> = None;
    let mut count = 0;
    for line in source.lines() {
        if let Some(text) = line.strip_prefix("in: ") {
            input = Some(text.replace("\\n", "\n"));
            rewritten.push_str(line);
        } else if let Some(expected) = line.strip_prefix("out: ") {
            let text = input.take().expect("`out:` without `in:`");
            let got = scrub(&detector, &text).replace('\n', "\\n");
            count += 1;
            if got != expected {
                failures.push(format!("in:  {text:?}\nwant: {expected}\ngot:  {got}"));
            }
            rewritten.push_str("out: ");
            rewritten.push_str(&got);
        } else {
            rewritten.push_str(line);
        }
        rewritten.push('\n');
    }
    assert!(count >= 10, "too few scrubber cases: {count}");
    if update {
        std::fs::write(cases_path(), rewritten).unwrap();
        return;
    }
    assert!(
        failures.is_empty(),
        "{} of {count} scrubber cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
