//! The `profiles` source: one row per member the gate releases for AI training, with
//! location, industry, job function, seniority, experience, highest education level and top
//! skills. Self-reported gender is read separately in aggregate form, only to measure bias.

use std::collections::{BTreeMap, HashMap};

use steward_core::{Form, Policy};
use steward_store::gate::ProfileRecord;
use steward_store::{Gate, GateReport, GateRequest, GatedRecord, Store, StoreError};

use super::{Extract, PURPOSE, Progress, UNKNOWN};
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

/// No value (absent, withheld, or a member with no row of this kind).
const NONE: u32 = u32::MAX;

/// Distinct strings stored once: a million profiles hold a few hundred regions, industries
/// and skills, so each member keeps codes, not strings.
#[derive(Default)]
struct Interner {
    codes: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn code(&mut self, value: String) -> u32 {
        if let Some(&c) = self.codes.get(value.as_str()) {
            return c;
        }
        let c = u32::try_from(self.values.len()).unwrap_or(NONE - 1);
        self.values.push(value.clone());
        self.codes.insert(value, c);
        c
    }

    fn opt(&mut self, value: Option<String>) -> u32 {
        value.map_or(NONE, |v| self.code(v))
    }

    fn get(&self, code: u32) -> &str {
        self.values
            .get(code as usize)
            .map_or(UNKNOWN, String::as_str)
    }
}

/// What the gate released about one member, as interned codes.
#[derive(Clone, Copy)]
struct Acc {
    region: u32,
    country: u32,
    industry: u32,
    job_function: u32,
    seniority: u32,
    company_size: u32,
    years_experience: Option<i64>,
    education: Option<&'static str>,
    /// The most endorsed skills so far, best first: (endorsements, skill code).
    top: [(i64, u32); TOP_SKILLS],
    n_top: usize,
}

impl Default for Acc {
    fn default() -> Acc {
        Acc {
            region: NONE,
            country: NONE,
            industry: NONE,
            job_function: NONE,
            seniority: NONE,
            company_size: NONE,
            years_experience: None,
            education: None,
            top: [(0, NONE); TOP_SKILLS],
            n_top: 0,
        }
    }
}

impl Acc {
    /// Keeps `skill` if it is among the [`TOP_SKILLS`] most endorsed (ties by name), exactly
    /// as sorting every skill by endorsements descending, then name, and taking the first.
    fn offer_skill(&mut self, endorsements: i64, skill: u32, names: &Interner) {
        let better = |a: (i64, u32), b: (i64, u32)| {
            a.0 > b.0 || (a.0 == b.0 && names.get(a.1) < names.get(b.1))
        };
        let item = (endorsements, skill);
        // Insert after every kept skill that ranks before or equal to it (a stable sort).
        let at = self.top[..self.n_top]
            .iter()
            .position(|&kept| better(item, kept))
            .unwrap_or(self.n_top);
        if at >= TOP_SKILLS {
            return;
        }
        let end = self.n_top.min(TOP_SKILLS - 1);
        for i in (at..end).rev() {
            self.top[i + 1] = self.top[i];
        }
        self.top[at] = item;
        self.n_top = (self.n_top + 1).min(TOP_SKILLS);
    }
}

