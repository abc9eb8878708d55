//! The `steward` binary: argument parsing and wiring of the library crates. It holds no
//! business logic; each subcommand module turns arguments into library calls and library
//! results into human or `--json` output.
//!
//! Exit codes: 0 ok, 1 denied or failed check, 2 bad input (unreadable or invalid files,
//! unknown names, malformed arguments), 3 internal or storage failure.

mod cmd;
mod logging;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "steward",
    version,
    about = "Steward: the member-data layer that keeps a professional network's privacy promises"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand understands.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Print machine-readable JSON instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Extend the built-in taxonomy with this TOML file.
    #[arg(long, global = true, value_name = "FILE", env = "STEWARD_TAXONOMY")]
    pub taxonomy: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` (embedded, the default) or `postgres://...`.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "STEWARD_DB",
        default_value = "sqlite://steward.db"
    )]
    pub db: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check, show, explain and compare purpose policies.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// De-identification tools: PII detection and scrubbing, k-anonymity.
    #[command(subcommand)]
    Privacy(cmd::privacy::PrivacyCommand),
    /// Generate a deterministic, realistic network into the database.
    Seed(cmd::seed::SeedArgs),
    /// Import JSON lines per entity kind (all-or-nothing per file).
    Import(cmd::import::ImportArgs),
    /// A member's own data: show, export, change settings, correct the profile.
    #[command(subcommand)]
    Member(cmd::member::MemberCommand),
    /// The audit log: verify it, sign checkpoints, print and check proofs.
    Ledger(cmd::ledger::LedgerArgs),
    /// The vault's keyring: status, and rotation that re-wraps member keys.
    Keys(cmd::keys::KeysArgs),
    /// Serve the HTTP API and the web UI.
    Serve(cmd::serve::ServeArgs),
    /// AI-training datasets: build from a spec, list, show a datasheet.
    #[command(subcommand)]
    Datasets(cmd::datasets::DatasetsCommand),
    /// Ads: audiences with a server-side minimum, campaigns, events, DP reports.
    Ads(cmd::ads::AdsArgs),
    /// Differentially private insights: skills in demand, career transitions.
    Insights(cmd::ads::InsightsArgs),
    /// A whole network on this machine: seed, tokens per role, sign-in links, the server.
    Demo(cmd::demo::DemoArgs),
    /// Create and revoke API tokens.
    #[command(subcommand)]
    Tokens(cmd::tokens::TokensCommand),
    /// A member's private messages: send (scanned, sealed), read, report.
    Messages(cmd::messages::MessagesArgs),
    /// Reported-message review under grants, acting as a named staff member.
    Cases(cmd::cases::CasesArgs),
    /// Staff accounts and their roles.
    #[command(subcommand)]
    Staff(cmd::staff::StaffCommand),
    /// Canary audit: search every output and the database outside sealed columns.
    #[command(subcommand)]
    Canary(cmd::canary::CanaryCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(c) => cmd::policy::run(c, &cli.global),
        Command::Privacy(c) => cmd::privacy::run(c, &cli.global),
        Command::Seed(a) => cmd::seed::run(a, &cli.global),
        Command::Import(a) => cmd::import::run(a, &cli.global),
        Command::Member(c) => cmd::member::run(c, &cli.global),
        Command::Ledger(a) => cmd::ledger::run(a.command, &a.keys, &cli.global),
        Command::Keys(a) => cmd::keys::run(a, &cli.global),
        Command::Serve(a) => cmd::serve::run(a, &cli.global),
        Command::Datasets(c) => cmd::datasets::run(c, &cli.global),
        Command::Ads(a) => cmd::ads::run(a, &cli.global),
        Command::Insights(a) => cmd::ads::run_insights(a, &cli.global),
        Command::Demo(a) => cmd::demo::run(a, &cli.global),
        Command::Tokens(c) => cmd::tokens::run(c, &cli.global),
        Command::Messages(a) => cmd::messages::run(a, &cli.global),
        Command::Cases(a) => cmd::cases::run(a, &cli.global),
        Command::Staff(c) => cmd::staff::run(c, &cli.global),
        Command::Canary(c) => cmd::canary::run(c, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(cli.global.json),
    }
}
