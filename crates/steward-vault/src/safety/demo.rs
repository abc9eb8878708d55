//! One reported message through the whole review flow, for `steward demo` and the docs: two
//! members talk, one reports a message, a reviewer asks for a grant, an approver approves, the
//! reviewer opens what the scope covers and decides. Each step is its own transaction, as in
//! production.

use steward_store::Store;

use super::cases::{CaseDecision, GrantRequest, GrantStatus};
use super::staff::{StaffRole, add_staff};
use super::{Safety, SafetyError};
use crate::reason::GrantPurpose;

/// The reviewer the demo acts as.
pub const DEMO_REVIEWER: &str = "rita.reviewer";
/// The approver the demo acts as.
pub const DEMO_APPROVER: &str = "alex.approver";

const DEMO_MESSAGES: [&str; 4] = [
    "Hi! Thanks for connecting — are you open to a senior data role?",
    "Happy to chat. What does the team work on?",
    "Mostly pipelines. Before we go on, please confirm your details here.",
    "URGENT: verify your account at http://paypa1-account-verify.com/login or lose access",
];

/// What the demo did: ids, verdicts, ledger sequence numbers — never content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoReview {
    /// The conversation it created.
    pub conversation_id: i64,
    /// The sender (and later reported member).
    pub sender: i64,
    /// The recipient (and reporter).
    pub recipient: i64,
    /// The messages sent, oldest first, with their stored verdicts.
    pub messages: Vec<(i64, &'static str)>,
    /// Whether the recipient sees the reported message withheld with a warning.
    pub recipient_sees_warning: bool,
    /// The case the report opened.
    pub case_id: i64,
    /// The grant.
    pub grant_id: i64,
    /// The grant's status after approval.
    pub grant_status_after_approval: GrantStatus,
    /// The reviewer and approver names.
    pub reviewer: &'static str,
    /// The approver's name.
    pub approver: &'static str,
    /// Items opened under the grant, each with its ledger entry.
    pub opened: Vec<(&'static str, i64, u64)>,
    /// The decision recorded.
    pub decision: CaseDecision,
    /// Every ledger entry the flow wrote, in order.
    pub ledger_seqs: Vec<u64>,
}

impl Safety<'_> {
    /// Runs a reported message through a grant on `store` at `at_ms`: `sender` writes to
    /// `recipient` (a phishing message last), `recipient` reports it, staff
    /// [`DEMO_REVIEWER`] and [`DEMO_APPROVER`] are created if needed, the reviewer requests a
    /// report-review grant, the approver approves, the reviewer opens the scope (ledgered,
    /// visible in both members' access history) and decides `remove_message`.
    pub fn demo_review(
        &self,
        store: &Store,
        sender: i64,
        recipient: i64,
        at_ms: i64,
    ) -> Result<DemoReview, SafetyError> {
        let mut t = at_ms;
        let mut tick = || {
            t += 1_000;
            t
        };
        let conversation =
            store.transaction(|tx| self.start_conversation(tx, sender, &[recipient], at_ms))?;
        let mut messages = Vec::new();
        for (i, text) in DEMO_MESSAGES.iter().enumerate() {
            let author = if i == 1 { recipient } else { sender };
            let at = tick();
            let sent = store
                .transaction(|tx| self.send_message(tx, author, conversation, text, &[], at))?;
            messages.push((sent.message_id, sent.verdict.kind.as_str()));
        }
        let reported = messages.last().map_or(0, |m| m.0);
        let at = tick();
        let view =
            store.transaction(|tx| self.read_conversation(tx, recipient, conversation, at))?;
        let recipient_sees_warning = view
            .iter()
            .any(|m| m.message_id == reported && m.content.plaintext().is_none());
        let at = tick();
        let report = store.transaction(|tx| {
            self.report_message(tx, recipient, reported, "asks me to verify my account", at)
        })?;
        let mut ledger_seqs = vec![report.ledger_seq];
        let at = tick();
        store.transaction(|tx| {
            add_staff(tx, DEMO_REVIEWER, &[StaffRole::Reviewer], at)?;
            add_staff(tx, DEMO_APPROVER, &[StaffRole::Approver], at)
        })?;
        let at = tick();
        let requested = store.transaction(|tx| {
            self.request_grant(
                tx,
                DEMO_REVIEWER,
                report.case_id,
                &GrantRequest {
                    purpose: GrantPurpose::ReportReview,
                    justification: "member report: suspected credential phishing",
                    duration_ms: None,
                },
                at,
            )
        })?;
        let at = tick();
        let approved = store
            .transaction(|tx| self.approve_grant(tx, DEMO_APPROVER, requested.grant_id, at))?;
        let at = tick();
        let opened = self.open_recorded(store, DEMO_REVIEWER, approved.grant_id, None, at)?;
        let opened: Vec<(&'static str, i64, u64)> = opened
            .iter()
            .map(|o| {
                let kind = if o.item.kind == crate::ContentKind::Attachment {
                    "attachment"
                } else {
                    "message"
                };
                (kind, o.item.item_id, o.ledger_seq)
            })
            .collect();
        ledger_seqs.extend(opened.iter().map(|o| o.2));
        let at = tick();
        let decided = store.transaction(|tx| {
            self.decide_case(
                tx,
                DEMO_REVIEWER,
                report.case_id,
                CaseDecision::RemoveMessage,
                "credential phishing confirmed",
                at,
            )
        })?;
        ledger_seqs.extend(decided.ledger_seq);
        ledger_seqs.sort_unstable();
        Ok(DemoReview {
            conversation_id: conversation,
            sender,
            recipient,
            messages,
            recipient_sees_warning,
            case_id: report.case_id,
            grant_id: approved.grant_id,
            grant_status_after_approval: approved.status,
            reviewer: DEMO_REVIEWER,
            approver: DEMO_APPROVER,
            opened,
            decision: decided.decision,
            ledger_seqs,
        })
    }
}
