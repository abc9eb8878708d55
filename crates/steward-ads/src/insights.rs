//! Differentially private insights for `analytics.insights`: "skills in demand" and "career
//! transitions".
//!
//! **Skills in demand** — the top skills per industry.
//! Skills are an open domain (members type them), so the release uses partition selection:
//! each member contributes to at most [`MAX_SKILLS`] (industry, skill) partitions, once each;
//! every observed partition gets discrete Laplace noise from its own canonical question and
//! is kept only if the noisy count clears the threshold for δ, so a skill only a handful of
//! members hold never appears. The top k per industry are then picked from the noisy counts
//! (post-processing). The release is ledgered like any other, without member ids. Its ε is
//! charged to the insights budget and its δ to the insights δ budget before anything is
//! computed, and the released cells are stored under the question's digest, as for career
//! transitions below.
//!
//! **Career transitions** ([`career_transitions`]) — how many members moved from one job
//! function to another, from consecutive positions of the experience section. A position's
//! function comes from its title through the O*NET-SOC major group, as in the
//! `career_transitions` training source (this crate reads the same occupations table; it never
//! depends on the vault). The domain is closed (function × function), so every cell is noised
//! — zero cells included — and small noisy cells are suppressed (post-processing), with no
//! partition selection and no δ. Each member contributes at most [`MAX_TRANSITIONS`] moves
//! (their earliest), once per cell. The release is charged to the insights budget
//! ([`insights_accountant`]) before anything is computed; the released cells are stored under
//! the question's digest, so the same question (same day, same ε) returns the same answer and
//! is not charged again — even if the data changed in between, which would otherwise let a
//! repeated question with the same noise reveal the change exactly.

use std::collections::{BTreeMap, HashMap};

use steward_core::{Form, Policy};
use steward_ledger::{Entry, Ledger};
use steward_privacy::dp::aggregate::{Threshold, release_known_domain, release_open_domain};
use steward_privacy::dp::{
    Accountant, Budget, CanonicalQuery, Charge, ContributionBound, Cost, DiscreteLaplace, DpError,
    Epsilon, NoiseKey, Rho, bounded_counts,
};
use steward_store::gate::{GateRequest, GatedRecord, PositionRecord, read_in};
use steward_store::vocab::{JOB_FUNCTIONS, job_function_of_soc};
use steward_store::{Tx, Value};

use crate::attr::normalize;
use crate::error::AdsError;
use crate::report::BudgetStatus;

/// The purpose of insights.
pub const INSIGHTS: &str = "analytics.insights";
/// At most this many skills of one member count.
pub const MAX_SKILLS: u32 = 5;

/// The released top skills of one industry, by noisy count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndustrySkills {
    pub industry: String,
    pub skills: Vec<(String, i64)>,
}

/// A skills-in-demand release.
#[derive(Clone, Debug, PartialEq)]
pub struct SkillsInDemand {
    /// The top `k` skills per industry, by noisy count.
    pub industries: Vec<IndustrySkills>,
    pub epsilon: Epsilon,
    pub delta: f64,
    /// The UTC day the release is for (one question a day at a given ε and δ).
    pub day: i64,
    /// False when the same question was answered (and paid for) before: the stored answer.
    pub charged: bool,
    /// The insights ε budget after this release.
    pub budget: BudgetStatus,
    /// The insights δ budget after this release.
    pub delta_budget: DeltaStatus,
    pub ledger_seq: u64,
}

/// Spending of the insights δ budget (partition selection over open domains costs δ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeltaStatus {
    pub budget: f64,
    pub spent: f64,
    pub remaining: f64,
}

