//! The dataset registry. The store's own `datasets` and `dataset_members` tables (which the
//! privacy center and staleness marking read) get the release and its members; this crate's
//! `dataset_releases` table adds what only a build knows (spec digest, consent snapshot, code
//! version, member set id, file digests, datasheet). All of it is written in one transaction
//! with the ledger entry that records the release.

use steward_ledger::{Entry, Ledger, MemberSet};
use steward_store::staleness;
use steward_store::{Migration, MigrationSet, MigrationSql, Store, Tx, Value};

use crate::datasheet::Datasheet;
use crate::error::DatasetError;

/// The registry's own migrations.
pub const DATASETS_MIGRATIONS: MigrationSet = MigrationSet {
    name: "datasets",
    migrations: &[Migration {
        version: 1,
        name: "dataset_releases",
        sql: MigrationSql::Portable(
            "CREATE TABLE dataset_releases (
    id TEXT PRIMARY KEY REFERENCES datasets (dataset_id),
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    spec_digest TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    consent_snapshot_ms {INT} NOT NULL,
    code_version TEXT NOT NULL,
    built_at_ms {INT} NOT NULL,
    row_count {INT} NOT NULL,
    member_count {INT} NOT NULL,
    member_set_id TEXT NOT NULL,
    ledger_seq {INT} NOT NULL,
    path TEXT NOT NULL,
    files TEXT NOT NULL,
    k_confirmed {INT} NOT NULL,
    l_confirmed {INT} NOT NULL,
    datasheet TEXT NOT NULL
)",
        ),
    }],
};

/// Creates the registry and ledger tables (idempotent).
pub fn install(store: &Store) -> Result<(), DatasetError> {
    Ledger::install(store)?;
    store.migrate(&DATASETS_MIGRATIONS)?;
    Ok(())
}

/// A registry row, as `list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub id: String,
    pub name: String,
    pub source: String,
    pub built_at_ms: i64,
    pub rows: i64,
    pub members: i64,
    pub k_confirmed: i64,
    pub l_confirmed: i64,
    pub policy_version: String,
    pub ledger_seq: i64,
    pub path: String,
    /// `published`, or `stale` once a member in it withdrew consent or was erased.
    pub status: String,
    pub stale_since: Option<i64>,
    /// Members of the release who withdrew AI-training consent since it was built.
    pub consent_withdrawn: u64,
    /// Members of the release erased since it was built.
    pub members_erased: u64,
}

/// Records a published build: the member set, the ledger entry naming it, and the registry
/// row, all inside `tx`. Returns the ledger sequence number.
pub fn record(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    sheet: &Datasheet,
    members: &MemberSet,
    path: &str,
) -> Result<u64, DatasetError> {
    let set_id = format!("dataset:{}", sheet.id);
    let subjects = ledger.store_member_set(tx, &set_id, members)?;
    let mut entry = Entry::new(
        u64::try_from(sheet.lineage.built_at_ms).unwrap_or(0),
        "steward-datasets",
        "engineer",
        sheet.purpose.clone(),
        "release",
    );
    entry.subjects = subjects;
    entry.categories = sheet
        .gate_reads
        .iter()
        .flat_map(|r| r.categories.iter().cloned())
        .collect();
    entry.policy_version = sheet.lineage.policy_version.clone();
    entry.reference = sheet.id.clone();
    entry.outcome = "ok".to_owned();
    entry.justification = format!(
        "dataset `{}` built from spec {}",
        sheet.name, sheet.lineage.spec_digest
    );
    let excluded: Vec<String> = sheet
        .gate_reads
        .first()
        .map(|r| {
            r.excluded_members
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default();
    entry.details = format!(
        "rows={} members={} k={} l={} excluded_members[{}]",
        sheet.composition.rows,
        sheet.composition.members,
        sheet.privacy.k_confirmed,
        sheet.privacy.l_confirmed,
        excluded.join(",")
    );
    let seq = ledger.append(tx, entry)?;
    tx.execute(
        "INSERT INTO datasets (dataset_id, name, purpose, policy_version, created_at,
            member_count, status) VALUES ($1, $2, $3, $4, $5, $6, 'published')",
        &[
            Value::from(sheet.id.as_str()),
            Value::from(sheet.name.as_str()),
            Value::from(sheet.purpose.as_str()),
            Value::from(sheet.lineage.policy_version.as_str()),
            Value::Int(sheet.lineage.built_at_ms),
            Value::Int(i64::try_from(members.len()).unwrap_or(i64::MAX)),
        ],
    )?;
    // The release's member set is the one just ledgered under `set_id`: copied in one
    // statement, not bound member by member (a million members took seconds that way).
    let copied = tx.execute(
        "INSERT INTO dataset_members (dataset_id, member_id)
         SELECT $1, member_id FROM ledger_member_set_members WHERE set_id = $2",
        &[Value::from(sheet.id.as_str()), Value::from(set_id.as_str())],
    )?;
    if copied != members.len() {
        return Err(DatasetError::Datasheet(format!(
            "registered {copied} members for a release of {}",
            members.len()
        )));
    }
    let json = serde_json::to_string(sheet).map_err(|e| DatasetError::Datasheet(e.to_string()))?;
    let files = serde_json::to_string(&sheet.lineage.files)
        .map_err(|e| DatasetError::Datasheet(e.to_string()))?;
    let int = |v: u64| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
    tx.execute(
        "INSERT INTO dataset_releases (id, name, source, spec_digest, policy_version, consent_snapshot_ms,
            code_version, built_at_ms, row_count, member_count, member_set_id, ledger_seq, path,
            files, k_confirmed, l_confirmed, datasheet)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        &[
            Value::from(sheet.id.as_str()),
            Value::from(sheet.name.as_str()),
            Value::from(sheet.source.as_str()),
            Value::from(sheet.lineage.spec_digest.as_str()),
            Value::from(sheet.lineage.policy_version.as_str()),
            Value::Int(sheet.lineage.consent_snapshot_ms),
            Value::from(sheet.lineage.code_version.as_str()),
            Value::Int(sheet.lineage.built_at_ms),
            int(sheet.composition.rows),
            int(sheet.composition.members),
            Value::from(set_id.as_str()),
            int(seq),
            Value::from(path),
            Value::from(files),
            int(sheet.privacy.k_confirmed as u64),
            int(sheet.privacy.l_confirmed as u64),
            Value::from(json),
        ],
    )?;
    Ok(seq)
}

