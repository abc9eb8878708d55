//! Cases, grants and decisions: a reviewer requests a grant with a justification, an approver
//! who is not the requester approves (two distinct approvers for a security investigation),
//! the requester opens only what the scope covers until expiry — each open ledgered in the same
//! transaction — and records a decision that closes the case and ends its grants.

use steward_store::{Row, Store, Tx};

use super::messaging::{REMOVED, participants};
use super::staff::{StaffMember, StaffRole, staff_by_id, staff_named};
use super::{Safety, SafetyError, subjects};
use crate::envelope::{ContentKind, Plaintext};
use crate::reason::{GrantHandle, GrantPurpose};
use crate::store::{Access, open_stored};

/// The ledger action of a refused or failed attempt to open content under a grant.
pub const OPEN_ATTEMPT: &str = "content.open_attempt";

/// Where a case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseStatus {
    /// Reported, nobody has asked to look yet.
    Open,
    /// A grant was requested.
    InReview,
    /// A decision was recorded; closed.
    Decided,
}

impl CaseStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::InReview => "in_review",
            CaseStatus::Decided => "decided",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<CaseStatus, SafetyError> {
        match s {
            "open" => Ok(CaseStatus::Open),
            "in_review" => Ok(CaseStatus::InReview),
            "decided" => Ok(CaseStatus::Decided),
            other => Err(SafetyError::Invalid(format!(
                "unknown case status `{other}`; expected open, in_review or decided"
            ))),
        }
    }
}

/// A reviewer's decision on a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseDecision {
    /// Nothing wrong.
    NoViolation,
    /// The author is warned.
    Warn,
    /// The reported message is removed (hidden from every participant).
    RemoveMessage,
    /// The author's account is restricted.
    RestrictAccount,
}

impl CaseDecision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseDecision::NoViolation => "no_violation",
            CaseDecision::Warn => "warn",
            CaseDecision::RemoveMessage => "remove_message",
            CaseDecision::RestrictAccount => "restrict_account",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<CaseDecision, SafetyError> {
        match s {
            "no_violation" => Ok(CaseDecision::NoViolation),
            "warn" => Ok(CaseDecision::Warn),
            "remove_message" => Ok(CaseDecision::RemoveMessage),
            "restrict_account" => Ok(CaseDecision::RestrictAccount),
            other => Err(SafetyError::Invalid(format!(
                "unknown decision `{other}`; expected no_violation, warn, remove_message or restrict_account"
            ))),
        }
    }
}

/// Where a grant is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantStatus {
    /// Waiting for approval(s).
    Pending,
    /// Approved; usable until `expires_at_ms`.
    Active,
    /// Ended by the case's decision.
    Ended,
}

impl GrantStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Pending => "pending",
            GrantStatus::Active => "active",
            GrantStatus::Ended => "ended",
        }
    }

    fn parse(s: &str) -> Result<GrantStatus, SafetyError> {
        match s {
            "pending" => Ok(GrantStatus::Pending),
            "active" => Ok(GrantStatus::Active),
            "ended" => Ok(GrantStatus::Ended),
            other => Err(SafetyError::Invalid(format!(
                "unknown grant status `{other}`"
            ))),
        }
    }
}

fn purpose_name(p: GrantPurpose) -> &'static str {
    match p {
        GrantPurpose::ReportReview => "safety.report_review",
        GrantPurpose::SecurityInvestigation => "security.investigation",
    }
}

/// Parses `safety.report_review` or `security.investigation`.
pub fn parse_purpose(s: &str) -> Result<GrantPurpose, SafetyError> {
    match s {
        "safety.report_review" | "report_review" => Ok(GrantPurpose::ReportReview),
        "security.investigation" | "investigation" => Ok(GrantPurpose::SecurityInvestigation),
        other => Err(SafetyError::Invalid(format!(
            "unknown grant purpose `{other}`; expected safety.report_review or security.investigation"
        ))),
    }
}

fn approvals_needed(p: GrantPurpose) -> usize {
    match p {
        GrantPurpose::ReportReview => 1,
        GrantPurpose::SecurityInvestigation => 2,
    }
}

/// One item a grant covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScopeItem {
    /// `Message` or `Attachment`.
    pub kind: ContentKind,
    /// Its id.
    pub item_id: i64,
}

fn kind_name(kind: ContentKind) -> Result<&'static str, SafetyError> {
    match kind {
        ContentKind::Message => Ok("message"),
        ContentKind::Attachment => Ok("attachment"),
        _ => Err(SafetyError::Invalid(
            "grants cover messages and attachments only".to_owned(),
        )),
    }
}