/// Computes (or, for a question already answered, returns), charges, ledgers and returns the
/// skills-in-demand release of the day of `now_ms`, with the top `k` skills per industry.
///
/// The question — the day, ε and δ — is charged to the insights budget ([`insights_accountant`]
/// for ε, and the δ budget beside it) before anything is computed, and refused with
/// `dp.budget_exhausted` past either. Every released (industry, skill) cell is stored under
/// the question's digest: asking again that day returns the same cells (any `k`, since the top
/// `k` is post-processing) and spends nothing, even if members' skills changed meanwhile.
#[allow(clippy::too_many_arguments)]
pub fn skills_in_demand(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    policy: &Policy,
    key: &NoiseKey,
    epsilon: Epsilon,
    delta: f64,
    k: usize,
    now_ms: i64,
) -> Result<SkillsInDemand, AdsError> {
    if !(delta > 0.0 && delta < 1e-3) {
        return Err(AdsError::Invalid("δ must be in (0, 0.001)".to_owned()));
    }
    if epsilon.0 == 0 {
        return Err(AdsError::Invalid("ε must be positive".to_owned()));
    }
    let bound = ContributionBound {
        max_partitions: MAX_SKILLS,
        max_per_partition: 1,
    };
    let mechanism = DiscreteLaplace::new(epsilon, bound.l1())?;
    let day = now_ms.div_euclid(DAY_MS);
    let q = CanonicalQuery::new()
        .with("kind", "skills_in_demand")
        .with("day", day)
        .with("epsilon_micro", epsilon.0)
        .with("delta", delta);
    let digest = q.digest();
    let cost = Cost::pure(epsilon);
    let paid = pay(tx, &digest, cost, delta_pico(delta))?;

    let mut cells: Vec<(String, String, i64)> = match &paid.stored {
        Some(body) => body
            .lines()
            .filter_map(|l| {
                let mut it = l.split('\t');
                let (i, s, n) = (it.next()?, it.next()?, it.next()?.parse().ok()?);
                Some((i.to_owned(), s.to_owned(), n))
            })
            .collect(),
        None => {
            let counts = skill_counts(tx, policy, bound, now_ms)?;
            release_open_domain(&counts, &mechanism, key, &q, delta / f64::from(MAX_SKILLS))
                .into_iter()
                .filter_map(|(cell, n)| {
                    let (i, s) = cell.split_once('\u{1f}')?;
                    Some((i.to_owned(), s.to_owned(), n))
                })
                .collect()
        }
    };
    cells.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(b.2.cmp(&a.2))
            .then_with(|| a.1.cmp(&b.1))
    });
    if paid.charged {
        let body: Vec<String> = cells
            .iter()
            .map(|(i, s, n)| format!("{i}\t{s}\t{n}"))
            .collect();
        record_release(
            tx,
            &digest,
            "skills_in_demand",
            cost,
            delta_pico(delta),
            &body.join("\n"),
            now_ms,
        )?;
    }
    let mut by_industry: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (i, s, n) in cells {
        let v = by_industry.entry(i).or_default();
        if v.len() < k {
            v.push((s, n));
        }
    }
    let industries: Vec<IndustrySkills> = by_industry
        .into_iter()
        .map(|(industry, skills)| IndustrySkills { industry, skills })
        .collect();
    let categories = ["member.profile.industry", "member.profile.skills"];
    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        "steward-ads",
        "system",
        INSIGHTS,
        "release",
    );
    e.categories = categories.iter().map(|c| (*c).to_owned()).collect();
    e.policy_version = policy.version_id();
    e.reference = format!("insights:skills_in_demand:{day}");
    e.outcome = "ok".to_owned();
    e.details = format!(
        "epsilon={epsilon} delta={delta} charged={} mechanism=discrete_laplace partition_selection max_skills_per_member={MAX_SKILLS} industries={} k={k}",
        paid.charged,
        industries.len()
    );
    e.normalize();
    let ledger_seq = ledger.append(tx, e)?;
    let (acct, delta_budget) = (insights_accountant(tx)?, delta_status(tx)?);
    Ok(SkillsInDemand {
        industries,
        epsilon,
        delta,
        day,
        charged: paid.charged,
        budget: budget_status(&acct),
        delta_budget,
        ledger_seq,
    })
}

