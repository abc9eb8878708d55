//! Account erasure in the store: every row of the member's data deleted in the caller's
//! transaction, with counts per table. The vault's orchestration (`steward_vault::erasure`)
//! calls this, destroys the member's content key and ledgers the erasure in the same
//! transaction.
//!
//! What happens to each kind of row:
//!
//! * **Deleted**: profile visibility, positions, education, skills, connections (both
//!   directions), applications, group memberships, posts, engagement and search events, consent
//!   and profile events (they hold old and new values), private notes, attachments of the
//!   member's messages, the member's conversation participations, reports the member filed
//!   (unless a case was opened on one), cases about the member (a case's `member_id` is the
//!   reported author), the member's `dataset_members` rows (after the datasets
//!   are marked stale, see [`crate::staleness`]) and rows of any other table with a
//!   `member_id` column (found in the database catalogue: tables added by other crates, such as
//!   the server's member tokens, are covered without a list to keep up to date).
//! * **Tombstoned**: the member row itself (foreign keys point at it) keeps only its id, with
//!   every personal column cleared, `deleted_at` set and `status = 'erased'`; the member's
//!   messages keep their row (so conversation order holds for the other participants) with the
//!   sealed content replaced by an empty blob marked [`ERASED_SEALING`], which readers show as
//!   [`DELETED_MEMBER_NOTICE`].
//! * **Kept, de-linked**: groups the member created lose their owner; reports with a case keep
//!   the case's anchor but lose their free-text reason; `dataset_staleness` rows lose the id.
//! * **Kept as they are**: conversations the member started (other participants' history),
//!   other members' notes about them, and the ledger and
//!   vault tables, which hold bare ids that now resolve to a tombstone (the ledger is append
//!   only; the vault shreds the key itself).

use crate::db::{Dialect, Tx};
use crate::error::StoreError;
use crate::staleness::{self, StaleReason};
use crate::value::Value;

/// The `sealing` value of a message whose author was erased (its content is an empty blob).
pub const ERASED_SEALING: &str = "erased";

/// What the other participants see in place of an erased member's message.
pub const DELETED_MEMBER_NOTICE: &str = "message from a deleted member";

/// Tables whose `member_id` rows erasure handles explicitly, or keeps on purpose (see the
/// module documentation); the catalogue sweep leaves them alone.
const HANDLED: &[&str] = &[
    "members",
    "profile_visibility",
    "positions",
    "education",
    "skills",
    "connections",
    "applications",
    "network_groups",
    "group_memberships",
    "posts",
    "engagement_events",
    "search_events",
    "conversations",
    "conversation_participants",
    "messages",
    "attachments",
    "private_notes",
    "reports",
    "cases",
    "consent_events",
    "profile_events",
    "dataset_members",
    "dataset_staleness",
    // The ledger is append-only; its indexes name bare ids that now resolve to a tombstone.
    "ledger_subjects",
    "ledger_member_set_members",
    // The vault shreds the key itself and keeps a tombstone row so no new key is ever made.
    "vault_member_keys",
];

/// Plain deletions keyed on `member_id`, in an order that respects foreign keys.
const DELETE_BY_MEMBER: &[&str] = &[
    "profile_visibility",
    "positions",
    "education",
    "skills",
    "applications",
    "group_memberships",
    "posts",
    "engagement_events",
    "search_events",
    "private_notes",
    "consent_events",
    "profile_events",
    "conversation_participants",
];

/// A member's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    Active,
    /// Deleted (`deleted_at` set) but not erased.
    Deleted,
    /// Erased: only a tombstone is left.
    Erased,
}

/// The state of member `member_id` (`store.not_found` if there is no such row).
pub fn member_state(tx: &mut Tx<'_>, member_id: i64) -> Result<MemberState, StoreError> {
    let row = tx
        .query_opt(
            "SELECT status, deleted_at FROM members WHERE member_id = $1",
            &[member_id.into()],
        )?
        .ok_or_else(|| StoreError::not_found(format!("member `{member_id}`")))?;
    Ok(if row.text(0)? == "erased" {
        MemberState::Erased
    } else if row.get(1).is_null() {
        MemberState::Active
    } else {
        MemberState::Deleted
    })
}

/// What [`erase_member_rows`] did. Counts only: nothing here is personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreErasure {
    /// The member was already erased; nothing was done.
    pub already_erased: bool,
    /// Rows deleted, per table (tables with no row omitted).
    pub deleted: Vec<(String, u64)>,
    /// Messages whose content was destroyed and row kept as a tombstone.
    pub messages_tombstoned: u64,
    /// Rows kept but de-linked or redacted, per `table.column`.
    pub redacted: Vec<(String, u64)>,
    /// Datasets that included the member, now stale.
    pub stale_datasets: Vec<String>,
}

impl StoreErasure {
    /// Rows deleted over all tables.
    pub fn rows_deleted(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }

