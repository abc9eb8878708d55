//! The store benchmark's phases, one per process so each reports its own peak memory
//! (`scripts/bench-store.sh` runs them in order and prints the table):
//!
//! - `seed URL N [SCHEMA]`: generate N members; rows/s.
//! - `dump URL DIR`: write every table as JSON lines in the import format (not timed).
//! - `import URL DIR [SCHEMA]`: `steward import` of the dump; rows/s.
//! - `plain-insert URL DIR [SCHEMA]`: peer — the same rows with plain multi-row INSERTs, no
//!   validation, no sealing, no upsert; rows/s.
//! - `gate URL`: `ai.training` gated read of profiles, public posts and engagement; rows/s.
//! - `peer-read URL`: peer — the same tables read with straightforward SQL and no policy.
//! - `drop-schema URL SCHEMA`: PostgreSQL clean-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use steward_core::{Form, Policy};
use steward_store::schema::{ColumnType, TABLES};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{
    Gate, GateError, GateRequest, OpenOptions, PlaintextForTestsOnly, Store, Value,
};

fn open(url: &str, schema: Option<&String>) -> Store {
    Store::open_with(
        url,
        &OpenOptions {
            postgres_schema: schema.cloned(),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn result(phase: &str, rows: u64, secs: f64) {
    println!(
        "RESULT phase={phase} rows={rows} seconds={secs:.3} rows_per_s={:.0} peak_mib={:.0}",
        rows as f64 / secs.max(1e-9),
        peak_mib()
    );
}

fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Int(i) => serde_json::json!(i),
        Value::Text(s) => serde_json::json!(s),
        Value::Bytes(b) => serde_json::json!(String::from_utf8_lossy(
            PlaintextForTestsOnly::unwrap_for_tests(b).unwrap_or(b)
        )),
    }
}

fn dump(store: &Store, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for t in TABLES {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("{}.jsonl", t.name))).unwrap(),
        );
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            t.column_names().join(", "),
            t.name,
            t.key.join(", ")
        );
        store
            .read(|tx| {
                tx.query_each(&sql, &[], |r| {
                    let mut obj = serde_json::Map::new();
                    for (c, v) in t.columns.iter().zip(r.values()) {
                        if c.derived {
                            continue;
                        }
                        match (t.name, c.ty) {
                            ("posts", ColumnType::Sealed) => {
                                if !v.is_null() {
                                    obj.insert("body".into(), json_of(v));
                                }
                            }
                            ("posts", _) if c.name == "body" => {
                                if !v.is_null() {
                                    obj.insert("body".into(), json_of(v));
                                }
                            }
                            (_, ColumnType::Sealed) => {
                                obj.insert("content".into(), json_of(v));
                            }
                            _ => {
                                obj.insert(c.name.into(), json_of(v));
                            }
                        }
                    }
                    writeln!(f, "{}", serde_json::Value::Object(obj)).unwrap();
                    Ok::<(), steward_store::StoreError>(())
                })
            })
            .unwrap();
    }
}