/// The exact, bounded (industry, skill) counts as of `now_ms`, keyed `industry␟skill`: what
/// [`skills_in_demand`] noises. Never released as is.
fn skill_counts(
    tx: &mut Tx<'_>,
    policy: &Policy,
    bound: ContributionBound,
    now_ms: i64,
) -> Result<BTreeMap<String, i64>, AdsError> {
    let categories = ["member.profile.industry", "member.profile.skills"];
    let request = GateRequest {
        purpose: INSIGHTS,
        categories: &categories,
        form: Form::Aggregate,
        at_ms: now_ms,
    };
    let mut industry: HashMap<i64, String> = HashMap::new();
    let mut skills: Vec<(i64, String)> = Vec::new();
    read_in(tx, policy, &request, |record| {
        match record {
            GatedRecord::Profile(p) => {
                if let Some(i) = p.industry.as_deref() {
                    industry.insert(p.member_id, normalize(i));
                }
            }
            GatedRecord::Skill(s) => skills.push((s.member_id, normalize(&s.skill))),
            _ => {}
        }
        Ok::<(), AdsError>(())
    })?;
    let rows = skills.into_iter().filter_map(|(m, s)| {
        let i = industry.get(&m)?;
        Some((u64::try_from(m).ok()?, format!("{i}\u{1f}{s}")))
    });
    Ok(bounded_counts(rows, bound))
}

/// At most this many moves of one member count in career transitions (their earliest).
pub const MAX_TRANSITIONS: u32 = 3;
/// Transition cells whose noisy count is below this are not shown.
pub const TRANSITIONS_SUPPRESS_BELOW: i64 = 10;
/// The insights budget when the operator has set none: total ε over all insights releases.
pub const DEFAULT_INSIGHTS_BUDGET: Epsilon = Epsilon(10_000_000);
/// The category career transitions read.
pub const EXPERIENCE_CATEGORY: &str = "member.profile.experience";
/// The insights δ budget when the operator has set none: total δ over all releases that
/// select partitions of an open domain (ten days of skills in demand at δ = 10⁻⁶).
pub const DEFAULT_INSIGHTS_DELTA_BUDGET: f64 = 1e-5;
const DAY_MS: i64 = 86_400_000;
const SETTING_BUDGET: &str = "insights_budget_micro";
const SETTING_DELTA_BUDGET: &str = "insights_delta_budget_pico";
/// δ is kept in integer units of 10⁻¹², so sums are exact.
const PICO: f64 = 1e12;

/// O*NET-SOC occupation titles: the table the seed draws titles from and the datasets'
/// `career_transitions` source maps them with.
const OCCUPATIONS: &str = include_str!("../../steward-store/data/occupations.tsv");

/// Title (lower-case) → job function, through the occupation's SOC major group.
fn functions_by_title() -> HashMap<String, &'static str> {
    OCCUPATIONS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(soc, title)| (title.trim().to_lowercase(), job_function_of_soc(soc)))
        .collect()
}

/// The job function of a position title; `None` for a title outside the occupations table.
pub fn function_of_title(title: &str) -> Option<&'static str> {
    static MAP: std::sync::OnceLock<HashMap<String, &'static str>> = std::sync::OnceLock::new();
    MAP.get_or_init(functions_by_title)
        .get(&title.trim().to_lowercase())
        .copied()
}

/// One released transition cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: String,
    pub to: String,
    /// The noisy count (never below [`TRANSITIONS_SUPPRESS_BELOW`]).
    pub count: i64,
}

/// A career-transitions release.
#[derive(Clone, Debug, PartialEq)]
pub struct CareerTransitions {
    /// The cells shown, by noisy count (largest first), ties by name.
    pub transitions: Vec<Transition>,
    /// Cells noised (the whole function × function domain).
    pub cells: usize,
    /// Cells not shown because their noisy count fell below the threshold.
    pub suppressed: usize,
    pub epsilon: Epsilon,
    /// False when the same question was answered (and paid for) before: the stored answer.
    pub charged: bool,
    pub budget: BudgetStatus,
    /// The expected absolute error of one cell's noise.
    pub expected_abs_error: f64,
    pub ledger_seq: u64,
}

/// The insights budget set by the operator, or [`DEFAULT_INSIGHTS_BUDGET`].
pub fn insights_budget(tx: &mut Tx<'_>) -> Result<Epsilon, AdsError> {
    let row = tx.query_opt(
        "SELECT value FROM ads_settings WHERE name = $1",
        &[Value::from(SETTING_BUDGET)],
    )?;
    match row {
        None => Ok(DEFAULT_INSIGHTS_BUDGET),
        Some(r) => {
            let text = r.text(0)?;
            text.parse::<u64>().map(Epsilon).map_err(|_| {
                AdsError::Config(format!("the insights budget `{text}` is not an integer"))
            })
        }
    }
}

