//! `steward privacy detect|scrub|anonymize`: the de-identification toolkit on files.

use std::process::ExitCode;

use clap::Subcommand;

use crate::Global;
use crate::output::Failure;

#[derive(Subcommand, Debug)]
pub enum PrivacyCommand {
    /// Detect PII spans in free text (JSON lines in, predictions out).
    Detect(super::privacy_pii::DetectArgs),
    /// Replace PII in free text by typed placeholders or consistent pseudonyms.
    Scrub(super::privacy_pii::ScrubArgs),
    /// Make a CSV table k-anonymous (optionally l-diverse) and report the metrics.
    Anonymize(super::privacy_anon::AnonymizeArgs),
}

pub fn run(cmd: PrivacyCommand, global: &Global) -> Result<ExitCode, Failure> {
    match cmd {
        PrivacyCommand::Detect(a) => super::privacy_pii::detect(a, global),
        PrivacyCommand::Scrub(a) => super::privacy_pii::scrub(a, global),
        PrivacyCommand::Anonymize(a) => super::privacy_anon::anonymize(a, global),
    }
}
