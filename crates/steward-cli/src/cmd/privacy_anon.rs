//! `steward privacy anonymize` (placeholder until k-anonymity lands: it refuses to run
//! rather than pretend).

use std::process::ExitCode;

use crate::Global;
use crate::output::Failure;

#[derive(clap::Args, Debug)]
pub struct AnonymizeArgs {}

pub fn anonymize(_args: AnonymizeArgs, _global: &Global) -> Result<ExitCode, Failure> {
    Err(Failure::bad_input(
        "not_built",
        "k-anonymity is not built yet",
    ))
}
