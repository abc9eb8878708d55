//! The trust & safety flows' typed errors, each with a stable code (`safety.*`), plus the
//! vault's, the store's and the ledger's passed through with theirs.

use steward_ledger::LedgerError;
use steward_store::StoreError;

use crate::VaultError;

/// Everything a messaging, staff, grant or case operation can refuse or fail with.
///
/// Messages never contain message content; ids, staff names and role names are fine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SafetyError {
    /// The member is not a participant of the conversation.
    #[error("member `{member}` is not a participant of conversation `{conversation}`")]
    NotParticipant {
        /// The acting member.
        member: i64,
        /// The conversation.
        conversation: i64,
    },
    /// No such conversation, message, attachment, case or grant.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// The input is invalid (an empty reason or justification, an unknown role or decision).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// No staff member of that name.
    #[error("no staff member named `{name}`")]
    UnknownStaff {
        /// The name given.
        name: String,
    },
    /// The staff member lacks the role the operation needs.
    #[error("staff member `{name}` does not hold the `{role}` role")]
    NotStaffRole {
        /// The staff member.
        name: String,
        /// The role that was needed.
        role: &'static str,
    },
    /// The grant does not exist, or the acting reviewer holds none for the case.
    #[error("no grant `{grant}`")]
    NoGrant {
        /// The grant id given.
        grant: i64,
    },
    /// The grant belongs to another reviewer: only its requester may use it.
    #[error("grant `{grant}` was requested by another reviewer; only its requester may use it")]
    NotGrantHolder {
        /// The grant.
        grant: i64,
    },
    /// The grant has not been approved yet.
    #[error("grant `{grant}` is not approved yet")]
    NotApproved {
        /// The grant.
        grant: i64,
    },
    /// A security investigation has one approval and needs a second, distinct approver.
    #[error("grant `{grant}` is a security investigation and needs a second, distinct approver")]
    NeedsSecondApprover {
        /// The grant.
        grant: i64,
    },
    /// The grant's time is up.
    #[error("grant `{grant}` expired at {expired_at_ms} ms")]
    GrantExpired {
        /// The grant.
        grant: i64,
        /// When it expired (milliseconds since the epoch).
        expired_at_ms: i64,
    },
    /// The grant was ended (its case was decided, or it was closed).
    #[error("grant `{grant}` has ended")]
    GrantEnded {
        /// The grant.
        grant: i64,
    },
    /// The grant is not waiting for approval (already approved or ended).
    #[error("grant `{grant}` is not waiting for approval")]
    GrantNotPending {
        /// The grant.
        grant: i64,
    },
    /// The item is not in the grant's scope.
    #[error("{kind} `{item}` is outside the scope of grant `{grant}`")]
    OutOfScope {
        /// The grant.
        grant: i64,
        /// `message` or `attachment`.
        kind: &'static str,
        /// The item's id.
        item: i64,
    },
    /// The requester of a grant tried to approve it.
    #[error("staff member `{name}` requested grant `{grant}` and cannot approve it")]
    SelfApproval {
        /// The staff member.
        name: String,
        /// The grant.
        grant: i64,
    },
    /// The approver already approved this grant; a second approval must come from someone else.
    #[error("staff member `{name}` already approved grant `{grant}`")]
    AlreadyApproved {
        /// The staff member.
        name: String,
        /// The grant.
        grant: i64,
    },
    /// The requested duration is above the configured hard maximum.
    #[error("a grant of {requested_ms} ms exceeds the maximum of {max_ms} ms")]
    DurationTooLong {
        /// What was asked for.
        requested_ms: i64,
        /// The configured maximum.
        max_ms: i64,
    },
    /// The case was already decided.
    #[error("case `{case}` is closed")]
    CaseClosed {
        /// The case.
        case: i64,
    },
    /// The vault refused or failed (`vault.aead_failure`, `vault.member_shredded`, ...).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger failed (and the operation was rolled back with it).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SafetyError {
    /// A stable identifier for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            SafetyError::NotParticipant { .. } => "safety.not_participant",
            SafetyError::NotFound { .. } => "safety.not_found",
            SafetyError::Invalid(_) => "safety.invalid",
            SafetyError::UnknownStaff { .. } => "safety.unknown_staff",
            SafetyError::NotStaffRole { .. } => "safety.not_staff_role",
            SafetyError::NoGrant { .. } => "safety.no_grant",
            SafetyError::NotGrantHolder { .. } => "safety.not_grant_holder",
            SafetyError::NotApproved { .. } => "safety.not_approved",
            SafetyError::NeedsSecondApprover { .. } => "safety.needs_second_approver",
            SafetyError::GrantExpired { .. } => "safety.grant_expired",
            SafetyError::GrantEnded { .. } => "safety.grant_ended",
            SafetyError::GrantNotPending { .. } => "safety.grant_not_pending",
            SafetyError::OutOfScope { .. } => "safety.out_of_scope",
            SafetyError::SelfApproval { .. } => "safety.self_approval",
            SafetyError::AlreadyApproved { .. } => "safety.already_approved",
            SafetyError::DurationTooLong { .. } => "safety.duration_too_long",
            SafetyError::CaseClosed { .. } => "safety.case_closed",
            SafetyError::Vault(e) => e.code(),
            SafetyError::Store(e) => e.code(),
            SafetyError::Ledger(e) => e.code(),
        }
    }

    /// Whether the error is a refusal (the caller is not allowed, or the state forbids it),
    /// as opposed to bad input or an internal failure. Maps to HTTP 403/409 and CLI exit 1.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            SafetyError::NotParticipant { .. }
                | SafetyError::NotStaffRole { .. }
                | SafetyError::NoGrant { .. }
                | SafetyError::NotGrantHolder { .. }
                | SafetyError::NotApproved { .. }
                | SafetyError::NeedsSecondApprover { .. }
                | SafetyError::GrantExpired { .. }
                | SafetyError::GrantEnded { .. }
                | SafetyError::GrantNotPending { .. }
                | SafetyError::OutOfScope { .. }
                | SafetyError::SelfApproval { .. }
                | SafetyError::AlreadyApproved { .. }
                | SafetyError::DurationTooLong { .. }
                | SafetyError::CaseClosed { .. }
                | SafetyError::Vault(
                    VaultError::AeadFailure
                        | VaultError::Refused(_)
                        | VaultError::MemberShredded { .. }
                )
        )
    }

    pub(crate) fn not_found(what: impl Into<String>) -> SafetyError {
        SafetyError::NotFound { what: what.into() }
    }
}
