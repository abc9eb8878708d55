//! The `engagement_sequences` source, for recommendation training: per member, the ordered
//! sequence of their engagement events (view, like, comment, share, click, apply) on PUBLIC
//! items only, with items named by per-build pseudonyms and times bucketed to the week.
//!
//! Two gated reads, both for `ai.training`. The first finds the items a release may mention:
//! public feed posts of consenting adult live members (connections-only posts fail the
//! visibility rule, open- and closed-group posts are never read here) and public company
//! pages and job postings. The second reads the events themselves, of consenting adult live
//! members only, and their coarse profile groups for the bias report. An event on a member's
//! profile (that is about another person, not an item) or on an item the first read did not
//! release is left out and counted.

use std::collections::{BTreeMap, HashSet};

use steward_core::{Form, Policy, Visibility};
use steward_store::{Gate, GateRequest, GatedRecord, Store};

use super::{Extract, Groups, PURPOSE, Progress, UNKNOWN, month_of, week_of};
use crate::error::DatasetError;
use crate::transforms::pseudonymize::BuildKey;

/// The fields this source can produce.
pub const FIELDS: &[&str] = &[
    "sequence_index",
    "event_kind",
    "item_kind",
    "item",
    "event_week",
    "event_month",
];

/// Why the source left an event out after the gate released it.
pub const TARGET_IS_A_PROFILE: &str = "event_on_a_member_profile";
pub const TARGET_NOT_RELEASED: &str = "event_on_an_item_not_released";

struct Event {
    member: i64,
    at: i64,
    event_id: i64,
    kind: String,
    item_kind: &'static str,
    item_id: i64,
}

/// The items a release may mention, as the gate releases them for AI training.
#[derive(Debug, Default)]
pub struct PublicItems {
    pub posts: HashSet<i64>,
    pub jobs: HashSet<i64>,
    pub companies: HashSet<i64>,
}

impl PublicItems {
    fn kind_of(&self, target_kind: &str, id: i64) -> Option<&'static str> {
        match target_kind {
            "post" if self.posts.contains(&id) => Some("post"),
            "job" if self.jobs.contains(&id) => Some("job"),
            "company" if self.companies.contains(&id) => Some("company"),
            _ => None,
        }
    }
}

/// Reads the engagement sequences the policy releases for AI training, as of `at_ms`. Items
/// are named `kind:pseudonym` under `key`, the build's own key.
pub fn read(
    store: &Store,
    policy: &Policy,
    fields: &[String],
    at_ms: i64,
    key: &BuildKey,
    progress: &dyn Progress,
) -> Result<Extract, DatasetError> {
    let gate = Gate::new(store, policy);
    progress.stage("reading public items through the gate", None);
    let mut items = PublicItems::default();
    let items_report = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: &["member.content.post", "org.job_posting", "org.company_page"],
            form: Form::Deidentified,
            at_ms,
        },
        |record| {
            progress.inc(1);
            match record {
                // The gate releases only public feed posts for AI training; the check is
                // repeated here so a policy change can never widen this source silently.
                GatedRecord::Post(p)
                    if p.visibility == Visibility::Public && p.group_id.is_none() =>
                {
                    items.posts.insert(p.post_id);
                }
                GatedRecord::Job(j) => {
                    items.jobs.insert(j.job_id);
                }
                GatedRecord::Company(c) => {
                    items.companies.insert(c.company_id);
                }
                _ => {}
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    progress.stage("reading engagement events through the gate", None);
    let mut events: Vec<Event> = Vec::new();
    let mut groups: BTreeMap<i64, Groups> = BTreeMap::new();
    let mut on_profile = 0u64;
    let mut not_released = 0u64;
    let report = gate.read(
        &GateRequest {
            purpose: PURPOSE,
            categories: &[
                "member.activity.engagement",
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
                GatedRecord::Engagement(e) => {
                    if e.target_kind == "member" {
                        on_profile += 1;
                    } else if let Some(item_kind) = items.kind_of(&e.target_kind, e.target_id) {
                        events.push(Event {
                            member: e.member_id,
                            at: e.at,
                            event_id: e.event_id,
                            kind: e.kind,
                            item_kind,
                            item_id: e.target_id,
                        });
                    } else {
                        not_released += 1;
                    }
                }
                GatedRecord::Profile(p) => {
                    let text = |v: Option<String>| v.unwrap_or_else(|| UNKNOWN.to_owned());
                    let mut g = Groups::new();
                    g.insert("region", text(p.region));
                    g.insert("seniority", text(p.seniority));
                    g.insert("industry", text(p.industry));
                    groups.insert(p.member_id, g);
                }
                _ => {}
            }
            Ok::<(), DatasetError>(())
        },
    )?;

    // Each member's events in time order (ties by event id), numbered from 0.
    events.sort_by(|a, b| {
        a.member
            .cmp(&b.member)
            .then(a.at.cmp(&b.at))
            .then(a.event_id.cmp(&b.event_id))
    });
    let mut out = Extract {
        header: fields.to_vec(),
        // The event read first: its member exclusions are the ones the ledger entry names.
        reports: vec![report, items_report],
        ..Extract::default()
    };
    if on_profile > 0 {
        out.source_exclusions
            .insert(TARGET_IS_A_PROFILE.to_owned(), on_profile);
    }
    if not_released > 0 {
        out.source_exclusions
            .insert(TARGET_NOT_RELEASED.to_owned(), not_released);
    }
    let mut index = 0u64;
    let mut previous: Option<i64> = None;
    out.rows.reserve(events.len());
    for e in &events {
        if previous != Some(e.member) {
            index = 0;
            previous = Some(e.member);
        }
        let row = fields
            .iter()
            .map(|f| match f.as_str() {
                "sequence_index" => index.to_string(),
                "event_kind" => e.kind.clone(),
                "item_kind" => e.item_kind.to_owned(),
                "item" => key.item(e.item_kind, e.item_id),
                "event_week" => week_of(e.at),
                "event_month" => month_of(e.at),
                _ => UNKNOWN.to_owned(),
            })
            .collect();
        index += 1;
        out.rows.push(row);
        out.members.push(e.member);
        out.groups.insert_if_absent(e.member, || {
            groups.get(&e.member).cloned().unwrap_or_else(|| {
                ["region", "seniority", "industry"]
                    .into_iter()
                    .map(|d| (d, UNKNOWN.to_owned()))
                    .collect()
            })
        });
    }
    super::profiles::population(store, policy, at_ms, &mut out, progress)?;
    Ok(out)
}
