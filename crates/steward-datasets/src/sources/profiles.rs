//! The `profiles` source: one row per member the gate releases for AI training, with
//! location, industry, job function, seniority, experience, highest education level and top
//! skills. Self-reported gender is read separately in aggregate form, only to measure bias.

use std::collections::BTreeMap;

use steward_core::{Form, Policy};
use steward_store::gate::ProfileRecord;
use steward_store::{Gate, GateRequest, GatedRecord, Store};

use super::{Extract, Groups, PURPOSE, Progress, UNKNOWN};
use crate::error::DatasetError;

/// How many of a member's most endorsed skills the `top_skills` field carries.
const TOP_SKILLS: usize = 3;

const PROFILE_CATEGORIES: &[&str] = &[
    "member.profile.location",
    "member.profile.industry",
    "member.profile.job_function",
    "member.profile.seniority",
    "member.profile.company_size",
    "member.profile.years_experience",
    "member.profile.education",
    "member.profile.skills",
];

/// A degree's level, coarse enough to be a category rather than an identifier.
pub fn education_level(degree: &str) -> &'static str {
    match degree.trim().to_ascii_lowercase().as_str() {
        "phd" | "doctorate" | "dphil" => "doctorate",
        "msc" | "ma" | "mba" | "meng" | "master" => "master",
        "bsc" | "ba" | "beng" | "bachelor" => "bachelor",
        "diploma" | "associate" => "diploma",
        _ => "other",
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "doctorate" => 4,
        "master" => 3,
        "bachelor" => 2,
        "diploma" => 1,
        _ => 0,
    }
}

#[derive(Default)]
struct Acc {
    profile: Option<ProfileRecord>,
    education: Option<&'static str>,
    skills: Vec<(i64, String)>,
}

/// Reads the profiles of members the policy releases for AI training, as of `at_ms`.
pub fn read(
    store: &Store,
    policy: &Policy,
    fields: &[String],
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Extract, DatasetError> {
    progress.stage("reading through the gate", None);
    let gate = Gate::new(store, policy);
    let mut acc: BTreeMap<i64, Acc> = BTreeMap::new();
    let report = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: PROFILE_CATEGORIES,
            form: Form::Deidentified,
            at_ms,
        },
        |record| {
            progress.inc(1);
            match record {
                GatedRecord::Profile(p) => {
                    let id = p.member_id;
                    acc.entry(id).or_default().profile = Some(*p);
                }
                GatedRecord::Education(e) => {
                    let level = education_level(e.degree.as_deref().unwrap_or(""));
                    let a = acc.entry(e.member_id).or_default();
                    if a.education
                        .is_none_or(|l| level_rank(level) > level_rank(l))
                    {
                        a.education = Some(level);
                    }
                }
                GatedRecord::Skill(s) => {
                    acc.entry(s.member_id)
                        .or_default()
                        .skills
                        .push((s.endorsements, s.skill));
                }
                _ => {}
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    // Gender only as an aggregate share, never as a row's feature (the policy allows no
    // other form for demographics).
    let mut gender: BTreeMap<i64, String> = BTreeMap::new();
    let gender_report = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: &["member.demographic.gender"],
            form: Form::Aggregate,
            at_ms,
        },
        |record| {
            if let GatedRecord::Profile(p) = record
                && let Some(g) = p.gender
            {
                gender.insert(p.member_id, g);
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    let mut out = Extract {
        header: fields.to_vec(),
        reports: vec![report, gender_report],
        ..Extract::default()
    };
    for (member, mut a) in acc {
        // A member with skills or education but no profile fields still gets a row.
        let p = a.profile.take().unwrap_or_default();
        a.skills
            .sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        let top: Vec<&str> = a
            .skills
            .iter()
            .take(TOP_SKILLS)
            .map(|(_, s)| s.as_str())
            .collect();
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| UNKNOWN.to_owned());
        let row: Vec<String> = fields
            .iter()
            .map(|f| match f.as_str() {
                "region" => text(&p.region),
                "country" => text(&p.country),
                "industry" => text(&p.industry),
                "job_function" => text(&p.job_function),
                "seniority" => text(&p.seniority),
                "company_size" => text(&p.company_size),
                "years_experience" => p
                    .years_experience
                    .map_or_else(|| UNKNOWN.to_owned(), |y| y.to_string()),
                "education_level" => a.education.unwrap_or("none").to_owned(),
                "top_skills" => top.join(";"),
                _ => UNKNOWN.to_owned(),
            })
            .collect();
        let mut groups = Groups::new();
        groups.insert("region", text(&p.region));
        groups.insert("seniority", text(&p.seniority));
        groups.insert("industry", text(&p.industry));
        if let Some(g) = gender.get(&member) {
            groups.insert("gender", g.clone());
        }
        out.rows.push(row);
        out.members.push(member);
        out.groups.insert(member, groups);
    }
    population(store, policy, at_ms, &gender, &mut out)?;
    Ok(out)
}

/// The member population the bias report compares against: every live adult member's public
/// professional profile in aggregate (the `analytics.insights` rule needs no consent), and,
/// for gender, the members whose self-reported gender the gate releases in aggregate.
pub(crate) fn population(
    store: &Store,
    policy: &Policy,
    at_ms: i64,
    gender: &BTreeMap<i64, String>,
    out: &mut Extract,
) -> Result<(), DatasetError> {
    let mut counts: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    let report = Gate::new(store, policy).read(
        &GateRequest {
            purpose: "analytics.insights",
            categories: &[
                "member.profile.location",
                "member.profile.industry",
                "member.profile.seniority",
            ],
            form: Form::Aggregate,
            at_ms,
        },
        |record| {
            if let GatedRecord::Profile(p) = record {
                let mut bump = |dim: &'static str, v: &Option<String>| {
                    let key = v.clone().unwrap_or_else(|| UNKNOWN.to_owned());
                    *counts.entry(dim).or_default().entry(key).or_default() += 1;
                };
                bump("region", &p.region);
                bump("seniority", &p.seniority);
                bump("industry", &p.industry);
            }
            Ok::<(), DatasetError>(())
        },
    )?;
    for dim in ["region", "seniority", "industry"] {
        out.population_basis.insert(
            dim,
            format!(
                "{} live adult members with a visible profile (analytics.insights, aggregate)",
                report.members_returned
            ),
        );
    }
    let mut g: BTreeMap<String, u64> = BTreeMap::new();
    for v in gender.values() {
        *g.entry(v.clone()).or_default() += 1;
    }
    out.population_basis.insert(
        "gender",
        format!(
            "{} members whose self-reported gender the gate releases for ai.training (aggregate)",
            gender.len()
        ),
    );
    counts.insert("gender", g);
    out.population = counts;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_map_to_coarse_levels() {
        assert_eq!(education_level("PhD"), "doctorate");
        assert_eq!(education_level("MBA"), "master");
        assert_eq!(education_level("BEng"), "bachelor");
        assert_eq!(education_level("Diploma"), "diploma");
        assert_eq!(education_level("Certificate of Nothing"), "other");
        assert!(level_rank("doctorate") > level_rank("master"));
    }
}
