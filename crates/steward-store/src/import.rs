//! `steward import`: JSON lines per entity kind, validated strictly, all-or-nothing per file.
//!
//! A file's name is its kind (`members.jsonl` fills `members`). Every line is one JSON object
//! whose fields are exactly the table's columns (see [`crate::schema::TABLES`]); private
//! content arrives as plaintext in a field named like its column without `_sealed` (`content`,
//! or `body` for closed-group posts) and passes through the [`Sealer`] before it touches the
//! database. Each line is checked — UTF-8, JSON, unknown or missing fields, types, allowed
//! values, duplicate ids within the file, references to rows that do not exist — and written
//! in batches inside one transaction per file, so memory stays bounded by the batch; any error
//! names file, line and field and rolls the whole file back, leaving the database as it was. Re-importing the same ids updates those rows in place, so
//! importing a file twice changes nothing.
//!
//! **Erased members stay erased.** A line that names an erased member (`members.status =
//! 'erased'`) — the member row itself, the table's member column, any column referring to a
//! member, or an existing row of theirs it would overwrite, such as a message tombstone — is
//! refused like any other bad line: [`LineProblem::ErasedMember`] (`import.erased_member`),
//! naming file, line and field, and the file is rolled back. An upstream system that still
//! holds an erased member's data cannot bring it back by re-importing; its export must leave
//! them out.
//!
//! **Attachments** are sealed with their message's conversation bound into the associated
//! data, like attachments sent through the vault, so they open the same way.
//!
//! **Change events.** Re-importing an existing member, any profile visibility, or a consent
//! event at or below the newest event id changes a member without a new event after the
//! newest; each such member gets a profile event `import:TABLE` by `system`, so their profile
//! history shows the import and readers that follow the event logs (the server's ads index)
//! see the change at their next look instead of their next full rebuild.
//!
//! **Staleness.** A `members` or `consent_events` file that turns a member's effective
//! AI-training consent off (a new jurisdiction whose default is off, or an imported
//! `ai.training=off`) marks the datasets that include them stale, as an opt-out does
//! ([`crate::staleness`]). A stale mark survives re-importing `datasets.jsonl`: a line saying
//! `published` (or `building`) does not clear it, nor its `stale_since`; only `withdrawn` does.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use thiserror::Error;

use steward_core::Taxonomy;

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::schema::{ColumnType, TABLES, Table};
use crate::seal::{SealContext, Sealer};
use crate::staleness::{self, StaleReason, TrainingConsent};
use crate::value::Value;

/// The stable code of a line refused because it names an erased member.
pub const ERASED_MEMBER: &str = "import.erased_member";

/// Lines longer than this are refused (a line is one entity; nothing legitimate is this big).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What kind of problem a line has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineProblem {
    InvalidUtf8,
    MalformedJson,
    NotAnObject,
    UnknownField,
    MissingField,
    WrongType,
    InvalidValue,
    DuplicateId,
    DanglingReference,
    LineTooLong,
    /// The line names a member who was erased.
    ErasedMember,
}

impl LineProblem {
    pub fn code(self) -> &'static str {
        match self {
            LineProblem::InvalidUtf8 => "import.invalid_utf8",
            LineProblem::MalformedJson => "import.malformed_json",
            LineProblem::NotAnObject => "import.not_an_object",
            LineProblem::UnknownField => "import.unknown_field",
            LineProblem::MissingField => "import.missing_field",
            LineProblem::WrongType => "import.wrong_type",
            LineProblem::InvalidValue => "import.invalid_value",
            LineProblem::DuplicateId => "import.duplicate_id",
            LineProblem::DanglingReference => "import.dangling_reference",
            LineProblem::LineTooLong => "import.line_too_long",
            LineProblem::ErasedMember => ERASED_MEMBER,
        }
    }
}

/// Why an import stopped. Nothing of the named file was written.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{file}:{line}: {}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Line {
        file: String,
        line: usize,
        field: Option<String>,
        problem: LineProblem,
        message: String,
        /// Files fully imported before this one (a directory import stops at the first bad file).
        imported_before: Vec<String>,
    },
    #[error("`{file}`: unknown entity kind `{kind}`; file names must be one of {known}")]
    UnknownKind {
        file: String,
        kind: String,
        known: String,
    },
    #[error("cannot read `{file}`: {reason}")]
    Io { file: String, reason: String },
    #[error("`{file}`: {source}")]
    Store {
        file: String,
        source: StoreError,
        imported_before: Vec<String>,
    },
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Line { problem, .. } => problem.code(),
            ImportError::UnknownKind { .. } => "import.unknown_kind",
            ImportError::Io { .. } => "import.io",
            ImportError::Store { source, .. } => source.code(),
        }
    }
    /// Whether the fault is the input's (exit 2) rather than the system's.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Line { .. } | ImportError::UnknownKind { .. } | ImportError::Io { .. } => {
                true
            }
            ImportError::Store { source, .. } => matches!(
                source,
                StoreError::UniqueViolation(_)
                    | StoreError::ForeignKey(_)
                    | StoreError::Constraint(_)
                    | StoreError::Invalid(_)
            ),
        }
    }
}

