//! Ledger benchmark: durable appends per second with batching (SQLite, and PostgreSQL when
//! `STEWARD_BENCH_POSTGRES_URL` is set), the overhead against the same inserts without the
//! ledger, group commit from several threads, and the time to verify the whole log.
//!
//! `cargo run --release --example ledger-bench -- [--quick]` (see `scripts/bench-ledger.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use steward_ledger::checkpoint::CheckpointSigner;
use steward_ledger::entry::{Entry, Subjects};
use steward_ledger::error::LedgerError;
use steward_ledger::group::{GroupCommitOptions, GroupCommitter};
use steward_ledger::hash::{Hash, leaf_hash};
use steward_ledger::ledger::Ledger;
use steward_ledger::merkle::Frontier;
use steward_ledger::verify::verify;
use steward_store::{OpenOptions, Store, Value};

const BATCH: usize = 10_000;

fn entry(i: u64) -> Entry {
    let mut e = Entry::new(
        1_764_000_000_000 + i,
        format!("svc:gate-{}", i % 7),
        "system",
        "member.self_access",
        "read",
    );
    e.subjects = Subjects::members([i % 100_000]);
    e.categories = vec![
        "member.profile.basic".into(),
        "member.profile.skills".into(),
    ];
    e.justification = String::new();
    e.policy_version = "2026-11-01".into();
    e.outcome = "allowed".into();
    e
}

fn rate(n: u64, secs: f64) -> String {
    format!("{:>10.0}/s", n as f64 / secs)
}

struct Backend {
    name: &'static str,
    store: Arc<Store>,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url).unwrap();
    Backend {
        name: "sqlite",
        store: Arc::new(store),
        schema: None,
        _dir: Some(dir),
    }
}