fn kind_table(kind: ContentKind) -> Result<&'static str, SafetyError> {
    match kind {
        ContentKind::Message => Ok("messages"),
        ContentKind::Attachment => Ok("attachments"),
        _ => Err(SafetyError::Invalid(
            "grants cover messages and attachments only".to_owned(),
        )),
    }
}

fn parse_kind(s: &str) -> Result<ContentKind, SafetyError> {
    match s {
        "message" => Ok(ContentKind::Message),
        "attachment" => Ok(ContentKind::Attachment),
        other => Err(SafetyError::Invalid(format!("unknown item kind `{other}`"))),
    }
}

/// What a reviewer asks for.
#[derive(Clone, Copy, Debug)]
pub struct GrantRequest<'a> {
    /// Report review, or a security investigation (two approvers).
    pub purpose: GrantPurpose,
    /// Why, in the reviewer's words (required; recorded in the ledger).
    pub justification: &'a str,
    /// How long the grant lasts once approved; `None` takes the configured default.
    pub duration_ms: Option<i64>,
}

/// A grant as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Its id.
    pub grant_id: i64,
    /// The case it is for.
    pub case_id: i64,
    /// What for.
    pub purpose: GrantPurpose,
    /// The requesting staff member's name.
    pub requester: String,
    /// The requester's justification.
    pub justification: String,
    /// When it was requested.
    pub requested_at_ms: i64,
    /// How long it lasts once approved.
    pub duration_ms: i64,
    /// Distinct approvers it needs (1, or 2 for an investigation).
    pub approvals_needed: usize,
    /// The approvers' names, in approval order.
    pub approvers: Vec<String>,
    /// Where it is.
    pub status: GrantStatus,
    /// When the last needed approval came.
    pub approved_at_ms: Option<i64>,
    /// When it stops working.
    pub expires_at_ms: Option<i64>,
    /// When it was ended.
    pub ended_at_ms: Option<i64>,
    /// What it covers.
    pub scope: Vec<ScopeItem>,
}

impl Grant {
    /// The taxonomy purpose name.
    pub fn purpose_name(&self) -> &'static str {
        purpose_name(self.purpose)
    }

    /// Whether the reviewer could open under it at `at_ms` (approved, not ended, not expired).
    pub fn is_usable_at(&self, at_ms: i64) -> bool {
        self.status == GrantStatus::Active && self.expires_at_ms.is_some_and(|e| at_ms < e)
    }
}

/// A case and its report, without content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseSummary {
    /// The case.
    pub case_id: i64,
    /// Its report.
    pub report_id: i64,
    /// The reported member (the message's author).
    pub member_id: i64,
    /// Where it is.
    pub status: CaseStatus,
    /// The decision, once decided.
    pub decision: Option<CaseDecision>,
    /// When it was opened.
    pub opened_at_ms: i64,
    /// When it was closed.
    pub closed_at_ms: Option<i64>,
    /// The reported message.
    pub message_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// The reporter's reason (their words, not message content).
    pub reason: String,
    /// The reported message's stored verdict.
    pub verdict: Option<String>,
}

/// A recorded decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The case.
    pub case_id: i64,
    /// What was decided.
    pub decision: CaseDecision,
    /// Who decided.
    pub decided_by: String,
    /// The grant the decider held, if any.
    pub grant_id: Option<i64>,
    /// The decider's note.
    pub note: String,
    /// When.
    pub decided_at_ms: i64,
    /// The ledger entry (present when just recorded).
    pub ledger_seq: Option<u64>,
}

/// A case with its grants and decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseSummary,
    /// Its grants, oldest first.
    pub grants: Vec<Grant>,
    /// Its decision.
    pub decision: Option<DecisionRecord>,
}

/// One item opened under a grant, and the ledger entry that records it.
#[derive(Debug)]
pub struct OpenedItem {
    /// What was opened.
    pub item: ScopeItem,
    /// Its author.
    pub author_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// The content (wiped on drop).
    pub plaintext: Plaintext,
    /// The ledger entry written in the same transaction.
    pub ledger_seq: u64,
}

const CASE_COLUMNS: &str = "c.case_id, c.report_id, c.member_id, c.status, c.decision, \
    c.opened_at, c.closed_at, r.target_id, m.conversation_id, r.reason, m.verdict";
const CASE_FROM: &str = "FROM cases c JOIN reports r ON r.report_id = c.report_id \
    JOIN messages m ON m.message_id = r.target_id AND r.target_kind = 'message'";

