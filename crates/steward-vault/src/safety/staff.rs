//! Staff accounts and their roles (`reviewer`, `approver`, `engineer`, `auditor`, `admin`), in
//! the store's `staff` and `staff_roles` tables. Adding staff is ledgered (no member is named).

use steward_ledger::{Entry, Ledger};
use steward_store::Tx;

use super::{LEDGER_ORIGIN, SafetyError};

/// A staff role. Roles are additive; the flows check the one they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Requests grants on cases, opens what a grant covers, records decisions.
    Reviewer,
    /// Approves other staff members' grants.
    Approver,
    /// May request security investigations.
    Engineer,
    /// Reads the ledger and cases; opens nothing.
    Auditor,
    /// Manages staff.
    Admin,
}

impl StaffRole {
    /// Every role.
    pub const ALL: [StaffRole; 5] = [
        StaffRole::Reviewer,
        StaffRole::Approver,
        StaffRole::Engineer,
        StaffRole::Auditor,
        StaffRole::Admin,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Reviewer => "reviewer",
            StaffRole::Approver => "approver",
            StaffRole::Engineer => "engineer",
            StaffRole::Auditor => "auditor",
            StaffRole::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<StaffRole, SafetyError> {
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                SafetyError::Invalid(format!(
                    "unknown role `{s}`; expected reviewer, approver, engineer, auditor or admin"
                ))
            })
    }
}

/// A staff member and their roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    /// The `staff.staff_id`.
    pub staff_id: i64,
    /// The unique name (`rita`, `alex`); ledger entries name them `staff:NAME`.
    pub name: String,
    /// Their roles, sorted.
    pub roles: Vec<StaffRole>,
    /// When the account was created.
    pub created_at_ms: i64,
}

impl StaffMember {
    /// Whether they hold `role`.
    pub fn has(&self, role: StaffRole) -> bool {
        self.roles.contains(&role)
    }

    /// `Ok` if they hold `role`, `safety.not_staff_role` otherwise.
    pub fn require(&self, role: StaffRole) -> Result<(), SafetyError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(SafetyError::NotStaffRole {
                name: self.name.clone(),
                role: role.as_str(),
            })
        }
    }

    /// The ledger actor: `staff:NAME`.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.name)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Creates the staff member `name` if absent and gives them `roles` (roles they already hold
/// are kept). Ledgered as `staff.add` with the roles added.
pub fn add_staff(
    tx: &mut Tx<'_>,
    name: &str,
    roles: &[StaffRole],
    at_ms: i64,
) -> Result<StaffMember, SafetyError> {
    if !valid_name(name) {
        return Err(SafetyError::Invalid(format!(
            "staff name `{name}` must be 1-64 characters of a-z, 0-9, `.`, `_` or `-`"
        )));
    }
    if roles.is_empty() {
        return Err(SafetyError::Invalid(
            "a staff member needs at least one role".to_owned(),
        ));
    }
    let existing = tx.query_opt("SELECT staff_id FROM staff WHERE name = $1", &[name.into()])?;
    let staff_id = match existing {
        Some(row) => row.i64(0)?,
        None => {
            let id = tx.next_id("staff", "staff_id")?;
            tx.execute(
                "INSERT INTO staff (staff_id, name, created_at) VALUES ($1, $2, $3)",
                &[id.into(), name.into(), at_ms.into()],
            )?;
            id
        }
    };
    let mut added = Vec::new();
    for role in roles {
        let n = tx.execute(
            "INSERT INTO staff_roles (staff_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[staff_id.into(), role.as_str().into()],
        )?;
        if n > 0 {
            added.push(role.as_str());
        }
    }
    if !added.is_empty() {
        let mut entry = Entry::new(
            u64::try_from(at_ms).unwrap_or(0),
            "system",
            "system",
            "service.core",
            "staff.add",
        );
        entry.reference = format!("staff:{name}");
        entry.details = format!("roles {}", added.join(","));
        entry.outcome = "ok".to_owned();
        Ledger::new(LEDGER_ORIGIN).append(tx, entry)?;
    }
    staff_named(tx, name)
}

/// The staff member `name`, or `safety.unknown_staff`.
pub fn staff_named(tx: &mut Tx<'_>, name: &str) -> Result<StaffMember, SafetyError> {
    let row = tx
        .query_opt(
            "SELECT staff_id, created_at FROM staff WHERE name = $1",
            &[name.into()],
        )?
        .ok_or_else(|| SafetyError::UnknownStaff {
            name: name.to_owned(),
        })?;
    let staff_id = row.i64(0)?;
    Ok(StaffMember {
        staff_id,
        name: name.to_owned(),
        roles: roles_of(tx, staff_id)?,
        created_at_ms: row.i64(1)?,
    })
}

/// The staff member with id `staff_id`.
pub(crate) fn staff_by_id(tx: &mut Tx<'_>, staff_id: i64) -> Result<StaffMember, SafetyError> {
    let row = tx
        .query_opt(
            "SELECT name, created_at FROM staff WHERE staff_id = $1",
            &[staff_id.into()],
        )?
        .ok_or_else(|| SafetyError::not_found(format!("staff member `{staff_id}`")))?;
    Ok(StaffMember {
        staff_id,
        name: row.text(0)?,
        roles: roles_of(tx, staff_id)?,
        created_at_ms: row.i64(1)?,
    })
}

fn roles_of(tx: &mut Tx<'_>, staff_id: i64) -> Result<Vec<StaffRole>, SafetyError> {
    let mut roles = tx
        .query(
            "SELECT role FROM staff_roles WHERE staff_id = $1",
            &[staff_id.into()],
        )?
        .iter()
        .map(|r| StaffRole::parse(&r.text(0)?))
        .collect::<Result<Vec<_>, SafetyError>>()?;
    roles.sort_unstable();
    Ok(roles)
}

/// Every staff member, by name.
pub fn list_staff(tx: &mut Tx<'_>) -> Result<Vec<StaffMember>, SafetyError> {
    let ids = tx
        .query("SELECT staff_id FROM staff ORDER BY name", &[])?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<Vec<_>, _>>()?;
    ids.into_iter().map(|id| staff_by_id(tx, id)).collect()
}
