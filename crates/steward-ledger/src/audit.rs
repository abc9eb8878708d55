//! Ledgered operations on a member's own data: each performs the store operation and appends
//! its ledger entry in the same transaction, so the CLI and the server record exactly the same
//! thing and a crash leaves both or neither.
//!
//! Entries carry what happened and to whom, never the data itself: a profile change names the
//! field, not its old or new value (the ledger is readable by auditors, the values are the
//! member's). Setting changes carry the old and new value, which are settings, not personal
//! data.

use steward_core::Taxonomy;
use steward_core::consent::Actor;
use steward_store::member::{self, ProfileChange, SettingChange};
use steward_store::{StoreError, Tx};
use thiserror::Error;

use crate::entry::{Entry, Subjects};
use crate::error::LedgerError;
use crate::ledger::Ledger;

/// Appending needs no origin (it names checkpoints only); this is the CLI's default.
const ORIGIN: &str = "steward.local/ledger";

/// A ledgered operation failed: the store refused it, or the ledger could not record it (and
/// then the operation was rolled back with it).
#[derive(Debug, Error)]
pub enum AuditedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl AuditedError {
    pub fn code(&self) -> &'static str {
        match self {
            AuditedError::Store(e) => e.code(),
            AuditedError::Ledger(e) => e.code(),
        }
    }
}

/// Who acts, when, and under which policy.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub actor: &'a Actor,
    pub at_ms: i64,
    /// The active policy's version id (`Policy::version_id`).
    pub policy_version: &'a str,
}

fn base_entry(ctx: &Context<'_>, member_id: i64, purpose: &str, action: &str) -> Entry {
    let (actor, role) = match ctx.actor {
        Actor::Member => (format!("member:{member_id}"), "member".to_owned()),
        Actor::Staff(name) => (format!("staff:{name}"), "staff".to_owned()),
        Actor::System => ("system".to_owned(), "system".to_owned()),
    };
    let mut e = Entry::new(
        u64::try_from(ctx.at_ms).unwrap_or(0),
        actor,
        role,
        purpose,
        action,
    );
    e.subjects = Subjects::members([member_id.unsigned_abs()]);
    e.policy_version = ctx.policy_version.to_owned();
    e.outcome = "ok".to_owned();
    e
}

/// Changes one setting (`ai.training=off`, `visibility.headline=connections`) and ledgers it.
pub fn change_setting(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member_id: i64,
    assignment: &str,
    ctx: &Context<'_>,
) -> Result<(SettingChange, u64), AuditedError> {
    let change = member::set_setting(tx, taxonomy, member_id, assignment, ctx.actor, ctx.at_ms)?;
    let mut entry = base_entry(ctx, member_id, "member.self_access", "settings.change");
    entry.categories = vec!["member.settings".to_owned()];
    entry.details = format!(
        "{}: {} -> {}",
        change.key, change.old_value, change.new_value
    );
    let seq = Ledger::new(ORIGIN).append(tx, entry)?;
    Ok((change, seq))
}

/// Rectifies one profile field (`headline=...`) and ledgers which field changed.
pub fn update_profile(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member_id: i64,
    assignment: &str,
    ctx: &Context<'_>,
) -> Result<(ProfileChange, u64), AuditedError> {
    let change = member::update_profile(tx, taxonomy, member_id, assignment, ctx.actor, ctx.at_ms)?;
    let mut entry = base_entry(ctx, member_id, "member.self_access", "profile.update");
    entry.categories = vec!["member.profile".to_owned()];
    entry.details = format!("field {}", change.field);
    let seq = Ledger::new(ORIGIN).append(tx, entry)?;
    Ok((change, seq))
}

/// Records that the member's own data was read or exported (`action` is `read` or
/// `export`), with the categories it covered.
pub fn record_self_access(
    tx: &mut Tx<'_>,
    member_id: i64,
    action: &str,
    categories: &[&str],
    ctx: &Context<'_>,
) -> Result<u64, AuditedError> {
    let mut entry = base_entry(ctx, member_id, "member.self_access", action);
    entry.categories = categories.iter().map(|c| (*c).to_owned()).collect();
    Ok(Ledger::new(ORIGIN).append(tx, entry)?)
}
