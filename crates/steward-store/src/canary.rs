//! The canary audit: searches everything Steward produced for the canary tokens the generator
//! planted in private content, and says where any was found.
//!
//! Canaries live only inside sealed columns; the registry the generator wrote (outside the
//! database) lists them. If one shows up anywhere else — a member's export, a dataset, a report,
//! a log, or any column of the database outside the sealed ones — private content leaked.
//!
//! All tokens are searched at once with Aho-Corasick (ASCII case-insensitive, so an upper-cased
//! copy is caught too), streaming: memory does not grow with file size. Three kinds of input:
//!
//! * **The database**, from its own catalogue (`sqlite_master` / `information_schema`), so
//!   tables other crates add (ledger, vault, registry, server) are covered without a list:
//!   every text and byte column of every table except the `*_sealed` columns.
//! * **Files**, recursively: the raw bytes of every file.
//! * **Decoded files**: raw bytes miss what a compressed format hides (a canary inside a
//!   zstd-compressed Parquet page is not in the file's bytes), so an [`Extractor`] that
//!   recognises a file hands its decoded values to the search as well. This crate has no
//!   Parquet reader; `steward_datasets::canary` provides one, and the CLI wires it in.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use thiserror::Error;

use crate::db::{Dialect, Store, Tx};
use crate::error::StoreError;
use crate::value::Value;

/// Why an audit could not run.
#[derive(Debug, Error)]
pub enum CanaryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("canary registry `{path}`: {message}")]
    Registry { path: PathBuf, message: String },
}

impl CanaryError {
    pub fn code(&self) -> &'static str {
        match self {
            CanaryError::Store(e) => e.code(),
            CanaryError::Io { .. } => "canary.io",
            CanaryError::Registry { .. } => "canary.registry",
        }
    }
}

/// One planted canary: the token and where the generator put it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canary {
    pub token: String,
    /// The sealed table it was planted in (`messages`, `attachments`, ...).
    pub table: String,
    pub row_id: i64,
    pub member_id: i64,
}

/// The canaries to look for, compiled into one automaton.
#[derive(Debug)]
pub struct CanarySet {
    canaries: Vec<Canary>,
    matcher: AhoCorasick,
}

impl CanarySet {
    /// Reads the registry the generator wrote (JSON lines). An empty registry is an error: an
    /// audit with nothing to look for would pass vacuously.
    pub fn load(path: &Path) -> Result<CanarySet, CanaryError> {
        let rows = crate::seed::read_canaries(path).map_err(|e| CanaryError::Registry {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let canaries = rows
            .into_iter()
            .map(|(token, table, row_id, member_id)| Canary {
                token,
                table,
                row_id,
                member_id,
            })
            .collect();
        CanarySet::new(canaries).map_err(|message| CanaryError::Registry {
            path: path.to_owned(),
            message,
        })
    }

    /// A set over `canaries` (tokens must be non-empty and there must be at least one).
    pub fn new(canaries: Vec<Canary>) -> Result<CanarySet, String> {
        if canaries.is_empty() {
            return Err("the registry holds no canary; nothing to audit".to_owned());
        }
        if let Some(i) = canaries.iter().position(|c| c.token.len() < 8) {
            return Err(format!("canary {} has a token shorter than 8 bytes", i + 1));
        }
        let matcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(canaries.iter().map(|c| c.token.as_bytes()))
            .map_err(|e| format!("cannot compile the canary tokens: {e}"))?;
        Ok(CanarySet { canaries, matcher })
    }

    pub fn len(&self) -> usize {
        self.canaries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.canaries.is_empty()
    }

    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    /// Indices of the canaries found in `bytes`.
    pub fn find(&self, bytes: &[u8]) -> BTreeSet<usize> {
        self.matcher
            .find_iter(bytes)
            .map(|m| m.pattern().as_usize())
            .collect()
    }

    /// Indices of the canaries found in everything `reader` yields, and the bytes read.
    pub fn find_stream(&self, reader: impl Read) -> std::io::Result<(BTreeSet<usize>, u64)> {
        let mut counter = CountingReader {
            inner: reader,
            n: 0,
        };
        let mut found = BTreeSet::new();
        for m in self.matcher.stream_find_iter(&mut counter) {
            found.insert(m?.pattern().as_usize());
        }
        Ok((found, counter.n))
    }
}

struct CountingReader<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Decodes a file format whose raw bytes hide text (compressed columnar files, archives).
pub trait Extractor {
    /// A short name for reports (`parquet`).
    fn name(&self) -> &'static str;
    /// Whether this extractor reads `path`, given its first bytes.
    fn claims(&self, path: &Path, head: &[u8]) -> bool;
    /// Hands every decoded value to `sink` with a label saying where in the file it is (a
    /// column name). An error means the file could not be read; the audit reports it.
    fn extract(&self, path: &Path, sink: &mut dyn FnMut(&str, &[u8])) -> Result<(), String>;
}

/// One canary found where it must not be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub token: String,
    /// Where the generator planted it (`messages row 41`).
    pub planted_in: String,
    /// Where it was found (`file out/x.json`, `file d/data.parquet (parquet column text)`,
    /// `database search_events.query (row 7)`).
    pub found_in: String,
}

/// What an audit searched and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    pub canaries: usize,
    pub files: u64,
    pub file_bytes: u64,
    /// Values decoded by extractors (e.g. Parquet cells) and their bytes.
    pub decoded_values: u64,
    pub decoded_bytes: u64,
    pub db_tables: u64,
    pub db_rows: u64,
    /// Text and byte values searched in the database, and their bytes.
    pub db_values: u64,
    pub db_bytes: u64,
    /// Sealed columns deliberately not searched (`table.column`).
    pub sealed_columns_skipped: Vec<String>,
    /// Files that exist but could not be read or decoded: the audit cannot vouch for them.
    pub unreadable: Vec<String>,
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Clean: no canary found and every file read.
    pub fn passed(&self) -> bool {
        self.findings.is_empty() && self.unreadable.is_empty()
    }
}

