//! The harness of the ads tests: a fresh store per backend (SQLite always, PostgreSQL when
//! `STEWARD_TEST_POSTGRES_URL` is set) holding a small network whose attribute counts are
//! known exactly, so the minimum-audience tests can aim at 299 and 300.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use steward_ads::audience::AdsConfig;
use steward_ads::{AudienceIndex, schema};
use steward_core::Policy;
use steward_ledger::Ledger;
use steward_privacy::dp::NoiseKey;
use steward_store::{OpenOptions, Store, Value};

/// 2026-06-15T12:00:00Z.
pub const NOW: i64 = 1_781_524_800_000;
pub const DAY: i64 = 86_400_000;
pub const MEMBERS: i64 = 1000;

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
        "ads_{}_{}_{}",
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

/// Runs `test` on a fresh fixture network on every configured backend.
pub fn each_backend(test: impl Fn(&Net)) {
    test(&Net::new(sqlite()));
    if let Some(db) = postgres() {
        test(&Net::new(db));
    }
}

pub struct Net {
    pub db: Db,
    pub policy: Policy,
    pub ledger: Ledger,
    pub config: AdsConfig,
    pub key: NoiseKey,
}

/// The fixture network, members 1..=1000:
/// - industry `software` for 1..=600, `finance` after;
/// - seniority `director` when id % 3 == 0, else `entry`;
/// - region `ontario` for even ids, `bavaria` for odd (country CA / DE-as-US for consent:
///   every member's jurisdiction is US, so every ads consent defaults to on);
/// - skill `kotlin` for exactly 1..=300, `scala` for exactly 301..=599, `rust` for 1..=400;
/// - company size `51-200`, years of experience id % 25;
/// - email `m{id}@example.com`.
impl Net {
    pub fn new(db: Db) -> Net {
        schema::install(&db.store).unwrap();
        let rows: Vec<Vec<Value>> = (1..=MEMBERS)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::from("First"),
                    Value::from("Last"),
                    Value::from(format!("m{i}@example.com").as_str()),
                    Value::from(if i % 2 == 0 { "CA" } else { "US" }),
                    Value::from("US"),
                    Value::Int(0),
                    Value::from(if i <= 600 { "Software" } else { "Finance" }),
                    Value::from(if i % 3 == 0 { "director" } else { "entry" }),
                    Value::from(if i % 2 == 0 { "Ontario" } else { "Bavaria" }),
                    Value::from("engineering"),
                    Value::from("51-200"),
                    Value::Int(i % 25),
                ]
            })
            .collect();
        let mut skills: Vec<Vec<Value>> = Vec::new();
        for i in 1..=MEMBERS {
            if i <= 300 {
                skills.push(vec![Value::Int(i), Value::from("Kotlin"), Value::Int(0)]);
            }
            if (301..=599).contains(&i) {
                skills.push(vec![Value::Int(i), Value::from("Scala"), Value::Int(0)]);
            }
            if i <= 400 {
                skills.push(vec![Value::Int(i), Value::from("Rust"), Value::Int(1)]);
            }
        }
        db.store
            .transaction(|tx| {
                tx.insert_rows(
                    "members",
                    &[
                        "member_id",
                        "first_name",
                        "last_name",
                        "email",
                        "country",
                        "jurisdiction",
                        "created_at",
                        "industry",
                        "seniority",
                        "region",
                        "job_function",
                        "company_size",
                        "years_experience",
                    ],
                    &rows,
                    "",
                )?;
                tx.insert_rows(
                    "skills",
                    &["member_id", "skill", "endorsements"],
                    &skills,
                    "",
                )?;
                Ok::<(), steward_store::StoreError>(())
            })
            .unwrap();
        let key = db.store.transaction(schema::noise_key).unwrap();
        Net {
            db,
            policy: Policy::builtin().unwrap(),
            ledger: Ledger::new("test"),
            config: AdsConfig::default(),
            key,
        }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub fn index(&self) -> AudienceIndex {
        AudienceIndex::build(self.store(), &self.policy, NOW).unwrap()
    }

    /// Records a settings change `key=on|off` for `member` at `at`.
    pub fn set(&self, member: i64, key: &str, on: bool, at: i64) {
        self.store()
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO consent_events (member_id, key, value, at, actor) VALUES ($1, $2, $3, $4, 'member')",
                    &[
                        Value::Int(member),
                        Value::from(key),
                        Value::from(if on { "on" } else { "off" }),
                        Value::Int(at),
                    ],
                )
            })
            .unwrap();
    }
}