/// One imported file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    pub table: &'static str,
    pub rows: u64,
    /// Rows whose ids were not in the table before.
    pub new_rows: u64,
    /// Datasets marked stale because this file turned a member's AI-training consent off.
    pub stale_datasets: Vec<String>,
}

/// Everything an import wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
}

impl ImportReport {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// What an import needs besides its input: the sealer for private content, the taxonomy that
/// decides members' effective consent (for dataset staleness) and the time of the import.
#[derive(Clone, Copy)]
pub struct ImportContext<'a> {
    pub sealer: &'a dyn Sealer,
    pub taxonomy: &'a Taxonomy,
    /// Milliseconds since the epoch: when staleness is recorded, and the instant consent is
    /// compared at.
    pub at_ms: i64,
}

impl fmt::Debug for ImportContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportContext")
            .field("sealing", &self.sealer.scheme())
            .field("at_ms", &self.at_ms)
            .finish_non_exhaustive()
    }
}

struct LineErr {
    line: usize,
    field: Option<String>,
    problem: LineProblem,
    message: String,
}

impl fmt::Debug for LineErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:?}:{}", self.line, self.field, self.message)
    }
}

fn err(
    line: usize,
    field: Option<&str>,
    problem: LineProblem,
    message: impl Into<String>,
) -> LineErr {
    LineErr {
        line,
        field: field.map(str::to_owned),
        problem,
        message: message.into(),
    }
}

/// Imports a file or every `*.jsonl` file of a directory (parents before children), with the
/// built-in taxonomy and the current time ([`import_path_in`] takes them).
pub fn import_path(
    store: &Store,
    path: &Path,
    sealer: &dyn Sealer,
) -> Result<ImportReport, ImportError> {
    let taxonomy = Taxonomy::builtin();
    import_path_in(
        store,
        path,
        &ImportContext {
            sealer,
            taxonomy: &taxonomy,
            at_ms: crate::migrate::now_ms(),
        },
    )
}