fn postgres(url: &str) -> Result<Backend, String> {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let schema = format!("ledger_bench_{}_{n}", std::process::id());
    let options = OpenOptions {
        postgres_schema: Some(schema.clone()),
        skip_migrations: false,
    };
    let store = Store::open_with(url, &options).map_err(|e| e.to_string())?;
    store
        .execute_batch(&format!(
            "DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .map_err(|e| e.to_string())?;
    Ok(Backend {
        name: "postgres",
        store: Arc::new(store),
        schema: Some(schema),
        _dir: None,
    })
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let _ = self
                .store
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Appends `n` entries in transactions of `BATCH`; returns seconds.
fn ledger_appends(store: &Store, n: u64) -> f64 {
    let ledger = Ledger::new("steward.bench/ledger");
    let start = Instant::now();
    let mut next = 0u64;
    while next < n {
        let end = (next + BATCH as u64).min(n);
        let batch: Vec<Entry> = (next..end).map(entry).collect();
        store
            .transaction(|tx| ledger.append_batch(tx, batch).map(|_| ()))
            .unwrap();
        next = end;
    }
    start.elapsed().as_secs_f64()
}

/// The same events stored the way an application without a ledger would: the encoded
/// record and the per-member index, in the same transactions — no hashes.
fn plain_inserts(store: &Store, n: u64) -> f64 {
    store
        .transaction(|tx| {
            tx.execute_batch(
                "CREATE TABLE plain_audit (seq BIGINT PRIMARY KEY, entry BYTEA NOT NULL);
                 CREATE TABLE plain_subjects (member_id BIGINT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (member_id, seq));",
            )?;
            Ok::<(), LedgerError>(())
        })
        .unwrap();
    let start = Instant::now();
    let mut next = 0u64;
    while next < n {
        let end = (next + BATCH as u64).min(n);
        let mut rows = Vec::with_capacity(BATCH);
        let mut subjects = Vec::with_capacity(BATCH);
        for i in next..end {
            let mut e = entry(i);
            e.seq = i;
            e.normalize();
            if let Subjects::Members(ids) = &e.subjects {
                for id in ids {
                    subjects.push(vec![Value::Int(*id as i64), Value::Int(i as i64)]);
                }
            }
            rows.push(vec![
                Value::Int(i as i64),
                Value::Bytes(e.encode().unwrap()),
            ]);
        }
        store
            .transaction(|tx| {
                tx.insert_rows("plain_audit", &["seq", "entry"], &rows, "")?;
                tx.insert_rows("plain_subjects", &["member_id", "seq"], &subjects, "")?;
                Ok::<(), LedgerError>(())
            })
            .unwrap();
        next = end;
    }
    start.elapsed().as_secs_f64()
}

/// Each measurement gets a fresh database, so neither pays for the other's file growth.
fn bench_backend(make: &dyn Fn() -> Backend, n: u64, group_n: u64) {
    let plain_backend = make();
    let plain = plain_inserts(&plain_backend.store, n);
    drop(plain_backend);
    let backend = make();
    let name = backend.name;
    Ledger::install(&backend.store).unwrap();
    let ledgered = ledger_appends(&backend.store, n);
    println!(
        "{name:<8} durable appends, {n} entries in transactions of {BATCH}: ledger {} ({ledgered:.2} s), \
         plain inserts {} ({plain:.2} s), overhead ratio {:.2}x",
        rate(n, ledgered),
        rate(n, plain),
        ledgered / plain
    );

    let signer = CheckpointSigner::from_seed("steward.bench/ledger", &[3; 32]).unwrap();
    let verifier = signer.verifier();
    let cp_start = Instant::now();
    backend
        .store
        .transaction(|tx| {
            Ledger::new("steward.bench/ledger")
                .checkpoint(tx, &signer, 1)
                .map(|_| ())
        })
        .unwrap();
    let cp = cp_start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = backend
        .store
        .read(|tx| verify(tx, &verifier, None))
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.entries, n);
    println!(
        "{name:<8} verify {n} entries (read, rehash, rebuild the tree, check the checkpoint): {secs:.3} s \
         ({}); first checkpoint over them took {cp:.3} s",
        rate(n, secs)
    );

    // Group commit: 4 threads appending one entry at a time, acknowledged when durable.
    let store = backend.store.clone();
    let (committer, thread) = GroupCommitter::start(
        store.clone(),
        Ledger::new("steward.bench/ledger"),
        None,
        GroupCommitOptions::default(),
    );
    let start = Instant::now();
    let per_thread = group_n / 4;
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let c = committer.clone();
            std::thread::spawn(move || {
                // Up to 256 entries in flight per thread, like a server with many requests.
                let mut in_flight = std::collections::VecDeque::new();
                for i in 0..per_thread {
                    in_flight.push_back(c.submit(entry(w * per_thread + i)).unwrap());
                    if in_flight.len() >= 256 {
                        in_flight.pop_front().unwrap().wait().unwrap();
                    }
                }
                for p in in_flight {
                    p.wait().unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    drop(committer);
    drop(thread);
    println!(
        "{name:<8} group commit, 4 threads x {per_thread} appends, 256 in flight each, acknowledged after commit: {}",
        rate(per_thread * 4, secs)
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: u64 = if quick { 100_000 } else { 1_000_000 };
    println!(
        "ledger benchmark ({} mode); SHA-NI available: {}",
        if quick { "quick" } else { "full" },
        std::arch::is_x86_feature_detected!("sha")
    );

    // The tree alone: hash n encoded entries and fold them into the frontier.
    let encoded: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut e = entry(i);
            e.seq = i;
            e.normalize();
            e.encode().unwrap()
        })
        .collect();
    let bytes: usize = encoded.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut frontier = Frontier::new();
    for e in &encoded {
        frontier.push(leaf_hash(e));
    }
    let root: Hash = frontier.root();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "in memory: leaf-hash {n} entries ({:.0} bytes each) and compute the root: {secs:.3} s ({}), root {}",
        bytes as f64 / n as f64,
        rate(n, secs),
        &root.to_hex()[..16]
    );
    drop(encoded);

    bench_backend(&sqlite, n, if quick { 20_000 } else { 100_000 });
    match std::env::var("STEWARD_BENCH_POSTGRES_URL") {
        Ok(url) => match postgres(&url) {
            Ok(probe) => {
                drop(probe);
                let make = || postgres(&url).unwrap();
                let group_n = if quick { 10_000 } else { 40_000 };
                bench_backend(&make, n / if quick { 2 } else { 4 }, group_n);
            }
            Err(e) => println!("postgres skipped: {e}"),
        },
        Err(_) => println!("postgres skipped: set STEWARD_BENCH_POSTGRES_URL to include it"),
    }
}
