//! Data-driven policy tests: every file under `tests/data/policies/ok/` must load; every file
//! under `tests/data/policies/err/` must be refused with exactly the message in its
//! `.expected` file. Run with `STEWARD_BLESS=1` to rewrite the expected messages after an
//! intended change (then review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use steward_core::{Policy, Taxonomy};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Loads `path`, naming it relative to the data directory so messages are stable.
fn load(path: &Path) -> Result<Policy, steward_core::PolicyError> {
    let name = path.strip_prefix(data_dir()).unwrap().display().to_string();
    let src = std::fs::read_to_string(path).unwrap();
    Policy::load(Arc::new(Taxonomy::builtin()), &name, &src)
}

#[test]
fn policies_that_must_load() {
    let files = toml_files(&data_dir().join("ok"));
    assert!(!files.is_empty());
    for f in files {
        if let Err(e) = load(&f) {
            panic!("{} should load: {e}", f.display());
        }
    }
}

#[test]
fn the_shipped_default_policy_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let p = Policy::load(Arc::new(Taxonomy::builtin()), "policies/default.toml", &src).unwrap();
    // The embedded copy and the file on disk are the same bytes.
    assert_eq!(Some(p.digest()), Policy::builtin().ok().map(|b| b.digest()));
}

#[test]
fn policies_that_must_be_refused_with_their_expected_message() {
    let bless = std::env::var_os("STEWARD_BLESS").is_some();
    let files = toml_files(&data_dir().join("err"));
    assert!(files.len() >= 10);
    let mut failures = Vec::new();
    for f in files {
        let expected_path = f.with_extension("expected");
        let got = match load(&f) {
            Ok(_) => {
                failures.push(format!("{} loaded but must be refused", f.display()));
                continue;
            }
            Err(e) => format!("{}: {e}\n", e.code()),
        };
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != got {
            failures.push(format!(
                "{}\n  expected: {}  got:      {}",
                f.display(),
                expected,
                got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn each_invariant_has_a_refused_policy() {
    for inv in steward_core::policy::invariants::ALL {
        let covered = toml_files(&data_dir().join("err")).iter().any(|f| {
            std::fs::read_to_string(f.with_extension("expected"))
                .unwrap_or_default()
                .contains(inv.id)
        });
        assert!(
            covered,
            "no refused policy demonstrates invariant `{}`",
            inv.id
        );
    }
}