/// Sets the total ε of insights releases (spent ε stays spent).
pub fn set_insights_budget(tx: &mut Tx<'_>, budget: Epsilon) -> Result<(), AdsError> {
    set_setting(tx, SETTING_BUDGET, budget.0)
}

/// Sets the total δ of insights releases (spent δ stays spent); δ is in [0, 1).
pub fn set_insights_delta_budget(tx: &mut Tx<'_>, delta: f64) -> Result<(), AdsError> {
    if !(0.0..1.0).contains(&delta) {
        return Err(AdsError::Invalid("a δ budget is in [0, 1)".to_owned()));
    }
    set_setting(tx, SETTING_DELTA_BUDGET, delta_pico(delta))
}

fn set_setting(tx: &mut Tx<'_>, name: &str, value: u64) -> Result<(), AdsError> {
    tx.execute(
        "DELETE FROM ads_settings WHERE name = $1",
        &[Value::from(name)],
    )?;
    tx.execute(
        "INSERT INTO ads_settings (name, value) VALUES ($1, $2)",
        &[Value::from(name), Value::from(value.to_string().as_str())],
    )?;
    Ok(())
}

fn delta_pico(delta: f64) -> u64 {
    // δ is checked to lie in [0, 1) before it gets here; the cast saturates anyway.
    (delta * PICO).round() as u64
}

/// The insights δ budget set by the operator (in 10⁻¹²), or the default.
fn delta_budget_pico(tx: &mut Tx<'_>) -> Result<u64, AdsError> {
    let row = tx.query_opt(
        "SELECT value FROM ads_settings WHERE name = $1",
        &[Value::from(SETTING_DELTA_BUDGET)],
    )?;
    match row {
        None => Ok(delta_pico(DEFAULT_INSIGHTS_DELTA_BUDGET)),
        Some(r) => {
            let text = r.text(0)?;
            text.parse::<u64>().map_err(|_| {
                AdsError::Config(format!("the insights δ budget `{text}` is not an integer"))
            })
        }
    }
}

fn delta_spent_pico(tx: &mut Tx<'_>) -> Result<u64, AdsError> {
    let row = tx.query_opt(
        "SELECT CAST(COALESCE(SUM(delta_pico), 0) AS BIGINT) FROM ads_insights_releases",
        &[],
    )?;
    Ok(match row {
        Some(r) => u64::try_from(r.opt_i64(0)?.unwrap_or(0)).unwrap_or(0),
        None => 0,
    })
}

/// The insights δ budget and what the stored releases have spent of it.
pub fn delta_status(tx: &mut Tx<'_>) -> Result<DeltaStatus, AdsError> {
    let (budget, spent) = (delta_budget_pico(tx)?, delta_spent_pico(tx)?);
    Ok(DeltaStatus {
        budget: budget as f64 / PICO,
        spent: spent as f64 / PICO,
        remaining: budget.saturating_sub(spent) as f64 / PICO,
    })
}

/// What paying for an insights question found.
struct Paid {
    /// Newly paid: the caller computes the release and stores it with [`record_release`].
    charged: bool,
    /// The body stored when the question was paid before.
    stored: Option<String>,
}

