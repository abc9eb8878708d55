//! Re-checking a published dataset against its registry row: every file's SHA-256 as
//! recorded, and k and l recomputed from the Parquet file by the independent checker.

use std::path::Path;

use sha2::{Digest, Sha256};
use steward_privacy::anon::checker;
use steward_store::{Store, Value};

use crate::build::DATA_FILE;
use crate::error::DatasetError;
use crate::registry;
use crate::sinks::parquet;

/// What `verify` found. `ok` only when every digest matches and k and l hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub id: String,
    pub files_checked: usize,
    /// Files whose digest differs from the registry's (or that are missing).
    pub files_mismatched: Vec<String>,
    pub rows: usize,
    pub k_required: usize,
    pub k_found: usize,
    pub l_required: usize,
    pub l_found: usize,
    pub ok: bool,
}

/// Re-checks dataset `id` as registered in `store`.
pub fn verify(store: &Store, id: &str) -> Result<Verification, DatasetError> {
    let sheet = registry::datasheet(store, id)?;
    let path = store.read(|tx| {
        tx.query_opt(
            "SELECT path FROM dataset_releases WHERE id = $1",
            &[Value::from(id)],
        )?
        .map(|r| r.text(0))
        .transpose()
        .map_err(DatasetError::from)
    })?;
    let path = path.ok_or_else(|| DatasetError::NotFound(id.to_owned()))?;
    let dir = Path::new(&path);
    crate::sinks::publish::finish_interrupted(dir)?;
    let mut mismatched = Vec::new();
    for (name, digest) in &sheet.lineage.files {
        let file = dir.join(name);
        match std::fs::read(&file) {
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == *digest => {}
            _ => mismatched.push(name.clone()),
        }
    }
    let (header, rows) = if mismatched.iter().any(|n| n == DATA_FILE) {
        (Vec::new(), Vec::new())
    } else {
        parquet::read(&dir.join(DATA_FILE))?
    };
    let qis: Vec<&str> = sheet
        .composition
        .quasi_identifiers
        .iter()
        .map(String::as_str)
        .collect();
    let sensitive = sheet.composition.sensitive.as_deref();
    let (k_found, l_found) = match checker::check(&header, &rows, &qis, sensitive, None) {
        Some(c) if !rows.is_empty() => (
            c.k,
            if sensitive.is_some() {
                c.l_distinct()
            } else {
                0
            },
        ),
        _ => (0, 0),
    };
    let p = &sheet.privacy;
    let l_ok = sensitive.is_none() || l_found >= p.l_required;
    Ok(Verification {
        id: id.to_owned(),
        files_checked: sheet.lineage.files.len(),
        ok: mismatched.is_empty() && k_found >= p.k_required && l_ok,
        files_mismatched: mismatched,
        rows: rows.len(),
        k_required: p.k_required,
        k_found,
        l_required: p.l_required,
        l_found,
    })
}
