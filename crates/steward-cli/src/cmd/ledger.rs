//! `steward ledger verify|proof|verify-proof|checkpoint|public-key|history`: the audit log's
//! checks and proofs, and each member's access history.
//!
//! Keys: checkpoints are signed with the ledger signing key of the vault's key file
//! (`--key-file`, as for `steward keys`), or with a bare Ed25519 seed (`--signing-key FILE`, 64
//! hex digits) where there is no key file. Signatures are checked with a C2SP verifier key
//! (`--verifier-key name+id+key`, or `@FILE`), derived from the signing key when none is given
//! — an auditor passes the published verifier key and needs no secret. The ledger library never
//! reads key files itself; this module hands it the key bytes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde_json::{Value as Json, json};
use steward_ledger::bundle::{ConsistencyBundle, InclusionBundle};
use steward_ledger::checkpoint::{CheckpointSigner, CheckpointVerifier};
use steward_ledger::entry::{Entry, Subjects};
use steward_ledger::error::LedgerError;
use steward_ledger::ledger::{AccessHistory, Ledger};
use steward_ledger::memberset::{MemberProof, Membership};
use steward_ledger::verify::{VerifyReport, verify, verify_indexes};
use steward_store::Store;

use crate::Global;
use crate::cmd::seed::store_failure;
use crate::output::{Failure, emit, print_json};

/// Where the keys and the log's name come from.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// The vault's key file, which holds the ledger signing key.
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_KEY_FILE",
        default_value = "steward.keys",
        global = true
    )]
    pub key_file: PathBuf,
    /// Instead of the key file: a file holding only an Ed25519 seed as 64 hex digits.
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_LEDGER_SIGNING_KEY",
        global = true
    )]
    pub signing_key: Option<PathBuf>,
    /// The verifier key (`name+keyid+base64key`), or `@FILE` holding it.
    #[arg(
        long,
        value_name = "KEY",
        env = "STEWARD_LEDGER_VERIFIER_KEY",
        global = true
    )]
    pub verifier_key: Option<String>,
    /// The log's origin line in checkpoints (also the key name).
    #[arg(
        long,
        env = "STEWARD_LEDGER_ORIGIN",
        default_value = "steward.local/ledger",
        global = true
    )]
    pub origin: String,
}

