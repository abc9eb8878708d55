//! "Skills in demand": the top skills per industry as a differentially private release for
//! `analytics.insights`.
//!
//! Skills are an open domain (members type them), so the release uses partition selection:
//! each member contributes to at most [`MAX_SKILLS`] (industry, skill) partitions, once each;
//! every observed partition gets discrete Laplace noise from its own canonical question and
//! is kept only if the noisy count clears the threshold for δ, so a skill only a handful of
//! members hold never appears. The top k per industry are then picked from the noisy counts
//! (post-processing). The release is ledgered like any other, without member ids.

use std::collections::{BTreeMap, HashMap};

use steward_core::{Form, Policy};
use steward_ledger::{Entry, Ledger};
use steward_privacy::dp::aggregate::release_open_domain;
use steward_privacy::dp::{
    CanonicalQuery, ContributionBound, DiscreteLaplace, Epsilon, NoiseKey, bounded_counts,
};
use steward_store::Tx;
use steward_store::gate::{GateRequest, GatedRecord, read_in};

use crate::attr::normalize;
use crate::error::AdsError;

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