/// Imports a file or every `*.jsonl` file of a directory (parents before children).
pub fn import_path_in(
    store: &Store,
    path: &Path,
    ctx: &ImportContext<'_>,
) -> Result<ImportReport, ImportError> {
    let mut files: Vec<(usize, PathBuf, &'static Table)> = Vec::new();
    let candidates: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ImportError::Io {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let known = || TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ");
    for p in candidates {
        let kind = p
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(".jsonl").unwrap_or(n).to_owned())
            .unwrap_or_default();
        let Some(pos) = TABLES.iter().position(|t| t.name == kind) else {
            return Err(ImportError::UnknownKind {
                file: p.display().to_string(),
                kind,
                known: known(),
            });
        };
        files.push((pos, p, &TABLES[pos]));
    }
    files.sort_by_key(|(pos, _, _)| *pos);
    // A file is one transaction; a page cache that holds it avoids spilling it to the WAL.
    store
        .set_page_cache_mib(256)
        .map_err(|e| ImportError::Store {
            file: path.display().to_string(),
            source: e,
            imported_before: Vec::new(),
        })?;
    let mut report = ImportReport::default();
    let outcome = (|| {
        for (_, p, table) in files {
            let name = p.display().to_string();
            let done: Vec<String> = report.files.iter().map(|f| f.file.clone()).collect();
            let reader = std::fs::File::open(&p)
                .map(std::io::BufReader::new)
                .map_err(|e| ImportError::Io {
                    file: name.clone(),
                    reason: e.to_string(),
                })?;
            let file_report =
                import_reader_in(store, table, &name, reader, ctx).map_err(|e| match e {
                    ImportError::Line {
                        file,
                        line,
                        field,
                        problem,
                        message,
                        ..
                    } => ImportError::Line {
                        file,
                        line,
                        field,
                        problem,
                        message,
                        imported_before: done.clone(),
                    },
                    ImportError::Store { file, source, .. } => ImportError::Store {
                        file,
                        source,
                        imported_before: done.clone(),
                    },
                    other => other,
                })?;
            report.files.push(file_report);
        }
        Ok(())
    })();
    // Back to the default cache (2 MiB) whatever happened.
    let _ = store.set_page_cache_mib(2);
    outcome?;
    Ok(report)
}

/// Imports the JSON lines in `bytes` into `table` in one transaction.
pub fn import_bytes(
    store: &Store,
    table: &'static Table,
    file: &str,
    bytes: &[u8],
    sealer: &dyn Sealer,
) -> Result<FileReport, ImportError> {
    import_reader(store, table, file, bytes, sealer)
}

/// Imports the JSON lines in `bytes` into `table` in one transaction, with `ctx`.
pub fn import_bytes_in(
    store: &Store,
    table: &'static Table,
    file: &str,
    bytes: &[u8],
    ctx: &ImportContext<'_>,
) -> Result<FileReport, ImportError> {
    import_reader_in(store, table, file, bytes, ctx)
}

/// Rows checked, sealed and written per batch inside a file's transaction: memory stays
/// bounded by the batch, not the file.
const BATCH_ROWS: usize = 10_000;

/// Imports the JSON lines read from `reader` into `table` in one transaction, in batches; the
/// first bad line rolls back everything written for the file. Built-in taxonomy, current time.
pub fn import_reader(
    store: &Store,
    table: &'static Table,
    file: &str,
    reader: impl BufRead,
    sealer: &dyn Sealer,
) -> Result<FileReport, ImportError> {
    let taxonomy = Taxonomy::builtin();
    import_reader_in(
        store,
        table,
        file,
        reader,
        &ImportContext {
            sealer,
            taxonomy: &taxonomy,
            at_ms: crate::migrate::now_ms(),
        },
    )
}

/// [`import_reader`] with `ctx`.
pub fn import_reader_in(
    store: &Store,
    table: &'static Table,
    file: &str,
    mut reader: impl BufRead,
    ctx: &ImportContext<'_>,
) -> Result<FileReport, ImportError> {
    let line_err = |e: LineErr| ImportError::Line {
        file: file.to_owned(),
        line: e.line,
        field: e.field,
        problem: e.problem,
        message: e.message,
        imported_before: Vec::new(),
    };
    let store_err = |source: StoreError| ImportError::Store {
        file: file.to_owned(),
        source,
        imported_before: Vec::new(),
    };
    let io_err = |e: std::io::Error| ImportError::Io {
        file: file.to_owned(),
        reason: e.to_string(),
    };
    let columns = table.column_names();
    let conflict = upsert_clause(table);
    let mut parser = LineParser::new(table);
    store
        .transaction(|tx| {
            let before = tx.query_i64(&format!("SELECT COUNT(*) FROM {}", table.name), &[])?;
            let mut written = Written::default();
            let mut batch: Vec<(usize, Vec<Value>)> = Vec::with_capacity(BATCH_ROWS);
            let mut buf: Vec<u8> = Vec::new();
            let mut line = 0usize;
            loop {
                buf.clear();
                // Read at most one byte past the limit, so an endless line cannot fill memory.
                let n = (&mut reader)
                    .take(MAX_LINE_BYTES as u64 + 2)
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| FileFailure::Input(io_err(e)))?;
                if n == 0 {
                    break;
                }
                line += 1;
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                } else if buf.len() > MAX_LINE_BYTES {
                    return Err(FileFailure::Input(line_err(err(
                        line,
                        None,
                        LineProblem::LineTooLong,
                        format!("line is longer than the limit of {MAX_LINE_BYTES} bytes"),
                    ))));
                }
                if let Some(values) = parser
                    .parse_line(line, &buf)
                    .map_err(|e| FileFailure::Input(line_err(e)))?
                {
                    batch.push((line, values));
                }
                if batch.len() >= BATCH_ROWS {
                    write_batch(
                        tx,
                        table,
                        &columns,
                        &conflict,
                        &mut batch,
                        ctx,
                        &mut written,
                    )
                    .map_err(|e| e.map_input(line_err))?;
                }
            }
            write_batch(
                tx,
                table,
                &columns,
                &conflict,
                &mut batch,
                ctx,
                &mut written,
            )
            .map_err(|e| e.map_input(line_err))?;
            if table.identity
                && let Some(k) = table.key.first()
            {
                tx.sync_identity(table.name, k)?;
            }
            let after = tx.query_i64(&format!("SELECT COUNT(*) FROM {}", table.name), &[])?;
            written.stale_datasets.sort();
            written.stale_datasets.dedup();
            Ok(FileReport {
                file: file.to_owned(),
                table: table.name,
                rows: written.rows,
                new_rows: u64::try_from(after - before).unwrap_or(0),
                stale_datasets: written.stale_datasets,
            })
        })
        .map_err(|e| match e {
            FileFailure::Input(ie) => ie,
            FileFailure::Store(se) => store_err(se),
        })
}

/// A batch that failed: a line's fault, or the database's.
enum BatchFailure {
    Line(LineErr),
    Store(StoreError),
}

impl BatchFailure {
    fn map_input(self, f: impl Fn(LineErr) -> ImportError) -> FileFailure {
        match self {
            BatchFailure::Line(e) => FileFailure::Input(f(e)),
            BatchFailure::Store(e) => FileFailure::Store(e),
        }
    }
}

/// What a file's batches wrote so far.
#[derive(Default)]
struct Written {
    rows: u64,
    stale_datasets: Vec<String>,
}

