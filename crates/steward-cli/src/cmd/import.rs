//! `steward import DIR|FILE`: JSON lines per entity kind, all-or-nothing per file. Private
//! content (messages, attachments, private notes, closed-group posts) is sealed by the vault
//! under each author's content key, as `steward seed` does: the authors named in the files are
//! found first, their keys created and committed, then the import seals with them.
//!
//! A line naming an erased member is refused (`import.erased_member`, exit 2, the file rolled
//! back); such authors get no key. Attachments are sealed bound to their message's
//! conversation, so they open through the vault like sent ones. A file that turns a member's
//! AI-training consent off (a jurisdiction whose default is off, an imported opt-out) marks
//! the datasets that include them stale.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use steward_store::erase::{MemberState, member_state};
use steward_store::import::{ImportContext, ImportError, import_path_in};
use steward_store::schema::TABLES;
use steward_vault::{Keyring, SEALING_SCHEME, Vault, VaultError, VaultSealer};

use crate::Global;
use crate::cmd::seed::open_store;
use crate::output::{Failure, emit, print_json};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A `KIND.jsonl` file or a folder of them (kinds are table names: `members`, `posts`, ...).
    pub path: PathBuf,
    /// The vault's key file (created with mode 0600 if absent): private content is sealed under
    /// each author's own key, wrapped by this file's key.
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_KEY_FILE",
        default_value = "steward.keys"
    )]
    pub key_file: PathBuf,
}

/// The `.jsonl` files an import of `path` reads, with their table.
fn files_of(path: &Path) -> Vec<(PathBuf, &'static str)> {
    let candidates: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![path.to_path_buf()]
    };
    candidates
        .into_iter()
        .filter_map(|p| {
            let kind = p
                .file_name()
                .and_then(|n| n.to_str())
                .map(|n| n.strip_suffix(".jsonl").unwrap_or(n).to_owned())?;
            let table = TABLES.iter().find(|t| t.name == kind)?;
            Some((p, table.name))
        })
        .collect()
}

/// The authors of private content in the files to import: whose keys must exist before
/// sealing. Lines that do not parse are skipped here; the import itself reports them.
fn sealed_authors(path: &Path) -> Result<BTreeSet<i64>, Failure> {
    let mut authors = BTreeSet::new();
    for (file, table) in files_of(path) {
        if !TABLES
            .iter()
            .find(|t| t.name == table)
            .is_some_and(|t| t.has_sealed())
        {
            continue;
        }
        let reader = std::fs::File::open(&file)
            .map(std::io::BufReader::new)
            .map_err(|e| Failure::bad_input("import.io", format!("{}: {e}", file.display())))?;
        for line in reader.lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            // Only closed-group posts are sealed; other posts need no key.
            if table == "posts" && v["visibility"].as_str() != Some("group_closed") {
                continue;
            }
            if let Some(id) = v["member_id"].as_i64() {
                authors.insert(id);
            }
        }
    }
    Ok(authors)
}

fn vault_failure(e: VaultError) -> Failure {
    match e {
        VaultError::MemberShredded { .. } => Failure::bad_input(e.code(), e),
        _ => Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())),
    }
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
    let authors = sealed_authors(&args.path)?;
    let keyring =
        Keyring::open_or_create(&args.key_file).map_err(|e| Failure::bad_input(e.code(), e))?;
    let vault = Vault::new(keyring);
    steward_vault::store::migrate(&store).map_err(vault_failure)?;
    // Keys are created and committed before any content is sealed under them. Lines of erased
    // authors are refused by the import itself (`import.erased_member`, with
    // file and line); they get no key.
    let erased: BTreeSet<i64> = store
        .read(|tx| {
            let mut erased = BTreeSet::new();
            for a in &authors {
                if matches!(member_state(tx, *a), Ok(MemberState::Erased)) {
                    erased.insert(*a);
                }
            }
            Ok::<_, steward_store::StoreError>(erased)
        })
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())))?;
    let authors: BTreeSet<i64> = authors.difference(&erased).copied().collect();
    let sealer =
        VaultSealer::provision(&vault, &store, authors.iter().copied()).map_err(vault_failure)?;
    let taxonomy = crate::cmd::policy::load_taxonomy(global)?;
    let ctx = ImportContext {
        sealer: &sealer,
        taxonomy: &taxonomy,
        at_ms: crate::cmd::messages::now_ms(),
    };
    let report = import_path_in(&store, &args.path, &ctx).map_err(failure)?;
    let stale: BTreeSet<&str> = report
        .files
        .iter()
        .flat_map(|f| f.stale_datasets.iter().map(String::as_str))
        .collect();
    if global.json {
        let files: Vec<serde_json::Value> = report
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "file": f.file, "kind": f.table, "rows": f.rows, "new_rows": f.new_rows,
                    "stale_datasets": f.stale_datasets,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "files": files, "rows": report.rows(), "sealing": SEALING_SCHEME,
            "authors_with_keys": authors.len(),
            "stale_datasets": stale,
        }))?;
    } else {
        let mut out = String::new();
        for f in &report.files {
            out.push_str(&format!(
                "{}: {} rows into `{}` ({} new)\n",
                f.file, f.rows, f.table, f.new_rows
            ));
        }
        if !stale.is_empty() {
            out.push_str(&format!(
                "marked stale (a member's AI-training consent went off): {}\n",
                stale.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        out.push_str(&format!(
            "imported {} rows; private content sealed with `{SEALING_SCHEME}` under the keys of {} author(s) (key file {})\n",
            report.rows(),
            authors.len(),
            args.key_file.display()
        ));
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
