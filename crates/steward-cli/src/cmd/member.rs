//! `steward member show|export|set|update|erase|access-history`: a member's access to,
//! rectification and erasure of their own data (purpose `member.self_access`). Every read, export and
//! change is written to the ledger in the same transaction (or, for an export, right after
//! the files are complete; a failed entry removes the export).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use steward_core::consent::Actor;
use steward_ledger::Ledger;
use steward_ledger::audit::{self, AuditedError, Context};
use steward_store::export::{export_member, member_json, settings_json};
use steward_store::member::get_member;
use steward_vault::erasure::{ErasureError, Requester, erase_member};
use steward_vault::{Keyring, Vault};

use crate::Global;
use crate::cmd::policy::load_taxonomy;
use crate::cmd::seed::{open_store, store_failure};
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Show a member's profile and current settings.
    Show { id: i64 },
    /// Download everything stored about a member into a new folder.
    Export {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Change a setting: a consent key (`ai.training=off`) or a section's visibility
    /// (`visibility.headline=connections`).
    Set {
        id: i64,
        #[arg(value_name = "KEY=VALUE")]
        assignment: String,
        /// Who makes the change: `member` (default) or `staff:NAME`.
        #[arg(long, default_value = "member")]
        actor: String,
    },
    /// Correct a profile field (`headline=Data engineer`; an empty value clears an optional
    /// field).
    Update {
        id: i64,
        #[arg(value_name = "FIELD=VALUE")]
        assignment: String,
        #[arg(long, default_value = "member")]
        actor: String,
    },
    /// Erase the account: delete the member's rows, keep their messages as "message from a
    /// deleted member" with the content destroyed, destroy their content key (the KEK is
    /// rotated so backups cannot open it either), mark datasets that included them stale and
    /// ledger the erasure without personal data. Erasing twice is a no-op.
    Erase {
        id: i64,
        /// Why (required for a staff request; ledgered, so it must not name the member).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Erase as this staff member (who must hold the `admin` role) instead of as the
        /// member themself.
        #[arg(long, value_name = "NAME")]
        as_staff: Option<String>,
        /// The vault's key file (its key-encryption key is rotated by the erasure).
        #[arg(
            long,
            value_name = "FILE",
            env = "STEWARD_KEY_FILE",
            default_value = "steward.keys"
        )]
        key_file: PathBuf,
    },
    /// Every ledger entry that names the member, newest first, with inclusion proofs against
    /// the latest signed checkpoint.
    AccessHistory {
        id: u64,
        #[command(flatten)]
        keys: crate::cmd::ledger::KeyArgs,
    },
}