fn write_batch(
    tx: &mut Tx<'_>,
    table: &Table,
    columns: &[&str],
    conflict: &str,
    batch: &mut Vec<(usize, Vec<Value>)>,
    ctx: &ImportContext<'_>,
    written: &mut Written,
) -> Result<(), BatchFailure> {
    if batch.is_empty() {
        return Ok(());
    }
    if let Some(e) = first_erased(tx, table, batch).map_err(BatchFailure::Store)? {
        return Err(BatchFailure::Line(e));
    }
    if let Some(e) = check_references(tx, table, batch).map_err(BatchFailure::Store)? {
        return Err(BatchFailure::Line(e));
    }
    if let Some(e) = first_name_clash(tx, table, batch).map_err(BatchFailure::Store)? {
        return Err(BatchFailure::Line(e));
    }
    let first_line = batch.first().map_or(0, |(line, _)| *line);
    let conversations = attachment_conversations(tx, table, batch).map_err(BatchFailure::Store)?;
    // Members in published datasets whose consent this batch may change, and their consent
    // before it.
    let watched = consent_watch(tx, table, batch, ctx).map_err(BatchFailure::Store)?;
    let rewritten = rewritten_members(tx, table, batch).map_err(BatchFailure::Store)?;
    let mut rows = Vec::with_capacity(batch.len());
    for (line, values) in batch.drain(..) {
        rows.push(
            seal_row(table, values, ctx.sealer, &conversations)
                .map_err(|m| BatchFailure::Line(err(line, None, LineProblem::InvalidValue, m)))?,
        );
    }
    tx.insert_rows(table.name, columns, &rows, conflict)
        .map_err(|e| match e {
            // A rule the line checks above do not know yet: still a refusal of this file that
            // names where it happened, not a storage failure naming nothing.
            StoreError::UniqueViolation(_)
            | StoreError::Constraint(_)
            | StoreError::ForeignKey(_) => BatchFailure::Line(err(
                first_line,
                None,
                LineProblem::InvalidValue,
                "a line from here on breaks a uniqueness or check rule of the database",
            )),
            other => BatchFailure::Store(other),
        })?;
    record_rewrites(tx, table, &rewritten, ctx.at_ms).map_err(BatchFailure::Store)?;
    for (member, before) in watched {
        let after = TrainingConsent::read(tx, ctx.taxonomy, member, ctx.at_ms)
            .map_err(BatchFailure::Store)?;
        if before.withdrawn_by(&after) {
            written.stale_datasets.extend(
                staleness::mark_member(tx, member, StaleReason::ConsentWithdrawn, ctx.at_ms)
                    .map_err(BatchFailure::Store)?,
            );
        }
    }
    written.rows += rows.len() as u64;
    Ok(())
}

/// For `staff`, whose `name` is unique: the first line giving a name that another staff id
/// holds, in this file or in the database (the schema would refuse it, naming no line).
fn first_name_clash(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
) -> Result<Option<LineErr>, StoreError> {
    if table.name != "staff" {
        return Ok(None);
    }
    let col = |name: &str| table.columns.iter().position(|c| c.name == name);
    let (Some(id_i), Some(name_i)) = (col("staff_id"), col("name")) else {
        return Ok(None);
    };
    let clash = |line: usize| {
        err(
            line,
            Some("name"),
            LineProblem::InvalidValue,
            "another staff id already has this name",
        )
    };
    let mut in_file: HashMap<String, i64> = HashMap::new();
    for (line, values) in rows {
        let (Some(id), Some(name)) = (values[id_i].as_i64(), values[name_i].as_str()) else {
            continue;
        };
        if *in_file.entry(name.to_owned()).or_insert(id) != id {
            return Ok(Some(clash(*line)));
        }
        let holder = tx.query_opt(
            "SELECT staff_id FROM staff WHERE name = $1",
            &[Value::from(name)],
        )?;
        if let Some(r) = holder
            && r.i64(0)? != id
        {
            return Ok(Some(clash(*line)));
        }
    }
    Ok(None)
}

/// Integer values of column `ci` over `rows`, distinct.
fn int_values(rows: &[(usize, Vec<Value>)], ci: usize) -> Vec<i64> {
    let mut out: Vec<i64> = rows.iter().filter_map(|(_, v)| v[ci].as_i64()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `SELECT {select} ... WHERE {column} IN (values)` in chunks; the first two columns of each
/// result row as integers.
fn query_in(
    tx: &mut Tx<'_>,
    sql_before_in: &str,
    values: &[i64],
) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let mut out = Vec::new();
    for chunk in values.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let params: Vec<Value> = chunk.iter().map(|v| Value::Int(*v)).collect();
        for r in tx.query(
            &format!("{sql_before_in} IN ({})", placeholders.join(", ")),
            &params,
        )? {
            out.push((r.i64(0)?, r.get(1).as_i64()));
        }
    }
    Ok(out)
}

