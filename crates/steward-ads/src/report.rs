//! Campaign reports: impressions, clicks and conversions, optionally broken down by one
//! professional attribute, released with differential privacy.
//!
//! A report covers whole days that have ended (`--days N`: the N days before today, UTC), so
//! the events under a question never change and consistent noise can be honest: the same
//! question — campaign, breakdown, window, ε — always gets the same numbers and is charged
//! once. Each member's contributions are bounded (at most [`CAPS`] events per metric, in the
//! one cell of their attribute), ε is split equally over the three metrics, each cell gets
//! discrete Laplace noise from its own canonical question, cells whose noisy impressions fall
//! below the threshold are suppressed, and the funnel is made consistent (non-negative,
//! clicks ≤ impressions). The advertiser's and the campaign's budgets are both charged, or
//! the report is refused with `dp.budget_exhausted`.
//!
//! Breakdown values come from the gate for `ads.measurement` in `aggregate` form: a member
//! whose attribute is hidden or withheld counts under `unknown`. Cells of closed vocabularies
//! are all released (an empty cell looks like any other small cell); open ones (industry,
//! region) take their domain from the whole gated population, never from who saw the ad.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use steward_core::{ConsentSet, Form, Policy, Visibility};
use steward_ledger::{Entry, Ledger};
use steward_privacy::dp::aggregate::{Cell, release_known_domain};
use steward_privacy::dp::{
    Accountant, Budget, CanonicalQuery, Charge, ContributionBound, Cost, DiscreteLaplace, Epsilon,
    Funnel, NoiseKey, Threshold, bounded_counts,
};
use steward_store::gate::{GateRequest, GatedRecord, read_in};
use steward_store::{Tx, Value, vocab};

use crate::attr::normalize;
use crate::campaign;
use crate::error::AdsError;
use crate::events::EventKind;

/// The purpose of reports.
pub const MEASUREMENT: &str = "ads.measurement";
/// The category of on-platform ad events.
pub const AD_EVENTS_CATEGORY: &str = "member.activity.ad_events";
/// At most this many impressions, clicks, conversions of one member count in one report.
pub const CAPS: [u32; 3] = [10, 2, 1];
/// Cells whose noisy impressions are below this are suppressed.
pub const SUPPRESS_BELOW: i64 = 20;
/// The longest window.
pub const MAX_DAYS: u32 = 366;
const DAY_MS: i64 = 86_400_000;

/// A breakdown dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    Industry,
    Seniority,
    JobFunction,
    Region,
    CompanySize,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "industry" => Dimension::Industry,
            "seniority" => Dimension::Seniority,
            "function" | "job_function" => Dimension::JobFunction,
            "region" => Dimension::Region,
            "company_size" => Dimension::CompanySize,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Industry => "industry",
            Dimension::Seniority => "seniority",
            Dimension::JobFunction => "job_function",
            Dimension::Region => "region",
            Dimension::CompanySize => "company_size",
        }
    }

    pub fn category(self) -> &'static str {
        match self {
            Dimension::Industry => "member.profile.industry",
            Dimension::Seniority => "member.profile.seniority",
            Dimension::JobFunction => "member.profile.job_function",
            Dimension::Region => "member.profile.location",
            Dimension::CompanySize => "member.profile.company_size",
        }
    }

    fn vocabulary(self) -> Option<&'static [&'static str]> {
        match self {
            Dimension::Seniority => Some(vocab::SENIORITY),
            Dimension::JobFunction => Some(vocab::JOB_FUNCTIONS),
            Dimension::CompanySize => Some(vocab::COMPANY_SIZE),
            _ => None,
        }
    }
}

/// What the advertiser asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    pub campaign_id: i64,
    pub by: Option<Dimension>,
    pub days: u32,
    pub epsilon: Epsilon,
}

/// One released cell; `None` everywhere when suppressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub cell: String,
    pub funnel: Option<Funnel>,
}

/// Spending of one budget scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetStatus {
    pub budget: Epsilon,
    pub spent: Epsilon,
    pub remaining: Epsilon,
}

/// A released report. Holds aggregates only.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub campaign_id: i64,
    pub by: Option<Dimension>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: Vec<ReportRow>,
    pub epsilon: Epsilon,
    /// False when the same question was answered (and paid for) before.
    pub charged: bool,
    pub campaign_budget: BudgetStatus,
    pub advertiser_budget: BudgetStatus,
    /// Expected absolute error of each metric's noise.
    pub expected_abs_error: [f64; 3],
    pub suppressed: usize,
    pub ledger_seq: u64,
}

fn sum_spent(tx: &mut Tx<'_>, sql: &str, param: Value) -> Result<Cost, AdsError> {
    let row = tx.query_opt(sql, &[param])?;
    let (e, r) = match row {
        Some(r) => (r.opt_i64(0)?.unwrap_or(0), r.opt_i64(1)?.unwrap_or(0)),
        None => (0, 0),
    };
    Ok(Cost {
        epsilon: Epsilon(u64::try_from(e).unwrap_or(0)),
        rho: steward_privacy::dp::Rho(u64::try_from(r).unwrap_or(0)),
    })
}

