//! `steward serve`: the HTTP API on the database given by `--db`.

use std::net::SocketAddr;
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
}

pub fn run(args: ServeArgs, global: &Global) -> Result<ExitCode, Failure> {
    crate::logging::init();
    let taxonomy = super::policy::load_taxonomy(global)?;
    let store = Arc::new(Store::open(&global.db).map_err(|e| Failure::bad_input(e.code(), e))?);
    // Only the ledgered, active policy of the database ever decides for the server.
    let policy = Arc::new(super::policy::active_policy(taxonomy, &store)?);
    let state = AppState::new(store, policy).map_err(|e| Failure::Internal(e.into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime
        .block_on(steward_server::serve(args.addr, state))
        .with_context(|| format!("serve on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}
