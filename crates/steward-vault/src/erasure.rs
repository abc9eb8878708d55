//! Account erasure: the store's rows, the member's content key and the ledger entry, in one
//! transaction; then the retired key-encryption keys destroyed once that commit is durable.
//!
//! [`erase_member`] is what `steward member erase` and `DELETE /api/v1/members/{id}` call:
//!
//! 1. refuse an unknown member, a staff request from someone without the `admin` role or
//!    without a reason, and a reason that names the member (it goes into the ledger);
//! 2. in one transaction: mark the datasets that included the member stale and delete or
//!    tombstone their rows ([`steward_store::erase`]), destroy their content key and rotate the
//!    KEK, re-wrapping every other member's key ([`Vault::shred_member`], [`Vault::rotate`]
//!    through [`TxKeyStore`]), and append the ledger entry;
//! 3. after the commit, destroy the KEK versions no wrapped key uses any more, so a database
//!    copy taken before the erasure holds the member's key wrapped under a KEK that no longer
//!    exists (crypto-shredding that holds for backups). If that last step fails the erasure
//!    stands; the outcome says which versions are still in the key file, and the next
//!    `steward keys rotate` retires them.
//!
//! A second erasure of the same member is a no-op: nothing is written, not even a ledger
//! entry, and the outcome says `already_erased`.
//!
//! **The ledger entry keeps no personal data.** Action `member.erase`; subjects empty — not
//! the member's id and not a salted hash of it: a hash an insider can recompute from a
//! suspected id would confirm who was erased, and an id-free entry loses nothing the
//! member could still use. The actor is `member` (no id) for the member's own request or
//! `staff:NAME` for an admin; the justification is the admin's reason, refused if it contains
//! the member's id, names, e-mail or phone. The reference is a random erasure id, returned
//! once to the requester as a receipt. The details are counts: rows deleted per table,
//! messages tombstoned, datasets marked stale, whether a key was destroyed and the new KEK
//! version. The member's earlier ledger entries (their access history) stay: the ledger is
//! append-only and its Merkle proofs depend on every entry; those entries hold the bare id,
//! which now resolves to a tombstone with no personal column.

use steward_ledger::{Entry, Ledger, LedgerError};
use steward_store::erase::{self, DELETED_MEMBER_NOTICE, ERASED_SEALING, MemberState};
use steward_store::{Store, StoreError, Tx};
use thiserror::Error;

use crate::envelope::fill_random;
use crate::store::{Access, TxKeyStore, open_stored};
use crate::{Opened, Vault, VaultError};

/// The ledger origin erasure entries are appended under.
const ORIGIN: &str = "steward.local/ledger";

/// Who asked for the erasure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requester {
    /// The member themself (their own account).
    Member,
    /// A staff member holding the `admin` role, who must give a reason.
    Staff(String),
}

/// Why an erasure was refused or failed. Nothing was changed in any of these cases.
#[derive(Debug, Error)]
pub enum ErasureError {
    #[error("no member `{0}`")]
    NotFound(i64),
    /// A staff erasure needs a reason.
    #[error("an erasure requested by staff needs a reason")]
    ReasonRequired,
    /// The reason would put personal data into the ledger.
    #[error("the reason names the member ({0}); it is ledgered, so it must not hold personal data")]
    ReasonNamesMember(&'static str),
    /// The staff member does not exist or lacks the `admin` role.
    #[error("staff `{0}` does not hold the `admin` role")]
    NotAdmin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ErasureError {
    pub fn code(&self) -> &'static str {
        match self {
            ErasureError::NotFound(_) => "erasure.not_found",
            ErasureError::ReasonRequired => "erasure.reason_required",
            ErasureError::ReasonNamesMember(_) => "erasure.reason_names_member",
            ErasureError::NotAdmin(_) => "erasure.not_admin",
            ErasureError::Store(e) => e.code(),
            ErasureError::Vault(e) => e.code(),
            ErasureError::Ledger(e) => e.code(),
        }
    }

    /// Whether the request itself was at fault (as opposed to the system).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ErasureError::NotFound(_)
                | ErasureError::ReasonRequired
                | ErasureError::ReasonNamesMember(_)
                | ErasureError::NotAdmin(_)
        )
    }
}