/// The first line of `rows` that names an erased member: a member id that is an erased
/// tombstone (in the table's member column — the `members` key itself, `dataset_members`'
/// plain id — or any column referring to `members`), or an id of an existing row of an erased
/// member that the line would overwrite.
fn first_erased(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
) -> Result<Option<LineErr>, StoreError> {
    let member_columns: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.references == Some(("members", "member_id")) || table.member_column == Some(c.name)
        })
        .map(|(i, _)| i)
        .collect();
    let mut mentioned: Vec<i64> = member_columns
        .iter()
        .flat_map(|ci| int_values(rows, *ci))
        .collect();
    mentioned.sort_unstable();
    mentioned.dedup();
    let erased: HashSet<i64> = query_in(
        tx,
        "SELECT member_id, NULL FROM members WHERE status = 'erased' AND member_id",
        &mentioned,
    )?
    .into_iter()
    .map(|(m, _)| m)
    .collect();
    // (line, column, member) of every offending line; the earliest is reported.
    let mut found: Vec<(usize, &str, i64)> = Vec::new();
    if !erased.is_empty() {
        for (line, values) in rows {
            for ci in &member_columns {
                if let Some(m) = values[*ci].as_i64().filter(|m| erased.contains(m)) {
                    found.push((*line, table.columns[*ci].name, m));
                }
            }
        }
    }
    // A single-key row owned by a member (a message, a note): the row it would replace may be
    // an erased member's tombstone even if the new line names someone else.
    if let ([key], Some(owner)) = (table.key, table.member_column)
        && *key != owner
        && let Some(ki) = table.columns.iter().position(|c| c.name == *key)
    {
        let owned_by_erased: HashMap<i64, i64> = query_in(
            tx,
            &format!(
                "SELECT t.{key}, t.{owner} FROM {} t JOIN members m ON m.member_id = t.{owner} \
                 WHERE m.status = 'erased' AND t.{key}",
                table.name
            ),
            &int_values(rows, ki),
        )?
        .into_iter()
        .filter_map(|(id, m)| Some((id, m?)))
        .collect();
        for (line, values) in rows {
            if let Some(m) = values[ki].as_i64().and_then(|id| owned_by_erased.get(&id)) {
                found.push((*line, key, *m));
            }
        }
    }
    Ok(found
        .into_iter()
        .min_by_key(|(line, _, _)| *line)
        .map(|(line, field, m)| {
            err(
                line,
                Some(field),
                LineProblem::ErasedMember,
                format!(
                    "member {m} was erased; nothing of theirs may be imported again (leave them \
                 out of the export)"
                ),
            )
        }))
}

/// For `attachments`: each referenced message's conversation, bound into the sealed
/// attachment's associated data as the vault binds a sent one.
fn attachment_conversations(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
) -> Result<HashMap<i64, i64>, StoreError> {
    if table.name != "attachments" {
        return Ok(HashMap::new());
    }
    let Some(mi) = table.columns.iter().position(|c| c.name == "message_id") else {
        return Ok(HashMap::new());
    };
    Ok(query_in(
        tx,
        "SELECT message_id, conversation_id FROM messages WHERE message_id",
        &int_values(rows, mi),
    )?
    .into_iter()
    .filter_map(|(m, c)| Some((m, c?)))
    .collect())
}

/// For `members` and `consent_events`: the members of the batch who are in a published or
/// stale dataset, with their AI-training consent before the batch is written.
fn consent_watch(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
    ctx: &ImportContext<'_>,
) -> Result<Vec<(i64, TrainingConsent)>, StoreError> {
    if !matches!(table.name, "members" | "consent_events") {
        return Ok(Vec::new());
    }
    let Some(mi) = table.columns.iter().position(|c| c.name == "member_id") else {
        return Ok(Vec::new());
    };
    let members = staleness::members_in_datasets(tx, &int_values(rows, mi))?;
    members
        .into_iter()
        .map(|m| Ok((m, TrainingConsent::read(tx, ctx.taxonomy, m, ctx.at_ms)?)))
        .collect()
}

