//! `steward tokens create|revoke`: API tokens with a role. The secret is printed once; the
//! database keeps only its hash.

use std::process::ExitCode;

use clap::Subcommand;
use steward_server::auth::{Role, create_token, revoke_token};
use steward_store::Store;

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a token and print its secret (shown once).
    Create {
        /// member, advertiser, reviewer, approver, engineer, auditor or admin
        #[arg(long)]
        role: String,
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
            member,
            label,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                Failure::bad_input(
                    "token.unknown_role",
                    format!("unknown role `{role}` (member, advertiser, reviewer, approver, engineer, auditor, admin)"),
                )
            })?;
            let t = create_token(&store, role, member, &label, now_ms()).map_err(|e| match e {
                steward_server::auth::TokenError::Store(s) => Failure::Internal(s.into()),
                other => Failure::bad_input(other.code(), other),
            })?;
            if global.json {
                print_json(&serde_json::json!({
                    "token_id": t.token_id,
                    "token": t.secret,
                    "role": t.role.as_str(),
                    "member": t.member_id,
                }))?;
            } else {
                emit(&format!(
                    "token {} ({}{}): {}\n",
                    t.token_id,
                    t.role.as_str(),
                    t.member_id
                        .map(|m| format!(", member {m}"))
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
