//! `steward seed`: generate a deterministic network into a database. Also the helpers every
//! store-backed subcommand uses to open the database and report storage errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use steward_store::seed::{SeedConfig, default_canary_path, seed};
use steward_store::{PlaintextForTestsOnly, Store, StoreError};

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// How many members to generate.
    #[arg(long, default_value_t = 1000)]
    pub members: u32,
    /// The random seed: the same seed always generates the same network.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write the canary registry (default: beside the SQLite file, or
    /// `steward.canaries.jsonl` for PostgreSQL).
    #[arg(long, value_name = "FILE")]
    pub canaries: Option<PathBuf>,
}

/// Opens (and migrates) the database named by `--db`.
pub fn open_store(global: &Global) -> Result<Store, Failure> {
    Store::open(&global.db).map_err(store_failure)
}

/// Classifies a storage error for its exit code.
pub fn store_failure(e: StoreError) -> Failure {
    match &e {
        StoreError::NotFound { .. } => Failure::denied(e.code(), &e),
        StoreError::Invalid(_)
        | StoreError::InvalidUrl { .. }
        | StoreError::UniqueViolation(_)
        | StoreError::ForeignKey(_)
        | StoreError::Constraint(_)
        | StoreError::Type(_) => Failure::bad_input(e.code(), &e),
        _ => Failure::Internal(anyhow::anyhow!("{} [{}]", e, e.code())),
    }
}

pub fn run(args: SeedArgs, global: &Global) -> Result<ExitCode, Failure> {
    let store = open_store(global)?;
    let canary_path = args.canaries.unwrap_or_else(|| default_canary_path(&store));
    let started = Instant::now();
    // The vault's sealer is not part of this build yet: private content is stored with the
    // clearly named non-sealer, and the output says so.
    let report = seed(
        &store,
        &SeedConfig {
            members: args.members,
            seed: args.seed,
            canary_path: canary_path.clone(),
        },
        &PlaintextForTestsOnly,
    )
    .map_err(store_failure)?;
    let secs = started.elapsed().as_secs_f64();
    let total = report.total_rows();
    if global.json {
        let rows: serde_json::Map<String, serde_json::Value> = report
            .rows
            .iter()
            .map(|(t, n)| ((*t).to_owned(), serde_json::json!(n)))
            .collect();
        print_json(&serde_json::json!({
            "members": args.members,
            "seed": args.seed,
            "rows": rows,
            "total_rows": total,
            "seconds": secs,
            "canaries": report.canaries,
            "canary_registry": canary_path.display().to_string(),
            "sealing": PlaintextForTestsOnly::SCHEME,
        }))?;
    } else {
        let mut out = format!(
            "seeded {} members (seed {}) into {}: {total} rows in {secs:.2} s ({:.0} rows/s)\n",
            args.members,
            args.seed,
            store.url(),
            total as f64 / secs.max(1e-9)
        );
        for (t, n) in &report.rows {
            out.push_str(&format!("  {t:<26} {n:>10}\n"));
        }
        out.push_str(&format!(
            "{} canary tokens recorded in {}\nwarning: private content was stored with `{}` (no encryption) until the vault is installed\n",
            report.canaries,
            canary_path.display(),
            PlaintextForTestsOnly::SCHEME
        ));
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