fn case_from_row(row: &Row) -> Result<CaseSummary, SafetyError> {
    Ok(CaseSummary {
        case_id: row.i64(0)?,
        report_id: row.i64(1)?,
        member_id: row.i64(2)?,
        status: CaseStatus::parse(&row.text(3)?)?,
        decision: row
            .opt_text(4)?
            .map(|d| CaseDecision::parse(&d))
            .transpose()?,
        opened_at_ms: row.i64(5)?,
        closed_at_ms: row.opt_i64(6)?,
        message_id: row.i64(7)?,
        conversation_id: row.i64(8)?,
        reason: row.text(9)?,
        verdict: row.opt_text(10)?,
    })
}

/// Cases about reported messages, newest first, optionally of one status.
pub fn list_cases(
    tx: &mut Tx<'_>,
    status: Option<CaseStatus>,
) -> Result<Vec<CaseSummary>, SafetyError> {
    list_recent_cases(tx, status, i64::MAX)
}

/// The newest `limit` cases (optionally of one status), newest first: a queue listing whose
/// cost does not grow with the number of cases ever opened.
pub fn list_recent_cases(
    tx: &mut Tx<'_>,
    status: Option<CaseStatus>,
    limit: i64,
) -> Result<Vec<CaseSummary>, SafetyError> {
    let rows = match status {
        Some(s) => tx.query(
            &format!(
                "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.status = $1 ORDER BY c.case_id DESC LIMIT $2"
            ),
            &[s.as_str().into(), limit.into()],
        )?,
        None => tx.query(
            &format!("SELECT {CASE_COLUMNS} {CASE_FROM} ORDER BY c.case_id DESC LIMIT $1"),
            &[limit.into()],
        )?,
    };
    rows.iter().map(case_from_row).collect()
}

fn case_summary(tx: &mut Tx<'_>, case_id: i64) -> Result<CaseSummary, SafetyError> {
    let row = tx
        .query_opt(
            &format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.case_id = $1"),
            &[case_id.into()],
        )?
        .ok_or_else(|| SafetyError::not_found(format!("case `{case_id}`")))?;
    case_from_row(&row)
}