/// An audit in progress.
pub struct Audit<'a> {
    set: &'a CanarySet,
    extractors: Vec<&'a dyn Extractor>,
    excluded: Vec<PathBuf>,
    seen: BTreeSet<(usize, String)>,
    report: AuditReport,
}

impl std::fmt::Debug for Audit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("canaries", &self.set.len())
            .field("extractors", &self.extractors.len())
            .finish_non_exhaustive()
    }
}

fn is_sealed_column(name: &str) -> bool {
    name.ends_with("_sealed")
}

impl<'a> Audit<'a> {
    pub fn new(set: &'a CanarySet) -> Audit<'a> {
        Audit {
            set,
            extractors: Vec::new(),
            excluded: Vec::new(),
            seen: BTreeSet::new(),
            report: AuditReport {
                canaries: set.len(),
                ..AuditReport::default()
            },
        }
    }

    /// Also decode files `extractor` claims.
    pub fn with_extractor(mut self, extractor: &'a dyn Extractor) -> Audit<'a> {
        self.extractors.push(extractor);
        self
    }

    /// Never search `path` (the canary registry itself, which lists every token).
    pub fn exclude(&mut self, path: &Path) {
        if let Ok(p) = path.canonicalize() {
            self.excluded.push(p);
        }
    }

    fn record(&mut self, found: BTreeSet<usize>, found_in: impl Fn() -> String) {
        for i in found {
            // One finding per token and place (a Parquet column repeats its label per cell).
            if !self.seen.insert((i, found_in())) {
                continue;
            }
            if let Some(c) = self.set.canaries.get(i) {
                self.report.findings.push(Finding {
                    token: c.token.clone(),
                    planted_in: format!("{} row {}", c.table, c.row_id),
                    found_in: found_in(),
                });
            }
        }
    }

    /// Searches every column of every table of `store` except the sealed ones.
    pub fn search_database(&mut self, store: &Store) -> Result<(), CanaryError> {
        store.read(|tx| self.search_tx(tx))
    }

    fn search_tx(&mut self, tx: &mut Tx<'_>) -> Result<(), CanaryError> {
        for (table, columns) in catalogue(tx)? {
            // (select expression, column name) of every column searched.
            let mut searched: Vec<(String, String)> = Vec::new();
            for (column, ty) in &columns {
                if is_sealed_column(column) {
                    self.report
                        .sealed_columns_skipped
                        .push(format!("{table}.{column}"));
                    continue;
                }
                let expr = match tx.dialect() {
                    // SQLite is dynamically typed: read every column, search what is text.
                    Dialect::Sqlite => column.clone(),
                    Dialect::Postgres => match ty.as_str() {
                        "bytea" => column.clone(),
                        "text" | "character varying" | "character" | "json" | "jsonb"
                        | "USER-DEFINED" | "ARRAY" | "xml" => format!("{column}::text"),
                        // Numbers, booleans and times cannot hold a token.
                        _ => continue,
                    },
                };
                searched.push((expr, column.clone()));
            }
            self.report.db_tables += 1;
            if searched.is_empty() {
                continue;
            }
            let key = columns.first().map(|(c, _)| c.clone()).unwrap_or_default();
            let exprs: Vec<&str> = searched.iter().map(|(e, _)| e.as_str()).collect();
            let sql = format!("SELECT {}, {key} FROM {table}", exprs.join(", "));
            let names: Vec<String> = searched.into_iter().map(|(_, c)| c).collect();
            let mut rows = 0u64;
            let mut values = 0u64;
            let mut bytes = 0u64;
            let mut hits: Vec<(BTreeSet<usize>, String)> = Vec::new();
            let set = self.set;
            tx.query_each(&sql, &[], |row| {
                rows += 1;
                let n = names.len();
                for (i, name) in names.iter().enumerate() {
                    let b: &[u8] = match row.get(i) {
                        Value::Text(s) => s.as_bytes(),
                        Value::Bytes(b) => b,
                        _ => continue,
                    };
                    values += 1;
                    bytes += b.len() as u64;
                    let found = set.find(b);
                    if !found.is_empty() {
                        let key = match row.get(n) {
                            Value::Int(k) => k.to_string(),
                            Value::Text(k) => k.clone(),
                            _ => format!("#{rows}"),
                        };
                        hits.push((found, format!("database {table}.{name} (row {key})")));
                    }
                }
                Ok::<(), StoreError>(())
            })?;
            self.report.db_rows += rows;
            self.report.db_values += values;
            self.report.db_bytes += bytes;
            for (found, place) in hits {
                self.record(found, || place.clone());
            }
        }
        Ok(())
    }

    /// Searches `path` (a file, or a folder recursively; symbolic links are not followed).
    pub fn search_path(&mut self, path: &Path) -> Result<(), CanaryError> {
        let meta = std::fs::symlink_metadata(path).map_err(|source| CanaryError::Io {
            path: path.to_owned(),
            source,
        })?;
        if let Ok(canonical) = path.canonicalize()
            && self.excluded.contains(&canonical)
        {
            return Ok(());
        }
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| CanaryError::Io {
                    path: path.to_owned(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                self.search_path(&entry)?;
            }
        } else if meta.is_file() {
            self.search_file(path);
        }
        Ok(())
    }

    fn search_file(&mut self, path: &Path) {
        let shown = path.display().to_string();
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.report.unreadable.push(format!("{shown}: {e}"));
                return;
            }
        };
        match self.set.find_stream(std::io::BufReader::new(file)) {
            Ok((found, n)) => {
                self.report.files += 1;
                self.report.file_bytes += n;
                self.record(found, || format!("file {shown}"));
            }
            Err(e) => {
                self.report.unreadable.push(format!("{shown}: {e}"));
                return;
            }
        }
        let mut head = [0u8; 16];
        let head_len = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        let extractors = self.extractors.clone();
        for x in extractors {
            if !x.claims(path, &head[..head_len]) {
                continue;
            }
            let set = self.set;
            let mut hits: Vec<(BTreeSet<usize>, String)> = Vec::new();
            let (mut values, mut bytes) = (0u64, 0u64);
            let result = x.extract(path, &mut |label, value| {
                values += 1;
                bytes += value.len() as u64;
                let found = set.find(value);
                if !found.is_empty() {
                    hits.push((found, format!("file {shown} ({} {label})", x.name())));
                }
            });
            self.report.decoded_values += values;
            self.report.decoded_bytes += bytes;
            for (found, place) in hits {
                self.record(found, || place.clone());
            }
            if let Err(e) = result {
                self.report
                    .unreadable
                    .push(format!("{shown}: {} decoding failed: {e}", x.name()));
            }
        }
    }