/// Reads the profiles of members the policy releases for AI training, as of `at_ms`, with
/// the gender shares and the member population for the bias report — three gated reads in
/// one pass over the members (see [`steward_store::gate::read_many_in`]).
pub fn read(
    store: &Store,
    policy: &Policy,
    fields: &[String],
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Extract, DatasetError> {
    progress.stage("reading through the gate", None);
    let mut acc: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut values = Interner::default();
    let mut skills = Interner::default();
    let mut gender = GenderShares::default();
    let mut population = PopulationCounts::default();
    let requests = [
        GateRequest {
            purpose: PURPOSE,
            categories: PROFILE_CATEGORIES,
            form: Form::Deidentified,
            at_ms,
        },
        gender_request(at_ms),
        population_request(at_ms),
    ];
    let reports = Gate::new(store, policy).read_many(&requests, |i, record| {
        match (i, record) {
            (0, GatedRecord::Profile(p)) => {
                progress.inc(1);
                let p = *p;
                let a = acc.entry(p.member_id).or_default();
                a.region = values.opt(p.region);
                a.country = values.opt(p.country);
                a.industry = values.opt(p.industry);
                a.job_function = values.opt(p.job_function);
                a.seniority = values.opt(p.seniority);
                a.company_size = values.opt(p.company_size);
                a.years_experience = p.years_experience;
            }
            (0, GatedRecord::Education(e)) => {
                progress.inc(1);
                let level = education_level(e.degree.as_deref().unwrap_or(""));
                let a = acc.entry(e.member_id).or_default();
                if a.education
                    .is_none_or(|l| level_rank(level) > level_rank(l))
                {
                    a.education = Some(level);
                }
            }
            (0, GatedRecord::Skill(s)) => {
                progress.inc(1);
                let code = skills.code(s.skill);
                acc.entry(s.member_id)
                    .or_default()
                    .offer_skill(s.endorsements, code, &skills);
            }
            (1, GatedRecord::Profile(p)) => gender.add(&p),
            (2, GatedRecord::Profile(p)) => population.add(&p),
            _ => {}
        }
        Ok::<(), DatasetError>(())
    })?;
    let [report, gender_report, population_report]: [GateReport; 3] =
        reports.try_into().map_err(|_| {
            StoreError::Invalid("the gate returned a report count unlike the requests'".to_owned())
        })?;
    let mut out = Extract {
        header: fields.to_vec(),
        reports: vec![report, gender_report],
        ..Extract::default()
    };
    for &(member, code) in &gender.members {
        if acc.contains_key(&member)
            && let Some((g, _)) = gender.counts.get(code as usize)
        {
            out.groups.set(member, "gender", g);
        }
    }
    progress.stage("assembling rows", Some(acc.len() as u64));
    out.rows.reserve(acc.len());
    out.members.reserve(acc.len());
    let mut top = String::new();
    for (member, a) in acc {
        // A member with skills or education but no profile fields still gets a row.
        top.clear();
        for (i, &(_, s)) in a.top[..a.n_top].iter().enumerate() {
            if i > 0 {
                top.push(';');
            }
            top.push_str(skills.get(s));
        }
        let text = |code: u32| values.get(code).to_owned();
        let row: Vec<String> = fields
            .iter()
            .map(|f| match f.as_str() {
                "region" => text(a.region),
                "country" => text(a.country),
                "industry" => text(a.industry),
                "job_function" => text(a.job_function),
                "seniority" => text(a.seniority),
                "company_size" => text(a.company_size),
                "years_experience" => a
                    .years_experience
                    .map_or_else(|| UNKNOWN.to_owned(), |y| y.to_string()),
                "education_level" => a.education.unwrap_or("none").to_owned(),
                "top_skills" => top.clone(),
                _ => UNKNOWN.to_owned(),
            })
            .collect();
        out.groups.set(member, "region", values.get(a.region));
        out.groups.set(member, "seniority", values.get(a.seniority));
        out.groups.set(member, "industry", values.get(a.industry));
        out.rows.push(row);
        out.members.push(member);
    }
    let gender_counts: BTreeMap<String, u64> = gender.counts.into_iter().collect();
    set_population(
        &mut out,
        population.finish(&population_report),
        Some(&gender_counts),
    );
    Ok(out)
}

/// Self-reported gender, only as an aggregate share, never as a row's feature (the policy
/// allows no other form for demographics).
fn gender_request(at_ms: i64) -> GateRequest<'static> {
    GateRequest {
        purpose: PURPOSE,
        categories: &["member.demographic.gender"],
        form: Form::Aggregate,
        at_ms,
    }
}

