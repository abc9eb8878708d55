//! Differentially private insights for `analytics.insights`: "skills in demand" and "career
//! transitions".
//!
//! **Skills in demand** — the top skills per industry.
//! Skills are an open domain (members type them), so the release uses partition selection:
//! each member contributes to at most [`MAX_SKILLS`] (industry, skill) partitions, once each;
//! every observed partition gets discrete Laplace noise from its own canonical question and
//! is kept only if the noisy count clears the threshold for δ, so a skill only a handful of
//! members hold never appears. The top k per industry are then picked from the noisy counts
//! (post-processing). The release is ledgered like any other, without member ids.
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
    Accountant, Budget, CanonicalQuery, Charge, ContributionBound, Cost, DiscreteLaplace, Epsilon,
    NoiseKey, Rho, bounded_counts,
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

/// Computes, ledgers and returns the top `k` skills per industry.
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
) -> Result<Vec<IndustrySkills>, AdsError> {
    if !(delta > 0.0 && delta < 1e-3) {
        return Err(AdsError::Invalid("δ must be in (0, 0.001)".to_owned()));
    }
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
    let bound = ContributionBound {
        max_partitions: MAX_SKILLS,
        max_per_partition: 1,
    };
    let counts = bounded_counts(rows, bound);
    let mechanism = DiscreteLaplace::new(epsilon, bound.l1())?;
    let q = CanonicalQuery::new()
        .with("kind", "skills_in_demand")
        .with("day", now_ms.div_euclid(86_400_000))
        .with("epsilon_micro", epsilon.0)
        .with("delta", delta);
    let released = release_open_domain(&counts, &mechanism, key, &q, delta / f64::from(MAX_SKILLS));
    let mut by_industry: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (cell, n) in released {
        if let Some((i, s)) = cell.split_once('\u{1f}') {
            by_industry
                .entry(i.to_owned())
                .or_default()
                .push((s.to_owned(), n));
        }
    }
    let out: Vec<IndustrySkills> = by_industry
        .into_iter()
        .map(|(industry, mut v)| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(k);
            IndustrySkills {
                industry,
                skills: v,
            }
        })
        .collect();
    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        "steward-ads",
        "system",
        INSIGHTS,
        "release",
    );
    e.categories = categories.iter().map(|c| (*c).to_owned()).collect();
    e.policy_version = policy.version_id();
    e.reference = format!(
        "insights:skills_in_demand:{}",
        now_ms.div_euclid(86_400_000)
    );
    e.outcome = "ok".to_owned();
    e.details = format!(
        "epsilon={epsilon} delta={delta} max_skills_per_member={MAX_SKILLS} industries={} k={k}",
        out.len()
    );
    e.normalize();
    ledger.append(tx, e)?;
    Ok(out)
}

/// At most this many moves of one member count in career transitions (their earliest).
pub const MAX_TRANSITIONS: u32 = 3;
/// Transition cells whose noisy count is below this are not shown.
pub const TRANSITIONS_SUPPRESS_BELOW: i64 = 10;
/// The insights budget when the operator has set none: total ε over all insights releases.
pub const DEFAULT_INSIGHTS_BUDGET: Epsilon = Epsilon(10_000_000);
/// The category career transitions read.
pub const EXPERIENCE_CATEGORY: &str = "member.profile.experience";
const DAY_MS: i64 = 86_400_000;
const SETTING_BUDGET: &str = "insights_budget_micro";

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
    tx.execute(
        "DELETE FROM ads_settings WHERE name = $1",
        &[Value::from(SETTING_BUDGET)],
    )?;
    tx.execute(
        "INSERT INTO ads_settings (name, value) VALUES ($1, $2)",
        &[
            Value::from(SETTING_BUDGET),
            Value::from(budget.0.to_string().as_str()),
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
    let mut acct = insights_accountant(tx)?;
    let stored = tx
        .query_opt(
            "SELECT body FROM ads_insights_releases WHERE digest = $1",
            &[Value::from(digest.as_str())],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    if stored.is_some() {
        acct.remember(&digest);
    }
    let cost = Cost::pure(epsilon);
    let charge = acct.charge(&["insights"], &digest, cost)?;
    let charged = matches!(charge, Charge::Paid(_));

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
        tx.execute(
            "INSERT INTO ads_insights_releases (digest, kind, epsilon_micro, rho_micro, body, at) \
             VALUES ($1, 'career_transitions', $2, $3, $4, $5)",
            &[
                Value::from(digest.as_str()),
                Value::Int(i64::try_from(cost.epsilon.0).unwrap_or(i64::MAX)),
                Value::Int(i64::try_from(cost.rho.0).unwrap_or(i64::MAX)),
                Value::from(body.join("\n").as_str()),
                Value::Int(now_ms),
            ],
        )?;
        acct = insights_accountant(tx)?;
    }
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
