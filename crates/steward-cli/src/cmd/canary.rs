//! `steward canary audit`: searches the database outside its sealed columns and every output
//! folder (exports, datasets — Parquet columns decoded —, reports, logs) for the canary tokens
//! the generator planted in private content. Exit 1 if any is found (or a file could not be
//! searched), 0 if the audit is clean.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use steward_datasets::canary::ParquetExtractor;
use steward_store::canary::{Audit, AuditReport, CanaryError, CanarySet};
use steward_store::seed::default_canary_path;

use crate::Global;
use crate::cmd::seed::open_store;
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum CanaryCommand {
    /// Search the database (outside sealed columns) and output folders for planted canaries.
    Audit {
        /// The canary registry the generator wrote (default: beside the SQLite file, or
        /// `steward.canaries.jsonl` for PostgreSQL).
        #[arg(long, value_name = "FILE")]
        canaries: Option<PathBuf>,
        /// Folders or files to search recursively (exports, dataset folders, reports, logs).
        #[arg(long, value_name = "DIR", num_args = 1..)]
        outputs: Vec<PathBuf>,
        /// Do not search the database (outputs only).
        #[arg(long)]
        no_db: bool,
    },
}

fn failure(e: CanaryError) -> Failure {
    match e {
        CanaryError::Store(s) => super::seed::store_failure(s),
        other => Failure::bad_input(other.code(), &other),
    }
}

pub fn run(command: CanaryCommand, global: &Global) -> Result<ExitCode, Failure> {
    let CanaryCommand::Audit {
        canaries,
        outputs,
        no_db,
    } = command;
    let store = if no_db && canaries.is_some() {
        None
    } else {
        Some(open_store(global)?)
    };
    let registry = match (&canaries, &store) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => default_canary_path(s),
        (None, None) => PathBuf::from("steward.canaries.jsonl"),
    };
    let set = CanarySet::load(&registry).map_err(failure)?;
    let parquet = ParquetExtractor;
    let mut audit = Audit::new(&set).with_extractor(&parquet);
    // The registry lists every token; it is the one file that must hold them.
    audit.exclude(&registry);
    if let Some(store) = store.as_ref().filter(|_| !no_db) {
        audit.search_database(store).map_err(failure)?;
    }
    for dir in &outputs {
        audit.search_path(dir).map_err(failure)?;
    }
    let report = audit.finish();
    print_report(&report, &registry, global)?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_report(
    report: &AuditReport,
    registry: &std::path::Path,
    global: &Global,
) -> Result<(), Failure> {
    if global.json {
        let findings: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "token": f.token, "planted_in": f.planted_in, "found_in": f.found_in,
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "passed": report.passed(),
            "registry": registry.display().to_string(),
            "canaries": report.canaries,
            "files": report.files,
            "file_bytes": report.file_bytes,
            "decoded_values": report.decoded_values,
            "decoded_bytes": report.decoded_bytes,
            "db_tables": report.db_tables,
            "db_rows": report.db_rows,
            "db_values": report.db_values,
            "db_bytes": report.db_bytes,
            "sealed_columns_skipped": report.sealed_columns_skipped,
            "unreadable": report.unreadable,
            "findings": findings,
        }));
    }
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "FOUND {} (planted in {}) in {}\n",
            f.token, f.planted_in, f.found_in
        ));
    }
    for u in &report.unreadable {
        out.push_str(&format!("NOT SEARCHED {u}\n"));
    }
    out.push_str(&format!(
        "searched for {} canaries (registry {}):\n  database: {} tables, {} rows, {} values, {} bytes (sealed columns skipped: {})\n  files: {} files, {} bytes; decoded: {} values, {} bytes\n",
        report.canaries,
        registry.display(),
        report.db_tables,
        report.db_rows,
        report.db_values,
        report.db_bytes,
        if report.sealed_columns_skipped.is_empty() {
            "none".to_owned()
        } else {
            report.sealed_columns_skipped.join(", ")
        },
        report.files,
        report.file_bytes,
        report.decoded_values,
        report.decoded_bytes,
    ));
    out.push_str(&if report.passed() {
        "clean: no canary outside the sealed columns\n".to_owned()
    } else if report.findings.is_empty() {
        format!(
            "INCOMPLETE: {} file(s) could not be searched\n",
            report.unreadable.len()
        )
    } else {
        format!(
            "LEAK: {} canary occurrence(s) found outside the sealed columns\n",
            report.findings.len()
        )
    });
    emit(&out)
}