/// `steward ledger ...`: the key options, then the subcommand.
#[derive(Args, Debug)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Recompute the tree from the stored entries and check every checkpoint; exit 1 and
    /// name the first bad sequence number on tampering.
    Verify {
        /// A signed checkpoint kept outside the database that the log must extend.
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
        /// Also check the access-history indexes against the entries (slower).
        #[arg(long)]
        indexes: bool,
    },
    /// Print an inclusion proof file for one entry.
    Proof {
        /// The entry's sequence number.
        #[arg(long)]
        entry: u64,
        /// Prove against this signed checkpoint (default: the latest stored one).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Print a consistency proof file: the log at the latest checkpoint (or `--checkpoint`)
    /// extends the log at an older checkpoint.
    Consistency {
        /// The older signed checkpoint.
        #[arg(long, value_name = "FILE")]
        from_checkpoint: PathBuf,
        /// The newer signed checkpoint (default: the latest stored one).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Check a proof file offline: an inclusion proof (signature, entry, inclusion) or a
    /// consistency proof (both signatures, the newer log extends the older).
    VerifyProof { file: PathBuf },
    /// Sign a checkpoint of everything appended so far and store it.
    Checkpoint,
    /// Print the verifier key to publish (`name+keyid+base64key`), for `--verifier-key`.
    PublicKey,
    /// Every entry naming a member, newest first, with inclusion proofs against the latest
    /// checkpoint (also `steward member access-history`).
    History { member: u64 },
}

pub fn run(cmd: LedgerCommand, keys: &KeyArgs, global: &Global) -> Result<ExitCode, Failure> {
    match cmd {
        LedgerCommand::Verify {
            from_checkpoint,
            indexes,
        } => {
            let verifier = verifier(keys)?;
            let trusted = from_checkpoint.as_deref().map(read_text).transpose()?;
            let store = open(global)?;
            let report = store
                .read(|tx| {
                    let mut report = verify(tx, &verifier, trusted.as_deref())?;
                    if indexes {
                        verify_indexes(tx, &mut report)?;
                    }
                    Ok::<_, LedgerError>(report)
                })
                .map_err(ledger_failure)?;
            print_report(&report, global)?;
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        LedgerCommand::Proof { entry, checkpoint } => {
            let store = open(global)?;
            let note = match checkpoint {
                Some(path) => read_text(&path)?,
                None => {
                    store
                        .read(Ledger::latest_checkpoint)
                        .map_err(ledger_failure)?
                        .ok_or_else(|| ledger_failure(LedgerError::NoCheckpoint))?
                        .note
                }
            };
            let size = parse_note_size(&note)?;
            let bundle = store
                .read(|tx| {
                    let row = tx
                        .query_opt(
                            "SELECT entry FROM ledger_entries WHERE seq = $1",
                            &[steward_store::Value::Int(
                                i64::try_from(entry).unwrap_or(i64::MAX),
                            )],
                        )?
                        .ok_or(LedgerError::EntryNotFound { seq: entry })?;
                    let bytes = row
                        .get(0)
                        .as_bytes()
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    Ok::<_, LedgerError>(InclusionBundle {
                        seq: entry,
                        size,
                        entry: bytes,
                        path: Ledger::inclusion_proof(tx, entry, size)?,
                        checkpoint: note.clone(),
                    })
                })
                .map_err(ledger_failure)?;
            if global.json {
                print_json(&json!({
                    "seq": bundle.seq,
                    "size": bundle.size,
                    "entry": hex_bytes(&bundle.entry),
                    "path": bundle.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
                    "checkpoint": bundle.checkpoint,
                }))?;
            } else {
                emit(&bundle.to_text())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Consistency {
            from_checkpoint,
            checkpoint,
        } => {
            let old_note = read_text(&from_checkpoint)?;
            let old_size = parse_note_size(&old_note)?;
            let store = open(global)?;
            let new_note = match checkpoint {
                Some(path) => read_text(&path)?,
                None => {
                    store
                        .read(Ledger::latest_checkpoint)
                        .map_err(ledger_failure)?
                        .ok_or_else(|| ledger_failure(LedgerError::NoCheckpoint))?
                        .note
                }
            };
            let new_size = parse_note_size(&new_note)?;
            let path = store
                .read(|tx| Ledger::consistency_proof(tx, old_size, new_size).map(|(_, path)| path))
                .map_err(ledger_failure)?;
            let bundle = ConsistencyBundle {
                path,
                old_checkpoint: old_note,
                new_checkpoint: new_note,
            };
            emit(&bundle.to_text())?;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::VerifyProof { file } => {
            let verifier = verifier(keys)?;
            let text = read_text(&file)?;
            if ConsistencyBundle::is_consistency(&text) {
                let bundle = ConsistencyBundle::parse(&text).map_err(ledger_failure)?;
                let (old, new) = bundle.verify(&verifier).map_err(ledger_failure)?;
                if global.json {
                    print_json(&json!({
                        "ok": true,
                        "origin": new.origin,
                        "old": { "size": old.size, "root": old.root.to_hex() },
                        "new": { "size": new.size, "root": new.root.to_hex() },
                    }))?;
                } else {
                    emit(&format!(
                        "ok: the log `{}` of {} entries (root {}) extends its first {} entries (root {}), both signed by `{}`\n",
                        new.origin,
                        new.size,
                        new.root,
                        old.size,
                        old.root,
                        verifier.name()
                    ))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let bundle = InclusionBundle::parse(&text).map_err(ledger_failure)?;
            let (entry, checkpoint) = bundle.verify(&verifier).map_err(ledger_failure)?;
            if global.json {
                print_json(&json!({
                    "ok": true,
                    "checkpoint": { "origin": checkpoint.origin, "size": checkpoint.size,
                                    "root": checkpoint.root.to_hex(), "time_ms": checkpoint.time_ms },
                    "entry": entry_json(&entry),
                }))?;
            } else {
                emit(&format!(
                    "ok: entry {} is in the log `{}` of {} entries (root {}), signed by `{}`\n{}\n",
                    entry.seq,
                    checkpoint.origin,
                    checkpoint.size,
                    checkpoint.root,
                    verifier.name(),
                    entry_line(&entry)
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Checkpoint => {
            let signer = signer(keys)?;
            let store = open(global)?;
            let ledger = Ledger::new(keys.origin.clone());
            let signed = store
                .transaction(|tx| ledger.checkpoint(tx, &signer, now_ms()))
                .map_err(ledger_failure)?;
            if global.json {
                print_json(&json!({
                    "size": signed.checkpoint.size,
                    "root": signed.checkpoint.root.to_hex(),
                    "time_ms": signed.checkpoint.time_ms,
                    "note": signed.note,
                }))?;
            } else {
                emit(&signed.note)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::PublicKey => {
            let vkey = signer(keys)?.verifier().to_string();
            if global.json {
                print_json(&json!({ "verifier_key": vkey }))?;
            } else {
                emit(&format!("{vkey}\n"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::History { member } => access_history(member, keys, global),
    }
}

/// `steward member access-history ID [--json]` (wired from the member command group).
pub fn access_history(member: u64, keys: &KeyArgs, global: &Global) -> Result<ExitCode, Failure> {
    let verifier = verifier(keys)?;
    let store = open(global)?;
    let history = store
        .read(|tx| Ledger::access_history(tx, member, &verifier))
        .map_err(ledger_failure)?;
    if global.json {
        print_json(&history_json(&history))?;
    } else {
        emit(&history_text(&history))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn open(global: &Global) -> Result<Store, Failure> {
    let store = Store::open(&global.db).map_err(store_failure)?;
    Ledger::install(&store).map_err(ledger_failure)?;
    Ok(store)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::bad_input(
            "ledger.file",
            format!("cannot read `{}`: {e}", path.display()),
        )
    })
}

fn ledger_failure(e: LedgerError) -> Failure {
    match e {
        LedgerError::Store(s) => store_failure(s),
        LedgerError::SignatureInvalid { .. } | LedgerError::ProofInvalid { .. } => {
            Failure::denied(e.code(), &e)
        }
        LedgerError::Storage { .. } => Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())),
        _ => Failure::bad_input(e.code(), &e),
    }
}

fn signer(keys: &KeyArgs) -> Result<CheckpointSigner, Failure> {
    if let Some(path) = keys.signing_key.as_deref() {
        return CheckpointSigner::from_hex_seed(keys.origin.clone(), &read_text(path)?)
            .map_err(ledger_failure);
    }
    let keyring = steward_vault::Keyring::open(&keys.key_file)
        .map_err(|e| Failure::bad_input(e.code(), format!("{e} (give `--key-file FILE`)")))?;
    let seed = keyring.ledger_signing_key_bytes();
    CheckpointSigner::from_seed(keys.origin.clone(), seed.as_slice()).map_err(ledger_failure)
}

fn verifier(keys: &KeyArgs) -> Result<CheckpointVerifier, Failure> {
    match &keys.verifier_key {
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => read_text(Path::new(path))?,
                None => text.clone(),
            };
            CheckpointVerifier::parse(&text).map_err(ledger_failure)
        }
        None => Ok(signer(keys)?.verifier()),
    }
}

fn parse_note_size(note: &str) -> Result<u64, Failure> {
    let body_end = note.rfind("\n\n").map_or(note.len(), |i| i + 1);
    steward_ledger::checkpoint::Checkpoint::parse_body(&note[..body_end])
        .map(|c| c.size)
        .map_err(ledger_failure)
}

fn print_report(report: &VerifyReport, global: &Global) -> Result<(), Failure> {
    if global.json {
        return print_json(&json!({
            "ok": report.ok(),
            "entries": report.entries,
            "root": report.root.to_hex(),
            "checkpoints_ok": report.checkpoints_ok,
            "latest_checkpoint": report.latest.as_ref().map(|c| json!({"size": c.size, "root": c.root.to_hex(), "time_ms": c.time_ms})),
            "first_bad_seq": report.first_bad_seq(),
            "problems": report.problems.iter().map(|p| json!({
                "code": p.kind.code(),
                "first_bad": p.first_bad,
                "bad_before": p.bad_before,
                "detail": p.detail,
            })).collect::<Vec<_>>(),
        }));
    }
    let mut text = format!(
        "{} entries, root {}, {} checkpoint(s) verified{}\n",
        report.entries,
        report.root,
        report.checkpoints_ok,
        report
            .latest
            .as_ref()
            .map(|c| format!(", latest at size {}", c.size))
            .unwrap_or_default()
    );
    if report.ok() {
        text.push_str("ok: the log is intact\n");
    } else {
        if let Some(seq) = report.first_bad_seq() {
            text.push_str(&format!("TAMPERED: first bad sequence number {seq}\n"));
        } else {
            text.push_str("TAMPERED: forged checkpoint(s)\n");
        }
        for p in &report.problems {
            text.push_str(&format!(
                "  {} at {}: {}\n",
                p.kind.code(),
                p.first_bad,
                p.detail
            ));
        }
    }
    emit(&text)
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn entry_json(e: &Entry) -> Json {
    let subjects = match &e.subjects {
        Subjects::Members(ids) => json!({ "members": ids }),
        Subjects::MemberSet {
            digest,
            count,
            set_id,
        } => {
            json!({ "member_set": { "set_id": set_id, "digest": digest.to_hex(), "count": count } })
        }
    };
    json!({
        "seq": e.seq,
        "time_ms": e.time_ms,
        "actor": e.actor,
        "role": e.role,
        "purpose": e.purpose,
        "action": e.action,
        "subjects": subjects,
        "categories": e.categories,
        "justification": e.justification,
        "policy_version": e.policy_version,
        "reference": e.reference,
        "outcome": e.outcome,
        "details": e.details,
    })
}

fn entry_line(e: &Entry) -> String {
    let whom = match &e.subjects {
        Subjects::Members(ids) if ids.len() <= 5 => format!("members {ids:?}"),
        Subjects::Members(ids) => format!("{} members", ids.len()),
        Subjects::MemberSet { count, set_id, .. } => {
            format!("member set `{set_id}` ({count} members)")
        }
    };
    format!(
        "#{} t={} {} ({}) {} for {} on [{}] about {}: {}{}",
        e.seq,
        e.time_ms,
        e.actor,
        e.role,
        e.action,
        e.purpose,
        e.categories.join(", "),
        whom,
        e.outcome,
        if e.justification.is_empty() {
            String::new()
        } else {
            format!(" — {}", e.justification)
        }
    )
}

fn member_proof_json(p: &MemberProof) -> Json {
    json!({ "member": p.member, "index": p.index, "path": p.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>() })
}

fn history_json(h: &AccessHistory) -> Json {
    json!({
        "member": h.member,
        "checkpoint": h.checkpoint.as_ref().map(|c| json!({
            "size": c.checkpoint.size, "root": c.checkpoint.root.to_hex(), "note": c.note,
        })),
        "entries": h.items.iter().map(|i| json!({
            "entry": entry_json(&i.entry),
            "leaf_hash": i.leaf_hash.to_hex(),
            "inclusion_proof": i.proof.as_ref().map(|p| p.iter().map(|h| h.to_hex()).collect::<Vec<_>>()),
            "membership": i.membership.as_ref().map(|m| match m {
                Membership::Present(p) => json!({ "present": member_proof_json(p) }),
                Membership::Absent { below, above } => json!({ "absent": {
                    "below": below.as_ref().map(member_proof_json),
                    "above": above.as_ref().map(member_proof_json),
                }}),
            }),
        })).collect::<Vec<_>>(),
    })
}

fn history_text(h: &AccessHistory) -> String {
    let mut out = format!(
        "access history of member {}: {} entries",
        h.member,
        h.items.len()
    );
    match &h.checkpoint {
        Some(c) => out.push_str(&format!(
            ", proven against checkpoint {} (root {})\n",
            c.checkpoint.size, c.checkpoint.root
        )),
        None => out.push_str(", no checkpoint signed yet\n"),
    }
    for item in &h.items {
        out.push_str(&entry_line(&item.entry));
        out.push_str(match (&item.proof, &item.membership) {
            (None, _) => "  [not yet checkpointed]",
            (Some(_), Some(Membership::Present(_))) => {
                "  [proof: included; member-set proof: present]"
            }
            (Some(_), Some(Membership::Absent { .. })) => {
                "  [proof: included; member-set proof: absent]"
            }
            (Some(_), None) => "  [proof: included]",
        });
        out.push('\n');
    }
    out
}
