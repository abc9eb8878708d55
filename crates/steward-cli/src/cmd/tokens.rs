//! `steward tokens create|revoke`: API tokens with a role. The secret is printed once; the
//! database keeps only its hash. `--staff NAME` makes a token for a staff account added with
//! `steward staff add`: it acts as that account (its name is in the ledger) with its role.

use std::process::ExitCode;

use clap::Subcommand;
use steward_server::auth::{Role, create_staff_token, create_token, revoke_token};
use steward_store::Store;

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a token and print its secret (shown once).
    Create {
        /// member, advertiser, reviewer, approver, engineer, auditor or admin. With `--staff`,
        /// taken from the staff member's role (needed only if they hold several).
        #[arg(long, required_unless_present = "staff")]
        role: Option<String>,
        /// A staff member added with `steward staff add`: the token acts as them.
        #[arg(long, value_name = "NAME", conflicts_with = "member")]
        staff: Option<String>,
        /// The member a member token is bound to (required for, and only for, members).
        #[arg(long)]
        member: Option<i64>,
        /// A label to recognise the token by.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id.
    Revoke { token_id: String },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn run(cmd: TokensCommand, global: &Global) -> Result<ExitCode, Failure> {
    let store = Store::open(&global.db).map_err(|e| Failure::bad_input(e.code(), e))?;
    match cmd {
        TokensCommand::Create {
            role,
            staff,
            member,
            label,
        } => {
            let role = role
                .map(|role| {
                    Role::parse(&role).ok_or_else(|| {
                        Failure::bad_input(
                            "token.unknown_role",
                            format!("unknown role `{role}` (member, advertiser, reviewer, approver, engineer, auditor, admin)"),
                        )
                    })
                })
                .transpose()?;
            let created = match (&staff, role) {
                (Some(name), role) => create_staff_token(&store, name, role, &label, now_ms()),
                (None, Some(role)) => create_token(&store, role, member, &label, now_ms()),
                (None, None) => {
                    return Err(Failure::bad_input(
                        "token.unknown_role",
                        "give --role ROLE or --staff NAME",
                    ));
                }
            };
            let t = created.map_err(|e| match e {
                steward_server::auth::TokenError::Store(s) => Failure::Internal(s.into()),
                other => Failure::bad_input(other.code(), other),
            })?;
            if global.json {
                print_json(&serde_json::json!({
                    "token_id": t.token_id,
                    "token": t.secret,
                    "role": t.role.as_str(),
                    "member": t.member_id,
                    "staff": t.staff,
                }))?;
            } else {
                emit(&format!(
                    "token {} ({}{}{}): {}\n",
                    t.token_id,
                    t.role.as_str(),
                    t.member_id
                        .map(|m| format!(", member {m}"))
                        .unwrap_or_default(),
                    t.staff
                        .as_deref()
                        .map(|s| format!(", staff {s}"))
                        .unwrap_or_default(),
                    t.secret
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        TokensCommand::Revoke { token_id } => {
            let revoked = revoke_token(&store, &token_id, now_ms())
                .map_err(|e| Failure::Internal(e.into()))?;
            if revoked {
                emit(&format!("revoked {token_id}\n"))?;
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Failure::denied(
                    "token.not_found",
                    format!("no live token `{token_id}`"),
                ))
            }
        }
    }
}
