//! Why the vault is opened: the only permitted reasons, as values the caller must produce.
//!
//! There is deliberately no variant for AI training, ads, analytics or personalization: code on
//! those paths has no value to pass, so it cannot open sealed content even by mistake.

use std::collections::BTreeSet;

use crate::envelope::{ContentKind, RowBinding};

/// Which privileged purpose a grant was approved for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantPurpose {
    /// `safety.report_review`: a reviewer looks at a reported message and its context.
    ReportReview,
    /// `security.investigation`: needs two distinct approvers.
    SecurityInvestigation,
}

/// Proof that the caller validated a grant (approved by someone other than the requester, not
/// expired, held by the acting reviewer) and of what it covers. The vault re-checks the parts
/// it can see: purpose, approval count and scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantHandle {
    grant_id: i64,
    purpose: GrantPurpose,
    approvals: usize,
    scope: BTreeSet<(ContentKind, i64)>,
}

impl GrantHandle {
    /// A handle for a grant the caller has validated against the store and the clock.
    /// `scope` lists the items (kind, id) the grant covers; `approvals` counts distinct
    /// approvers other than the requester.
    pub fn validated(
        grant_id: i64,
        purpose: GrantPurpose,
        approvals: usize,
        scope: impl IntoIterator<Item = (ContentKind, i64)>,
    ) -> GrantHandle {
        GrantHandle {
            grant_id,
            purpose,
            approvals,
            scope: scope.into_iter().collect(),
        }
    }

    /// The grant's id, for the ledger entry.
    pub fn grant_id(&self) -> i64 {
        self.grant_id
    }

    /// What the grant is for.
    pub fn purpose(&self) -> GrantPurpose {
        self.purpose
    }

    /// Whether the grant covers the item.
    pub fn covers(&self, kind: ContentKind, item_id: i64) -> bool {
        self.scope.contains(&(kind, item_id))
    }
}

/// The reason for opening sealed content. `open` takes one; nothing else decrypts.
#[derive(Clone, Copy, Debug)]
pub enum OpenReason<'a> {
    /// `service.core`: a participant reads their own conversation (or an author their note).
    /// `participants` are the conversation's participants as the store knows them.
    ParticipantRead {
        /// The member reading.
        reader: i64,
        /// Participants of the item's conversation.
        participants: &'a [i64],
    },
    /// `member.self_access`: a member views or exports messages of conversations they are in.
    SelfAccess {
        /// The member exporting.
        member: i64,
        /// Participants of the item's conversation.
        participants: &'a [i64],
    },
    /// `safety.report_review`: a reviewer holding a grant for a reported message.
    ReportReview(&'a GrantHandle),
    /// `security.investigation`: an investigator holding a two-person-approved grant.
    SecurityInvestigation(&'a GrantHandle),
}

impl OpenReason<'_> {
    /// The purpose name this reason stands for, as in the taxonomy.
    pub fn purpose(&self) -> &'static str {
        match self {
            OpenReason::ParticipantRead { .. } => "service.core",
            OpenReason::SelfAccess { .. } => "member.self_access",
            OpenReason::ReportReview(_) => "safety.report_review",
            OpenReason::SecurityInvestigation(_) => "security.investigation",
        }
    }

    /// Whether an open for this reason must be written to the ledger (visible in the affected
    /// members' access history). A participant reading their own conversation is not.
    pub fn requires_ledger_entry(&self) -> bool {
        !matches!(self, OpenReason::ParticipantRead { .. })
    }

    /// The grant behind the open, if any.
    pub fn grant_id(&self) -> Option<i64> {
        match self {
            OpenReason::ReportReview(g) | OpenReason::SecurityInvestigation(g) => {
                Some(g.grant_id())
            }
            _ => None,
        }
    }

    /// Checks the reason against the row; `Err` carries why it does not permit the open.
    pub(crate) fn permits(&self, binding: &RowBinding) -> Result<(), &'static str> {
        match self {
            OpenReason::ParticipantRead {
                reader: member,
                participants,
            }
            | OpenReason::SelfAccess {
                member,
                participants,
            } => {
                if binding.kind == ContentKind::PrivateNote {
                    if *member != binding.author {
                        return Err("a private note opens only for its author");
                    }
                    return Ok(());
                }
                if !participants.contains(member) {
                    return Err("the member is not a participant of the conversation");
                }
                Ok(())
            }
            OpenReason::ReportReview(grant) => {
                if grant.purpose != GrantPurpose::ReportReview {
                    return Err("the grant is not for report review");
                }
                if grant.approvals < 1 {
                    return Err("the grant has no approval");
                }
                if !grant.covers(binding.kind, binding.item_id) {
                    return Err("the item is outside the grant's scope");
                }
                Ok(())
            }
            OpenReason::SecurityInvestigation(grant) => {
                if grant.purpose != GrantPurpose::SecurityInvestigation {
                    return Err("the grant is not for a security investigation");
                }
                if grant.approvals < 2 {
                    return Err("a security investigation needs two approvers");
                }
                if !grant.covers(binding.kind, binding.item_id) {
                    return Err("the item is outside the grant's scope");
                }
                Ok(())
            }
        }
    }
}
