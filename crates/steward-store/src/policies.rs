//! The active policy: every policy ever activated, with its full source, so the server and the
//! CLI decide with the same rules and an auditor can see what applied when. Also the consent
//! population of the stored members, which `policy diff` and activation use to count the
//! members a change affects.

use std::collections::HashMap;

use steward_core::consent::{self, defaults_for};
use steward_core::policy::diff::Population;
use steward_core::{ConsentSet, Taxonomy};

use crate::db::Tx;
use crate::error::StoreError;
use crate::migrate::{Migration, MigrationSet, MigrationSql};
use crate::value::{Row, Value};

/// The `policy_versions` table.
pub const POLICY_MIGRATIONS: MigrationSet = MigrationSet {
    name: "policies",
    migrations: &[Migration {
        version: 1,
        name: "policy_versions",
        sql: MigrationSql::Portable(
            "CREATE TABLE IF NOT EXISTS policy_versions (
                activation_id {INT} PRIMARY KEY,
                version_id TEXT NOT NULL,
                file_name TEXT NOT NULL,
                source TEXT NOT NULL,
                activated_at {INT} NOT NULL,
                actor TEXT NOT NULL
            );",
        ),
    }],
};

/// One activation of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPolicy {
    pub activation_id: i64,
    pub version_id: String,
    pub file_name: String,
    pub source: String,
    pub activated_at: i64,
    pub actor: String,
}

impl StoredPolicy {
    fn from_row(r: &Row) -> Result<StoredPolicy, StoreError> {
        Ok(StoredPolicy {
            activation_id: r.i64(0)?,
            version_id: r.text(1)?,
            file_name: r.text(2)?,
            source: r.text(3)?,
            activated_at: r.i64(4)?,
            actor: r.text(5)?,
        })
    }
}

const COLUMNS: &str = "activation_id, version_id, file_name, source, activated_at, actor";

/// The policy activated last, if any was (callers fall back to the built-in policy).
pub fn active(tx: &mut Tx<'_>) -> Result<Option<StoredPolicy>, StoreError> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM policy_versions ORDER BY activation_id DESC LIMIT 1"),
        &[],
    )?
    .map(|r| StoredPolicy::from_row(&r))
    .transpose()
}

/// Every activation, oldest first.
pub fn history(tx: &mut Tx<'_>) -> Result<Vec<StoredPolicy>, StoreError> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM policy_versions ORDER BY activation_id"),
        &[],
    )?
    .iter()
    .map(StoredPolicy::from_row)
    .collect()
}

/// Records that `source` (already verified by the caller) is now the active policy.
pub fn record_activation(
    tx: &mut Tx<'_>,
    version_id: &str,
    file_name: &str,
    source: &str,
    at_ms: i64,
    actor: &str,
) -> Result<i64, StoreError> {
    let id = tx.query_i64(
        "SELECT COALESCE(MAX(activation_id), 0) + 1 FROM policy_versions",
        &[],
    )?;
    tx.execute(
        &format!("INSERT INTO policy_versions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            Value::from(id),
            Value::from(version_id),
            Value::from(file_name),
            Value::from(source),
            Value::from(at_ms),
            Value::from(actor),
        ],
    )?;
    Ok(id)
}

/// The effective consent of every member not deleted, at `at_ms`, as a population of distinct
/// consent sets with counts.
pub fn consent_population(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    at_ms: i64,
) -> Result<Population, StoreError> {
    let mut defaults: HashMap<String, ConsentSet> = HashMap::new();
    let mut members: HashMap<i64, ConsentSet> = HashMap::new();
    tx.query_each(
        "SELECT member_id, jurisdiction FROM members WHERE deleted_at IS NULL",
        &[],
        |r: &Row| {
            let jurisdiction = r.text(1)?;
            let set = *defaults
                .entry(jurisdiction.clone())
                .or_insert_with(|| defaults_for(taxonomy, &jurisdiction));
            members.insert(r.i64(0)?, set);
            Ok::<(), StoreError>(())
        },
    )?;
    tx.query_each(
        "SELECT member_id, key, value FROM consent_events WHERE at <= $1 \
         ORDER BY member_id, at, event_id",
        &[at_ms.into()],
        |r: &Row| {
            let key = r.get(1).as_str().unwrap_or("");
            if let (Some(k), Some(set)) =
                (taxonomy.consent_key_id(key), members.get_mut(&r.i64(0)?))
                && let Ok(granted) = consent::parse_consent_value(r.get(2).as_str().unwrap_or(""))
            {
                set.set(k, granted);
            }
            Ok::<(), StoreError>(())
        },
    )?;
    let mut population = Population::new();
    for set in members.into_values() {
        population.add(set, 1);
    }
    Ok(population)
}
