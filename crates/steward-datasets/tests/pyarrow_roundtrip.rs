//! Built datasets open in pyarrow, an implementation that is not ours: same row count, same
//! schema (UTF-8, non-nullable columns, in order) and the same SHA-256 over every value.
//!
//! pyarrow comes from the peers' venvs (`../shared/peers/setup.sh`: `presidio` has it), or
//! from the Python named by `STEWARD_PYARROW_PYTHON`. Without one the test prints why it was
//! skipped and passes — unless `STEWARD_REQUIRE_PYARROW=1` (set by
//! `scripts/check-parquet-pyarrow.sh`), where a missing pyarrow fails it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use steward_core::Policy;
use steward_datasets::build::build_shipped;
use steward_datasets::sinks::parquet;
use steward_ledger::Ledger;
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};

/// Reads a Parquet file and prints rows, schema and the digest in the same canonical form as
/// [`digest`]: every value's UTF-8 bytes followed by 0x1f, every row ended by 0x1e.
const READER: &str = r#"
import hashlib, json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
h = hashlib.sha256()
cols = [c.to_pylist() for c in t.columns]
for r in range(t.num_rows):
    for c in cols:
        v = c[r]
        h.update(("" if v is None else v).encode("utf-8"))
        h.update(b"\x1f")
    h.update(b"\x1e")
schema = [[f.name, str(f.type), f.nullable] for f in t.schema]
meta = pq.ParquetFile(sys.argv[1]).metadata
codecs = sorted({meta.row_group(g).column(i).compression
                 for g in range(meta.num_row_groups) for i in range(meta.num_columns)})
print(json.dumps({"rows": t.num_rows, "schema": schema, "digest": h.hexdigest(), "codecs": codecs}))
"#;

fn digest(rows: &[Vec<String>]) -> String {
    let mut h = Sha256::new();
    for r in rows {
        for v in r {
            h.update(v.as_bytes());
            h.update([0x1f]);
        }
        h.update([0x1e]);
    }
    hex::encode(h.finalize())
}

/// A Python that imports pyarrow, or why there is none.
fn python() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("STEWARD_PYARROW_PYTHON") {
        candidates.push(p.into());
    }
    let peers = std::env::var("STEWARD_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/steward-peers")
        });
    for venv in ["presidio", "tabular", "dp"] {
        candidates.push(peers.join(venv).join("bin/python"));
    }
    for c in &candidates {
        let ok = Command::new(c)
            .args(["-c", "import pyarrow.parquet"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(c.clone());
        }
    }
    Err(format!(
        "no Python with pyarrow among {} (run `bash ../shared/peers/setup.sh` or set STEWARD_PYARROW_PYTHON)",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn pyarrow_view(py: &Path, file: &Path) -> serde_json::Value {
    let out = Command::new(py)
        .args(["-c", READER])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn built_datasets_round_trip_through_pyarrow() {
    let py = match python() {
        Ok(p) => p,
        Err(why) => {
            if std::env::var("STEWARD_REQUIRE_PYARROW").is_ok_and(|v| v == "1") {
                panic!("STEWARD_REQUIRE_PYARROW=1 but {why}");
            }
            eprintln!("SKIPPED built_datasets_round_trip_through_pyarrow: {why}");
            return;
        }
    };
    eprintln!("pyarrow from {}", py.display());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("net.db").display())).unwrap();
    seed(
        &store,
        &SeedConfig {
            members: 400,
            seed: 5,
            canary_path: dir.path().join("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("test");
    for name in [
        "profiles",
        "public_posts",
        "engagement_sequences",
        "career_transitions",
    ] {
        let built = build_shipped(
            &store,
            &policy,
            &ledger,
            name,
            &dir.path().join("out"),
            SEED_EPOCH_MS,
        )
        .unwrap();
        let file = built.path.join("data.parquet");
        let (header, rows) = parquet::read(&file).unwrap();
        assert!(!rows.is_empty(), "{name}");
        let theirs = pyarrow_view(&py, &file);
        assert_eq!(
            theirs["rows"].as_u64().unwrap(),
            rows.len() as u64,
            "{name}: row count"
        );
        assert_eq!(rows.len() as u64, built.datasheet.composition.rows);
        let schema: Vec<(String, String, bool)> = theirs["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f[0].as_str().unwrap().to_owned(),
                    f[1].as_str().unwrap().to_owned(),
                    f[2].as_bool().unwrap(),
                )
            })
            .collect();
        let ours: Vec<(String, String, bool)> = header
            .iter()
            .map(|h| (h.clone(), "string".to_owned(), false))
            .collect();
        assert_eq!(schema, ours, "{name}: schema");
        assert_eq!(
            theirs["digest"].as_str().unwrap(),
            digest(&rows),
            "{name}: values"
        );
        assert_eq!(theirs["codecs"], serde_json::json!(["ZSTD"]), "{name}");
        eprintln!(
            "{name}: {} rows, {} columns, sha256 {} — identical in pyarrow",
            rows.len(),
            header.len(),
            &digest(&rows)[..16]
        );
    }
}
