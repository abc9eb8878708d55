//! The harness every store test uses: the same test body on SQLite (always) and on PostgreSQL
//! (when `STEWARD_TEST_POSTGRES_URL` is set), each run in a fresh database or schema.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use steward_store::{OpenOptions, Store};

#[derive(Debug)]
pub struct Db {
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub backend: &'static str,
    pg_schema: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg_schema {
            let options = OpenOptions {
                skip_migrations: true,
                ..OpenOptions::default()
            };
            if let Ok(admin) = Store::open_with(url, &options) {
                let _ = admin.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    Db {
        store: Store::open(&url).unwrap(),
        dir,
        backend: "sqlite",
        pg_schema: None,
    }
}

pub fn postgres() -> Option<Db> {
    let url = std::env::var("STEWARD_TEST_POSTGRES_URL").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    let options = OpenOptions {
        postgres_schema: Some(schema.clone()),
        ..OpenOptions::default()
    };
    let store = Store::open_with(&url, &options)
        .unwrap_or_else(|e| panic!("STEWARD_TEST_POSTGRES_URL is set but unusable: {e}"));
    Some(Db {
        store,
        dir: tempfile::tempdir().unwrap(),
        backend: "postgres",
        pg_schema: Some((url, schema)),
    })
}

/// Runs `test` on every configured backend.
pub fn each_backend(test: impl Fn(&Db)) {
    test(&sqlite());
    if let Some(db) = postgres() {
        test(&db);
    }
}

pub fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}