fn status(scope: Option<&steward_privacy::dp::budget::Scope>) -> BudgetStatus {
    match scope {
        Some(s) => BudgetStatus {
            budget: s.budget.epsilon,
            spent: s.spent.epsilon,
            remaining: s.remaining().epsilon,
        },
        None => BudgetStatus {
            budget: Epsilon(0),
            spent: Epsilon(0),
            remaining: Epsilon(0),
        },
    }
}

/// Loads the accountant of an advertiser and one campaign from the charges table.
pub fn accountant(
    tx: &mut Tx<'_>,
    advertiser: &str,
    campaign_id: i64,
    campaign_budget: Epsilon,
) -> Result<Accountant, AdsError> {
    let budget = tx
        .query_opt(
            "SELECT epsilon_budget_micro FROM ads_advertisers WHERE advertiser = $1",
            &[Value::from(advertiser)],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    let adv_spent = sum_spent(
        tx,
        "SELECT CAST(COALESCE(SUM(epsilon_micro), 0) AS BIGINT), CAST(COALESCE(SUM(rho_micro), 0) AS BIGINT) FROM ads_dp_charges WHERE advertiser = $1",
        Value::from(advertiser),
    )?;
    let camp_spent = sum_spent(
        tx,
        "SELECT CAST(COALESCE(SUM(epsilon_micro), 0) AS BIGINT), CAST(COALESCE(SUM(rho_micro), 0) AS BIGINT) FROM ads_dp_charges WHERE campaign_id = $1",
        Value::Int(campaign_id),
    )?;
    let mut a = Accountant::new();
    a.scope(
        "advertiser",
        Budget::pure(Epsilon(u64::try_from(budget).unwrap_or(0))),
        adv_spent,
    );
    a.scope("campaign", Budget::pure(campaign_budget), camp_spent);
    Ok(a)
}

/// Builds, charges, ledgers and returns a campaign report for `advertiser`.
#[allow(clippy::too_many_arguments)]
pub fn campaign_report(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    policy: &Policy,
    key: &NoiseKey,
    advertiser: &str,
    request: &ReportRequest,
    now_ms: i64,
) -> Result<Report, AdsError> {
    let c = campaign::get(tx, advertiser, request.campaign_id)?;
    if request.days == 0 || request.days > MAX_DAYS {
        return Err(AdsError::Invalid(format!(
            "--days must be between 1 and {MAX_DAYS}"
        )));
    }
    // The policy must release ad events to measurement as aggregates.
    let t = policy.taxonomy();
    let allowed = match (t.purpose_id(MEASUREMENT), t.category_id(AD_EVENTS_CATEGORY)) {
        (Some(p), Some(cat)) => policy
            .decide(p, cat, Visibility::Private, ConsentSet::ALL)
            .permits(Form::Aggregate),
        _ => false,
    };
    if !allowed {
        return Err(AdsError::Invalid(format!(
            "policy {} does not release `{AD_EVENTS_CATEGORY}` to `{MEASUREMENT}` as aggregates",
            policy.version_id()
        )));
    }
    let to_ms = now_ms.div_euclid(DAY_MS) * DAY_MS;
    let from_ms = to_ms - i64::from(request.days) * DAY_MS;
    let by_name = request.by.map_or("none", Dimension::name);
    let base = CanonicalQuery::new()
        .with("kind", "campaign_report")
        .with("advertiser", advertiser)
        .with("campaign", c.id)
        .with("by", by_name)
        .with("from", from_ms)
        .with("to", to_ms)
        .with("epsilon_micro", request.epsilon.0)
        .with("caps", format!("{CAPS:?}"));
    let digest = base.digest();

    // Charge first: nothing is computed for a refused question.
    let mut acct = accountant(tx, advertiser, c.id, c.epsilon_budget)?;
    let already = tx
        .query_opt(
            "SELECT 1 FROM ads_dp_charges WHERE digest = $1",
            &[Value::from(digest.as_str())],
        )?
        .is_some();
    if already {
        acct.remember(&digest);
    }
    let cost = Cost::pure(request.epsilon);
    let charge = acct.charge(&["advertiser", "campaign"], &digest, cost)?;
    let charged = matches!(charge, Charge::Paid(_));
    if charged {
        tx.execute(
            "INSERT INTO ads_dp_charges (digest, advertiser, campaign_id, epsilon_micro, rho_micro, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Value::from(digest.as_str()),
                Value::from(advertiser),
                Value::Int(c.id),
                Value::Int(i64::try_from(cost.epsilon.0).unwrap_or(i64::MAX)),
                Value::Int(i64::try_from(cost.rho.0).unwrap_or(i64::MAX)),
                Value::Int(now_ms),
            ],
        )?;
    }

    // Breakdown values through the gate.
    let mut value_of: HashMap<i64, String> = HashMap::new();
    let mut domain: BTreeSet<String> = BTreeSet::new();
    if let Some(dim) = request.by {
        let categories = [dim.category()];
        let req = GateRequest {
            purpose: MEASUREMENT,
            categories: &categories,
            form: Form::Aggregate,
            at_ms: now_ms,
        };
        read_in(tx, policy, &req, |record| {
            if let GatedRecord::Profile(p) = record {
                let v = match dim {
                    Dimension::Industry => p.industry.as_deref(),
                    Dimension::Seniority => p.seniority.as_deref(),
                    Dimension::JobFunction => p.job_function.as_deref(),
                    Dimension::Region => p.region.as_deref(),
                    Dimension::CompanySize => p.company_size.as_deref(),
                };
                if let Some(v) = v {
                    let v = normalize(v);
                    domain.insert(v.clone());
                    value_of.insert(p.member_id, v);
                }
            }
            Ok::<(), AdsError>(())
        })?;
        if let Some(vocab) = dim.vocabulary() {
            domain = vocab.iter().map(|s| (*s).to_owned()).collect();
        }
        domain.insert("unknown".to_owned());
    } else {
        domain.insert("all".to_owned());
    }

    // Events of the window, by metric, as (member, cell) rows.
    let mut rows: [Vec<(u64, String)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    tx.query_each(
        "SELECT member_id, kind FROM ads_events WHERE campaign_id = $1 AND at >= $2 AND at < $3",
        &[Value::Int(c.id), Value::Int(from_ms), Value::Int(to_ms)],
        |r| {
            let member = r.i64(0)?;
            let Some(kind) = r.get(1).as_str().and_then(EventKind::parse) else {
                return Ok(());
            };
            let cell = match request.by {
                None => "all".to_owned(),
                Some(_) => value_of
                    .get(&member)
                    .filter(|v| domain.contains(*v))
                    .cloned()
                    .unwrap_or_else(|| "unknown".to_owned()),
            };
            let i = match kind {
                EventKind::Impression => 0,
                EventKind::Click => 1,
                EventKind::Conversion => 2,
            };
            if let Some(v) = rows.get_mut(i) {
                v.push((u64::try_from(member).unwrap_or(0), cell));
            }
            Ok::<(), AdsError>(())
        },
    )?;

    let domain: Vec<String> = domain.into_iter().collect();
    let share = request.epsilon.split(3);
    let mut released: Vec<Vec<Cell<String>>> = Vec::with_capacity(3);
    let mut errors = [0.0f64; 3];
    for (i, metric) in ["impressions", "clicks", "conversions"].iter().enumerate() {
        let cap = CAPS.get(i).copied().unwrap_or(1);
        let bound = ContributionBound {
            max_partitions: 1,
            max_per_partition: cap,
        };
        let counts: BTreeMap<String, i64> = bounded_counts(std::mem::take(&mut rows[i]), bound);
        let m = DiscreteLaplace::new(share, bound.l1())?;
        if let Some(slot) = errors.get_mut(i) {
            *slot = m.expected_abs_error();
        }
        let q = base.clone().with("metric", *metric);
        released.push(release_known_domain(
            &counts,
            &domain,
            &m,
            key,
            &q,
            Threshold::None,
        ));
    }
    let mut out_rows = Vec::with_capacity(domain.len());
    let mut suppressed = 0;
    for (j, cell) in domain.iter().enumerate() {
        let get = |i: usize| {
            released
                .get(i)
                .and_then(|v| v.get(j))
                .and_then(|c| c.value)
                .unwrap_or(0)
        };
        let funnel = Funnel {
            impressions: get(0),
            clicks: get(1),
            conversions: get(2),
        }
        .consistent();
        if funnel.impressions < SUPPRESS_BELOW {
            suppressed += 1;
            out_rows.push(ReportRow {
                cell: cell.clone(),
                funnel: None,
            });
        } else {
            out_rows.push(ReportRow {
                cell: cell.clone(),
                funnel: Some(funnel),
            });
        }
    }

    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        advertiser,
        "advertiser",
        MEASUREMENT,
        "report",
    );
    e.categories = vec![AD_EVENTS_CATEGORY.to_owned()];
    if let Some(d) = request.by {
        e.categories.push(d.category().to_owned());
    }
    e.policy_version = policy.version_id();
    e.reference = format!("campaign:{}", c.id);
    e.outcome = "ok".to_owned();
    e.details = format!(
        "by={by_name} from_ms={from_ms} to_ms={to_ms} epsilon={} charged={charged} cells={} suppressed={suppressed} mechanism=discrete_laplace caps={CAPS:?}",
        request.epsilon,
        out_rows.len()
    );
    e.normalize();
    let seq = ledger.append(tx, e)?;
    Ok(Report {
        campaign_id: c.id,
        by: request.by,
        from_ms,
        to_ms,
        rows: out_rows,
        epsilon: request.epsilon,
        charged,
        campaign_budget: status(acct.get("campaign")),
        advertiser_budget: status(acct.get("advertiser")),
        expected_abs_error: errors,
        suppressed,
        ledger_seq: seq,
    })
}
