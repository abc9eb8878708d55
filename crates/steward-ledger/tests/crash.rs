//! Crash safety: a child process appends in a loop and prints each acknowledgement after its
//! commit; the parent kills it with SIGKILL at random moments, again and again. After every
//! kill the ledger must verify and hold every acknowledged entry.
//!
//! The child is this same test binary, re-run with `STEWARD_LEDGER_CRASH_CHILD` set, so no
//! extra binary is needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{entry, fresh_schema, signer};
use steward_ledger::error::LedgerError;
use steward_ledger::group::{GroupCommitOptions, GroupCommitter};
use steward_ledger::ledger::Ledger;
use steward_ledger::verify::verify;
use steward_store::{OpenOptions, Store};

const CHILD_ENV: &str = "STEWARD_LEDGER_CRASH_CHILD";

fn open(url: &str, schema: Option<&str>) -> Store {
    let options = OpenOptions {
        postgres_schema: schema.map(str::to_owned),
        skip_migrations: false,
    };
    let store = Store::open_with(url, &options).unwrap();
    Ledger::install(&store).unwrap();
    store
}

/// The child: append forever, acknowledging on stdout only after each commit returns.
/// Ignored so it never runs on its own; the parent runs it with `--ignored`.
#[test]
#[ignore = "the crash test's child process, started by the crash tests"]
fn crash_child() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return; // Only runs when the parent starts it.
    };
    let schema = std::env::var("STEWARD_LEDGER_CRASH_SCHEMA").ok();
    let group = std::env::var("STEWARD_LEDGER_CRASH_GROUP").is_ok();
    let store = Arc::new(open(&url, schema.as_deref()));
    let ledger = Ledger::new("steward.test/ledger");
    let s = Arc::new(signer());
    let mut out = std::io::stdout().lock();
    let mut round = 0u64;
    if group {
        let (committer, _thread) = GroupCommitter::start(
            store.clone(),
            ledger.clone(),
            Some(s.clone()),
            GroupCommitOptions {
                max_batch: 100,
                checkpoint_every_batch: true,
            },
        );
        loop {
            let pending: Vec<_> = (0..50)
                .map(|i| committer.submit(entry(round * 50 + i)).unwrap())
                .collect();
            for p in pending {
                let seq = p.wait().unwrap();
                writeln!(out, "acked {seq}").unwrap();
            }
            out.flush().unwrap();
            round += 1;
        }
    }
    loop {
        let n = 1 + round % 37;
        let range = store
            .transaction(|tx| {
                let range =
                    ledger.append_batch(tx, (0..n).map(|i| entry(round * 100 + i)).collect())?;
                if round.is_multiple_of(3) {
                    ledger.checkpoint(tx, &s, 1_764_000_000_000 + round)?;
                }
                Ok::<_, LedgerError>(range)
            })
            .unwrap();
        for seq in range {
            writeln!(out, "acked {seq}").unwrap();
        }
        out.flush().unwrap();
        round += 1;
    }
}

fn kill_loop(url: &str, schema: Option<&str>, group: bool, rounds: u32) {
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Option<u64> = None;
    // A small deterministic generator for kill delays: varied, reproducible.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..rounds {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        if let Some(s) = schema {
            cmd.env("STEWARD_LEDGER_CRASH_SCHEMA", s);
        }
        if group {
            cmd.env("STEWARD_LEDGER_CRASH_GROUP", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let acks_before_kill = 20 + (state >> 33) % 400;
        let mut seen = 0u64;
        let started = Instant::now();
        let mut lines = BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            if let Some(seq) = line.strip_prefix("acked ") {
                let seq: u64 = seq.parse().unwrap();
                acknowledged = Some(acknowledged.map_or(seq, |a| a.max(seq)));
                seen += 1;
            }
            if seen >= acks_before_kill || started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no rollback, no flush.
        child.wait().unwrap();
        // Lines the child printed before dying are acknowledgements too.
        for line in lines.map_while(Result::ok) {
            if let Some(seq) = line.strip_prefix("acked ") {
                let seq: u64 = seq.parse().unwrap();
                acknowledged = Some(acknowledged.map_or(seq, |a| a.max(seq)));
            }
        }

        let store = open(url, schema);
        let report = store
            .read(|tx| verify(tx, &signer().verifier(), None))
            .unwrap();
        assert!(report.ok(), "round {round}: {:?}", report.problems);
        let acked = acknowledged.expect("the child acknowledged nothing");
        assert!(
            report.entries > acked,
            "round {round}: entry {acked} was acknowledged but the log has {} entries",
            report.entries
        );
        assert!(report.checkpoints_ok > 0);
    }
}

#[test]
fn sigkill_mid_append_loses_no_acknowledged_entry_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    kill_loop(&url, None, false, 6);
    kill_loop(&url, None, true, 4);
}

#[test]
fn sigkill_mid_append_loses_no_acknowledged_entry_postgres() {
    let Ok(url) = std::env::var("STEWARD_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = fresh_schema("ledger_crash");
    kill_loop(&url, Some(&schema), false, 4);
    kill_loop(&url, Some(&schema), true, 3);
    let store = open(&url, Some(&schema));
    let _ = store.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}
