//! Dataset builds on a seeded SQLite network, driven by `scripts/bench-datasets.sh`:
//!
//! - `seed --members N --db PATH`: seeds a network into PATH once (kept for later runs);
//! - `build --db PATH --spec NAME [--out DIR]`: builds a shipped spec from PATH in this
//!   process and prints one `RESULT` line (seconds, rows, rows/s, peak RSS), so the peak is
//!   the build's own and not the seeding's;
//! - no subcommand (what `cargo bench` runs): 2,000 members, every shipped spec, in-process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use steward_core::Policy;
use steward_datasets::build::build_with_progress;
use steward_datasets::sources::Progress;
use steward_datasets::{Spec, spec::SHIPPED};
use steward_ledger::Ledger;
use steward_store::seed::{SEED_EPOCH_MS, SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Peak resident set size of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn open(db: &Path) -> Store {
    Store::open(&format!("sqlite://{}", db.display())).unwrap()
}

fn seed_db(db: &Path, members: u32) {
    let done = db.with_extension("seeded");
    if done.exists() {
        eprintln!("{} already seeded ({members} members)", db.display());
        return;
    }
    let _ = std::fs::remove_file(db);
    let store = open(db);
    let t = Instant::now();
    seed(
        &store,
        &SeedConfig {
            members,
            seed: 1,
            canary_path: db.with_extension("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    println!(
        "SEEDED members={members} seconds={:.2}",
        t.elapsed().as_secs_f64()
    );
    std::fs::write(&done, members.to_string()).unwrap();
}

/// Wall time per build stage, printed as `STAGE` lines when the build finishes.
#[derive(Default)]
struct Stages {
    current: std::cell::RefCell<Option<(String, Instant)>>,
    /// Name, seconds, and the process's peak RSS (MiB) when the stage ended.
    done: std::cell::RefCell<Vec<(String, f64, f64)>>,
}

impl Stages {
    fn close(&self) {
        if let Some((name, t)) = self.current.borrow_mut().take() {
            self.done
                .borrow_mut()
                .push((name, t.elapsed().as_secs_f64(), peak_rss_mib()));
        }
    }
}

impl Progress for Stages {
    fn stage(&self, name: &str, _: Option<u64>) {
        self.close();
        *self.current.borrow_mut() = Some((name.to_owned(), Instant::now()));
    }
    fn inc(&self, _: u64) {}
    fn finish(&self) {
        self.close();
    }
}

fn build_one(store: &Store, name: &str, out: &Path, members: &str) {
    let policy = Policy::builtin().unwrap();
    let ledger = Ledger::new("bench");
    let spec = Spec::shipped(name).unwrap();
    let t = Instant::now();
    let stages = Stages::default();
    let built =
        build_with_progress(store, &policy, &ledger, &spec, out, SEED_EPOCH_MS, &stages).unwrap();
    let secs = t.elapsed().as_secs_f64();
    for (stage, s, peak) in stages.done.borrow().iter() {
        eprintln!("STAGE spec={name} seconds={s:.3} peak_rss_mib={peak:.0} {stage}");
    }
    let s = &built.datasheet;
    let read: u64 = s.gate_reads.first().map_or(0, |r| r.rows_returned);
    println!(
        "RESULT spec={name} members={members} seconds={secs:.3} rows={} rows_in={} gate_rows={read} rows_per_s={:.0} peak_rss_mib={:.0} k={} l={} suppressed={}",
        s.composition.rows,
        s.privacy.rows_in,
        s.privacy.rows_in as f64 / secs,
        peak_rss_mib(),
        s.privacy.k_confirmed,
        s.privacy.l_confirmed,
        s.privacy.suppressed,
    );
    println!("PATH {}", built.path.join("data.parquet").display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("seed") => {
            let members: u32 = arg(&args, "--members").unwrap().parse().unwrap();
            seed_db(Path::new(&arg(&args, "--db").unwrap()), members);
        }
        Some("build") => {
            let db = PathBuf::from(arg(&args, "--db").unwrap());
            let name = arg(&args, "--spec").unwrap();
            let out = arg(&args, "--out")
                .map(PathBuf::from)
                .unwrap_or_else(|| db.with_extension("out"));
            let members = std::fs::read_to_string(db.with_extension("seeded")).unwrap_or_default();
            build_one(&open(&db), &name, &out, members.trim());
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("b.db");
            seed_db(&db, 2_000);
            let store = open(&db);
            for (name, _) in SHIPPED {
                build_one(&store, name, &dir.path().join("out"), "2000");
            }
        }
    }
}