    /// Rows deleted from `table`.
    pub fn deleted_from(&self, table: &str) -> u64 {
        self.deleted
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n)
    }

    fn add(list: &mut Vec<(String, u64)>, name: &str, n: u64) {
        if n == 0 {
            return;
        }
        match list.iter_mut().find(|(t, _)| t == name) {
            Some((_, c)) => *c += n,
            None => list.push((name.to_owned(), n)),
        }
    }
}

/// Deletes and tombstones the member's rows in `tx` (see the module documentation), after
/// marking the datasets that included them stale. A member already erased is a no-op
/// (`already_erased`). The caller commits; nothing is written if the transaction rolls back.
pub fn erase_member_rows(
    tx: &mut Tx<'_>,
    member_id: i64,
    at_ms: i64,
) -> Result<StoreErasure, StoreError> {
    let mut out = StoreErasure::default();
    if member_state(tx, member_id)? == MemberState::Erased {
        out.already_erased = true;
        return Ok(out);
    }
    let id = || -> Vec<Value> { vec![member_id.into()] };

    // Staleness first: it reads the member sets this erasure then deletes.
    out.stale_datasets = staleness::mark_member(tx, member_id, StaleReason::MemberErased, at_ms)?;
    let n = tx.execute("DELETE FROM dataset_members WHERE member_id = $1", &id())?;
    StoreErasure::add(&mut out.deleted, "dataset_members", n);

    // Messages: attachments go, the message rows stay as tombstones.
    let n = tx.execute(
        "DELETE FROM attachments WHERE member_id = $1 OR message_id IN \
         (SELECT message_id FROM messages WHERE member_id = $1)",
        &id(),
    )?;
    StoreErasure::add(&mut out.deleted, "attachments", n);
    out.messages_tombstoned = tx.execute(
        "UPDATE messages SET content_sealed = $2, sealing = $3, verdict = NULL, \
         verdict_rule = NULL WHERE member_id = $1",
        &[
            member_id.into(),
            Value::Bytes(Vec::new()),
            ERASED_SEALING.into(),
        ],
    )?;

    for table in DELETE_BY_MEMBER {
        let n = tx.execute(&format!("DELETE FROM {table} WHERE member_id = $1"), &id())?;
        StoreErasure::add(&mut out.deleted, table, n);
    }
    let n = tx.execute(
        "DELETE FROM connections WHERE member_id = $1 OR other_member_id = $1",
        &id(),
    )?;
    StoreErasure::add(&mut out.deleted, "connections", n);

    // Cases about the member (their `member_id` is the reported author) go; trust & safety
    // tables keyed by case id carry no foreign key so they do not block this.
    let n = tx.execute("DELETE FROM cases WHERE member_id = $1", &id())?;
    StoreErasure::add(&mut out.deleted, "cases", n);
    // Reports: a report a case was opened on stays as the case's anchor, without its reason.
    let n = tx.execute(
        "DELETE FROM reports WHERE member_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM cases c WHERE c.report_id = reports.report_id)",
        &id(),
    )?;
    StoreErasure::add(&mut out.deleted, "reports", n);
    let n = tx.execute("UPDATE reports SET reason = '' WHERE member_id = $1", &id())?;
    StoreErasure::add(&mut out.redacted, "reports.reason", n);
    let n = tx.execute(
        "UPDATE network_groups SET member_id = NULL WHERE member_id = $1",
        &id(),
    )?;
    StoreErasure::add(&mut out.redacted, "network_groups.member_id", n);

    // Tables other crates added (the server's member tokens, ...): their `member_id` names the
    // member whose row it is.
    for table in other_member_tables(tx)? {
        let n = tx.execute(&format!("DELETE FROM {table} WHERE member_id = $1"), &id())?;
        StoreErasure::add(&mut out.deleted, &table, n);
    }

    tx.execute(
        "UPDATE members SET first_name = '', last_name = '', email = '', phone = NULL, \
         headline = NULL, summary = NULL, city = NULL, region = NULL, country = '', \
         industry = NULL, job_function = NULL, seniority = NULL, company_size = NULL, \
         years_experience = NULL, jurisdiction = '', gender = NULL, birth_year = NULL, \
         created_at = 0, deleted_at = $2, status = 'erased' WHERE member_id = $1",
        &[member_id.into(), at_ms.into()],
    )?;
    Ok(out)
}

/// Tables in the database (other than the ones erasure handles) with a `member_id` column.
fn other_member_tables(tx: &mut Tx<'_>) -> Result<Vec<String>, StoreError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.name = 'member_id' \
             ORDER BY m.name"
        }
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'member_id' \
             ORDER BY table_name"
        }
    };
    let mut out = Vec::new();
    for r in tx.query(sql, &[])? {
        let name = r.text(0)?;
        // Names come from the catalogue, but they are interpolated: accept plain identifiers.
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if plain && !HANDLED.contains(&name.as_str()) {
            out.push(name);
        }
    }
    Ok(out)
}
