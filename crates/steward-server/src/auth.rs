//! Token authentication with roles. Tokens are random 256-bit secrets shown once at creation;
//! only their SHA-256 is stored, so a copy of the database grants nothing. A member token is
//! bound to one member id.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use steward_store::{Migration, MigrationSet, MigrationSql, Store, StoreError, Tx, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// Who may do what. A token has exactly one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Member,
    Advertiser,
    Reviewer,
    Approver,
    Engineer,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Member,
        Role::Advertiser,
        Role::Reviewer,
        Role::Approver,
        Role::Engineer,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Advertiser => "advertiser",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::Engineer => "engineer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The caller of a request, once its token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    /// Set for member tokens: the only member this token may see.
    pub member_id: Option<i64>,
}

impl Principal {
    /// Refuses callers whose role is not in `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Whether this caller may act on member `id`'s own data: that member's token, or an
    /// admin. Others get 404 so member ids cannot be probed.
    pub fn require_member(&self, id: i64) -> Result<(), ApiError> {
        match (self.role, self.member_id) {
            (Role::Member, Some(own)) if own == id => Ok(()),
            (Role::Admin, _) => Ok(()),
            _ => Err(ApiError::not_found()),
        }
    }
}

/// The server's tables.
pub const MIGRATIONS: MigrationSet = MigrationSet {
    name: "server",
    migrations: &[Migration {
        version: 1,
        name: "api_tokens",
        sql: MigrationSql::Portable(
            "CREATE TABLE IF NOT EXISTS api_tokens (
                token_id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                member_id BIGINT,
                label TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            );",
        ),
    }],
};

/// A freshly created token: the secret is shown once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedToken {
    pub token_id: String,
    pub secret: String,
    pub role: Role,
    pub member_id: Option<i64>,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token_id", &self.token_id)
            .field("secret", &"<redacted>")
            .field("role", &self.role)
            .field("member_id", &self.member_id)
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a member token needs --member ID, and only member tokens may have one")]
    MemberBinding,
    #[error("member `{0}` does not exist")]
    NoSuchMember(i64),
    #[error("the operating system's random source failed")]
    Random,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::MemberBinding => "token.member_binding",
            TokenError::NoSuchMember(_) => "token.no_such_member",
            TokenError::Random => "token.random",
            TokenError::Store(e) => e.code(),
        }
    }
}

/// Creates a token. Member tokens must name an existing member; other roles must not.
pub fn create_token(
    store: &Store,
    role: Role,
    member_id: Option<i64>,
    label: &str,
    now_ms: i64,
) -> Result<CreatedToken, TokenError> {
    if (role == Role::Member) != member_id.is_some() {
        return Err(TokenError::MemberBinding);
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|_| TokenError::Random)?;
    let secret = format!("stw_{}", hex(&raw));
    let token_id = hash_secret(&secret)[..12].to_owned();
    store.migrate(&MIGRATIONS)?;
    store.transaction(|tx: &mut Tx<'_>| {
        if let Some(id) = member_id {
            let exists = tx.query_i64(
                "SELECT COUNT(*) FROM members WHERE member_id = $1 AND deleted_at IS NULL",
                &[Value::from(id)],
            )?;
            if exists == 0 {
                return Err(TokenError::NoSuchMember(id));
            }
        }
        tx.execute(
            "INSERT INTO api_tokens (token_id, token_hash, role, member_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Value::from(token_id.as_str()),
                Value::from(hash_secret(&secret).as_str()),
                Value::from(role.as_str()),
                Value::from(member_id),
                Value::from(label),
                Value::from(now_ms),
            ],
        )?;
        Ok(())
    })?;
    Ok(CreatedToken {
        token_id,
        secret,
        role,
        member_id,
    })
}

/// Revokes a token by id; `false` if there was none to revoke.
pub fn revoke_token(store: &Store, token_id: &str, now_ms: i64) -> Result<bool, StoreError> {
    store.migrate(&MIGRATIONS)?;
    store.transaction(|tx: &mut Tx<'_>| {
        let n = tx.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
            &[Value::from(now_ms), Value::from(token_id)],
        )?;
        Ok(n > 0)
    })
}

/// The principal a secret belongs to, if it is a live token.
pub fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>, StoreError> {
    if !secret.starts_with("stw_") || secret.len() != 68 {
        return Ok(None);
    }
    let hash = hash_secret(secret);
    store.read(|tx: &mut Tx<'_>| {
        let row = tx.query_opt(
            "SELECT token_id, role, member_id FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
            &[Value::from(hash.as_str())],
        )?;
        let Some(row) = row else { return Ok(None) };
        let Some(role) = Role::parse(&row.text(1)?) else {
            return Ok(None);
        };
        Ok(Some(Principal {
            token_id: row.text(0)?,
            role,
            member_id: row.opt_i64(2)?,
        }))
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("auth.missing_token", "send `Authorization: Bearer <token>`")
            })?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("auth.malformed", "expected `Authorization: Bearer <token>`")
            })?
            .to_owned();
        let store = state.store.clone();
        let principal = tokio::task::spawn_blocking(move || authenticate(&store, &secret))
            .await
            .map_err(ApiError::internal)??;
        principal
            .ok_or_else(|| ApiError::unauthorized("auth.invalid_token", "unknown or revoked token"))
    }
}

/// The staff role a token's role acts with in the trust & safety flows (advertisers and
/// members are not staff).
pub fn staff_role(role: Role) -> Option<steward_vault::safety::StaffRole> {
    use steward_vault::safety::StaffRole as S;
    match role {
        Role::Reviewer => Some(S::Reviewer),
        Role::Approver => Some(S::Approver),
        Role::Engineer => Some(S::Engineer),
        Role::Auditor => Some(S::Auditor),
        Role::Admin => Some(S::Admin),
        Role::Member | Role::Advertiser => None,
    }
}

impl Principal {
    /// The staff account a staff token acts as: `<role>.<token id>`, so every token is a
    /// distinct person to the four-eyes checks (a reviewer's token cannot approve its own
    /// grant). `None` for member and advertiser tokens.
    pub fn staff_name(&self) -> Option<String> {
        staff_role(self.role).map(|_| format!("{}.{}", self.role.as_str(), self.token_id))
    }

    /// Makes sure the staff account exists with this token's role (idempotent; ledgered by
    /// the library when a role is added) and returns its name; 403 for non-staff tokens.
    pub fn ensure_staff(&self, tx: &mut Tx<'_>, at_ms: i64) -> Result<String, ApiError> {
        let (Some(name), Some(role)) = (self.staff_name(), staff_role(self.role)) else {
            return Err(ApiError::forbidden());
        };
        steward_vault::safety::add_staff(tx, &name, &[role], at_ms)
            .map_err(|e| ApiError::internal(e.code()))?;
        Ok(name)
    }
}
