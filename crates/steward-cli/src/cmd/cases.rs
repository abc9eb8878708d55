//! `steward cases list|show|request-grant|approve|open|decide`: reported-message review under
//! grants, acting as `--as NAME`, a staff member with the role each step needs. Listing and
//! showing never print content; `open` prints what the grant covers and is ledgered.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use steward_vault::safety::cases::GrantRequest;
use steward_vault::safety::{
    CaseDecision, CaseDetail, CaseStatus, CaseSummary, Grant, OpenedItem, case_detail, list_cases,
};
use steward_vault::{ContentKind, GrantPurpose};

use crate::Global;
use crate::cmd::messages::{SafetyOpts, open_env, open_safety_store, safety_failure};
use crate::output::{Failure, emit, print_json};

#[derive(Args, Debug)]
pub struct CasesArgs {
    #[command(flatten)]
    pub opts: SafetyOpts,
    #[command(subcommand)]
    pub command: CasesCommand,
}

#[derive(Subcommand, Debug)]
pub enum CasesCommand {
    /// Cases about reported messages, newest first (no content).
    List {
        /// open, in_review or decided.
        #[arg(long)]
        status: Option<String>,
    },
    /// One case: its report, grants (scope, approvers, expiry) and decision (no content).
    Show { case: i64 },
    /// Ask for a grant to review a case (role reviewer; an investigation: reviewer or engineer).
    RequestGrant {
        case: i64,
        /// The acting staff member.
        #[arg(long = "as", value_name = "NAME")]
        as_staff: String,
        /// Why the content must be seen (ledgered).
        #[arg(long)]
        justification: String,
        /// A security investigation (two distinct approvers) instead of a report review.
        #[arg(long)]
        investigation: bool,
        /// Duration once approved, in hours (default 24; refused above the maximum, 72).
        #[arg(long)]
        hours: Option<u32>,
    },
    /// Approve someone else's grant (role approver).
    Approve {
        grant: i64,
        #[arg(long = "as", value_name = "NAME")]
        as_staff: String,
    },
    /// Open what a grant covers (only its requester, until expiry; each open is ledgered).
    Open {
        grant: i64,
        #[arg(long = "as", value_name = "NAME")]
        as_staff: String,
        /// Only this message.
        #[arg(long, value_name = "ID", conflicts_with = "attachment")]
        message: Option<i64>,
        /// Only this attachment.
        #[arg(long, value_name = "ID")]
        attachment: Option<i64>,
    },
    /// Record the decision; closes the case and ends its grants (role reviewer).
    Decide {
        case: i64,
        #[arg(long = "as", value_name = "NAME")]
        as_staff: String,
        /// no_violation, warn, remove_message or restrict_account.
        #[arg(long)]
        decision: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn summary_json(c: &CaseSummary) -> serde_json::Value {
    json!({
        "case_id": c.case_id,
        "report_id": c.report_id,
        "member_id": c.member_id,
        "status": c.status.as_str(),
        "decision": c.decision.map(CaseDecision::as_str),
        "opened_at_ms": c.opened_at_ms,
        "closed_at_ms": c.closed_at_ms,
        "message_id": c.message_id,
        "conversation_id": c.conversation_id,
        "reason": c.reason,
        "verdict": c.verdict,
    })
}

fn grant_json(g: &Grant) -> serde_json::Value {
    json!({
        "grant_id": g.grant_id,
        "case_id": g.case_id,
        "purpose": g.purpose_name(),
        "requester": g.requester,
        "justification": g.justification,
        "requested_at_ms": g.requested_at_ms,
        "duration_ms": g.duration_ms,
        "approvals_needed": g.approvals_needed,
        "approvers": g.approvers,
        "status": g.status.as_str(),
        "approved_at_ms": g.approved_at_ms,
        "expires_at_ms": g.expires_at_ms,
        "ended_at_ms": g.ended_at_ms,
        "scope": g.scope.iter().map(|s| json!({
            "kind": s.kind.as_str(), "id": s.item_id
        })).collect::<Vec<_>>(),
    })
}

fn detail_json(d: &CaseDetail) -> serde_json::Value {
    json!({
        "case": summary_json(&d.case),
        "grants": d.grants.iter().map(grant_json).collect::<Vec<_>>(),
        "decision": d.decision.as_ref().map(|r| json!({
            "decision": r.decision.as_str(),
            "decided_by": r.decided_by,
            "grant_id": r.grant_id,
            "note": r.note,
            "decided_at_ms": r.decided_at_ms,
        })),
    })
}

fn grant_text(g: &Grant) -> String {
    format!(
        "grant {} on case {} ({}) by {}: {} — approvals {}/{} [{}]; expires {}; scope {} items\n  justification: {}\n",
        g.grant_id,
        g.case_id,
        g.purpose_name(),
        g.requester,
        g.status.as_str(),
        g.approvers.len(),
        g.approvals_needed,
        g.approvers.join(", "),
        g.expires_at_ms
            .map_or_else(|| "-".to_owned(), |e| e.to_string()),
        g.scope.len(),
        g.justification
    )
}

fn opened_json(items: &[OpenedItem]) -> serde_json::Value {
    json!({
        "opened": items.iter().map(|o| {
            let mut v = json!({
                "kind": o.item.kind.as_str(),
                "id": o.item.item_id,
                "author_id": o.author_id,
                "conversation_id": o.conversation_id,
                "ledger_seq": o.ledger_seq,
            });
            if let Some(obj) = v.as_object_mut() {
                match o.plaintext.as_str() {
                    Some(t) if o.item.kind == ContentKind::Message => {
                        obj.insert("text".into(), json!(t));
                    }
                    _ => {
                        obj.insert("bytes".into(), json!(o.plaintext.len()));
                    }
                }
            }
            v
        }).collect::<Vec<_>>(),
    })
}

pub fn run(args: CasesArgs, global: &Global) -> Result<ExitCode, Failure> {
    match args.command {
        CasesCommand::List { status } => {
            let status = status
                .as_deref()
                .map(CaseStatus::parse)
                .transpose()
                .map_err(safety_failure)?;
            let store = open_safety_store(global)?;
            let cases = store
                .read(|tx| list_cases(tx, status))
                .map_err(safety_failure)?;
            if global.json {
                print_json(
                    &json!({ "cases": cases.iter().map(summary_json).collect::<Vec<_>>() }),
                )?;
            } else {
                let mut out = format!("{} cases\n", cases.len());
                for c in &cases {
                    out.push_str(&format!(
                        "  case {:<6} {:<10} message {} (conversation {}, verdict {}) — {}\n",
                        c.case_id,
                        c.status.as_str(),
                        c.message_id,
                        c.conversation_id,
                        c.verdict.as_deref().unwrap_or("-"),
                        c.reason
                    ));
                }
                emit(&out)?;
            }
        }
        CasesCommand::Show { case } => {
            let store = open_safety_store(global)?;
            let detail = store
                .read(|tx| case_detail(tx, case))
                .map_err(safety_failure)?;
            if global.json {
                print_json(&detail_json(&detail))?;
            } else {
                let c = &detail.case;
                let mut out = format!(
                    "case {} — {}{}\n  report {}: message {} in conversation {} by member {}; reason: {}\n",
                    c.case_id,
                    c.status.as_str(),
                    c.decision
                        .map(|d| format!(" ({})", d.as_str()))
                        .unwrap_or_default(),
                    c.report_id,
                    c.message_id,
                    c.conversation_id,
                    c.member_id,
                    c.reason
                );
                for g in &detail.grants {
                    out.push_str(&grant_text(g));
                }
                if let Some(d) = &detail.decision {
                    out.push_str(&format!(
                        "decision {} by {} at {}: {}\n",
                        d.decision.as_str(),
                        d.decided_by,
                        d.decided_at_ms,
                        d.note
                    ));
                }
                emit(&out)?;
            }
        }
        CasesCommand::RequestGrant {
            case,
            as_staff,
            justification,
            investigation,
            hours,
        } => {
            let env = open_env(global, &args.opts)?;
            let safety = env.safety();
            let purpose = if investigation {
                GrantPurpose::SecurityInvestigation
            } else {
                GrantPurpose::ReportReview
            };
            let grant = env
                .store
                .transaction(|tx| {
                    safety.request_grant(
                        tx,
                        &as_staff,
                        case,
                        &GrantRequest {
                            purpose,
                            justification: &justification,
                            duration_ms: hours.map(|h| i64::from(h) * 3_600_000),
                        },
                        env.at_ms,
                    )
                })
                .map_err(safety_failure)?;
            if global.json {
                print_json(&grant_json(&grant))?;
            } else {
                emit(&format!("requested {}", grant_text(&grant)))?;
            }
        }
        CasesCommand::Approve { grant, as_staff } => {
            let env = open_env(global, &args.opts)?;
            let safety = env.safety();
            let grant = env
                .store
                .transaction(|tx| safety.approve_grant(tx, &as_staff, grant, env.at_ms))
                .map_err(safety_failure)?;
            if global.json {
                print_json(&grant_json(&grant))?;
            } else {
                emit(&format!("approved {}", grant_text(&grant)))?;
            }
        }
        CasesCommand::Open {
            grant,
            as_staff,
            message,
            attachment,
        } => {
            let env = open_env(global, &args.opts)?;
            let safety = env.safety();
            let one = match (message, attachment) {
                (Some(m), _) => Some((ContentKind::Message, m)),
                (None, Some(a)) => Some((ContentKind::Attachment, a)),
                (None, None) => None,
            };
            // A refused or failed open is ledgered too (in a transaction of its own).
            let items = safety
                .open_recorded(&env.store, &as_staff, grant, one, env.at_ms)
                .map_err(safety_failure)?;
            if global.json {
                print_json(&opened_json(&items))?;
            } else {
                let mut out = format!(
                    "opened {} items under grant {grant} (each recorded in the ledger and the participants' access history)\n",
                    items.len()
                );
                for o in &items {
                    let body = match o.plaintext.as_str() {
                        Some(t) if o.item.kind == ContentKind::Message => t.to_owned(),
                        _ => format!("<{} bytes>", o.plaintext.len()),
                    };
                    out.push_str(&format!(
                        "  {} #{} by member {} [ledger {}]: {body}\n",
                        o.item.kind.as_str(),
                        o.item.item_id,
                        o.author_id,
                        o.ledger_seq
                    ));
                }
                emit(&out)?;
            }
        }
        CasesCommand::Decide {
            case,
            as_staff,
            decision,
            note,
        } => {
            let decision = CaseDecision::parse(&decision).map_err(safety_failure)?;
            let env = open_env(global, &args.opts)?;
            let safety = env.safety();
            let record = env
                .store
                .transaction(|tx| {
                    safety.decide_case(tx, &as_staff, case, decision, &note, env.at_ms)
                })
                .map_err(safety_failure)?;
            if global.json {
                print_json(&json!({
                    "case_id": record.case_id,
                    "decision": record.decision.as_str(),
                    "decided_by": record.decided_by,
                    "grant_id": record.grant_id,
                    "decided_at_ms": record.decided_at_ms,
                    "ledger_seq": record.ledger_seq,
                }))?;
            } else {
                emit(&format!(
                    "case {} decided: {} by {}; grants ended; ledger entry {}\n",
                    record.case_id,
                    record.decision.as_str(),
                    record.decided_by,
                    record
                        .ledger_seq
                        .map_or_else(|| "-".to_owned(), |s| s.to_string())
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