/// What an erasure did. Counts and ids of releases and keys only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub member_id: i64,
    /// The member was already erased: nothing was done.
    pub already_erased: bool,
    /// The receipt: the `reference` of the ledger entry.
    pub erasure_id: Option<String>,
    /// The ledger entry's sequence number.
    pub ledger_seq: Option<u64>,
    /// Rows deleted per table.
    pub deleted: Vec<(String, u64)>,
    /// Messages kept as "message from a deleted member" with their content destroyed.
    pub messages_tombstoned: u64,
    /// Rows kept but de-linked or redacted, per `table.column`.
    pub redacted: Vec<(String, u64)>,
    /// Datasets that included the member, now stale.
    pub stale_datasets: Vec<String>,
    /// Whether a content key was destroyed (false if the member never had one).
    pub key_destroyed: bool,
    /// The KEK version current after the erasure's rotation.
    pub kek_version: Option<u32>,
    /// Other members' keys re-wrapped under it.
    pub keys_rewrapped: usize,
    /// KEK versions destroyed after the commit.
    pub retired_keks: Vec<u32>,
    /// Set if destroying the old KEK versions failed after the commit (the erasure stands).
    pub retire_error: Option<String>,
}

impl ErasureOutcome {
    pub fn rows_deleted(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

fn now_erasure_id() -> Result<String, VaultError> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    Ok(format!("erasure:{}", hex::encode(bytes)))
}

/// Checks the request before anything is written. Returns the member's state.
fn check_request(
    tx: &mut Tx<'_>,
    member_id: i64,
    requested_by: &Requester,
    reason: Option<&str>,
) -> Result<MemberState, ErasureError> {
    let state = match erase::member_state(tx, member_id) {
        Ok(s) => s,
        Err(StoreError::NotFound { .. }) => return Err(ErasureError::NotFound(member_id)),
        Err(e) => return Err(e.into()),
    };
    if let Requester::Staff(name) = requested_by {
        let admin = tx.query_i64(
            "SELECT COUNT(*) FROM staff s JOIN staff_roles r ON r.staff_id = s.staff_id \
             WHERE s.name = $1 AND r.role = 'admin'",
            &[name.as_str().into()],
        )?;
        if admin == 0 {
            return Err(ErasureError::NotAdmin(name.clone()));
        }
        if reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(ErasureError::ReasonRequired);
        }
    }
    if let Some(reason) = reason
        && state != MemberState::Erased
    {
        check_reason(tx, member_id, reason)?;
    }
    Ok(state)
}

/// Refuses a reason that contains the member's id, names, e-mail or phone number.
fn check_reason(tx: &mut Tx<'_>, member_id: i64, reason: &str) -> Result<(), ErasureError> {
    let lower = reason.to_lowercase();
    let id = member_id.to_string();
    let has_id = lower
        .split(|c: char| !c.is_ascii_digit())
        .any(|token| token == id);
    if has_id {
        return Err(ErasureError::ReasonNamesMember("their id"));
    }
    let m = steward_store::member::get_member(tx, member_id)?;
    let mut checks: Vec<(&'static str, String)> = vec![
        ("their first name", m.first_name),
        ("their last name", m.last_name),
        ("their e-mail address", m.email),
    ];
    if let Some(phone) = m.phone {
        checks.push(("their phone number", phone));
    }
    for (what, value) in checks {
        let v = value.trim().to_lowercase();
        // Very short names (`Al`) would refuse ordinary words; three letters and more count.
        if v.chars().count() >= 3 && lower.contains(&v) {
            return Err(ErasureError::ReasonNamesMember(what));
        }
    }
    Ok(())
}

/// Erases `member_id` inside the caller's transaction: rows, content key, staleness and the
/// ledger entry. The KEK rotation is written to the key file before the transaction commits;
/// the caller must commit and then call [`retire_keks`] (which [`erase_member`] does).
pub fn erase_member_in(
    vault: &mut Vault,
    tx: &mut Tx<'_>,
    member_id: i64,
    requested_by: &Requester,
    reason: Option<&str>,
    at_ms: i64,
) -> Result<ErasureOutcome, ErasureError> {
    let state = check_request(tx, member_id, requested_by, reason)?;
    let mut outcome = ErasureOutcome {
        member_id,
        ..ErasureOutcome::default()
    };
    if state == MemberState::Erased {
        outcome.already_erased = true;
        return Ok(outcome);
    }
    let rows = erase::erase_member_rows(tx, member_id, at_ms)?;
    let (key_destroyed, rotation) = {
        let mut keys = TxKeyStore::new(tx);
        let destroyed = vault.shred_member(&mut keys, member_id)?;
        (destroyed, vault.rotate(&mut keys)?)
    };
    let erasure_id = now_erasure_id()?;
    let (actor, role, purpose) = match requested_by {
        Requester::Member => ("member".to_owned(), "member", "member.self_access"),
        Requester::Staff(name) => (format!("staff:{name}"), "admin", "service.core"),
    };
    let mut entry = Entry::new(
        u64::try_from(at_ms).unwrap_or(0),
        actor,
        role,
        purpose,
        "member.erase",
    );
    entry.reference = erasure_id.clone();
    entry.outcome = "ok".to_owned();
    entry.justification = reason.map(str::trim).unwrap_or_default().to_owned();
    entry.categories = vec!["member".to_owned()];
    let deleted: Vec<String> = rows
        .deleted
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    entry.details = format!(
        "deleted[{}] messages_tombstoned={} stale_datasets={} key_destroyed={} kek_version={}",
        deleted.join(","),
        rows.messages_tombstoned,
        rows.stale_datasets.len(),
        key_destroyed,
        rotation.new_version
    );
    let seq = Ledger::new(ORIGIN).append(tx, entry)?;
    outcome.erasure_id = Some(erasure_id);
    outcome.ledger_seq = Some(seq);
    outcome.deleted = rows.deleted;
    outcome.messages_tombstoned = rows.messages_tombstoned;
    outcome.redacted = rows.redacted;
    outcome.stale_datasets = rows.stale_datasets;
    outcome.key_destroyed = key_destroyed;
    outcome.kek_version = Some(rotation.new_version);
    outcome.keys_rewrapped = rotation.rewrapped;
    Ok(outcome)
}

