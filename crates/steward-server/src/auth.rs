//! Token authentication with roles. Tokens are random 256-bit secrets shown once at creation;
//! only their SHA-256 is stored, so a copy of the database grants nothing. A member token is
//! bound to one member id; a staff token may be bound to a named staff account (`steward staff
//! add`), whose role it takes.
//!
//! Looking a token up costs a database round trip, so the server keeps a [`TokenCache`]:
//! SHA-256 of the secret → principal, bounded in size and trusted for a short TTL. A token
//! revoked through this server (the token endpoint, or erasure of its member) leaves the cache
//! at once; one revoked by another process (`steward tokens revoke`) stops working within the
//! TTL ([`TOKEN_CACHE_TTL`]).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

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
    /// Set for tokens of a named staff account (`steward tokens create --staff NAME`).
    pub staff: Option<String>,
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
    migrations: &[
        Migration {
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
        },
        Migration {
            version: 2,
            name: "api_tokens_staff",
            sql: MigrationSql::Portable("ALTER TABLE api_tokens ADD COLUMN staff_name TEXT;"),
        },
    ],
};

/// A freshly created token: the secret is shown once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedToken {
    pub token_id: String,
    pub secret: String,
    pub role: Role,
    pub member_id: Option<i64>,
    /// The named staff account the token acts as, if any.
    pub staff: Option<String>,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token_id", &self.token_id)
            .field("secret", &"<redacted>")
            .field("role", &self.role)
            .field("member_id", &self.member_id)
            .field("staff", &self.staff)
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` has the shape of a token (`stw_` and 64 hex digits' worth of length).
fn well_formed(secret: &str) -> bool {
    secret.starts_with("stw_") && secret.len() == 68
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a member token needs --member ID, and only member tokens may have one")]
    MemberBinding,
    #[error("member `{0}` does not exist")]
    NoSuchMember(i64),
    #[error("no staff member `{0}` (add them with `steward staff add`)")]
    NoSuchStaff(String),
    #[error("staff member `{name}`: {detail}")]
    StaffRole { name: String, detail: String },
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
            TokenError::NoSuchStaff(_) => "token.no_such_staff",
            TokenError::StaffRole { .. } => "token.staff_role",
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
    insert_token(store, role, member_id, None, label, now_ms)
}

/// Creates a token for the staff account `name` (made with `steward staff add`), acting as
/// that account in the trust & safety flows. Its role is the account's staff role; an account
/// with several roles must say which one with `role`.
pub fn create_staff_token(
    store: &Store,
    name: &str,
    role: Option<Role>,
    label: &str,
    now_ms: i64,
) -> Result<CreatedToken, TokenError> {
    steward_vault::safety::migrate(store).map_err(|e| match e {
        steward_vault::safety::SafetyError::Store(s) => TokenError::Store(s),
        other => TokenError::StaffRole {
            name: name.to_owned(),
            detail: other.code().to_owned(),
        },
    })?;
    let staff = store
        .read(|tx: &mut Tx<'_>| {
            Ok::<_, StoreError>(steward_vault::safety::staff_named(tx, name).ok())
        })?
        .ok_or_else(|| TokenError::NoSuchStaff(name.to_owned()))?;
    let held: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| staff_role(*r).is_some_and(|s| staff.has(s)))
        .collect();
    let names = || {
        held.iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let role = match (role, held.as_slice()) {
        (Some(r), _) if held.contains(&r) => r,
        (Some(r), _) => {
            return Err(TokenError::StaffRole {
                name: name.to_owned(),
                detail: format!("not `{}` (their roles: {})", r.as_str(), names()),
            });
        }
        (None, [only]) => *only,
        (None, []) => {
            return Err(TokenError::StaffRole {
                name: name.to_owned(),
                detail: "no role a token can carry".to_owned(),
            });
        }
        (None, _) => {
            return Err(TokenError::StaffRole {
                name: name.to_owned(),
                detail: format!("several roles ({}); pick one with --role", names()),
            });
        }
    };
    insert_token(store, role, None, Some(name), label, now_ms)
}

fn insert_token(
    store: &Store,
    role: Role,
    member_id: Option<i64>,
    staff: Option<&str>,
    label: &str,
    now_ms: i64,
) -> Result<CreatedToken, TokenError> {
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
            "INSERT INTO api_tokens (token_id, token_hash, role, member_id, label, created_at, \
             staff_name) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Value::from(token_id.as_str()),
                Value::from(hash_secret(&secret).as_str()),
                Value::from(role.as_str()),
                Value::from(member_id),
                Value::from(label),
                Value::from(now_ms),
                Value::from(staff),
            ],
        )?;
        Ok(())
    })?;
    Ok(CreatedToken {
        token_id,
        secret,
        role,
        member_id,
        staff: staff.map(str::to_owned),
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

/// The principal a secret belongs to, if it is a live token (always asks the database).
pub fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>, StoreError> {
    if !well_formed(secret) {
        return Ok(None);
    }
    lookup(store, &hex(&Sha256::digest(secret.as_bytes())))
}

fn lookup(store: &Store, hash: &str) -> Result<Option<Principal>, StoreError> {
    store.read(|tx: &mut Tx<'_>| {
        let row = tx.query_opt(
            "SELECT token_id, role, member_id, staff_name FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
            &[Value::from(hash)],
        )?;
        let Some(row) = row else { return Ok(None) };
        let Some(role) = Role::parse(&row.text(1)?) else {
            return Ok(None);
        };
        Ok(Some(Principal {
            token_id: row.text(0)?,
            role,
            member_id: row.opt_i64(2)?,
            staff: row.opt_text(3)?,
        }))
    })
}

/// How long the server trusts a cached token lookup: the longest a token revoked by another
/// process (`steward tokens revoke`) keeps working against a running server.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);

/// How many live tokens the cache remembers; beyond that, expired entries are dropped, and if
/// none were, the cache starts over.
pub const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// SHA-256 of a token's secret → its principal, each entry trusted for `ttl`. Only live tokens
/// are cached (an unknown or revoked secret always asks the database), and the key is the
/// hash, never the secret.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Default for TokenCache {
    fn default() -> TokenCache {
        TokenCache::new(TOKEN_CACHE_TTL, TOKEN_CACHE_CAPACITY)
    }
}

impl TokenCache {
    /// A cache trusting entries for `ttl`, holding at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> TokenCache {
        TokenCache {
            ttl,
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.read().ok()?;
        let (p, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| p.clone())
    }

    fn put(&self, key: [u8; 32], p: Principal) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                let ttl = self.ttl;
                entries.retain(|_, (_, at)| at.elapsed() < ttl);
                if entries.len() >= self.capacity {
                    entries.clear();
                }
            }
            entries.insert(key, (p, Instant::now()));
        }
    }

    /// Forgets every entry that `drop` selects.
    fn forget(&self, drop: impl Fn(&Principal) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, (p, _)| !drop(p));
        }
    }

    /// Forgets token `token_id` (call after revoking it).
    pub fn forget_token(&self, token_id: &str) {
        self.forget(|p| p.token_id == token_id);
    }

    /// Forgets every token bound to `member_id` (call after erasing the member).
    pub fn forget_member(&self, member_id: i64) {
        self.forget(|p| p.member_id == Some(member_id));
    }

    /// How many entries it holds (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The principal of `secret`, from `cache` while its entry is fresh, else from the database
/// (off the async workers), caching a live token.
pub async fn authenticate_cached(
    store: &std::sync::Arc<Store>,
    cache: &TokenCache,
    secret: &str,
) -> Result<Option<Principal>, ApiError> {
    if !well_formed(secret) {
        return Ok(None);
    }
    let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if let Some(p) = cache.get(&key) {
        return Ok(Some(p));
    }
    let store = store.clone();
    let found = tokio::task::spawn_blocking(move || lookup(&store, &hex(&key)))
        .await
        .map_err(ApiError::internal)??;
    if let Some(p) = &found {
        cache.put(key, p.clone());
    }
    Ok(found)
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
            })?;
        authenticate_cached(&state.store, &state.tokens, secret)
            .await?
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
    /// The staff account a staff token acts as: the named account of a `--staff` token, else
    /// `<role>.<token id>`, so every token is a distinct person to the four-eyes checks (a
    /// reviewer's token cannot approve its own grant). `None` for member and advertiser tokens.
    pub fn staff_name(&self) -> Option<String> {
        staff_role(self.role)?;
        Some(
            self.staff
                .clone()
                .unwrap_or_else(|| format!("{}.{}", self.role.as_str(), self.token_id)),
        )
    }

    /// Makes sure the staff account exists with this token's role (idempotent; ledgered by
    /// the library when a role is added) and returns its name; 403 for non-staff tokens. A
    /// named account's roles are left as `steward staff add` set them: the library's checks
    /// see exactly those.
    pub fn ensure_staff(&self, tx: &mut Tx<'_>, at_ms: i64) -> Result<String, ApiError> {
        let (Some(name), Some(role)) = (self.staff_name(), staff_role(self.role)) else {
            return Err(ApiError::forbidden());
        };
        if self.staff.is_some() {
            return match steward_vault::safety::staff_named(tx, &name) {
                Ok(_) => Ok(name),
                Err(steward_vault::safety::SafetyError::UnknownStaff { .. }) => {
                    Err(ApiError::forbidden())
                }
                Err(e) => Err(ApiError::from(e)),
            };
        }
        steward_vault::safety::add_staff(tx, &name, &[role], at_ms)
            .map_err(|e| ApiError::internal(e.code()))?;
        Ok(name)
    }
}
