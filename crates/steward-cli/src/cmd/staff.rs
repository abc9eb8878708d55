//! `steward staff add|list`: staff accounts and their roles (reviewer, approver, engineer,
//! auditor, admin), which `steward cases` checks when a named staff member acts.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;
use steward_vault::safety::{StaffMember, StaffRole, add_staff, list_staff};

use crate::Global;
use crate::cmd::messages::{now_ms, open_safety_store, safety_failure};
use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum StaffCommand {
    /// Create a staff member (if new) and give them roles (ledgered).
    Add {
        /// A unique name: 1-64 of a-z, 0-9, `.`, `_`, `-`.
        name: String,
        /// reviewer, approver, engineer, auditor or admin (repeat for several).
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
    },
    /// Every staff member and their roles.
    List,
}

fn staff_json(s: &StaffMember) -> serde_json::Value {
    json!({
        "staff_id": s.staff_id,
        "name": s.name,
        "roles": s.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "created_at_ms": s.created_at_ms,
    })
}

fn roles_text(s: &StaffMember) -> String {
    s.roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(cmd: StaffCommand, global: &Global) -> Result<ExitCode, Failure> {
    let store = open_safety_store(global)?;
    match cmd {
        StaffCommand::Add { name, roles } => {
            let roles = roles
                .iter()
                .map(|r| StaffRole::parse(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(safety_failure)?;
            let staff = store
                .transaction(|tx| add_staff(tx, &name, &roles, now_ms()))
                .map_err(safety_failure)?;
            if global.json {
                print_json(&staff_json(&staff))?;
            } else {
                emit(&format!(
                    "staff {} (id {}): {}\n",
                    staff.name,
                    staff.staff_id,
                    roles_text(&staff)
                ))?;
            }
        }
        StaffCommand::List => {
            let staff = store.read(list_staff).map_err(safety_failure)?;
            if global.json {
                print_json(&json!({ "staff": staff.iter().map(staff_json).collect::<Vec<_>>() }))?;
            } else {
                let mut out = format!("{} staff members\n", staff.len());
                for s in &staff {
                    out.push_str(&format!("  {:<20} {}\n", s.name, roles_text(s)));
                }
                emit(&out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
