//! `steward serve`: the HTTP API on the database given by `--db`.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
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
    /// Threads for blocking work (database calls, sealing, scans), 1 to 64.
    #[arg(long, value_name = "N", default_value_t = BLOCKING_THREADS,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub blocking_threads: u16,
}

/// Nearly all blocking work goes through the store's one connection, so more threads than a
/// few only wait on its lock. Each thread that allocates also takes a malloc arena of its own,
/// and memory freed into one arena is not reused by another: tokio's default (up to 512
/// threads, each retired after 10 s idle and replaced on the next burst) spread the soak's
/// allocations over a dozen arenas whose resident size crept up for as long as it ran.
pub const BLOCKING_THREADS: u16 = 4;

/// Blocking threads are kept this long when idle, so the pool stays the same few threads
/// (each with its arena already warm) instead of being torn down and rebuilt between bursts.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(600);

/// The async runtime a server runs on, with `blocking_threads` kept for blocking work.
pub fn server_runtime(blocking_threads: u16) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(usize::from(blocking_threads.max(1)))
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
        .context("start the async runtime")
}

/// The malloc arenas `steward serve` (and `steward demo`, which serves) runs with unless the
/// environment says otherwise.
///
/// The soak showed the heap flat (heaptrack) while RSS crept up after warm-up: memory freed
/// into one glibc arena is not reused by threads of another, so with an arena per thread
/// the resident size grew for as long as the server ran. One arena was flat (×1.008 over 10
/// minutes); the per-thread caches in front of it keep lock contention low, and the store's
/// one connection serialises the work anyway. glibc reads the setting only from the
/// environment at start, and the workspace forbids the unsafe code `mallopt` would need, so
/// the server re-executes itself once with it set (same process id, same arguments).
const MALLOC_ARENA_MAX: &str = "1";

/// Re-executes this process with `MALLOC_ARENA_MAX` set, unless it is set already (by the
/// caller, or by this same step). Returns only if the exec failed: the server then runs with
/// glibc's default arenas and says so.
pub(super) fn exec_with_bounded_arenas() {
    if cfg!(not(all(target_os = "linux", target_env = "gnu")))
        || std::env::var_os("MALLOC_ARENA_MAX").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
        .exec();
    eprintln!(
        "warning: could not re-execute with MALLOC_ARENA_MAX={MALLOC_ARENA_MAX} ({err}): running with the default malloc arenas"
    );
}

pub fn run(args: ServeArgs, global: &Global) -> Result<ExitCode, Failure> {
    exec_with_bounded_arenas();
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
    let runtime = server_runtime(args.blocking_threads)?;
    runtime
        .block_on(steward_server::serve(args.addr, state))
        .with_context(|| format!("serve on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn blocking_threads(extra: &[&str]) -> Result<u16, clap::Error> {
        let argv = ["serve"].iter().chain(extra);
        Serve::try_parse_from(argv).map(|s| s.args.blocking_threads)
    }

    #[test]
    fn the_blocking_pool_is_small_and_bounded() {
        assert_eq!(blocking_threads(&[]).ok(), Some(BLOCKING_THREADS));
        assert_eq!(
            blocking_threads(&["--blocking-threads", "64"]).ok(),
            Some(64)
        );
        for refused in ["0", "65", "512"] {
            assert!(
                blocking_threads(&["--blocking-threads", refused]).is_err(),
                "{refused} threads accepted"
            );
        }
    }
}
