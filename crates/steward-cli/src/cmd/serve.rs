//! `steward serve`: the HTTP API on the database given by `--db`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use steward_server::AppState;
use steward_store::Store;

use crate::Global;
use crate::output::Failure;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The vault's key file (ledger signing key, content keys). Without it the server still
    /// runs, but ledger proofs, erasure and messaging answer 503.
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_KEY_FILE",
        default_value = "steward.keys"
    )]
    pub key_file: PathBuf,
    /// The minimum audience every ads route enforces (never below 100).
    #[arg(long, value_name = "N", default_value_t = steward_ads::audience::DEFAULT_MIN_AUDIENCE)]
    pub audience_minimum: u32,
}

pub fn run(args: ServeArgs, global: &Global) -> Result<ExitCode, Failure> {
    crate::logging::init();
    // Checked before anything is opened: a refused minimum starts nothing.
    let ads = steward_ads::AdsConfig::with_min_audience(args.audience_minimum)
        .map_err(|e| Failure::bad_input(e.code(), format!("--audience-minimum: {e}")))?;
    let taxonomy = super::policy::load_taxonomy(global)?;
    let store = Arc::new(Store::open(&global.db).map_err(|e| Failure::bad_input(e.code(), e))?);
    // Only the ledgered, active policy of the database ever decides for the server.
    let policy = Arc::new(super::policy::active_policy(taxonomy, &store)?);
    let mut state = AppState::new(store, policy)
        .map_err(|e| Failure::Internal(e.into()))?
        .with_ads_config(ads);
    if args.key_file.exists() {
        state = state
            .with_key_file(&args.key_file)
            .map_err(|e| Failure::bad_input(e.code(), e))?;
    } else {
        eprintln!(
            "warning: no key file at `{}`: ledger proofs, erasure and messaging are unavailable",
            args.key_file.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime
        .block_on(steward_server::serve(args.addr, state))
        .with_context(|| format!("serve on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}
