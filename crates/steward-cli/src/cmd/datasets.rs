//! `steward datasets`: build AI-training datasets from a spec, list them (with their status:
//! stale once a member in them withdrew consent or was erased), show a datasheet, verify a
//! published dataset against its registry row.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use steward_datasets::{DatasetError, Spec, registry};
use steward_ledger::Ledger;

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum DatasetsCommand {
    /// Build a dataset from a spec, reading only through the purpose gate, and publish it.
    Build {
        /// The dataset spec (TOML).
        spec: PathBuf,
        /// The folder the dataset is published in (as `DIR/<id>`).
        #[arg(long, value_name = "DIR", default_value = "datasets/out")]
        out: PathBuf,
        /// Evaluate consent as of this time (ms since the epoch; default: now).
        #[arg(long, value_name = "MS")]
        at: Option<i64>,
    },
    /// List registered datasets, newest first.
    List,
    /// Show a dataset's datasheet.
    Show {
        /// The dataset id.
        id: String,
    },
    /// Re-check a dataset's file digests and its k and l (recomputed from the Parquet file).
    Verify {
        /// The dataset id.
        id: String,
    },
}

fn failure(e: DatasetError) -> Failure {
    match &e {
        DatasetError::Spec { .. }
        | DatasetError::DestinationExists(_)
        | DatasetError::Anon(_)
        | DatasetError::Empty => Failure::bad_input(e.code(), &e),
        DatasetError::NotFound(_) | DatasetError::BiasFlagged(_) | DatasetError::Gate(_) => {
            Failure::denied(e.code(), &e)
        }
        _ => Failure::Internal(anyhow::anyhow!("{} [{}]", e, e.code())),
    }
}

/// `published`, or `stale (2 withdrew AI-training consent, 1 erased)`.
fn status_text(status: &str, withdrawn: u64, erased: u64) -> String {
    if status == "stale" {
        format!("stale ({withdrawn} withdrew AI-training consent, {erased} erased)")
    } else {
        status.to_owned()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn run(command: DatasetsCommand, global: &Global) -> Result<ExitCode, Failure> {
    let store = super::seed::open_store(global)?;
    match command {
        DatasetsCommand::Build { spec, out, at } => {
            let spec = Spec::load(&spec).map_err(failure)?;
            let taxonomy = super::policy::load_taxonomy(global)?;
            let policy = super::policy::active_policy(taxonomy, &store)?;
            let ledger = Ledger::new("steward");
            // A bar on stderr while building; hidden with --json or when stderr is no TTY.
            let progress = steward_datasets::build::TerminalProgress::stderr(!global.json);
            let built = steward_datasets::build::build_with_progress(
                &store,
                &policy,
                &ledger,
                &spec,
                &out,
                at.unwrap_or_else(now_ms),
                &progress,
            )
            .map_err(failure)?;
            if global.json {
                print_json(&serde_json::json!({
                    "id": built.id,
                    "path": built.path.display().to_string(),
                    "ledger_seq": built.ledger_seq,
                    "datasheet": built.datasheet,
                }))?;
            } else {
                let s = &built.datasheet;
                emit(&format!(
                    "built {} at {}\n  {} rows, {} members; k = {} and l = {} confirmed by the checker; {} suppressed\n  bias: {} group(s) below {}\n  ledger entry {}; {:.2} s\n",
                    built.id,
                    built.path.display(),
                    s.composition.rows,
                    s.composition.members,
                    s.privacy.k_confirmed,
                    s.privacy.l_confirmed,
                    s.privacy.suppressed,
                    s.bias.flagged,
                    s.bias.bound,
                    built.ledger_seq,
                    s.lineage.build_seconds,
                ))?;
            }
        }
        DatasetsCommand::List => {
            registry::install(&store).map_err(failure)?;
            let list = registry::list(&store).map_err(failure)?;
            if global.json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "id": d.id, "name": d.name, "source": d.source,
                            "built_at_ms": d.built_at_ms, "rows": d.rows, "members": d.members,
                            "k": d.k_confirmed, "l": d.l_confirmed,
                            "policy_version": d.policy_version, "ledger_seq": d.ledger_seq,
                            "path": d.path, "status": d.status, "stale_since_ms": d.stale_since,
                            "stale_counts": {
                                "consent_withdrawn": d.consent_withdrawn,
                                "members_erased": d.members_erased,
                            },
                        })
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                let mut s = String::new();
                for d in &list {
                    s.push_str(&format!(
                        "{}  {}  {} rows  {} members  k={} l={}  policy {}  {}\n",
                        d.id,
                        status_text(&d.status, d.consent_withdrawn, d.members_erased),
                        d.rows,
                        d.members,
                        d.k_confirmed,
                        d.l_confirmed,
                        d.policy_version,
                        d.path
                    ));
                }
                if list.is_empty() {
                    s.push_str("no datasets\n");
                }
                emit(&s)?;
            }
        }
        DatasetsCommand::Verify { id } => {
            registry::install(&store).map_err(failure)?;
            let v = steward_datasets::verify::verify(&store, &id).map_err(failure)?;
            if global.json {
                print_json(&serde_json::json!({
                    "id": v.id, "ok": v.ok, "files_checked": v.files_checked,
                    "files_mismatched": v.files_mismatched, "rows": v.rows,
                    "k_required": v.k_required, "k_found": v.k_found,
                    "l_required": v.l_required, "l_found": v.l_found,
                }))?;
            } else {
                emit(&format!(
                    "{}: {}\n  {} file(s) checked, mismatched: {}\n  {} rows; k = {} (required {}), l = {} (required {})\n",
                    v.id,
                    if v.ok { "verified" } else { "FAILED" },
                    v.files_checked,
                    if v.files_mismatched.is_empty() {
                        "none".to_owned()
                    } else {
                        v.files_mismatched.join(", ")
                    },
                    v.rows,
                    v.k_found,
                    v.k_required,
                    v.l_found,
                    v.l_required,
                ))?;
            }
            if !v.ok {
                return Ok(ExitCode::from(1));
            }
        }
        DatasetsCommand::Show { id } => {
            registry::install(&store).map_err(failure)?;
            let sheet = registry::datasheet(&store, &id).map_err(failure)?;
            let st = registry::status(&store, &id).map_err(failure)?;
            if global.json {
                let mut value = serde_json::to_value(&sheet)
                    .map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert(
                        "registry_status".to_owned(),
                        serde_json::json!({
                            "status": st.status, "stale_since_ms": st.stale_since,
                            "stale_counts": {
                                "consent_withdrawn": st.consent_withdrawn,
                                "members_erased": st.members_erased,
                            },
                        }),
                    );
                }
                print_json(&value)?;
            } else {
                let mut out = format!(
                    "status: {}{}\n\n",
                    status_text(&st.status, st.consent_withdrawn, st.members_erased),
                    st.stale_since
                        .map(|t| format!(
                            " since {t} (ms since the epoch); rebuild to exclude them"
                        ))
                        .unwrap_or_default()
                );
                out.push_str(&sheet.to_markdown());
                emit(&out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
