//! Campaigns and their life cycle: draft → active ⇄ paused → ended.
//!
//! The minimum audience is enforced here, on the server, at every step where a campaign's
//! reach can change or start: attaching an audience, launching and resuming all recount the
//! audience on the current index and refuse below the minimum — whatever a client believed
//! when it enabled its launch button. [`enforce_minimums`] pauses every active campaign whose
//! audience has shrunk below it (members opting out, profiles changing). Every transition is
//! ledgered; entries carry no member id.

use steward_ledger::{Entry, Ledger};
use steward_privacy::dp::Epsilon;
use steward_store::{Tx, Value};

use crate::audience::{self, AdsConfig};
use crate::error::AdsError;
use crate::index::AudienceIndex;

/// A campaign's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Draft,
    Active,
    Paused,
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Ended => "ended",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "active" => Status::Active,
            "paused" => Status::Paused,
            "ended" => Status::Ended,
            _ => Status::Draft,
        }
    }
}

/// Why a campaign is paused when the system paused it.
pub const PAUSED_BELOW_MINIMUM: &str = "audience_below_minimum";

/// A stored campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub advertiser: String,
    pub name: String,
    /// `None`: untargeted (every member may see it, no attribute is used).
    pub audience_id: Option<i64>,
    pub status: Status,
    pub pause_reason: Option<String>,
    pub epsilon_budget: Epsilon,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(r: &steward_store::Row) -> Result<Campaign, AdsError> {
    Ok(Campaign {
        id: r.i64(0)?,
        advertiser: r.text(1)?,
        name: r.text(2)?,
        audience_id: r.opt_i64(3)?,
        status: Status::parse(&r.text(4)?),
        pause_reason: r.opt_text(5)?,
        epsilon_budget: Epsilon(u64::try_from(r.i64(6)?).unwrap_or(0)),
        created_at: r.i64(7)?,
        updated_at: r.i64(8)?,
    })
}

const COLUMNS: &str = "campaign_id, advertiser, name, audience_id, status, pause_reason, \
                       epsilon_budget_micro, created_at, updated_at";

/// Loads a campaign of `advertiser` (another advertiser's campaign is "not found").
pub fn get(tx: &mut Tx<'_>, advertiser: &str, id: i64) -> Result<Campaign, AdsError> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM ads_campaigns WHERE campaign_id = $1 AND advertiser = $2"
            ),
            &[Value::Int(id), Value::from(advertiser)],
        )?
        .ok_or_else(|| AdsError::NotFound(format!("campaign `{id}`")))?;
    from_row(&row)
}

/// Loads a campaign whoever owns it (for the operator and ad serving).
pub fn get_any(tx: &mut Tx<'_>, id: i64) -> Result<Campaign, AdsError> {
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM ads_campaigns WHERE campaign_id = $1"),
            &[Value::Int(id)],
        )?
        .ok_or_else(|| AdsError::NotFound(format!("campaign `{id}`")))?;
    from_row(&row)
}

/// Campaigns in a state (all advertisers).
pub fn with_status(tx: &mut Tx<'_>, status: Status) -> Result<Vec<Campaign>, AdsError> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM ads_campaigns WHERE status = $1 ORDER BY campaign_id"),
        &[Value::from(status.as_str())],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The campaigns of an advertiser.
pub fn list(tx: &mut Tx<'_>, advertiser: &str) -> Result<Vec<Campaign>, AdsError> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM ads_campaigns WHERE advertiser = $1 ORDER BY campaign_id"),
        &[Value::from(advertiser)],
    )?
    .iter()
    .map(from_row)
    .collect()
}

fn entry(c: &Campaign, action: &str, details: String, now_ms: i64) -> Entry {
    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        c.advertiser.as_str(),
        "advertiser",
        crate::PURPOSE,
        action,
    );
    e.reference = format!("campaign:{}", c.id);
    e.outcome = "ok".to_owned();
    e.details = details;
    e
}

/// Counts the audience of a campaign now and refuses below the minimum.
fn check_audience(
    tx: &mut Tx<'_>,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    audience_id: Option<i64>,
) -> Result<(), AdsError> {
    if let Some(aid) = audience_id {
        let a = audience::get(tx, advertiser, aid)?;
        let reach = audience::members(tx, index, &a)?.len();
        config.check_minimum(reach)?;
    }
    Ok(())
}