/// Charges the question `digest` to the insights budgets — ε (and its zCDP ρ) through the
/// accountant, `delta_pico` against the δ budget — or finds it paid before. Refuses with
/// `dp.budget_exhausted` before anything is computed; nothing is written here.
fn pay(tx: &mut Tx<'_>, digest: &str, cost: Cost, delta_pico: u64) -> Result<Paid, AdsError> {
    let mut acct = insights_accountant(tx)?;
    let stored = tx
        .query_opt(
            "SELECT body FROM ads_insights_releases WHERE digest = $1",
            &[Value::from(digest)],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    if stored.is_some() {
        acct.remember(digest);
    }
    let charged = matches!(acct.charge(&["insights"], digest, cost)?, Charge::Paid(_));
    if charged && delta_pico > 0 {
        let (budget, spent) = (delta_budget_pico(tx)?, delta_spent_pico(tx)?);
        if spent.saturating_add(delta_pico) > budget {
            let left = acct
                .get("insights")
                .map(|s| s.remaining())
                .unwrap_or_default();
            return Err(DpError::BudgetExhausted {
                scope: "insights (δ)".to_owned(),
                requested: delta_pico as f64 / PICO,
                remaining_epsilon: left.epsilon.as_f64(),
                remaining_rho: left.rho.as_f64(),
            }
            .into());
        }
    }
    Ok(Paid { charged, stored })
}

/// Stores a newly paid release: its cost (what the budgets sum) and its body (what asking the
/// same question again returns).
fn record_release(
    tx: &mut Tx<'_>,
    digest: &str,
    kind: &str,
    cost: Cost,
    delta_pico: u64,
    body: &str,
    now_ms: i64,
) -> Result<(), AdsError> {
    tx.execute(
        "INSERT INTO ads_insights_releases (digest, kind, epsilon_micro, rho_micro, delta_pico, body, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Value::from(digest),
            Value::from(kind),
            Value::Int(i64::try_from(cost.epsilon.0).unwrap_or(i64::MAX)),
            Value::Int(i64::try_from(cost.rho.0).unwrap_or(i64::MAX)),
            Value::Int(i64::try_from(delta_pico).unwrap_or(i64::MAX)),
            Value::from(body),
            Value::Int(now_ms),
        ],
    )?;
    Ok(())
}

/// The accountant of insights releases: one scope, `insights`, with the operator's budget and
/// what every stored release has spent.
pub fn insights_accountant(tx: &mut Tx<'_>) -> Result<Accountant, AdsError> {
    let budget = insights_budget(tx)?;
    let row = tx.query_opt(
        "SELECT CAST(COALESCE(SUM(epsilon_micro), 0) AS BIGINT), CAST(COALESCE(SUM(rho_micro), 0) AS BIGINT) FROM ads_insights_releases",
        &[],
    )?;
    let (e, r) = match row {
        Some(r) => (r.opt_i64(0)?.unwrap_or(0), r.opt_i64(1)?.unwrap_or(0)),
        None => (0, 0),
    };
    let mut a = Accountant::new();
    a.scope(
        "insights",
        Budget::pure(budget),
        Cost {
            epsilon: Epsilon(u64::try_from(e).unwrap_or(0)),
            rho: Rho(u64::try_from(r).unwrap_or(0)),
        },
    );
    Ok(a)
}

