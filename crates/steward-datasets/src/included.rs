//! What the privacy center and the auditor view read: the datasets whose member set includes
//! a given member, and every registered release, each with its status (`published`, or
//! `stale` once a member of it opted out of AI training or was erased).
//!
//! Both read the store's `datasets` and `dataset_members` tables, which the build writes in
//! the same transaction as the registry row and the ledger entry, and which staleness marking
//! updates; nothing here reads a dataset's files.

use serde::Serialize;
use steward_store::{Store, Value};

use crate::error::DatasetError;
use crate::registry;

/// A dataset that included a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inclusion {
    pub dataset_id: String,
    pub name: String,
    pub purpose: String,
    /// When the release was built (ms since the epoch).
    pub created_at_ms: i64,
    pub member_count: i64,
    /// `published`, `stale` or `withdrawn`.
    pub status: String,
    /// When it became stale, if it did.
    pub stale_since_ms: Option<i64>,
}

/// The datasets whose member set includes `member_id`, newest first. Empty when the member
/// was in none (or no dataset was ever built).
pub fn datasets_including(store: &Store, member_id: i64) -> Result<Vec<Inclusion>, DatasetError> {
    store.read(|tx| {
        let rows = tx.query(
            "SELECT d.dataset_id, d.name, d.purpose, d.created_at, d.member_count, d.status,
                    d.stale_since
             FROM dataset_members m JOIN datasets d ON d.dataset_id = m.dataset_id
             WHERE m.member_id = $1 AND d.status <> 'building'
             ORDER BY d.created_at DESC, d.dataset_id",
            &[Value::Int(member_id)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Inclusion {
                    dataset_id: r.text(0)?,
                    name: r.text(1)?,
                    purpose: r.text(2)?,
                    created_at_ms: r.i64(3)?,
                    member_count: r.i64(4)?,
                    status: r.text(5)?,
                    stale_since_ms: r.opt_i64(6)?,
                })
            })
            .collect::<Result<Vec<_>, DatasetError>>()
    })
}

/// A registered release with its status, for listings (the auditor view, `GET /datasets`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
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
    pub status: String,
    pub stale_since_ms: Option<i64>,
}

/// Every registered release with its status, newest first. Installs the registry tables if
/// they are missing (idempotent), so a fresh store lists nothing rather than failing.
pub fn releases(store: &Store) -> Result<Vec<Release>, DatasetError> {
    registry::install(store)?;
    store.read(|tx| {
        let rows = tx.query(
            "SELECT r.id, r.name, r.source, r.built_at_ms, r.row_count, r.member_count,
                    r.k_confirmed, r.l_confirmed, r.policy_version, r.ledger_seq, r.path,
                    d.status, d.stale_since
             FROM dataset_releases r JOIN datasets d ON d.dataset_id = r.id
             ORDER BY r.built_at_ms DESC, r.id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Release {
                    id: r.text(0)?,
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
                    status: r.text(11)?,
                    stale_since_ms: r.opt_i64(12)?,
                })
            })
            .collect::<Result<Vec<_>, DatasetError>>()
    })
}
