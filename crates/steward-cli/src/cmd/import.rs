//! `steward import DIR|FILE`: JSON lines per entity kind, all-or-nothing per file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use steward_store::PlaintextForTestsOnly;
use steward_store::import::{ImportError, import_path};

use crate::Global;
use crate::cmd::seed::open_store;
use crate::output::{Failure, emit, print_json};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A `KIND.jsonl` file or a folder of them (kinds are table names: `members`, `posts`, ...).
    pub path: PathBuf,
}

fn failure(e: ImportError) -> Failure {
    let mut message = e.to_string();
    if let ImportError::Line {
        imported_before, ..
    }
    | ImportError::Store {
        imported_before, ..
    } = &e
    {
        if !imported_before.is_empty() {
            message.push_str(&format!(
                " (nothing of this file was imported; already imported before it: {})",
                imported_before.join(", ")
            ));
        } else {
            message.push_str(" (nothing of this file was imported)");
        }
    }
    if e.is_bad_input() {
        Failure::bad_input(e.code(), message)
    } else {
        Failure::Internal(anyhow::anyhow!("{message} [{}]", e.code()))
    }
}

pub fn run(args: ImportArgs, global: &Global) -> Result<ExitCode, Failure> {
    let store = open_store(global)?;
    let report = import_path(&store, &args.path, &PlaintextForTestsOnly).map_err(failure)?;
    if global.json {
        let files: Vec<serde_json::Value> = report
            .files
            .iter()
            .map(|f| serde_json::json!({ "file": f.file, "kind": f.table, "rows": f.rows, "new_rows": f.new_rows }))
            .collect();
        print_json(&serde_json::json!({ "files": files, "rows": report.rows() }))?;
    } else {
        let mut out = String::new();
        for f in &report.files {
            out.push_str(&format!(
                "{}: {} rows into `{}` ({} new)\n",
                f.file, f.rows, f.table, f.new_rows
            ));
        }
        out.push_str(&format!("imported {} rows\n", report.rows()));
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
