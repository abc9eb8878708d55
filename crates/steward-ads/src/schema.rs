//! The `ads` migration set: advertisers and their budgets, audiences, matched-list members,
//! campaigns, ad events, DP charges, the consistent-noise key, and the insights releases
//! (what each paid insights question released, so asking it again returns the same answer).
//!
//! Member ids live only in `ads_matched_members` and `ads_events` (both keyed by `member_id`,
//! the shard key); nothing the advertiser receives is read from them except DP aggregates.
//! They carry no foreign key to `members`, so erasing a member is never blocked by ads rows.

use steward_privacy::dp::NoiseKey;
use steward_store::{Migration, MigrationSet, MigrationSql, Store, Tx, Value};

use crate::error::AdsError;

/// The crate's migrations.
pub const ADS_MIGRATIONS: MigrationSet = MigrationSet {
    name: "ads",
    migrations: &[
        Migration {
            version: 1,
            name: "ads",
            sql: MigrationSql::Portable(
                "CREATE TABLE ads_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE ads_advertisers (
    advertiser TEXT PRIMARY KEY,
    epsilon_budget_micro {INT} NOT NULL,
    created_at {INT} NOT NULL
);
CREATE TABLE ads_audiences (
    audience_id {ID},
    advertiser TEXT NOT NULL REFERENCES ads_advertisers (advertiser),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('attributes', 'matched')),
    expression TEXT,
    created_at {INT} NOT NULL,
    updated_at {INT} NOT NULL
);
CREATE INDEX ix_ads_audiences_advertiser ON ads_audiences (advertiser);
CREATE TABLE ads_matched_members (
    audience_id {INT} NOT NULL REFERENCES ads_audiences (audience_id),
    member_id {INT} NOT NULL,
    PRIMARY KEY (audience_id, member_id)
);
CREATE INDEX ix_ads_matched_members_member ON ads_matched_members (member_id);
CREATE TABLE ads_campaigns (
    campaign_id {ID},
    advertiser TEXT NOT NULL REFERENCES ads_advertisers (advertiser),
    name TEXT NOT NULL,
    audience_id {INT} REFERENCES ads_audiences (audience_id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    pause_reason TEXT,
    epsilon_budget_micro {INT} NOT NULL,
    created_at {INT} NOT NULL,
    updated_at {INT} NOT NULL
);
CREATE INDEX ix_ads_campaigns_advertiser ON ads_campaigns (advertiser);
CREATE TABLE ads_events (
    event_id {ID},
    campaign_id {INT} NOT NULL REFERENCES ads_campaigns (campaign_id),
    member_id {INT} NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('impression', 'click', 'conversion')),
    on_platform {INT} NOT NULL CHECK (on_platform IN (0, 1)),
    at {INT} NOT NULL
);
CREATE INDEX ix_ads_events_campaign ON ads_events (campaign_id, at);
CREATE INDEX ix_ads_events_member ON ads_events (member_id);
CREATE TABLE ads_dp_charges (
    digest TEXT PRIMARY KEY,
    advertiser TEXT NOT NULL,
    campaign_id {INT},
    epsilon_micro {INT} NOT NULL,
    rho_micro {INT} NOT NULL,
    at {INT} NOT NULL
);
CREATE INDEX ix_ads_dp_charges_advertiser ON ads_dp_charges (advertiser);
CREATE INDEX ix_ads_dp_charges_campaign ON ads_dp_charges (campaign_id);",
            ),
        },
        Migration {
            version: 2,
            name: "insights_releases",
            sql: MigrationSql::Portable(
                "CREATE TABLE ads_insights_releases (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    epsilon_micro {INT} NOT NULL,
    rho_micro {INT} NOT NULL,
    body TEXT NOT NULL,
    at {INT} NOT NULL
);",
            ),
        },
        Migration {
            version: 3,
            name: "insights_delta",
            // Skills in demand selects partitions of an open domain, which costs δ: the δ of
            // every release is kept beside its ε so the δ budget can be summed like ε.
            sql: MigrationSql::Portable(
                "ALTER TABLE ads_insights_releases ADD COLUMN delta_pico {INT} NOT NULL DEFAULT 0;",
            ),
        },
        Migration {
            version: 4,
            name: "members_deleted_index",
            // The server's index looks every second for members deleted since its snapshot:
            // counting them from this partial index costs the deleted rows only, where a count
            // of the live ones scanned the whole members table (1.8 s at 1,280,000 members).
            sql: MigrationSql::Portable(
                "CREATE INDEX ix_ads_members_deleted ON members (member_id) WHERE deleted_at IS NOT NULL;",
            ),
        },
    ],
};

/// Creates the ads and ledger tables (idempotent).
pub fn install(store: &Store) -> Result<(), AdsError> {
    steward_ledger::Ledger::install(store)?;
    store.migrate(&ADS_MIGRATIONS)?;
    Ok(())
}

/// The consistent-noise key, created from OS randomness on first use.
///
/// It lives beside the data it protects: whoever can read this table can read the raw events
/// anyway, and the key only has to stay away from advertisers, who never see the database.
pub fn noise_key(tx: &mut Tx<'_>) -> Result<NoiseKey, AdsError> {
    if let Some(row) = tx.query_opt(
        "SELECT value FROM ads_settings WHERE name = 'noise_key'",
        &[],
    )? {
        return Ok(NoiseKey::from_hex(&row.text(0)?)?);
    }
    let key = NoiseKey::from_bytes(rand::random::<[u8; 32]>());
    let hex = key.to_hex();
    tx.execute(
        "INSERT INTO ads_settings (name, value) VALUES ('noise_key', $1)",
        &[Value::from(hex.as_str())],
    )?;
    Ok(key)
}

/// Registers an advertiser with a total ε budget (idempotent: an existing budget is kept).
pub fn ensure_advertiser(
    tx: &mut Tx<'_>,
    advertiser: &str,
    epsilon_budget_micro: u64,
    now_ms: i64,
) -> Result<(), AdsError> {
    if advertiser.trim().is_empty() || advertiser.len() > 200 {
        return Err(AdsError::Invalid(
            "an advertiser name is 1 to 200 characters".to_owned(),
        ));
    }
    let exists = tx
        .query_opt(
            "SELECT 1 FROM ads_advertisers WHERE advertiser = $1",
            &[Value::from(advertiser)],
        )?
        .is_some();
    if !exists {
        tx.execute(
            "INSERT INTO ads_advertisers (advertiser, epsilon_budget_micro, created_at) VALUES ($1, $2, $3)",
            &[
                Value::from(advertiser),
                Value::Int(i64::try_from(epsilon_budget_micro).unwrap_or(i64::MAX)),
                Value::Int(now_ms),
            ],
        )?;
    }
    Ok(())
}
