//! The `career_transitions` source, for career-path models: one row per move between two
//! consecutive positions of a member — (job function, seniority, industry) before and after,
//! and how many years the earlier position lasted, as a band.
//!
//! Two gated reads for `ai.training`: the public company pages (each position's industry is
//! its company's) and, for consenting adult live members, the experience section (a hidden
//! section never comes out of the gate) with years of experience and the coarse profile
//! groups for the bias report. A position's job function comes from its title through the
//! O*NET-SOC major group; its seniority from the member's experience when it started, on the
//! same scale as the profile's (six years a level). Rows carry no member column: transitions
//! of one member are not linkable to each other.

use std::collections::{BTreeMap, HashMap};

use steward_core::{Form, Policy};
use steward_store::gate::PositionRecord;
use steward_store::vocab::{SENIORITY, job_function_of_soc, year_of_ms};
use steward_store::{Gate, GateRequest, GatedRecord, Store};

use super::{Extract, Groups, PURPOSE, Progress, UNKNOWN};
use crate::error::DatasetError;

/// The fields this source can produce.
pub const FIELDS: &[&str] = &[
    "from_function",
    "from_seniority",
    "from_industry",
    "to_function",
    "to_seniority",
    "to_industry",
    "years_band",
];

/// Why the source produced nothing for a member the gate released.
pub const SINGLE_POSITION: &str = "member_with_fewer_than_two_positions";

/// O*NET-SOC occupation titles (the generator's and the taxonomy's source).
const OCCUPATIONS: &str = include_str!("../../../steward-store/data/occupations.tsv");

/// Title → job function, through the occupation's SOC major group.
fn functions_by_title() -> HashMap<String, &'static str> {
    OCCUPATIONS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(soc, title)| (title.trim().to_lowercase(), job_function_of_soc(soc)))
        .collect()
}

/// The band of a number of years in a position.
pub fn years_band(years: i64) -> &'static str {
    match years {
        i64::MIN..=1 => "0-1",
        2..=4 => "2-4",
        5..=9 => "5-9",
        _ => "10+",
    }
}

/// Seniority on the profile's scale for `years` of experience.
pub fn seniority_for(years: i64) -> &'static str {
    let level = usize::try_from(years.max(0) / 6).unwrap_or(0);
    SENIORITY[level.min(SENIORITY.len() - 1)]
}

#[derive(Default)]
struct Member {
    positions: Vec<PositionRecord>,
    years_experience: Option<i64>,
    groups: Option<Groups>,
}

/// Reads the career transitions the policy releases for AI training, as of `at_ms`.
pub fn read(
    store: &Store,
    policy: &Policy,
    fields: &[String],
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Extract, DatasetError> {
    let gate = Gate::new(store, policy);
    progress.stage("reading company pages through the gate", None);
    let mut industry_of: HashMap<i64, String> = HashMap::new();
    let companies = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: &["org.company_page"],
            form: Form::Deidentified,
            at_ms,
        },
        |record| {
            progress.inc(1);
            if let GatedRecord::Company(c) = record
                && let Some(i) = c.industry
            {
                industry_of.insert(c.company_id, i);
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    progress.stage("reading positions through the gate", None);
    let mut members: BTreeMap<i64, Member> = BTreeMap::new();
    let report = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: &[
                "member.profile.experience",
                "member.profile.years_experience",
                "member.profile.location",
                "member.profile.industry",
                "member.profile.seniority",
            ],
            form: Form::Deidentified,
            at_ms,
        },
        |record| {
            progress.inc(1);
            match record {
                GatedRecord::Position(p) => {
                    members.entry(p.member_id).or_default().positions.push(p);
                }
                GatedRecord::Profile(p) => {
                    let text = |v: Option<String>| v.unwrap_or_else(|| UNKNOWN.to_owned());
                    let m = members.entry(p.member_id).or_default();
                    m.years_experience = p.years_experience;
                    let mut g = Groups::new();
                    g.insert("region", text(p.region));
                    g.insert("seniority", text(p.seniority));
                    g.insert("industry", text(p.industry));
                    m.groups = Some(g);
                }
                _ => {}
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    let functions = functions_by_title();
    let this_year = year_of_ms(at_ms);
    let mut out = Extract {
        header: fields.to_vec(),
        reports: vec![report, companies],
        ..Extract::default()
    };
    let mut single = 0u64;
    for (member, mut m) in members {
        if m.positions.len() < 2 {
            single += u64::from(!m.positions.is_empty() || m.groups.is_some());
            continue;
        }
        m.positions.sort_by(|a, b| {
            a.start_year
                .cmp(&b.start_year)
                .then(a.position_id.cmp(&b.position_id))
        });
        let describe = |p: &PositionRecord| {
            let function = functions
                .get(&p.title.trim().to_lowercase())
                .copied()
                .unwrap_or(UNKNOWN);
            let seniority = m
                .years_experience
                .map_or(UNKNOWN, |y| seniority_for(y - (this_year - p.start_year)));
            let industry = p
                .company_id
                .and_then(|c| industry_of.get(&c))
                .map_or(UNKNOWN, String::as_str);
            (function, seniority, industry)
        };
        for pair in m.positions.windows(2) {
            let [from, to] = pair else { continue };
            let (ff, fs, fi) = describe(from);
            let (tf, ts, ti) = describe(to);
            let band = years_band(to.start_year - from.start_year);
            let row = fields
                .iter()
                .map(|f| {
                    let value = match f.as_str() {
                        "from_function" => ff,
                        "from_seniority" => fs,
                        "from_industry" => fi,
                        "to_function" => tf,
                        "to_seniority" => ts,
                        "to_industry" => ti,
                        "years_band" => band,
                        _ => UNKNOWN,
                    };
                    value.to_owned()
                })
                .collect();
            out.rows.push(row);
            out.members.push(member);
        }
        let g = m.groups.take().unwrap_or_else(|| {
            ["region", "seniority", "industry"]
                .into_iter()
                .map(|d| (d, UNKNOWN.to_owned()))
                .collect()
        });
        out.groups.insert(member, &g);
    }
    if single > 0 {
        out.source_exclusions
            .insert(SINGLE_POSITION.to_owned(), single);
    }
    super::profiles::population(store, policy, at_ms, &mut out, progress)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_map_to_functions_and_years_to_bands() {
        let f = functions_by_title();
        assert_eq!(f.get("chief executives").copied(), Some("operations"));
        assert!(f.len() > 900, "{}", f.len());
        assert_eq!(years_band(0), "0-1");
        assert_eq!(years_band(3), "2-4");
        assert_eq!(years_band(9), "5-9");
        assert_eq!(years_band(25), "10+");
        assert_eq!(seniority_for(-3), "intern");
        assert_eq!(seniority_for(13), "associate");
        assert_eq!(seniority_for(100), "owner");
    }
}