/// Every registered dataset, newest first. A dataset whose build stopped between its
/// registry commit and its rename is moved into place first.
pub fn list(store: &Store) -> Result<Vec<Registered>, DatasetError> {
    let listed = list_rows(store)?;
    for d in &listed {
        crate::sinks::publish::finish_interrupted(std::path::Path::new(&d.path))?;
    }
    Ok(listed)
}

fn list_rows(store: &Store) -> Result<Vec<Registered>, DatasetError> {
    store.read(|tx| {
        let rows = tx.query(
            "SELECT id, name, source, built_at_ms, row_count, member_count, k_confirmed,
                    l_confirmed, policy_version, ledger_seq, path
             FROM dataset_releases ORDER BY built_at_ms DESC, id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let id = r.text(0)?;
                let st = staleness::status(tx, &id)?;
                Ok(Registered {
                    name: r.text(1)?,
                    source: r.text(2)?,
                    built_at_ms: r.i64(3)?,
                    rows: r.i64(4)?,
                    members: r.i64(5)?,
                    k_confirmed: r.i64(6)?,
                    l_confirmed: r.i64(7)?,
                    policy_version: r.text(8)?,
                    ledger_seq: r.i64(9)?,
                    path: r.text(10)?,
                    status: st
                        .as_ref()
                        .map_or_else(|| "published".to_owned(), |s| s.status.clone()),
                    stale_since: st.as_ref().and_then(|s| s.stale_since),
                    consent_withdrawn: st.as_ref().map_or(0, |s| s.consent_withdrawn),
                    members_erased: st.as_ref().map_or(0, |s| s.members_erased),
                    id,
                })
            })
            .collect::<Result<Vec<_>, DatasetError>>()
    })
}

/// Whether dataset `id` is stale, since when and why (counts per reason).
pub fn status(store: &Store, id: &str) -> Result<staleness::DatasetStatus, DatasetError> {
    store
        .read(|tx| staleness::status(tx, id))?
        .ok_or_else(|| DatasetError::NotFound(id.to_owned()))
}

/// The datasheet registered for `id`.
pub fn datasheet(store: &Store, id: &str) -> Result<Datasheet, DatasetError> {
    let json = store.read(|tx| {
        tx.query_opt(
            "SELECT datasheet FROM dataset_releases WHERE id = $1",
            &[Value::from(id)],
        )?
        .map(|r| r.text(0))
        .transpose()
        .map_err(DatasetError::from)
    })?;
    let json = json.ok_or_else(|| DatasetError::NotFound(id.to_owned()))?;
    serde_json::from_str(&json).map_err(|e| DatasetError::Datasheet(e.to_string()))
}