/// A case, its grants and its decision.
pub fn case_detail(tx: &mut Tx<'_>, case_id: i64) -> Result<CaseDetail, SafetyError> {
    let case = case_summary(tx, case_id)?;
    let ids = tx
        .query(
            "SELECT grant_id FROM safety_grants WHERE case_id = $1 ORDER BY grant_id",
            &[case_id.into()],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<Vec<_>, _>>()?;
    let grants = ids
        .into_iter()
        .map(|id| grant(tx, id))
        .collect::<Result<Vec<_>, _>>()?;
    let decision = match tx.query_opt(
        "SELECT decision, decided_by, grant_id, note, decided_at FROM safety_case_decisions \
         WHERE case_id = $1",
        &[case_id.into()],
    )? {
        Some(row) => Some(DecisionRecord {
            case_id,
            decision: CaseDecision::parse(&row.text(0)?)?,
            decided_by: staff_by_id(tx, row.i64(1)?)?.name,
            grant_id: row.opt_i64(2)?,
            note: row.text(3)?,
            decided_at_ms: row.i64(4)?,
            ledger_seq: None,
        }),
        None => None,
    };
    Ok(CaseDetail {
        case,
        grants,
        decision,
    })
}

/// A grant, or `safety.no_grant`.
pub fn grant(tx: &mut Tx<'_>, grant_id: i64) -> Result<Grant, SafetyError> {
    let row = tx
        .query_opt(
            "SELECT case_id, purpose, requester_id, justification, requested_at, duration_ms, \
             approvals_needed, status, approved_at, expires_at, ended_at \
             FROM safety_grants WHERE grant_id = $1",
            &[grant_id.into()],
        )?
        .ok_or(SafetyError::NoGrant { grant: grant_id })?;
    let requester = staff_by_id(tx, row.i64(2)?)?.name;
    let approvers = tx
        .query(
            "SELECT s.name FROM safety_grant_approvals a JOIN staff s ON s.staff_id = a.approver_id \
             WHERE a.grant_id = $1 ORDER BY a.approved_at, s.name",
            &[grant_id.into()],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut scope = tx
        .query(
            "SELECT item_kind, item_id FROM safety_grant_scope WHERE grant_id = $1",
            &[grant_id.into()],
        )?
        .iter()
        .map(|r| {
            Ok(ScopeItem {
                kind: parse_kind(&r.text(0)?)?,
                item_id: r.i64(1)?,
            })
        })
        .collect::<Result<Vec<_>, SafetyError>>()?;
    scope.sort_unstable();
    Ok(Grant {
        grant_id,
        case_id: row.i64(0)?,
        purpose: parse_purpose(&row.text(1)?)?,
        requester,
        justification: row.text(3)?,
        requested_at_ms: row.i64(4)?,
        duration_ms: row.i64(5)?,
        approvals_needed: usize::try_from(row.i64(6)?).unwrap_or(usize::MAX),
        approvers,
        status: GrantStatus::parse(&row.text(7)?)?,
        approved_at_ms: row.opt_i64(8)?,
        expires_at_ms: row.opt_i64(9)?,
        ended_at_ms: row.opt_i64(10)?,
        scope,
    })
}

/// The staff member `name` holding one of `roles` (the first is named in the error).
fn staff_with(
    tx: &mut Tx<'_>,
    name: &str,
    roles: &[StaffRole],
) -> Result<StaffMember, SafetyError> {
    let staff = staff_named(tx, name)?;
    if roles.iter().any(|r| staff.has(*r)) {
        return Ok(staff);
    }
    Err(SafetyError::NotStaffRole {
        name: staff.name,
        role: roles.first().map_or("reviewer", |r| r.as_str()),
    })
}

fn requester_roles(purpose: GrantPurpose) -> &'static [StaffRole] {
    match purpose {
        GrantPurpose::ReportReview => &[StaffRole::Reviewer],
        GrantPurpose::SecurityInvestigation => &[StaffRole::Reviewer, StaffRole::Engineer],
    }
}

/// The reported message's scope: itself, up to `context` messages before it in the same
/// conversation, and their attachments.
fn compute_scope(
    tx: &mut Tx<'_>,
    message_id: i64,
    context: usize,
) -> Result<Vec<ScopeItem>, SafetyError> {
    let row = tx
        .query_opt(
            "SELECT conversation_id, sent_at FROM messages WHERE message_id = $1",
            &[message_id.into()],
        )?
        .ok_or_else(|| SafetyError::not_found(format!("message `{message_id}`")))?;
    let conversation = row.i64(0)?;
    let sent_at = row.i64(1)?;
    let mut messages = vec![message_id];
    if context > 0 {
        let limit = i64::try_from(context).unwrap_or(i64::MAX);
        let before = tx.query(
            "SELECT message_id FROM messages WHERE conversation_id = $1 \
             AND (sent_at < $2 OR (sent_at = $2 AND message_id < $3)) \
             ORDER BY sent_at DESC, message_id DESC LIMIT $4",
            &[
                conversation.into(),
                sent_at.into(),
                message_id.into(),
                limit.into(),
            ],
        )?;
        for r in &before {
            messages.push(r.i64(0)?);
        }
    }
    let mut scope: Vec<ScopeItem> = messages
        .iter()
        .map(|id| ScopeItem {
            kind: ContentKind::Message,
            item_id: *id,
        })
        .collect();
    for id in &messages {
        for r in &tx.query(
            "SELECT attachment_id FROM attachments WHERE message_id = $1",
            &[(*id).into()],
        )? {
            scope.push(ScopeItem {
                kind: ContentKind::Attachment,
                item_id: r.i64(0)?,
            });
        }
    }
    scope.sort_unstable();
    Ok(scope)
}

impl Safety<'_> {
    /// `reviewer` (role `reviewer`; or `engineer` for an investigation) requests a grant on
    /// `case_id`. The scope is fixed now: the reported message, up to
    /// [`super::SafetyConfig::context_messages`] preceding messages of its conversation and
    /// their attachments. Refused above the configured maximum duration, on a decided case,
    /// or without a justification. Ledgered (subjects: the conversation's participants).
    pub fn request_grant(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        case_id: i64,
        request: &GrantRequest<'_>,
        at_ms: i64,
    ) -> Result<Grant, SafetyError> {
        let staff = staff_with(tx, reviewer, requester_roles(request.purpose))?;
        let justification = request.justification.trim();
        if justification.is_empty() || justification.len() > 2_000 {
            return Err(SafetyError::Invalid(
                "a grant request needs a justification of 1 to 2000 bytes".to_owned(),
            ));
        }
        let duration = request.duration_ms.unwrap_or(self.config.default_grant_ms);
        if duration <= 0 {
            return Err(SafetyError::Invalid(
                "a grant's duration must be positive".to_owned(),
            ));
        }
        if duration > self.config.max_grant_ms {
            return Err(SafetyError::DurationTooLong {
                requested_ms: duration,
                max_ms: self.config.max_grant_ms,
            });
        }
        let case = case_summary(tx, case_id)?;
        if case.status == CaseStatus::Decided {
            return Err(SafetyError::CaseClosed { case: case_id });
        }
        let scope = compute_scope(tx, case.message_id, self.config.context_messages)?;
        let grant_id = tx.next_id("safety_grants", "grant_id")?;
        let needed = approvals_needed(request.purpose);
        tx.execute(
            "INSERT INTO safety_grants (grant_id, case_id, purpose, requester_id, justification, \
             requested_at, duration_ms, approvals_needed, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')",
            &[
                grant_id.into(),
                case_id.into(),
                purpose_name(request.purpose).into(),
                staff.staff_id.into(),
                justification.into(),
                at_ms.into(),
                duration.into(),
                i64::try_from(needed).unwrap_or(2).into(),
            ],
        )?;
        for item in &scope {
            tx.execute(
                "INSERT INTO safety_grant_scope (grant_id, item_kind, item_id) VALUES ($1, $2, $3)",
                &[
                    grant_id.into(),
                    kind_name(item.kind)?.into(),
                    item.item_id.into(),
                ],
            )?;
        }
        tx.execute(
            "UPDATE cases SET status = 'in_review' WHERE case_id = $1 AND status = 'open'",
            &[case_id.into()],
        )?;
        tx.execute(
            "UPDATE reports SET status = 'in_review' WHERE report_id = $1 AND status = 'open'",
            &[case.report_id.into()],
        )?;
        let members = participants(tx, case.conversation_id)?;
        let mut entry = self.entry(
            at_ms,
            staff.actor(),
            "reviewer",
            purpose_name(request.purpose),
            "grant.request",
        );
        entry.subjects = subjects(&members);
        entry.justification = justification.to_owned();
        entry.reference = format!("grant:{grant_id}");
        entry.details = format!(
            "case {case_id}; scope {} items; duration {duration} ms",
            scope.len()
        );
        self.append(tx, entry)?;
        grant(tx, grant_id)
    }

    /// `approver` (role `approver`, not the requester, not already an approver of it) approves
    /// `grant_id`. With the last needed approval the grant becomes active until
    /// `at_ms + duration`. Ledgered.
    pub fn approve_grant(
        &self,
        tx: &mut Tx<'_>,
        approver: &str,
        grant_id: i64,
        at_ms: i64,
    ) -> Result<Grant, SafetyError> {
        let staff = staff_with(tx, approver, &[StaffRole::Approver])?;
        let g = grant(tx, grant_id)?;
        if g.requester == staff.name {
            return Err(SafetyError::SelfApproval {
                name: staff.name,
                grant: grant_id,
            });
        }
        let case = case_summary(tx, g.case_id)?;
        if case.status == CaseStatus::Decided {
            return Err(SafetyError::CaseClosed { case: g.case_id });
        }
        if g.approvers.contains(&staff.name) {
            return Err(SafetyError::AlreadyApproved {
                name: staff.name,
                grant: grant_id,
            });
        }
        if g.status != GrantStatus::Pending {
            return Err(SafetyError::GrantNotPending { grant: grant_id });
        }
        tx.execute(
            "INSERT INTO safety_grant_approvals (grant_id, approver_id, approved_at) \
             VALUES ($1, $2, $3)",
            &[grant_id.into(), staff.staff_id.into(), at_ms.into()],
        )?;
        let approvals = g.approvers.len() + 1;
        if approvals >= g.approvals_needed {
            tx.execute(
                "UPDATE safety_grants SET status = 'active', approved_at = $2, expires_at = $3 \
                 WHERE grant_id = $1",
                &[
                    grant_id.into(),
                    at_ms.into(),
                    at_ms.saturating_add(g.duration_ms).into(),
                ],
            )?;
        }
        let members = participants(tx, case.conversation_id)?;
        let mut entry = self.entry(
            at_ms,
            staff.actor(),
            "approver",
            purpose_name(g.purpose),
            "grant.approve",
        );
        entry.subjects = subjects(&members);
        entry.reference = format!("grant:{grant_id}");
        entry.details = format!(
            "case {}; approval {approvals} of {}",
            g.case_id, g.approvals_needed
        );
        self.append(tx, entry)?;
        grant(tx, grant_id)
    }

    /// Checks that `reviewer` may open under `grant_id` at `at_ms` and returns the grant with
    /// its validated handle. Refusals, in order: unknown staff, no grant, another reviewer's
    /// grant, missing role, decided case, ended grant, missing approval(s), expiry.
    fn usable_grant(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        grant_id: i64,
        at_ms: i64,
    ) -> Result<(StaffMember, Grant, GrantHandle), SafetyError> {
        let staff = staff_named(tx, reviewer)?;
        let g = grant(tx, grant_id)?;
        if g.requester != staff.name {
            return Err(SafetyError::NotGrantHolder { grant: grant_id });
        }
        let roles = requester_roles(g.purpose);
        if !roles.iter().any(|r| staff.has(*r)) {
            return Err(SafetyError::NotStaffRole {
                name: staff.name,
                role: roles.first().map_or("reviewer", |r| r.as_str()),
            });
        }
        let case = case_summary(tx, g.case_id)?;
        if case.status == CaseStatus::Decided {
            return Err(SafetyError::CaseClosed { case: g.case_id });
        }
        match g.status {
            GrantStatus::Ended => return Err(SafetyError::GrantEnded { grant: grant_id }),
            GrantStatus::Pending if g.approvers.is_empty() => {
                return Err(SafetyError::NotApproved { grant: grant_id });
            }
            GrantStatus::Pending => {
                return Err(SafetyError::NeedsSecondApprover { grant: grant_id });
            }
            GrantStatus::Active => {}
        }
        let expires = g.expires_at_ms.unwrap_or(i64::MIN);
        if at_ms >= expires {
            return Err(SafetyError::GrantExpired {
                grant: grant_id,
                expired_at_ms: expires,
            });
        }
        // Approvers are distinct and never the requester (checked at approval); count them
        // again from the store rather than trusting the status column.
        let approvals = g.approvers.iter().filter(|a| **a != g.requester).count();
        let handle = GrantHandle::validated(
            grant_id,
            g.purpose,
            approvals,
            g.scope.iter().map(|s| (s.kind, s.item_id)),
        );
        Ok((staff, g, handle))
    }

    /// `reviewer` opens one item under `grant_id` at `at_ms`: only the grant's requester, only
    /// an item in its scope, only while it is approved, unexpired and its case open. The open
    /// goes through [`open_stored`] and its ledger entry (purpose, grant, item, actor
    /// `staff:NAME`, subjects: the conversation's participants; no content) is written in the
    /// same transaction. A tampered or swapped row fails with `vault.aead_failure` and returns
    /// nothing; an erased author's content with `vault.member_shredded`.
    pub fn open_under_grant(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        grant_id: i64,
        kind: ContentKind,
        item_id: i64,
        at_ms: i64,
    ) -> Result<OpenedItem, SafetyError> {
        let (staff, g, handle) = self.usable_grant(tx, reviewer, grant_id, at_ms)?;
        self.open_one(tx, &staff, &g, &handle, kind, item_id, at_ms)
    }

    /// Opens every item of the grant's scope (oldest message first), each checked and ledgered
    /// as [`Safety::open_under_grant`] does, all in the caller's transaction.
    pub fn open_grant_scope(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        grant_id: i64,
        at_ms: i64,
    ) -> Result<Vec<OpenedItem>, SafetyError> {
        let (staff, g, handle) = self.usable_grant(tx, reviewer, grant_id, at_ms)?;
        let mut out = Vec::with_capacity(g.scope.len());
        for item in &g.scope {
            out.push(self.open_one(tx, &staff, &g, &handle, item.kind, item.item_id, at_ms)?);
        }
        Ok(out)
    }

    /// Opens under `grant_id` in a transaction of `store` — one item (`Some((kind, id))`, as
    /// [`Safety::open_under_grant`]) or the whole scope (`None`, as
    /// [`Safety::open_grant_scope`]) — and records a failed attempt too: when the open is
    /// refused (another reviewer, out of scope, expired, ended, unapproved, closed case) or the
    /// content fails to open (`vault.aead_failure`, `vault.member_shredded`), its transaction
    /// rolls back and the attempt is ledgered in a transaction of its own
    /// ([`Safety::record_failed_open`]); then the error is returned. Only internal store or
    /// ledger failures are returned without an entry. This is the entry point for callers that
    /// own the transaction boundary (CLI, server).
    pub fn open_recorded(
        &self,
        store: &Store,
        reviewer: &str,
        grant_id: i64,
        item: Option<(ContentKind, i64)>,
        at_ms: i64,
    ) -> Result<Vec<OpenedItem>, SafetyError> {
        let result = store.transaction(|tx| match item {
            Some((kind, id)) => self
                .open_under_grant(tx, reviewer, grant_id, kind, id, at_ms)
                .map(|o| vec![o]),
            None => self.open_grant_scope(tx, reviewer, grant_id, at_ms),
        });
        match result {
            Ok(items) => Ok(items),
            Err(e @ (SafetyError::Store(_) | SafetyError::Ledger(_))) => Err(e),
            Err(e) => {
                store.transaction(|tx| {
                    self.record_failed_open(tx, reviewer, grant_id, item, &e, at_ms)
                })?;
                Err(e)
            }
        }
    }

    /// Appends the ledger entry of a failed attempt to open under `grant_id`: action
    /// [`OPEN_ATTEMPT`] (a permitted open is `content.open`), outcome `denied` (a check
    /// refused) or `failed` (the vault could not open the content: AEAD failure, shredded
    /// author), actor `staff:NAME` (`staff:?` if the name is no staff member's: arbitrary input
    /// is never written), reference `grant:ID`, details the case, the item and the error code,
    /// subjects the participants of the grant's case conversation and of the item's
    /// conversation. No content, no justification. Call it in a transaction of its own: the
    /// failed open's transaction rolls back.
    pub fn record_failed_open(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        grant_id: i64,
        item: Option<(ContentKind, i64)>,
        error: &SafetyError,
        at_ms: i64,
    ) -> Result<u64, SafetyError> {
        let g = match grant(tx, grant_id) {
            Ok(g) => Some(g),
            Err(SafetyError::NoGrant { .. } | SafetyError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut members = Vec::new();
        let mut case_note = String::new();
        if let Some(g) = &g {
            case_note = format!("case {}; ", g.case_id);
            if let Ok(case) = case_summary(tx, g.case_id) {
                members.extend(participants(tx, case.conversation_id)?);
            }
        }
        let target = match item {
            Some((kind, id)) => {
                if let Some(conversation) = item_conversation(tx, kind, id)? {
                    members.extend(participants(tx, conversation)?);
                }
                format!("{} {id}", kind_name(kind).unwrap_or("item"))
            }
            None => "scope".to_owned(),
        };
        members.sort_unstable();
        members.dedup();
        let actor = if staff_named(tx, reviewer).is_ok() {
            format!("staff:{reviewer}")
        } else {
            "staff:?".to_owned()
        };
        let purpose = g
            .as_ref()
            .map_or("safety.report_review", |g| purpose_name(g.purpose));
        let mut entry = self.entry(at_ms, actor, "reviewer", purpose, OPEN_ATTEMPT);
        // A safety check said no (`denied`), or the vault could not open the content (`failed`).
        entry.outcome = match error {
            SafetyError::Vault(_) => "failed",
            _ => "denied",
        }
        .to_owned();
        entry.subjects = subjects(&members);
        entry.reference = format!("grant:{grant_id}");
        entry.details = format!("{case_note}{target}; refused: {}", error.code());
        self.append(tx, entry)
    }

    #[expect(clippy::too_many_arguments, reason = "internal, all checked values")]
    fn open_one(
        &self,
        tx: &mut Tx<'_>,
        staff: &StaffMember,
        g: &Grant,
        handle: &GrantHandle,
        kind: ContentKind,
        item_id: i64,
        at_ms: i64,
    ) -> Result<OpenedItem, SafetyError> {
        let kind_label = kind_name(kind)?;
        if !handle.covers(kind, item_id) {
            return Err(SafetyError::OutOfScope {
                grant: g.grant_id,
                kind: kind_label,
                item: item_id,
            });
        }
        let access = match g.purpose {
            GrantPurpose::ReportReview => Access::ReportReview(handle),
            GrantPurpose::SecurityInvestigation => Access::SecurityInvestigation(handle),
        };
        let opened = open_stored(self.vault, tx, access, kind_table(kind)?, item_id)?;
        let conversation = opened.access.conversation_id.ok_or_else(|| {
            SafetyError::Invalid("an item under review has no conversation".to_owned())
        })?;
        let mut members = participants(tx, conversation)?;
        members.push(opened.access.author);
        let mut entry = self.entry(
            at_ms,
            staff.actor(),
            "reviewer",
            opened.access.purpose,
            "content.open",
        );
        entry.subjects = subjects(&members);
        entry.categories = vec![format!("member.content.{kind_label}")];
        entry.justification = g.justification.clone();
        entry.reference = format!("grant:{}", g.grant_id);
        entry.details = format!("case {}; {kind_label} {item_id}", g.case_id);
        let ledger_seq = self.append(tx, entry)?;
        Ok(OpenedItem {
            item: ScopeItem { kind, item_id },
            author_id: opened.access.author,
            conversation_id: conversation,
            plaintext: opened.plaintext,
            ledger_seq,
        })
    }

    /// `reviewer` records `decision` on `case_id`: the case closes (`decided`), its report
    /// closes, every grant on it ends. If the case has grants, only a reviewer who requested
    /// one of them may decide. `remove_message` hides the reported message from everyone;
    /// `restrict_account` records a restriction of its author. Ledgered.
    pub fn decide_case(
        &self,
        tx: &mut Tx<'_>,
        reviewer: &str,
        case_id: i64,
        decision: CaseDecision,
        note: &str,
        at_ms: i64,
    ) -> Result<DecisionRecord, SafetyError> {
        let staff = staff_with(tx, reviewer, &[StaffRole::Reviewer])?;
        let detail = case_detail(tx, case_id)?;
        if detail.case.status == CaseStatus::Decided {
            return Err(SafetyError::CaseClosed { case: case_id });
        }
        let held = detail
            .grants
            .iter()
            .rev()
            .find(|g| g.requester == staff.name)
            .map(|g| g.grant_id);
        if !detail.grants.is_empty() && held.is_none() {
            let grant = detail.grants.last().map_or(0, |g| g.grant_id);
            return Err(SafetyError::NotGrantHolder { grant });
        }
        let note = note.trim();
        if note.len() > 2_000 {
            return Err(SafetyError::Invalid(
                "a decision note is at most 2000 bytes".to_owned(),
            ));
        }
        let case = &detail.case;
        tx.execute(
            "INSERT INTO safety_case_decisions (case_id, decision, decided_by, grant_id, note, \
             decided_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                case_id.into(),
                decision.as_str().into(),
                staff.staff_id.into(),
                held.into(),
                note.into(),
                at_ms.into(),
            ],
        )?;
        tx.execute(
            "UPDATE cases SET status = 'decided', decision = $2, closed_at = $3 WHERE case_id = $1",
            &[case_id.into(), decision.as_str().into(), at_ms.into()],
        )?;
        tx.execute(
            "UPDATE reports SET status = 'closed' WHERE report_id = $1",
            &[case.report_id.into()],
        )?;
        tx.execute(
            "UPDATE safety_grants SET status = 'ended', ended_at = $2 \
             WHERE case_id = $1 AND status <> 'ended'",
            &[case_id.into(), at_ms.into()],
        )?;
        match decision {
            CaseDecision::RemoveMessage => {
                tx.execute(
                    "UPDATE messages SET verdict = $2, verdict_rule = $3 WHERE message_id = $1",
                    &[
                        case.message_id.into(),
                        REMOVED.into(),
                        format!("case:{case_id}").into(),
                    ],
                )?;
            }
            CaseDecision::RestrictAccount => {
                tx.execute(
                    "INSERT INTO safety_restrictions (member_id, case_id, restricted_at) \
                     VALUES ($1, $2, $3)",
                    &[case.member_id.into(), case_id.into(), at_ms.into()],
                )?;
            }
            CaseDecision::NoViolation | CaseDecision::Warn => {}
        }
        let members = participants(tx, case.conversation_id)?;
        let purpose = detail
            .grants
            .iter()
            .find(|g| Some(g.grant_id) == held)
            .map_or("safety.report_review", Grant::purpose_name);
        let mut entry = self.entry(at_ms, staff.actor(), "reviewer", purpose, "case.decide");
        entry.subjects = subjects(&members);
        entry.reference = format!("case:{case_id}");
        entry.details = format!(
            "decision {}{}",
            decision.as_str(),
            held.map(|g| format!("; grant {g} ended"))
                .unwrap_or_default()
        );
        let ledger_seq = self.append(tx, entry)?;
        Ok(DecisionRecord {
            case_id,
            decision,
            decided_by: staff.name,
            grant_id: held,
            note: note.to_owned(),
            decided_at_ms: at_ms,
            ledger_seq: Some(ledger_seq),
        })
    }
}

/// Whether `member` is restricted by any decided case.
pub fn is_restricted(tx: &mut Tx<'_>, member: i64) -> Result<bool, SafetyError> {
    Ok(tx.query_i64(
        "SELECT COUNT(*) FROM safety_restrictions WHERE member_id = $1",
        &[member.into()],
    )? > 0)
}

/// The conversation of a message or attachment, if it exists.
fn item_conversation(
    tx: &mut Tx<'_>,
    kind: ContentKind,
    item_id: i64,
) -> Result<Option<i64>, SafetyError> {
    let sql = match kind {
        ContentKind::Message => "SELECT conversation_id FROM messages WHERE message_id = $1",
        ContentKind::Attachment => {
            "SELECT m.conversation_id FROM attachments a \
             JOIN messages m ON m.message_id = a.message_id WHERE a.attachment_id = $1"
        }
        _ => return Ok(None),
    };
    Ok(match tx.query_opt(sql, &[item_id.into()])? {
        Some(row) => Some(row.i64(0)?),
        None => None,
    })
}