fn set_status(
    tx: &mut Tx<'_>,
    id: i64,
    status: Status,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<(), AdsError> {
    tx.execute(
        "UPDATE ads_campaigns SET status = $1, pause_reason = $2, updated_at = $3 WHERE campaign_id = $4",
        &[
            Value::from(status.as_str()),
            reason.map(Value::from).unwrap_or(Value::Null),
            Value::Int(now_ms),
            Value::Int(id),
        ],
    )?;
    Ok(())
}

/// Creates a draft campaign, with an audience (checked against the minimum) or untargeted.
#[allow(clippy::too_many_arguments)]
pub fn create(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    name: &str,
    audience_id: Option<i64>,
    epsilon_budget: Option<Epsilon>,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    crate::schema::ensure_advertiser(tx, advertiser, config.advertiser_budget.0, now_ms)?;
    if name.trim().is_empty() {
        return Err(AdsError::Invalid("a campaign needs a name".to_owned()));
    }
    check_audience(tx, index, config, advertiser, audience_id)?;
    let budget = epsilon_budget.unwrap_or(config.campaign_budget);
    let id = tx
        .query_opt(
            "INSERT INTO ads_campaigns (advertiser, name, audience_id, status, epsilon_budget_micro, \
             created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, $5, $5) RETURNING campaign_id",
            &[
                Value::from(advertiser),
                Value::from(name),
                audience_id.map(Value::Int).unwrap_or(Value::Null),
                Value::Int(i64::try_from(budget.0).unwrap_or(i64::MAX)),
                Value::Int(now_ms),
            ],
        )?
        .ok_or_else(|| AdsError::Invalid("the campaign was not stored".to_owned()))?
        .i64(0)?;
    let c = get(tx, advertiser, id)?;
    let details = format!(
        "audience={} epsilon_budget={}",
        audience_id.map_or("untargeted".to_owned(), |a| format!("audience:{a}")),
        budget
    );
    ledger.append(tx, entry(&c, "campaign.create", details, now_ms))?;
    Ok(c)
}

/// Attaches (or replaces) a campaign's audience; refused below the minimum.
#[allow(clippy::too_many_arguments)]
pub fn attach_audience(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    campaign_id: i64,
    audience_id: i64,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    let c = get(tx, advertiser, campaign_id)?;
    if c.status == Status::Ended {
        return Err(AdsError::InvalidState {
            campaign: c.id,
            status: c.status.as_str().to_owned(),
            action: "attach an audience",
        });
    }
    check_audience(tx, index, config, advertiser, Some(audience_id))?;
    tx.execute(
        "UPDATE ads_campaigns SET audience_id = $1, updated_at = $2 WHERE campaign_id = $3",
        &[
            Value::Int(audience_id),
            Value::Int(now_ms),
            Value::Int(c.id),
        ],
    )?;
    ledger.append(
        tx,
        entry(
            &c,
            "campaign.attach",
            format!("audience=audience:{audience_id}"),
            now_ms,
        ),
    )?;
    get(tx, advertiser, campaign_id)
}

/// Launches a draft campaign. The audience is recounted here, whatever the client thinks.
pub fn launch(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    campaign_id: i64,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    transition(
        tx,
        ledger,
        index,
        config,
        advertiser,
        campaign_id,
        Status::Draft,
        "launch",
        now_ms,
    )
}

/// Resumes a paused campaign, recounting its audience.
pub fn resume(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    campaign_id: i64,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    transition(
        tx,
        ledger,
        index,
        config,
        advertiser,
        campaign_id,
        Status::Paused,
        "resume",
        now_ms,
    )
}

#[allow(clippy::too_many_arguments)]
fn transition(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    advertiser: &str,
    campaign_id: i64,
    from: Status,
    action: &'static str,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    let c = get(tx, advertiser, campaign_id)?;
    if c.status != from {
        return Err(AdsError::InvalidState {
            campaign: c.id,
            status: c.status.as_str().to_owned(),
            action,
        });
    }
    check_audience(tx, index, config, advertiser, c.audience_id)?;
    set_status(tx, c.id, Status::Active, None, now_ms)?;
    ledger.append(
        tx,
        entry(&c, &format!("campaign.{action}"), String::new(), now_ms),
    )?;
    get(tx, advertiser, campaign_id)
}

/// Pauses an active campaign at the advertiser's request.
pub fn pause(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    advertiser: &str,
    campaign_id: i64,
    now_ms: i64,
) -> Result<Campaign, AdsError> {
    let c = get(tx, advertiser, campaign_id)?;
    if c.status != Status::Active {
        return Err(AdsError::InvalidState {
            campaign: c.id,
            status: c.status.as_str().to_owned(),
            action: "pause",
        });
    }
    set_status(tx, c.id, Status::Paused, Some("advertiser"), now_ms)?;
    ledger.append(
        tx,
        entry(&c, "campaign.pause", "reason=advertiser".to_owned(), now_ms),
    )?;
    get(tx, advertiser, campaign_id)
}

/// Pauses every active campaign whose audience is now below the minimum; returns their ids.
/// Call after [`AudienceIndex::apply_changes`] and on a schedule.
pub fn enforce_minimums(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    config: &AdsConfig,
    now_ms: i64,
) -> Result<Vec<i64>, AdsError> {
    let mut paused = Vec::new();
    for c in with_status(tx, Status::Active)? {
        let Some(aid) = c.audience_id else {
            continue;
        };
        let a = audience::get(tx, &c.advertiser, aid)?;
        let reach = audience::members(tx, index, &a)?.len();
        if config.check_minimum(reach).is_err() {
            set_status(tx, c.id, Status::Paused, Some(PAUSED_BELOW_MINIMUM), now_ms)?;
            let mut e = entry(
                &c,
                "campaign.pause",
                format!("reason={PAUSED_BELOW_MINIMUM}"),
                now_ms,
            );
            e.actor = "steward-ads".to_owned();
            e.role = "system".to_owned();
            ledger.append(tx, e)?;
            paused.push(c.id);
        }
    }
    Ok(paused)
}