/// Destroys the KEK versions no wrapped key uses any more. Call only after the transaction
/// that re-wrapped the keys committed.
pub fn retire_keks(vault: &mut Vault, store: &Store) -> Result<Vec<u32>, VaultError> {
    store.transaction(|tx| vault.retire_unused_keks(&mut TxKeyStore::new(tx)))
}

/// Erases `member_id` (see the module documentation): one transaction for the rows, the key,
/// the staleness marks and the ledger entry, then the old KEK versions destroyed.
pub fn erase_member(
    vault: &mut Vault,
    store: &Store,
    member_id: i64,
    requested_by: &Requester,
    reason: Option<&str>,
    at_ms: i64,
) -> Result<ErasureOutcome, ErasureError> {
    crate::store::migrate(store)?;
    Ledger::install(store)?;
    let mut outcome = store
        .transaction(|tx| erase_member_in(vault, tx, member_id, requested_by, reason, at_ms))?;
    if !outcome.already_erased {
        match retire_keks(vault, store) {
            Ok(retired) => outcome.retired_keks = retired,
            Err(e) => outcome.retire_error = Some(format!("{e} [{}]", e.code())),
        }
    }
    Ok(outcome)
}

/// A message as a participant sees it after its author may have been erased.
#[derive(Debug)]
pub enum MessageView {
    /// The opened message.
    Open(Opened),
    /// The author was erased: the content is gone; show [`DELETED_MEMBER_NOTICE`].
    FromDeletedMember,
}

impl MessageView {
    /// The text to show: the message, or the deleted-member notice.
    pub fn text(&self) -> String {
        match self {
            MessageView::Open(o) => o
                .plaintext
                .as_str()
                .map_or_else(|| format!("({} bytes)", o.plaintext.len()), str::to_owned),
            MessageView::FromDeletedMember => DELETED_MEMBER_NOTICE.to_owned(),
        }
    }
}

/// Opens message `message_id` for `reader` (a participant), or says it came from a deleted
/// member. Any other failure (not a participant, tampered row) is an error.
pub fn read_message(
    vault: &Vault,
    tx: &mut Tx<'_>,
    reader: i64,
    message_id: i64,
) -> Result<MessageView, VaultError> {
    let sealing = tx
        .query_opt(
            "SELECT sealing FROM messages WHERE message_id = $1",
            &[message_id.into()],
        )?
        .ok_or_else(|| StoreError::not_found(format!("messages row `{message_id}`")))?
        .text(0)?;
    if sealing == ERASED_SEALING {
        // Only participants learn even that much.
        let participant = tx.query_i64(
            "SELECT COUNT(*) FROM conversation_participants p JOIN messages m \
             ON m.conversation_id = p.conversation_id \
             WHERE m.message_id = $1 AND p.member_id = $2",
            &[message_id.into(), reader.into()],
        )?;
        if participant == 0 {
            return Err(VaultError::Refused("the reader is not a participant"));
        }
        return Ok(MessageView::FromDeletedMember);
    }
    match open_stored(
        vault,
        tx,
        Access::Participant(reader),
        "messages",
        message_id,
    ) {
        Ok(opened) => Ok(MessageView::Open(opened)),
        Err(VaultError::MemberShredded { .. }) => Ok(MessageView::FromDeletedMember),
        Err(e) => Err(e),
    }
}