/// The members whose profile or settings the batch changes without a change event past the
/// newest — what readers that follow the event logs (the ads index, which re-reads only the
/// members with events newer than its watermarks) would otherwise miss until they rebuild:
/// `members` rows rewritten with other values, `profile_visibility` rows new or changed, and
/// `consent_events` rows rewritten, or new at or below the newest event id (filling a gap).
/// New members and new events past the newest are seen as new rows; a row imported again
/// unchanged changes nothing, so re-importing a file writes no event.
fn rewritten_members(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
) -> Result<Vec<i64>, StoreError> {
    if !matches!(
        table.name,
        "members" | "profile_visibility" | "consent_events"
    ) {
        return Ok(Vec::new());
    }
    let position = |name: &str| table.columns.iter().position(|c| c.name == name);
    let (Some(mi), Some(keys)) = (
        position("member_id"),
        table
            .key
            .iter()
            .map(|k| position(k))
            .collect::<Option<Vec<usize>>>(),
    ) else {
        return Ok(Vec::new());
    };
    let key_of = |v: &[Value]| -> Vec<Value> { keys.iter().map(|&k| v[k].clone()).collect() };
    // The stored rows the batch may overwrite, by key (looked up by their first key column,
    // an integer for these tables).
    let first = keys.first().copied().unwrap_or(mi);
    let columns = table.column_names().join(", ");
    let mut stored: HashMap<Vec<Value>, Vec<Value>> = HashMap::new();
    for chunk in int_values(rows, first).chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let params: Vec<Value> = chunk.iter().map(|v| Value::Int(*v)).collect();
        for r in tx.query(
            &format!(
                "SELECT {columns} FROM {} WHERE {} IN ({})",
                table.name,
                table.columns[first].name,
                placeholders.join(", ")
            ),
            &params,
        )? {
            let values = r.into_values();
            stored.insert(key_of(&values), values);
        }
    }
    let newest = if table.name == "consent_events" {
        tx.query_i64("SELECT COALESCE(MAX(event_id), 0) FROM consent_events", &[])?
    } else {
        i64::MAX
    };
    let mut out: Vec<i64> = rows
        .iter()
        .filter(|(_, v)| match stored.get(&key_of(v)) {
            Some(old) => old != v,
            None => match table.name {
                "members" => false,
                "consent_events" => v[first].as_i64().is_some_and(|id| id <= newest),
                _ => true,
            },
        })
        .filter_map(|(_, v)| v[mi].as_i64())
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// One profile event per member in `members` (`import:TABLE`, by the system), so the import
/// shows in the member's profile history and in the event logs that derived structures follow.
fn record_rewrites(
    tx: &mut Tx<'_>,
    table: &Table,
    members: &[i64],
    at_ms: i64,
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let field = format!("import:{}", table.name);
    let rows: Vec<Vec<Value>> = members
        .iter()
        .map(|&m| {
            vec![
                Value::Int(m),
                Value::from(field.as_str()),
                Value::Null,
                Value::Null,
                Value::Int(at_ms),
                Value::from("system"),
            ]
        })
        .collect();
    tx.insert_rows(
        "profile_events",
        &[
            "member_id",
            "field",
            "old_value",
            "new_value",
            "at",
            "actor",
        ],
        &rows,
        "",
    )?;
    Ok(())
}

/// Why a file's transaction rolled back: its input, or the database.
enum FileFailure {
    Input(ImportError),
    Store(StoreError),
}

impl From<StoreError> for FileFailure {
    fn from(e: StoreError) -> FileFailure {
        FileFailure::Store(e)
    }
}

fn upsert_clause(table: &Table) -> String {
    let keys = table.key.join(", ");
    let updates: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !table.key.contains(&c.name))
        .map(|c| match (table.name, c.name) {
            // A stale mark survives re-import: the file may predate the opt-out or erasure
            // that made the dataset stale, and `published` would hide that from its users.
            // Only a withdrawal (a stronger state) replaces it.
            ("datasets", "status") => "status = CASE WHEN datasets.status = 'stale' \
                 AND excluded.status <> 'withdrawn' THEN datasets.status \
                 ELSE excluded.status END"
                .to_owned(),
            ("datasets", "stale_since") => "stale_since = CASE WHEN datasets.status = 'stale' \
                 AND excluded.status <> 'withdrawn' \
                 THEN COALESCE(datasets.stale_since, excluded.stale_since) \
                 ELSE excluded.stale_since END"
                .to_owned(),
            _ => format!("{0} = excluded.{0}", c.name),
        })
        .collect();
    if updates.is_empty() {
        format!("ON CONFLICT ({keys}) DO NOTHING")
    } else {
        format!("ON CONFLICT ({keys}) DO UPDATE SET {}", updates.join(", "))
    }
}

/// The JSON field that carries a column: sealed columns take plaintext under their name
/// without `_sealed`; derived columns take nothing.
fn field_of(table: &Table, column: &str) -> Option<&'static str> {
    let c = table.column(column)?;
    if c.derived {
        return None;
    }
    if c.ty == ColumnType::Sealed {
        // posts.body carries closed-group bodies too.
        return if table.name == "posts" {
            None
        } else {
            Some("content")
        };
    }
    Some(c.name)
}

/// Checks lines one at a time, remembering the ids seen so far in the file.
struct LineParser<'t> {
    table: &'t Table,
    fields: Vec<(usize, &'static str)>,
    key_idx: Vec<usize>,
    /// 128-bit digests of the keys seen, not the keys: a few bytes per row however long the
    /// ids (a collision, about 2^-64 likely at a billion rows, would only refuse a good file).
    seen: HashSet<[u8; 16]>,
}

impl<'t> LineParser<'t> {
    fn new(table: &'t Table) -> LineParser<'t> {
        LineParser {
            table,
            fields: table
                .columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| field_of(table, c.name).map(|f| (i, f)))
                .collect(),
            key_idx: table
                .key
                .iter()
                .filter_map(|k| table.columns.iter().position(|c| c.name == *k))
                .collect(),
            seen: HashSet::new(),
        }
    }

