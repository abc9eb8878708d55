//! Shared fixtures for the storage tests: one function per backend, a fresh database each.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use steward_ledger::checkpoint::CheckpointSigner;
use steward_ledger::entry::{Entry, Subjects};
use steward_ledger::ledger::Ledger;
use steward_store::{OpenOptions, Store};

#[derive(Debug)]
pub struct Db {
    pub store: std::sync::Arc<Store>,
    pub name: &'static str,
    /// PostgreSQL: the schema to drop afterwards.
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            // Best effort: a leftover schema in a test database harms nothing.
            let _ = self
                .store
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A fresh PostgreSQL schema name, unique across processes and calls.
pub fn fresh_schema(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000
    )
}

/// A fresh SQLite file, and a fresh PostgreSQL schema when `STEWARD_TEST_POSTGRES_URL` is set.
pub fn databases() -> Vec<Db> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let store = Store::open(&url).unwrap();
    Ledger::install(&store).unwrap();
    out.push(Db {
        store: std::sync::Arc::new(store),
        name: "sqlite",
        schema: None,
        _dir: Some(dir),
    });
    if let Ok(url) = std::env::var("STEWARD_TEST_POSTGRES_URL") {
        let schema = fresh_schema("ledger_test");
        let options = OpenOptions {
            postgres_schema: Some(schema.clone()),
            skip_migrations: false,
        };
        let store = Store::open_with(&url, &options).unwrap();
        Ledger::install(&store).unwrap();
        out.push(Db {
            store: std::sync::Arc::new(store),
            name: "postgres",
            schema: Some(schema),
            _dir: None,
        });
    }
    out
}

pub fn signer() -> CheckpointSigner {
    CheckpointSigner::from_seed("steward.test/ledger", &[7; 32]).unwrap()
}

pub fn entry(i: u64) -> Entry {
    let mut e = Entry::new(
        1_764_000_000_000 + i,
        format!("staff:{}", i % 5),
        "reviewer",
        "safety.report_review",
        "message.open",
    );
    e.subjects = Subjects::members([i % 10, 100 + i % 3]);
    e.categories = vec!["member.content.private_message".into()];
    e.justification = format!("case {i}");
    e.policy_version = "v1".into();
    e.outcome = "allowed".into();
    e
}

/// Appends `n` entries, signing a checkpoint after each entry whose index is in `checkpoint_at`.
pub fn fill(db: &Db, n: u64, checkpoint_at: &[u64]) {
    let ledger = Ledger::new("steward.test/ledger");
    let s = signer();
    db.store
        .transaction(|tx| {
            for i in 0..n {
                ledger.append(tx, entry(i))?;
                if checkpoint_at.contains(&(i + 1)) {
                    ledger.checkpoint(tx, &s, 1_764_000_000_000 + i)?;
                }
            }
            Ok::<(), steward_ledger::error::LedgerError>(())
        })
        .unwrap();
}