fn budget_status(a: &Accountant) -> BudgetStatus {
    match a.get("insights") {
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

/// The exact, bounded transition counts (`(from, to)` → members' moves) as of `now_ms`: what
/// [`career_transitions`] noises. For the operator and tests; never released as is.
pub fn transition_counts(
    tx: &mut Tx<'_>,
    policy: &Policy,
    now_ms: i64,
) -> Result<BTreeMap<(String, String), i64>, AdsError> {
    let categories = [EXPERIENCE_CATEGORY];
    let request = GateRequest {
        purpose: INSIGHTS,
        categories: &categories,
        form: Form::Aggregate,
        at_ms: now_ms,
    };
    let mut positions: BTreeMap<i64, Vec<PositionRecord>> = BTreeMap::new();
    read_in(tx, policy, &request, |record| {
        if let GatedRecord::Position(p) = record {
            positions.entry(p.member_id).or_default().push(p);
        }
        Ok::<(), AdsError>(())
    })?;
    let mut rows: Vec<(u64, (String, String))> = Vec::new();
    for (member, mut ps) in positions {
        let Ok(member) = u64::try_from(member) else {
            continue;
        };
        // Time order: the earliest moves are the ones kept by the bound.
        ps.sort_by(|a, b| {
            a.start_year
                .cmp(&b.start_year)
                .then(a.position_id.cmp(&b.position_id))
        });
        for pair in ps.windows(2) {
            let [from, to] = pair else { continue };
            if let (Some(f), Some(t)) =
                (function_of_title(&from.title), function_of_title(&to.title))
            {
                rows.push((member, (f.to_owned(), t.to_owned())));
            }
        }
    }
    Ok(bounded_counts(rows, transitions_bound()))
}

fn transitions_bound() -> ContributionBound {
    ContributionBound {
        max_partitions: MAX_TRANSITIONS,
        max_per_partition: 1,
    }
}

fn cell_key(from: &str, to: &str) -> String {
    format!("{from}\u{1f}{to}")
}

/// Computes (or, for a question already answered, returns), charges, ledgers and returns the
/// career-transitions release of the day of `now_ms` at `epsilon`.
pub fn career_transitions(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    policy: &Policy,
    key: &NoiseKey,
    epsilon: Epsilon,
    now_ms: i64,
) -> Result<CareerTransitions, AdsError> {
    if epsilon.0 == 0 {
        return Err(AdsError::Invalid("ε must be positive".to_owned()));
    }
    let bound = transitions_bound();
    let mechanism = DiscreteLaplace::new(epsilon, bound.l1())?;
    let day = now_ms.div_euclid(DAY_MS);
    let q = CanonicalQuery::new()
        .with("kind", "career_transitions")
        .with("day", day)
        .with("epsilon_micro", epsilon.0)
        .with("max_transitions", MAX_TRANSITIONS)
        .with("threshold", TRANSITIONS_SUPPRESS_BELOW);
    let digest = q.digest();

    // Charge first: nothing is computed for a refused question.
    let cost = Cost::pure(epsilon);
    let Paid { charged, stored } = pay(tx, &digest, cost, 0)?;

    let domain: Vec<String> = JOB_FUNCTIONS
        .iter()
        .flat_map(|f| JOB_FUNCTIONS.iter().map(move |t| cell_key(f, t)))
        .collect();
    let mut transitions: Vec<Transition> = match &stored {
        Some(body) => body
            .lines()
            .filter_map(|l| {
                let mut it = l.split('\t');
                let (from, to, n) = (it.next()?, it.next()?, it.next()?.parse().ok()?);
                Some(Transition {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    count: n,
                })
            })
            .collect(),
        None => {
            let exact = transition_counts(tx, policy, now_ms)?;
            let counts: BTreeMap<String, i64> = exact
                .into_iter()
                .map(|((f, t), n)| (cell_key(&f, &t), n))
                .collect();
            release_known_domain(
                &counts,
                &domain,
                &mechanism,
                key,
                &q,
                Threshold::Suppress(TRANSITIONS_SUPPRESS_BELOW),
            )
            .into_iter()
            .filter_map(|c| {
                let n = c.value?;
                let (f, t) = c.key.split_once('\u{1f}')?;
                Some(Transition {
                    from: f.to_owned(),
                    to: t.to_owned(),
                    count: n,
                })
            })
            .collect()
        }
    };
    transitions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    if charged {
        let body: Vec<String> = transitions
            .iter()
            .map(|t| format!("{}\t{}\t{}", t.from, t.to, t.count))
            .collect();
        record_release(
            tx,
            &digest,
            "career_transitions",
            cost,
            0,
            &body.join("\n"),
            now_ms,
        )?;
    }
    let acct = insights_accountant(tx)?;
    let suppressed = domain.len().saturating_sub(transitions.len());
    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        "steward-ads",
        "system",
        INSIGHTS,
        "release",
    );
    e.categories = vec![EXPERIENCE_CATEGORY.to_owned()];
    e.policy_version = policy.version_id();
    e.reference = format!("insights:career_transitions:{day}");
    e.outcome = "ok".to_owned();
    e.details = format!(
        "epsilon={epsilon} charged={charged} mechanism=discrete_laplace max_transitions={MAX_TRANSITIONS} cells={} shown={} suppressed={suppressed} threshold={TRANSITIONS_SUPPRESS_BELOW}",
        domain.len(),
        transitions.len()
    );
    e.normalize();
    let ledger_seq = ledger.append(tx, e)?;
    Ok(CareerTransitions {
        transitions,
        cells: domain.len(),
        suppressed,
        epsilon,
        charged,
        budget: budget_status(&acct),
        expected_abs_error: mechanism.expected_abs_error(),
        ledger_seq,
    })
}
