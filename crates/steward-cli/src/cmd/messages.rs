//! `steward messages send|read|report`: a member's private messages, acting as `--as-member ID`.
//! Also the helpers `steward cases` and `steward staff` share: the store with the vault, ledger
//! and safety migrations, the key file beside the database, the scanner, the active policy's
//! version, and how a `SafetyError` maps to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde_json::json;
use steward_scan::Scanner;
use steward_store::Store;
use steward_vault::safety::{Content, NewAttachment, ReadMessage, SentMessage};
use steward_vault::{Keyring, Safety, SafetyError, Vault};

use crate::Global;
use crate::cmd::seed::store_failure;
use crate::output::{Failure, emit, print_json};

/// Options every vault-backed safety command takes.
#[derive(Args, Debug, Clone)]
pub struct SafetyOpts {
    /// The vault's key file (default: `steward.keys` beside the SQLite database).
    #[arg(long, value_name = "FILE", env = "STEWARD_KEY_FILE", global = true)]
    pub key_file: Option<PathBuf>,
    /// The time the action happens at, in milliseconds since the epoch (default: now).
    #[arg(long, value_name = "MS", global = true)]
    pub at_ms: Option<i64>,
}

#[derive(Args, Debug)]
pub struct MessagesArgs {
    #[command(flatten)]
    pub opts: SafetyOpts,
    #[command(subcommand)]
    pub command: MessagesCommand,
}

#[derive(Subcommand, Debug)]
pub enum MessagesCommand {
    /// Send a message (scanned, then sealed under the sender's key). Name a conversation, or
    /// `--to` members to start one.
    Send {
        /// The sending member.
        #[arg(long = "as-member", value_name = "ID")]
        as_member: i64,
        /// An existing conversation the sender takes part in.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "to",
            required_unless_present = "to"
        )]
        conversation: Option<i64>,
        /// Start a new conversation with these members.
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        to: Vec<i64>,
        /// Files to attach (scanned for malware).
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// The message text.
        text: String,
    },
    /// Read a conversation you take part in; quarantined messages show as warnings.
    Read {
        #[arg(long = "as-member", value_name = "ID")]
        as_member: i64,
        #[arg(long, value_name = "ID")]
        conversation: i64,
    },
    /// Report a message of a conversation you take part in; opens a case.
    Report {
        #[arg(long = "as-member", value_name = "ID")]
        as_member: i64,
        #[arg(long, value_name = "ID")]
        message: i64,
        /// Why (spam, harassment, phishing, ...).
        #[arg(long)]
        reason: String,
    },
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Everything a safety command needs, opened once.
pub(crate) struct Env {
    pub store: Store,
    pub vault: Vault,
    pub scanner: Scanner,
    pub taxonomy: std::sync::Arc<steward_core::Taxonomy>,
    pub policy_version: String,
    pub at_ms: i64,
}

impl Env {
    pub fn safety(&self) -> Safety<'_> {
        Safety::new(
            &self.vault,
            &self.scanner,
            &self.taxonomy,
            self.policy_version.clone(),
        )
    }
}

/// The store with the safety migrations, without the vault (for staff and case listings).
pub(crate) fn open_safety_store(global: &Global) -> Result<Store, Failure> {
    let store = Store::open(&global.db).map_err(store_failure)?;
    steward_vault::safety::migrate(&store).map_err(safety_failure)?;
    Ok(store)
}

fn key_file_for(store: &Store, opts: &SafetyOpts) -> PathBuf {
    if let Some(p) = &opts.key_file {
        return p.clone();
    }
    match store.sqlite_path().and_then(Path::parent) {
        Some(dir) => dir.join("steward.keys"),
        None => PathBuf::from("steward.keys"),
    }
}

pub(crate) fn open_env(global: &Global, opts: &SafetyOpts) -> Result<Env, Failure> {
    let store = open_safety_store(global)?;
    let key_file = key_file_for(&store, opts);
    if !key_file.exists() {
        return Err(Failure::bad_input(
            "vault.no_key_file",
            format!(
                "no key file at `{}` (create one with `steward keys init`, or pass --key-file / STEWARD_KEY_FILE)",
                key_file.display()
            ),
        ));
    }
    let keyring = Keyring::open(&key_file).map_err(|e| Failure::bad_input(e.code(), e))?;
    let scanner =
        Scanner::builtin().map_err(|e| Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())))?;
    let taxonomy = crate::cmd::policy::load_taxonomy(global)?;
    let policy_version = crate::cmd::policy::active_policy(taxonomy.clone(), &store)?.version_id();
    Ok(Env {
        store,
        vault: Vault::new(keyring),
        scanner,
        taxonomy,
        policy_version,
        at_ms: opts.at_ms.unwrap_or_else(now_ms),
    })
}

/// Classifies a safety error for its exit code: 1 for a refusal, 2 for bad input or an
/// unknown name, 3 for anything internal.
pub(crate) fn safety_failure(e: SafetyError) -> Failure {
    match e {
        SafetyError::Store(s) => store_failure(s),
        ref e if e.is_refusal() => Failure::denied(e.code(), e),
        SafetyError::NotFound { .. }
        | SafetyError::Invalid(_)
        | SafetyError::UnknownStaff { .. } => Failure::bad_input(e.code(), &e),
        other => Failure::Internal(anyhow::anyhow!("{} [{}]", other, other.code())),
    }
}