fn audited_failure(e: AuditedError) -> Failure {
    match e {
        AuditedError::Store(s) => store_failure(s),
        AuditedError::Ledger(l) => Failure::Internal(anyhow::anyhow!("{l} [{}]", l.code())),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn parse_actor(s: &str) -> Result<Actor, Failure> {
    match s {
        "member" => Ok(Actor::Member),
        "system" => Ok(Actor::System),
        other => match other.strip_prefix("staff:") {
            Some(name) if !name.is_empty() => Ok(Actor::Staff(name.to_owned())),
            _ => Err(Failure::bad_input(
                "member.invalid_actor",
                format!("actor `{other}` must be `member`, `system` or `staff:NAME`"),
            )),
        },
    }
}

pub fn run(cmd: MemberCommand, global: &Global) -> Result<ExitCode, Failure> {
    if let MemberCommand::AccessHistory { id, keys } = &cmd {
        return crate::cmd::ledger::access_history(*id, keys, global);
    }
    if let MemberCommand::Erase {
        id,
        reason,
        as_staff,
        key_file,
    } = cmd
    {
        return erase(id, reason.as_deref(), as_staff, &key_file, global);
    }
    let taxonomy = load_taxonomy(global)?;
    let store = open_store(global)?;
    Ledger::install(&store).map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    let version = crate::cmd::policy::active_policy(taxonomy.clone(), &store)?.version_id();
    let member_ctx = |actor: &'static Actor| Context {
        actor,
        at_ms: now_ms(),
        policy_version: &version,
    };
    match cmd {
        MemberCommand::AccessHistory { .. } | MemberCommand::Erase { .. } => {}
        MemberCommand::Show { id } => {
            let member = store
                .transaction(|tx| {
                    let m = get_member(tx, id)?;
                    audit::record_self_access(
                        tx,
                        id,
                        "read",
                        &["member"],
                        &member_ctx(&Actor::Member),
                    )?;
                    Ok::<_, AuditedError>(m)
                })
                .map_err(audited_failure)?;
            let settings = settings_json(&store, &taxonomy, id, now_ms()).map_err(store_failure)?;
            if global.json {
                print_json(
                    &serde_json::json!({ "member": member_json(&member), "settings": settings }),
                )?;
            } else {
                let mut out = format!(
                    "member {} — {} {}{}\n",
                    member.member_id,
                    member.first_name,
                    member.last_name,
                    if member.deleted_at.is_some() {
                        " (deleted)"
                    } else {
                        ""
                    }
                );
                let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_owned());
                out.push_str(&format!(
                    "  email        {}\n  phone        {}\n",
                    member.email,
                    opt(&member.phone)
                ));
                out.push_str(&format!("  headline     {}\n", opt(&member.headline)));
                out.push_str(&format!(
                    "  location     {}, {}, {}\n  jurisdiction {}\n",
                    opt(&member.city),
                    opt(&member.region),
                    member.country,
                    member.jurisdiction
                ));
                out.push_str(&format!(
                    "  industry     {}\n  function     {}\n  seniority    {}\n",
                    opt(&member.industry),
                    opt(&member.job_function),
                    opt(&member.seniority)
                ));
                out.push_str("settings:\n");
                if let Some(consent) = settings["consent"].as_object() {
                    for (k, v) in consent {
                        out.push_str(&format!(
                            "  {k:<34} {:<4} ({})\n",
                            if v["granted"].as_bool() == Some(true) {
                                "on"
                            } else {
                                "off"
                            },
                            v["source"].as_str().unwrap_or("")
                        ));
                    }
                }
                if let Some(vis) = settings["profile_visibility"].as_object() {
                    for (k, v) in vis {
                        out.push_str(&format!(
                            "  visibility.{k:<23} {}\n",
                            v["visibility"].as_str().unwrap_or("")
                        ));
                    }
                }
                emit(&out)?;
            }
        }
        MemberCommand::Export { id, out } => {
            let report =
                export_member(&store, &taxonomy, id, &out, now_ms()).map_err(store_failure)?;
            let recorded = store.transaction(|tx| {
                audit::record_self_access(
                    tx,
                    id,
                    "export",
                    &["member"],
                    &member_ctx(&Actor::Member),
                )
            });
            if let Err(e) = recorded {
                // An export the ledger does not know about must not exist.
                let _ = std::fs::remove_dir_all(&report.dir);
                return Err(audited_failure(e));
            }
            if global.json {
                let files: Vec<serde_json::Value> = report
                    .files
                    .iter()
                    .map(|(f, n)| serde_json::json!({ "file": f, "rows": n }))
                    .collect();
                print_json(
                    &serde_json::json!({ "dir": report.dir.display().to_string(), "files": files, "sealed_rows": report.sealed_rows }),
                )?;
            } else {
                let rows: usize = report.files.iter().map(|(_, n)| n).sum();
                emit(&format!(
                    "exported member {id} to {}: {} files, {rows} rows ({} sealed items listed without text; see README.md)\n",
                    report.dir.display(),
                    report.files.len(),
                    report.sealed_rows
                ))?;
            }
        }
        MemberCommand::Set {
            id,
            assignment,
            actor,
        } => {
            let actor = parse_actor(&actor)?;
            let ctx = Context {
                actor: &actor,
                at_ms: now_ms(),
                policy_version: &version,
            };
            let (change, _) = store
                .transaction(|tx| audit::change_setting(tx, &taxonomy, id, &assignment, &ctx))
                .map_err(audited_failure)?;
            if global.json {
                print_json(
                    &serde_json::json!({ "member_id": id, "key": change.key, "old": change.old_value, "new": change.new_value, "at": change.at_ms }),
                )?;
            } else {
                emit(&format!(
                    "member {id}: {} {} -> {}\n",
                    change.key, change.old_value, change.new_value
                ))?;
            }
        }
        MemberCommand::Update {
            id,
            assignment,
            actor,
        } => {
            let actor = parse_actor(&actor)?;
            let ctx = Context {
                actor: &actor,
                at_ms: now_ms(),
                policy_version: &version,
            };
            let (change, _) = store
                .transaction(|tx| audit::update_profile(tx, &taxonomy, id, &assignment, &ctx))
                .map_err(audited_failure)?;
            if global.json {
                print_json(
                    &serde_json::json!({ "member_id": id, "field": change.field, "old": change.old_value, "new": change.new_value, "at": change.at_ms }),
                )?;
            } else {
                let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "(empty)".to_owned());
                emit(&format!(
                    "member {id}: {} {} -> {}\n",
                    change.field,
                    show(&change.old_value),
                    show(&change.new_value)
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn erasure_failure(e: ErasureError) -> Failure {
    match &e {
        ErasureError::NotFound(_) | ErasureError::NotAdmin(_) => Failure::denied(e.code(), &e),
        ErasureError::ReasonRequired | ErasureError::ReasonNamesMember(_) => {
            Failure::bad_input(e.code(), &e)
        }
        _ => Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())),
    }
}

fn erase(
    id: i64,
    reason: Option<&str>,
    as_staff: Option<String>,
    key_file: &std::path::Path,
    global: &Global,
) -> Result<ExitCode, Failure> {
    let requester = match as_staff {
        Some(name) if name.trim().is_empty() => {
            return Err(Failure::bad_input(
                "member.invalid_actor",
                "`--as-staff` needs a staff name",
            ));
        }
        Some(name) => Requester::Staff(name),
        None => Requester::Member,
    };
    let store = open_store(global)?;
    let keyring = Keyring::open(key_file).map_err(|e| Failure::bad_input(e.code(), e))?;
    let mut vault = Vault::new(keyring);
    let outcome = erase_member(&mut vault, &store, id, &requester, reason, now_ms())
        .map_err(erasure_failure)?;
    if global.json {
        let counts = |v: &[(String, u64)]| -> serde_json::Map<String, serde_json::Value> {
            v.iter()
                .map(|(t, n)| (t.clone(), serde_json::json!(n)))
                .collect()
        };
        print_json(&serde_json::json!({
            "member_id": id,
            "already_erased": outcome.already_erased,
            "erasure_id": outcome.erasure_id,
            "ledger_seq": outcome.ledger_seq,
            "rows_deleted": outcome.rows_deleted(),
            "deleted": counts(&outcome.deleted),
            "redacted": counts(&outcome.redacted),
            "messages_tombstoned": outcome.messages_tombstoned,
            "stale_datasets": outcome.stale_datasets,
            "key_destroyed": outcome.key_destroyed,
            "kek_version": outcome.kek_version,
            "keys_rewrapped": outcome.keys_rewrapped,
            "retired_kek_versions": outcome.retired_keks,
            "retire_error": outcome.retire_error,
        }))?;
    } else if outcome.already_erased {
        emit(&format!("member {id} was already erased; nothing to do\n"))?;
    } else {
        let tables: Vec<String> = outcome
            .deleted
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let mut out = format!(
            "erased member {id}: {} rows deleted ({})\n  {} message(s) now shown to the other participants as \"{}\"\n",
            outcome.rows_deleted(),
            tables.join(", "),
            outcome.messages_tombstoned,
            steward_store::erase::DELETED_MEMBER_NOTICE,
        );
        out.push_str(&format!(
            "  content key {}; key-encryption key rotated to v{} ({} member keys re-wrapped), retired: {}\n",
            if outcome.key_destroyed {
                "destroyed"
            } else {
                "absent (nothing was ever sealed for them)"
            },
            outcome.kek_version.unwrap_or(0),
            outcome.keys_rewrapped,
            if outcome.retired_keks.is_empty() {
                "none".to_owned()
            } else {
                outcome
                    .retired_keks
                    .iter()
                    .map(|v| format!("v{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        if let Some(e) = &outcome.retire_error {
            out.push_str(&format!(
                "  WARNING: old key-encryption keys are still in the key file ({e}); run `steward keys rotate`\n"
            ));
        }
        out.push_str(&format!(
            "  datasets marked stale: {}\n  ledger entry {} (no personal data); receipt {}\n",
            if outcome.stale_datasets.is_empty() {
                "none".to_owned()
            } else {
                outcome.stale_datasets.join(", ")
            },
            outcome.ledger_seq.unwrap_or(0),
            outcome.erasure_id.as_deref().unwrap_or("-"),
        ));
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
