//! Trust & safety flows over sealed content: messaging with ingest scanning, reports and cases,
//! staff and roles, and grant-scoped review (the Access Approval / Customer Lockbox pattern).
//!
//! These flows live in the vault crate because they are the vault's only privileged callers:
//! the crate graph keeps everything here out of reach of the training and ads pipelines.
//!
//! **Who may do what.**
//! - A conversation's participants send and read; nobody else ([`Safety::send_message`],
//!   [`Safety::read_conversation`]; many messages in one transaction through a
//!   [`SendSession`] or [`Safety::send_batch`], with the same checks). A participant's own read is not ledgered
//!   (`service.core`); a quarantined message (phishing, malware, or spam for a recipient who
//!   turned on `messaging.harmful_detection`) is shown to its recipients as a warning with the
//!   verdict and rule, never its content; its author still sees it.
//! - A participant reports a message with a reason ([`Safety::report_message`]): a `reports`
//!   row and a `cases` row, ledgered under the reporter only (the reported member never learns
//!   who reported them from their access history).
//! - A staff member with the `reviewer` role requests a grant on a case with a justification
//!   ([`Safety::request_grant`]). Its scope is fixed at request time: the reported message, at
//!   most [`SafetyConfig::context_messages`] preceding messages of the same conversation, and
//!   their attachments. A security investigation (`security.investigation`) may also be
//!   requested by an `engineer`.
//! - A staff member with the `approver` role who is not the requester approves
//!   ([`Safety::approve_grant`]); an investigation needs two distinct approvers. The grant is
//!   active from the last approval for its duration (default 24 h, refused above the hard
//!   maximum, default 72 h).
//! - Only the requester opens, only what the scope covers, only until expiry and only while the
//!   case is open ([`Safety::open_under_grant`], [`Safety::open_grant_scope`]). Each open goes
//!   through [`crate::store::open_stored`] with a validated [`crate::GrantHandle`] and writes a
//!   ledger entry in the same transaction, naming every participant of the conversation, so it
//!   shows in their access history. A refused or failed attempt is ledgered as well when the
//!   caller opens through [`Safety::open_recorded`] (the failed transaction rolls back; the
//!   attempt entry is written in one of its own). No entry carries content.
//! - The reviewer who holds a grant on the case records the decision
//!   ([`Safety::decide_case`]): the case closes and every grant on it ends.
//!
//! Time is always passed in (`at_ms`, milliseconds since the epoch); nothing here reads the
//! clock. Every operation takes the caller's transaction, so a refusal or failure leaves
//! nothing behind, and a ledger entry commits with the effect it records.

pub mod cases;
pub mod demo;
pub mod error;
pub mod messaging;
pub mod schema;
pub mod staff;

use steward_core::Taxonomy;
use steward_ledger::{Entry, Ledger, Subjects};
use steward_scan::Scanner;
use steward_store::Tx;

use crate::Vault;

pub use cases::{
    CaseDecision, CaseDetail, CaseStatus, CaseSummary, DecisionRecord, Grant, GrantRequest,
    GrantStatus, OpenedItem, ScopeItem, case_detail, grant, list_cases, list_recent_cases,
};
pub use demo::DemoReview;
pub use error::SafetyError;
pub use messaging::{
    Content, NewAttachment, OutgoingMessage, ReadAttachment, ReadMessage, Report, SendSession,
    SentAttachment, SentMessage,
};
pub use schema::{SAFETY_MIGRATIONS, migrate};
pub use staff::{StaffMember, StaffRole, add_staff, list_staff, staff_named};

/// The origin the ledger's checkpoints name (appending does not depend on it).
pub const LEDGER_ORIGIN: &str = "steward.local/ledger";

/// The consent key that turns on spam and harassment scanning for a recipient.
pub const HARMFUL_DETECTION: &str = "messaging.harmful_detection";

const HOUR_MS: i64 = 3_600_000;

/// Limits of the review flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SafetyConfig {
    /// How many messages before the reported one a grant covers (default 5).
    pub context_messages: usize,
    /// A grant's duration when the request names none (default 24 h).
    pub default_grant_ms: i64,
    /// The longest grant anyone may request (default 72 h); longer requests are refused.
    pub max_grant_ms: i64,
}

impl Default for SafetyConfig {
    fn default() -> SafetyConfig {
        SafetyConfig {
            context_messages: 5,
            default_grant_ms: 24 * HOUR_MS,
            max_grant_ms: 72 * HOUR_MS,
        }
    }
}

/// The flows' shared context: the vault that seals and opens, the ingest scanner, the
/// taxonomy (for the recipients' consent), the active policy's version (recorded in ledger
/// entries) and the limits. Cheap to build per request.
#[derive(Debug)]
pub struct Safety<'a> {
    vault: &'a Vault,
    scanner: &'a Scanner,
    taxonomy: &'a Taxonomy,
    policy_version: String,
    config: SafetyConfig,
}

impl<'a> Safety<'a> {
    /// The flows over `vault` and `scanner`, with default limits.
    pub fn new(
        vault: &'a Vault,
        scanner: &'a Scanner,
        taxonomy: &'a Taxonomy,
        policy_version: impl Into<String>,
    ) -> Safety<'a> {
        Safety {
            vault,
            scanner,
            taxonomy,
            policy_version: policy_version.into(),
            config: SafetyConfig::default(),
        }
    }

    /// The same flows with other limits. A default duration above the maximum is clamped.
    pub fn with_config(mut self, mut config: SafetyConfig) -> Safety<'a> {
        config.default_grant_ms = config.default_grant_ms.min(config.max_grant_ms);
        self.config = config;
        self
    }

    /// The limits in force.
    pub fn config(&self) -> &SafetyConfig {
        &self.config
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        self.vault
    }

    /// An entry with the fields every safety entry sets.
    fn entry(&self, at_ms: i64, actor: String, role: &str, purpose: &str, action: &str) -> Entry {
        let mut e = Entry::new(
            u64::try_from(at_ms).unwrap_or(0),
            actor,
            role,
            purpose,
            action,
        );
        e.policy_version = self.policy_version.clone();
        e.outcome = "ok".to_owned();
        e
    }

    fn append(&self, tx: &mut Tx<'_>, entry: Entry) -> Result<u64, SafetyError> {
        Ok(Ledger::new(LEDGER_ORIGIN).append(tx, entry)?)
    }
}

/// Member ids as ledger subjects.
fn subjects(members: &[i64]) -> Subjects {
    Subjects::members(members.iter().map(|m| m.unsigned_abs()))
}
