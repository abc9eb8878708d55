//! `steward privacy detect` and `steward privacy scrub` (placeholder until the PII
//! recognizers land: it refuses to run rather than pretend).

use std::process::ExitCode;

use crate::Global;
use crate::output::Failure;

#[derive(clap::Args, Debug)]
pub struct DetectArgs {
    /// JSON lines with `id` and `text`.
    #[arg(long)]
    pub jsonl: std::path::PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ScrubArgs {}

pub fn detect(_args: DetectArgs, _global: &Global) -> Result<ExitCode, Failure> {
    Err(Failure::bad_input(
        "not_built",
        "PII detection is not built yet",
    ))
}

pub fn scrub(_args: ScrubArgs, _global: &Global) -> Result<ExitCode, Failure> {
    Err(Failure::bad_input(
        "not_built",
        "PII scrubbing is not built yet",
    ))
}