fn sent_json(sent: &SentMessage) -> serde_json::Value {
    json!({
        "message_id": sent.message_id,
        "conversation_id": sent.conversation_id,
        "verdict": sent.verdict.kind.as_str(),
        "rule": sent.verdict.rule_id,
        "score": sent.verdict.score,
        "quarantined": sent.verdict.is_quarantined(),
        "spam_scanned": sent.spam_scanned,
        "attachments": sent.attachments.iter().map(|a| json!({
            "attachment_id": a.attachment_id,
            "verdict": a.verdict.kind.as_str(),
            "rule": a.verdict.rule_id,
            "quarantined": a.verdict.is_quarantined(),
        })).collect::<Vec<_>>(),
    })
}

fn content_json(content: &Content, text: bool) -> serde_json::Value {
    match content.plaintext() {
        Some(p) if text => json!({ "text": String::from_utf8_lossy(p.as_bytes()) }),
        Some(p) => json!({ "bytes": p.len() }),
        None => json!({ "hidden": true, "warning": content.warning() }),
    }
}

fn read_json(conversation: i64, messages: &[ReadMessage]) -> serde_json::Value {
    json!({
        "conversation_id": conversation,
        "messages": messages.iter().map(|m| {
            let mut v = json!({
                "message_id": m.message_id,
                "author_id": m.author_id,
                "sent_at_ms": m.sent_at_ms,
                "verdict": m.verdict,
                "rule": m.rule,
                "attachments": m.attachments.iter().map(|a| {
                    let mut v = json!({
                        "attachment_id": a.attachment_id,
                        "media_type": a.media_type,
                        "size_bytes": a.size_bytes,
                        "verdict": a.verdict,
                        "rule": a.rule,
                    });
                    merge(&mut v, content_json(&a.content, false));
                    v
                }).collect::<Vec<_>>(),
            });
            merge(&mut v, content_json(&m.content, true));
            v
        }).collect::<Vec<_>>(),
    })
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

fn read_text(conversation: i64, messages: &[ReadMessage]) -> String {
    let mut out = format!("conversation {conversation}: {} messages\n", messages.len());
    for m in messages {
        let body = match m.content.plaintext() {
            Some(p) => String::from_utf8_lossy(p.as_bytes()).into_owned(),
            None => format!("[{}]", m.content.warning().unwrap_or_default()),
        };
        out.push_str(&format!(
            "  #{} member {} at {}: {body}\n",
            m.message_id, m.author_id, m.sent_at_ms
        ));
        for a in &m.attachments {
            let state = match a.content.plaintext() {
                Some(_) => "ok".to_owned(),
                None => a.content.warning().unwrap_or_default(),
            };
            out.push_str(&format!(
                "      attachment #{} {} ({} bytes): {state}\n",
                a.attachment_id, a.media_type, a.size_bytes
            ));
        }
    }
    out
}

fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("txt") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}

pub fn run(args: MessagesArgs, global: &Global) -> Result<ExitCode, Failure> {
    let env = open_env(global, &args.opts)?;
    let safety = env.safety();
    let at = env.at_ms;
    match args.command {
        MessagesCommand::Send {
            as_member,
            conversation,
            to,
            attach,
            text,
        } => {
            let files = attach
                .iter()
                .map(|p| {
                    std::fs::read(p).map(|b| (p, b)).map_err(|e| {
                        Failure::bad_input(
                            "messages.attachment",
                            format!("cannot read `{}`: {e}", p.display()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let names: Vec<Option<String>> = files
                .iter()
                .map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            let attachments: Vec<NewAttachment<'_>> = files
                .iter()
                .zip(&names)
                .map(|((p, bytes), name)| NewAttachment {
                    file_name: name.as_deref(),
                    media_type: media_type(p),
                    bytes,
                })
                .collect();
            let sent = env
                .store
                .transaction(|tx| {
                    let conversation = match conversation {
                        Some(c) => c,
                        None => safety.start_conversation(tx, as_member, &to, at)?,
                    };
                    safety.send_message(tx, as_member, conversation, &text, &attachments, at)
                })
                .map_err(safety_failure)?;
            if global.json {
                print_json(&sent_json(&sent))?;
            } else {
                let mut out = format!(
                    "sent message {} in conversation {} — verdict {}{}{}\n",
                    sent.message_id,
                    sent.conversation_id,
                    sent.verdict.kind.as_str(),
                    sent.verdict
                        .rule_id
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    if sent.spam_scanned {
                        ""
                    } else {
                        "; spam not scanned (no recipient turned on harmful-message detection)"
                    }
                );
                for a in &sent.attachments {
                    out.push_str(&format!(
                        "  attachment {} — verdict {}{}\n",
                        a.attachment_id,
                        a.verdict.kind.as_str(),
                        a.verdict
                            .rule_id
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ));
                }
                emit(&out)?;
            }
        }
        MessagesCommand::Read {
            as_member,
            conversation,
        } => {
            let messages = env
                .store
                .transaction(|tx| safety.read_conversation(tx, as_member, conversation, at))
                .map_err(safety_failure)?;
            if global.json {
                print_json(&read_json(conversation, &messages))?;
            } else {
                emit(&read_text(conversation, &messages))?;
            }
        }
        MessagesCommand::Report {
            as_member,
            message,
            reason,
        } => {
            let report = env
                .store
                .transaction(|tx| safety.report_message(tx, as_member, message, &reason, at))
                .map_err(safety_failure)?;
            if global.json {
                print_json(&json!({
                    "report_id": report.report_id,
                    "case_id": report.case_id,
                    "message_id": report.message_id,
                    "ledger_seq": report.ledger_seq,
                }))?;
            } else {
                emit(&format!(
                    "reported message {}: case {} opened (report {}, ledger entry {})\n",
                    report.message_id, report.case_id, report.report_id, report.ledger_seq
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