    pub fn finish(self) -> AuditReport {
        self.report
    }
}

/// A table's name and its columns with their declared types.
pub type TableColumns = (String, Vec<(String, String)>);

/// Every table of the database with its columns and declared types, in catalogue order.
/// Names that are not plain identifiers are skipped (they are interpolated into SQL).
pub fn catalogue(tx: &mut Tx<'_>) -> Result<Vec<TableColumns>, StoreError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        }
        Dialect::Postgres => {
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
             FROM information_schema.columns c JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
             ORDER BY c.table_name, c.ordinal_position"
        }
    };
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut out: Vec<TableColumns> = Vec::new();
    for r in tx.query(sql, &[])? {
        let (table, column, ty) = (r.text(0)?, r.text(1)?, r.text(2)?);
        if !plain(&table) || !plain(&column) {
            continue;
        }
        match out.last_mut() {
            Some((t, cols)) if *t == table => cols.push((column, ty)),
            _ => out.push((table, vec![(column, ty)])),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> CanarySet {
        CanarySet::new(vec![
            Canary {
                token: "CANARY-message-00000000000000aa".into(),
                table: "messages".into(),
                row_id: 1,
                member_id: 2,
            },
            Canary {
                token: "CANARY-note-00000000000000bb".into(),
                table: "private_notes".into(),
                row_id: 3,
                member_id: 4,
            },
        ])
        .unwrap()
    }

    #[test]
    fn finds_every_token_case_insensitively_and_in_streams() {
        let s = set();
        let hay = b"x canary-MESSAGE-00000000000000AA y CANARY-note-00000000000000bb";
        assert_eq!(s.find(hay).into_iter().collect::<Vec<_>>(), vec![0, 1]);
        assert!(s.find(b"CANARY-message-00000000000000a").is_empty());
        // A token straddling the stream's internal buffer boundary is still found.
        let mut big = vec![b'.'; 64 * 1024 - 10];
        big.extend_from_slice(b"CANARY-note-00000000000000bb");
        let (found, n) = s.find_stream(&big[..]).unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![1]);
        assert_eq!(n, big.len() as u64);
    }

    #[test]
    fn an_empty_registry_is_refused() {
        assert!(CanarySet::new(Vec::new()).is_err());
    }
}