fn plain_insert(store: &Store, dir: &Path) -> u64 {
    // Parse outside the timed part: the peer is the database work alone.
    let mut tables = Vec::new();
    for t in TABLES {
        let text = std::fs::read_to_string(dir.join(format!("{}.jsonl", t.name))).unwrap();
        let rows: Vec<Vec<Value>> = text
            .lines()
            .map(|l| {
                let o: serde_json::Value = serde_json::from_str(l).unwrap();
                t.columns
                    .iter()
                    .map(|c| {
                        let key = match (t.name, c.ty) {
                            ("posts", ColumnType::Sealed) => "body",
                            (_, ColumnType::Sealed) => "content",
                            _ => c.name,
                        };
                        let j = &o[key];
                        match (c.ty, j) {
                            (_, serde_json::Value::Null) => Value::Null,
                            (ColumnType::Int, j) => Value::Int(j.as_i64().unwrap()),
                            (ColumnType::Text, j) => Value::Text(j.as_str().unwrap().to_owned()),
                            (ColumnType::Sealed, j) => {
                                Value::Bytes(j.as_str().unwrap().as_bytes().to_vec())
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        tables.push((t, rows));
    }
    // Closed-group posts carry their body in `body_sealed` only (the schema's check).
    for (t, rows) in &mut tables {
        if t.name == "posts" {
            for r in rows.iter_mut() {
                if r[3] == Value::Text("group_closed".into()) {
                    r[5] = Value::Bytes(match &r[4] {
                        Value::Text(s) => s.as_bytes().to_vec(),
                        _ => Vec::new(),
                    });
                    r[4] = Value::Null;
                    r[6] = Value::Text("plaintext-for-tests-only".into());
                } else {
                    r[5] = Value::Null;
                }
            }
        }
        if t.has_sealed() && t.name != "posts" {
            let si = t.columns.iter().position(|c| c.name == "sealing").unwrap();
            for r in rows.iter_mut() {
                r[si] = Value::Text("plaintext-for-tests-only".into());
            }
        }
    }
    let started = Instant::now();
    let mut n = 0;
    store
        .transaction(|tx| {
            for (t, rows) in &tables {
                n += tx.insert_rows(t.name, &t.column_names(), rows, "")?;
            }
            Ok::<(), steward_store::StoreError>(())
        })
        .unwrap();
    result("plain-insert", n, started.elapsed().as_secs_f64());
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let phase = args.first().map(String::as_str).unwrap_or("");
    let url = args.get(1).cloned().unwrap_or_default();
    match phase {
        "seed" => {
            let n: u32 = args[2].parse().unwrap();
            let store = open(&url, args.get(3));
            let canaries = std::env::temp_dir()
                .join(format!("bench-store-{}.canaries.jsonl", std::process::id()));
            let started = Instant::now();
            let report = seed(
                &store,
                &SeedConfig {
                    members: n,
                    seed: 42,
                    canary_path: canaries.clone(),
                },
                &PlaintextForTestsOnly,
            )
            .unwrap();
            result("seed", report.total_rows(), started.elapsed().as_secs_f64());
            let _ = std::fs::remove_file(canaries);
        }
        "dump" => dump(&open(&url, None), Path::new(&args[2])),
        "import" => {
            let store = open(&url, args.get(3));
            let started = Instant::now();
            let report = steward_store::import::import_path(
                &store,
                Path::new(&args[2]),
                &PlaintextForTestsOnly,
            )
            .unwrap();
            result("import", report.rows(), started.elapsed().as_secs_f64());
        }
        "plain-insert" => {
            let store = open(&url, args.get(3));
            plain_insert(&store, Path::new(&args[2]));
        }
        "gate" => {
            let store = open(&url, None);
            let policy = Policy::builtin().unwrap();
            let started = Instant::now();
            let mut n = 0u64;
            let report = Gate::new(&store, &policy)
                .read(
                    &GateRequest {
                        purpose: "ai.training",
                        categories: &[
                            "member.profile",
                            "member.content.post",
                            "member.activity.engagement",
                        ],
                        form: Form::Deidentified,
                        at_ms: steward_store::seed::SEED_EPOCH_MS,
                    },
                    |_| {
                        n += 1;
                        Ok::<(), GateError>(())
                    },
                )
                .unwrap();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "gate: {n} records returned for {} members; excluded rows {:?}; excluded members {:?}",
                report.members_returned, report.excluded_rows, report.excluded_members
            );
            // Throughput in stored rows scanned, the same denominator as the peer read.
            let scanned: i64 = store
                .read(|tx| {
                    let mut total = 0;
                    for t in [
                        "members",
                        "positions",
                        "education",
                        "skills",
                        "engagement_events",
                    ] {
                        total += tx.query_i64(&format!("SELECT COUNT(*) FROM {t}"), &[])?;
                    }
                    total += tx.query_i64(
                        "SELECT COUNT(*) FROM posts WHERE visibility IN ('public', 'connections')",
                        &[],
                    )?;
                    Ok::<i64, steward_store::StoreError>(total)
                })
                .unwrap();
            result("gate", u64::try_from(scanned).unwrap_or(0), secs);
        }
        "peer-read" => {
            let store = open(&url, None);
            let started = Instant::now();
            let mut n = 0u64;
            store
                .read(|tx| {
                    for sql in [
                        "SELECT member_id, first_name, last_name, email, phone, headline, summary, city, region, country, industry, job_function, seniority, company_size, years_experience, gender, birth_year FROM members ORDER BY member_id",
                        "SELECT position_id, member_id, company_id, company_name, title, start_year, end_year, description FROM positions ORDER BY member_id, position_id",
                        "SELECT education_id, member_id, school, degree, field, start_year, end_year FROM education ORDER BY member_id, education_id",
                        "SELECT member_id, skill, endorsements FROM skills ORDER BY member_id, skill",
                        "SELECT post_id, member_id, group_id, visibility, body, created_at FROM posts WHERE visibility IN ('public', 'connections') ORDER BY post_id",
                        "SELECT event_id, member_id, kind, target_kind, target_id, at FROM engagement_events ORDER BY event_id",
                    ] {
                        tx.query_each(sql, &[], |r| {
                            n += r.len().min(1) as u64;
                            Ok::<(), steward_store::StoreError>(())
                        })?;
                    }
                    Ok::<(), steward_store::StoreError>(())
                })
                .unwrap();
            result("peer-read", n, started.elapsed().as_secs_f64());
        }
        "drop-schema" => {
            let store = Store::open_with(
                &url,
                &OpenOptions {
                    skip_migrations: true,
                    ..OpenOptions::default()
                },
            )
            .unwrap();
            store
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", args[2]))
                .unwrap();
        }
        _ => {
            eprintln!(
                "usage: bench_store seed|dump|import|plain-insert|gate|peer-read|drop-schema URL ..."
            );
            std::process::exit(2);
        }
    }
}