/// Self-reported gender as the gate releases it for AI training in aggregate form.
#[derive(Default)]
struct GenderShares {
    /// Each member's gender, as an index into `counts`.
    members: Vec<(i64, u32)>,
    /// Each gender and how many members report it.
    counts: Vec<(String, u64)>,
}

impl GenderShares {
    fn add(&mut self, p: &ProfileRecord) {
        let Some(g) = &p.gender else {
            return;
        };
        let i = match self.counts.iter().position(|(v, _)| v == g) {
            Some(i) => i,
            None => {
                self.counts.push((g.clone(), 0));
                self.counts.len() - 1
            }
        };
        if let Some(c) = self.counts.get_mut(i) {
            c.1 += 1;
        }
        self.members
            .push((p.member_id, u32::try_from(i).unwrap_or(u32::MAX)));
    }
}

/// Group counts of the member population, per dimension, and how many members it has.
pub(crate) struct Population {
    counts: BTreeMap<&'static str, BTreeMap<String, u64>>,
    members: u64,
}

/// The member population the bias report compares against: every live adult member's public
/// professional profile in aggregate (the `analytics.insights` rule needs no consent).
pub(crate) fn population_request(at_ms: i64) -> GateRequest<'static> {
    GateRequest {
        purpose: "analytics.insights",
        categories: &[
            "member.profile.location",
            "member.profile.industry",
            "member.profile.seniority",
        ],
        form: Form::Aggregate,
        at_ms,
    }
}

/// The population's group counts as its profiles arrive.
#[derive(Default)]
pub(crate) struct PopulationCounts {
    counts: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

impl PopulationCounts {
    pub(crate) fn add(&mut self, p: &ProfileRecord) {
        for (dim, v) in [
            ("region", &p.region),
            ("seniority", &p.seniority),
            ("industry", &p.industry),
        ] {
            let key = v.as_deref().unwrap_or(UNKNOWN);
            let groups = self.counts.entry(dim).or_default();
            match groups.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    groups.insert(key.to_owned(), 1);
                }
            }
        }
    }

    pub(crate) fn finish(self, report: &GateReport) -> Population {
        Population {
            counts: self.counts,
            members: report.members_returned,
        }
    }
}

/// The population (see [`population_request`]) in a read of its own.
pub(crate) fn read_population(
    store: &Store,
    policy: &Policy,
    at_ms: i64,
) -> Result<Population, DatasetError> {
    let mut counts = PopulationCounts::default();
    let report = Gate::new(store, policy).read(&population_request(at_ms), |record| {
        if let GatedRecord::Profile(p) = record {
            counts.add(&p);
        }
        Ok::<(), DatasetError>(())
    })?;
    Ok(counts.finish(&report))
}

/// Puts `population` (and, for gender, the members whose self-reported gender the gate
/// releases in aggregate) into `out` for the bias report.
pub(crate) fn set_population(
    out: &mut Extract,
    population: Population,
    gender: Option<&BTreeMap<String, u64>>,
) {
    let mut counts = population.counts;
    for dim in ["region", "seniority", "industry"] {
        out.population_basis.insert(
            dim,
            format!(
                "{} live adult members with a visible profile (analytics.insights, aggregate)",
                population.members
            ),
        );
    }
    if let Some(gender) = gender {
        out.population_basis.insert(
            "gender",
            format!(
                "{} members whose self-reported gender the gate releases for ai.training (aggregate)",
                gender.values().sum::<u64>()
            ),
        );
        counts.insert("gender", gender.clone());
    }
    out.population = counts;
}

/// [`read_population`] then [`set_population`], with no gender dimension.
pub(crate) fn population(
    store: &Store,
    policy: &Policy,
    at_ms: i64,
    out: &mut Extract,
    progress: &dyn Progress,
) -> Result<(), DatasetError> {
    progress.stage(
        "reading the member population (analytics.insights, aggregate)",
        None,
    );
    let population = read_population(store, policy, at_ms)?;
    set_population(out, population, None);
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