    /// The values of one line in column order, with sealed columns still holding plaintext
    /// as `Value::Text`; `None` for a blank line.
    fn parse_line(&mut self, line: usize, raw: &[u8]) -> Result<Option<Vec<Value>>, LineErr> {
        let table = self.table;
        let fields = &self.fields;
        if raw.len() > MAX_LINE_BYTES {
            return Err(err(
                line,
                None,
                LineProblem::LineTooLong,
                format!("line is longer than the limit of {MAX_LINE_BYTES} bytes"),
            ));
        }
        let text = std::str::from_utf8(raw).map_err(|e| {
            err(
                line,
                None,
                LineProblem::InvalidUtf8,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        let json: Json = serde_json::from_str(text).map_err(|e| {
            err(
                line,
                None,
                LineProblem::MalformedJson,
                format!("malformed JSON at column {}: {e}", e.column()),
            )
        })?;
        let Json::Object(obj) = json else {
            return Err(err(
                line,
                None,
                LineProblem::NotAnObject,
                "each line must be one JSON object",
            ));
        };
        for k in obj.keys() {
            let known =
                fields.iter().any(|(_, f)| f == k) || (table.name == "posts" && k == "body");
            if !known {
                let expected: Vec<&str> = fields.iter().map(|(_, f)| *f).collect();
                return Err(err(
                    line,
                    Some(k),
                    LineProblem::UnknownField,
                    format!(
                        "unknown field; `{}` has {}",
                        table.name,
                        expected.join(", ")
                    ),
                ));
            }
        }
        let mut values = vec![Value::Null; table.columns.len()];
        for (ci, field) in fields {
            let col = &table.columns[*ci];
            let v = obj.get(*field).unwrap_or(&Json::Null);
            values[*ci] = typed(
                line,
                field,
                col.ty,
                col.nullable,
                col.allowed,
                v,
                obj.contains_key(*field),
            )?;
        }
        if table.name == "connections" {
            // The schema's CHECK would refuse it too, but as a storage error naming no line.
            let col = |name: &str| table.columns.iter().position(|c| c.name == name);
            if let (Some(a), Some(b)) = (col("member_id"), col("other_member_id"))
                && values[a] == values[b]
            {
                return Err(err(
                    line,
                    Some("other_member_id"),
                    LineProblem::InvalidValue,
                    "a member cannot be connected to themselves",
                ));
            }
        }
        if table.name == "posts" {
            let body = obj.get("body").unwrap_or(&Json::Null);
            let Json::String(body) = body else {
                return Err(err(
                    line,
                    Some("body"),
                    if body.is_null() {
                        LineProblem::MissingField
                    } else {
                        LineProblem::WrongType
                    },
                    "expected a string",
                ));
            };
            let vis_i = table
                .columns
                .iter()
                .position(|c| c.name == "visibility")
                .unwrap_or(0);
            let body_i = table
                .columns
                .iter()
                .position(|c| c.name == "body")
                .unwrap_or(0);
            let sealed_i = table
                .columns
                .iter()
                .position(|c| c.name == "body_sealed")
                .unwrap_or(0);
            let group_i = table
                .columns
                .iter()
                .position(|c| c.name == "group_id")
                .unwrap_or(0);
            let vis = values[vis_i].as_str().unwrap_or("").to_owned();
            let grouped = matches!(vis.as_str(), "group_open" | "group_closed");
            if grouped == values[group_i].is_null() {
                return Err(err(
                    line,
                    Some("group_id"),
                    LineProblem::InvalidValue,
                    "group posts need a `group_id`; feed posts must not have one",
                ));
            }
            if vis == "group_closed" {
                values[body_i] = Value::Null;
                values[sealed_i] = Value::Text(body.clone());
            } else {
                values[body_i] = Value::Text(body.clone());
            }
        }
        let mut h = Sha256::new();
        for i in &self.key_idx {
            match &values[*i] {
                Value::Int(v) => {
                    h.update([1u8]);
                    h.update(v.to_le_bytes());
                }
                Value::Text(t) => {
                    h.update([2u8]);
                    h.update((t.len() as u64).to_le_bytes());
                    h.update(t.as_bytes());
                }
                _ => h.update([0u8]),
            }
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&h.finalize()[..16]);
        if !self.seen.insert(key) {
            let f = table.key.join(", ");
            return Err(err(
                line,
                Some(&f),
                LineProblem::DuplicateId,
                "this id appears earlier in the same file",
            ));
        }
        Ok(Some(values))
    }
}

fn typed(
    line: usize,
    field: &str,
    ty: ColumnType,
    nullable: bool,
    allowed: Option<&[&str]>,
    v: &Json,
    present: bool,
) -> Result<Value, LineErr> {
    if v.is_null() {
        return if nullable {
            Ok(Value::Null)
        } else if present {
            Err(err(
                line,
                Some(field),
                LineProblem::WrongType,
                "must not be null",
            ))
        } else {
            Err(err(
                line,
                Some(field),
                LineProblem::MissingField,
                "required field is missing",
            ))
        };
    }
    match ty {
        ColumnType::Int => v.as_i64().map(Value::Int).ok_or_else(|| {
            err(
                line,
                Some(field),
                LineProblem::WrongType,
                format!("expected an integer, got {}", kind_of(v)),
            )
        }),
        ColumnType::Text | ColumnType::Sealed => {
            let Json::String(s) = v else {
                return Err(err(
                    line,
                    Some(field),
                    LineProblem::WrongType,
                    format!("expected a string, got {}", kind_of(v)),
                ));
            };
            if let Some(allowed) = allowed
                && !allowed.contains(&s.as_str())
            {
                return Err(err(
                    line,
                    Some(field),
                    LineProblem::InvalidValue,
                    format!("`{s}` is not one of {}", allowed.join(", ")),
                ));
            }
            Ok(Value::Text(s.clone()))
        }
    }
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a fractional number",
        Json::Number(_) => "a number out of range",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Every reference of every line must point at an existing row (in the database, including
/// files imported earlier in this run).
fn check_references(
    tx: &mut Tx<'_>,
    table: &Table,
    rows: &[(usize, Vec<Value>)],
) -> Result<Option<LineErr>, StoreError> {
    for (ci, col) in table.columns.iter().enumerate() {
        let Some((rt, rc)) = col.references else {
            continue;
        };
        // The first line mentioning each referenced value, to name it in the error.
        let mut first_line: HashMap<&Value, usize> = HashMap::new();
        let mut wanted: Vec<&Value> = Vec::new();
        for (line, values) in rows {
            let v = &values[ci];
            if v.is_null() {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = first_line.entry(v) {
                e.insert(*line);
                wanted.push(v);
            }
        }
        let mut missing: Vec<(usize, &Value)> = Vec::new();
        for chunk in wanted.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {rc} FROM {rt} WHERE {rc} IN ({})",
                placeholders.join(", ")
            );
            let params: Vec<Value> = chunk.iter().map(|v| (*v).clone()).collect();
            let found: HashSet<Value> = tx
                .query(&sql, &params)?
                .into_iter()
                .map(|r| r.get(0).clone())
                .collect();
            for v in chunk {
                if !found.contains(*v) {
                    missing.push((first_line.get(v).copied().unwrap_or(0), v));
                }
            }
        }
        if let Some((line, v)) = missing.into_iter().min_by_key(|(l, _)| *l) {
            let shown = match v {
                Value::Int(i) => i.to_string(),
                Value::Text(s) => format!("\"{s}\""),
                _ => "?".to_owned(),
            };
            return Ok(Some(err(
                line,
                Some(col.name),
                LineProblem::DanglingReference,
                format!("no `{rt}` row has {rc} = {shown}"),
            )));
        }
    }
    Ok(None)
}

/// Replaces plaintext in sealed columns by the sealer's output and fills derived columns.
fn seal_row(
    table: &Table,
    mut values: Vec<Value>,
    sealer: &dyn Sealer,
    attachment_conversations: &HashMap<i64, i64>,
) -> Result<Vec<Value>, String> {
    let get = |values: &[Value], name: &str| -> Option<i64> {
        table
            .columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| values[i].as_i64())
    };
    let row_id = table.key.first().and_then(|k| get(&values, k)).unwrap_or(0);
    let member_id = get(&values, "member_id").unwrap_or(0);
    let container = if table.name == "attachments" {
        // An attachment's conversation is its message's (checked to exist just before).
        let message = get(&values, "message_id").unwrap_or(0);
        Some(
            attachment_conversations
                .get(&message)
                .copied()
                .ok_or_else(|| {
                    format!("message `{message}` of the attachment has no conversation")
                })?,
        )
    } else {
        get(&values, "conversation_id").or_else(|| get(&values, "group_id"))
    };
    let mut sealed_any = false;
    for (i, c) in table.columns.iter().enumerate() {
        if c.ty != ColumnType::Sealed {
            continue;
        }
        if let Value::Text(plain) = &values[i] {
            let ctx = SealContext {
                table: table.name,
                row_id,
                member_id,
                container_id: container,
            };
            let sealed = sealer
                .seal(&ctx, plain.as_bytes())
                .map_err(|e| e.to_string())?;
            values[i] = Value::Bytes(sealed.into_stored_bytes());
            sealed_any = true;
        }
    }
    for (i, c) in table.columns.iter().enumerate() {
        if c.derived && c.name == "sealing" {
            values[i] = if sealed_any {
                Value::Text(sealer.scheme().to_owned())
            } else {
                Value::Null
            };
        }
    }
    Ok(values)
}
