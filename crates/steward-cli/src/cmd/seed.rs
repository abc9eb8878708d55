//! `steward seed`: generate a deterministic network into a database. Also the helpers every
//! store-backed subcommand uses to open the database and report storage errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use steward_store::seed::{SeedConfig, default_canary_path, seed};
use steward_store::{Store, StoreError};
use steward_vault::{Keyring, SEALING_SCHEME, Vault, VaultSealer};

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
    /// The vault's key file (created with mode 0600 if absent): every member's private
    /// content is sealed under their own key, wrapped by this file's key.
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_KEY_FILE",
        default_value = "steward.keys"
    )]
    pub key_file: PathBuf,
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

/// Seeds an empty database, sealing private content with the vault under per-member keys
/// from the key file at `key_file` (created with mode 0600 if absent).
pub fn seed_sealed(
    store: &Store,
    members: u32,
    seed_value: u64,
    canary_path: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<steward_store::seed::SeedReport, Failure> {
    let keyring = Keyring::open_or_create(key_file).map_err(|e| Failure::bad_input(e.code(), e))?;
    let vault = Vault::new(keyring);
    steward_vault::store::migrate(store).map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    // The generator numbers members 1..=N in an empty database; their keys are created and
    // committed before any content is sealed under them.
    let sealer = VaultSealer::provision(&vault, store, 1..=i64::from(members))
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())))?;
    seed(
        store,
        &SeedConfig {
            members,
            seed: seed_value,
            canary_path: canary_path.to_path_buf(),
        },
        &sealer,
    )
    .map_err(store_failure)
}

pub fn run(args: SeedArgs, global: &Global) -> Result<ExitCode, Failure> {
    let store = open_store(global)?;
    let canary_path = args.canaries.unwrap_or_else(|| default_canary_path(&store));
    let started = Instant::now();
    let report = seed_sealed(
        &store,
        args.members,
        args.seed,
        &canary_path,
        &args.key_file,
    )?;
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
            "sealing": SEALING_SCHEME,
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
            "{} canary tokens recorded in {}\nprivate content sealed with `{}` under per-member keys (key file {})\n",
            report.canaries,
            canary_path.display(),
            SEALING_SCHEME,
            args.key_file.display()
        ));
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
