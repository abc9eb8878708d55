//! The `public_posts` source: one row per post the gate releases for AI training — public
//! feed posts of consenting adult members only (connections-only posts fail the visibility
//! rule, closed-group posts are private content the gate never reads), with the month it was
//! posted and its author's region and industry. Bodies are scrubbed later by the build.

use std::collections::BTreeMap;

use steward_core::{Form, Policy};
use steward_store::{Gate, GateReport, GateRequest, GatedRecord, Store, StoreError};

use super::profiles::{PopulationCounts, population_request};
use super::{Extract, PURPOSE, Progress, UNKNOWN};
use crate::error::DatasetError;

pub use super::month_of;

struct Post {
    member: i64,
    body: String,
    created_at: i64,
}

/// Reads the public posts the policy releases for AI training, as of `at_ms`.
pub fn read(
    store: &Store,
    policy: &Policy,
    fields: &[String],
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Extract, DatasetError> {
    progress.stage("reading through the gate", None);
    let mut posts: Vec<Post> = Vec::new();
    let mut authors: BTreeMap<i64, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut population = PopulationCounts::default();
    let requests = [
        GateRequest {
            purpose: PURPOSE,
            categories: &[
                "member.content.post",
                "member.profile.location",
                "member.profile.industry",
            ],
            form: Form::Deidentified,
            at_ms,
        },
        population_request(at_ms),
    ];
    // The posts and the population for the bias report, in one pass over the members.
    let reports = Gate::new(store, policy).read_many(&requests, |i, record| {
        match (i, record) {
            (0, GatedRecord::Post(p)) => {
                progress.inc(1);
                posts.push(Post {
                    member: p.member_id,
                    body: p.body,
                    created_at: p.created_at,
                });
            }
            (0, GatedRecord::Profile(p)) => {
                progress.inc(1);
                authors.insert(p.member_id, (p.region, p.industry));
            }
            (1, GatedRecord::Profile(p)) => population.add(&p),
            _ => {}
        }
        Ok::<(), DatasetError>(())
    })?;
    let [report, population_report]: [GateReport; 2] = reports.try_into().map_err(|_| {
        StoreError::Invalid("the gate returned a report count unlike the requests'".to_owned())
    })?;
    let population = population.finish(&population_report);
    let mut out = Extract {
        header: fields.to_vec(),
        reports: vec![report],
        ..Extract::default()
    };
    let none = (None, None);
    for post in posts {
        let (region, industry) = authors.get(&post.member).unwrap_or(&none);
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| UNKNOWN.to_owned());
        let row = fields
            .iter()
            .map(|f| match f.as_str() {
                "body" => post.body.clone(),
                "posted_month" => month_of(post.created_at),
                "author_region" => text(region),
                "author_industry" => text(industry),
                _ => UNKNOWN.to_owned(),
            })
            .collect();
        if !out.groups.contains(post.member) {
            out.groups
                .set(post.member, "region", region.as_deref().unwrap_or(UNKNOWN));
            out.groups.set(
                post.member,
                "industry",
                industry.as_deref().unwrap_or(UNKNOWN),
            );
        }
        out.rows.push(row);
        out.members.push(post.member);
    }
    // Posts carry no gender: no such dimension rather than a meaningless one.
    super::profiles::set_population(&mut out, population, None);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_civil_utc_months() {
        assert_eq!(month_of(0), "1970-01");
        assert_eq!(month_of(1_767_225_600_000), "2026-01");
        assert_eq!(month_of(1_767_225_600_000 - 1), "2025-12");
        assert_eq!(month_of(951_782_400_000), "2000-02"); // 2000-02-29
    }
}
