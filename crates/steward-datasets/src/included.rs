//! What the privacy center reads: the datasets whose member set includes a given member, each
//! with its status (`published`, or `stale` once a member of it opted out of AI training or
//! was erased). The listing of every release is `registry::list`.
//!
//! It reads the store's `datasets` and `dataset_members` tables, which the build writes in
//! the same transaction as the registry row and the ledger entry, and which staleness marking
//! updates; nothing here reads a dataset's files.

use serde::Serialize;
use steward_store::{Store, Value};

use crate::error::DatasetError;

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
