//! The purpose gate: the only read path for every purpose other than running the service and
//! a member's access to their own data.
//!
//! A read names a purpose, the categories it wants and the form it will release them in. The
//! gate resolves the categories, refuses private content outright, refuses categories the
//! policy can never give this purpose in this form (naming the rule and reason), then streams
//! rows: for each item it takes the member's effective consent (jurisdiction defaults +
//! consent history, at the read's time) and the item's visibility, asks the compiled policy,
//! and either hands the item over — with only the fields the purpose may have — or counts it
//! under the reason it was left out. The record types below have no field for sealed content
//! and the SQL here never selects a `*_sealed` column: private content cannot come out of the
//! gate even by mistake.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use steward_core::policy::Denial;
use steward_core::{
    CategoryId, ConsentSet, Decision, Form, Policy, PurposeId, Visibility, consent,
};
use thiserror::Error;

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::schema::SECTIONS;
use crate::value::{Row, Value};
use crate::vocab;

/// Why the gate refused a read.
#[derive(Debug, Error)]
pub enum GateError {
    #[error("unknown purpose `{0}`")]
    UnknownPurpose(String),
    #[error("unknown category `{0}`")]
    UnknownCategory(String),
    /// The request names private content: never readable through the gate.
    #[error("category `{category}` is private content and is never readable through the gate")]
    PrivateContent { category: String },
    /// The policy never gives this purpose this category in this form.
    #[error("policy denies `{purpose}` reading `{category}` in form `{form}`: {reason}")]
    Denied {
        purpose: String,
        category: String,
        form: &'static str,
        rule: Option<String>,
        reason: String,
    },
    /// No table of the store holds this category (another crate owns it).
    #[error("the store has no source for category `{0}`")]
    NoSource(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GateError {
    pub fn code(&self) -> &'static str {
        match self {
            GateError::UnknownPurpose(_) => "gate.unknown_purpose",
            GateError::UnknownCategory(_) => "gate.unknown_category",
            GateError::PrivateContent { .. } => "gate.private_content",
            GateError::Denied { .. } => "gate.denied",
            GateError::NoSource(_) => "gate.no_source",
            GateError::Store(e) => e.code(),
        }
    }
}

/// Why an item or a member was left out of a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exclusion {
    /// The member has not granted a consent key the rule requires (or a jurisdiction default
    /// withholds it).
    Consent,
    /// The item's visibility (a hidden section, a connections-only post) is not one any rule
    /// allows for this purpose.
    Visibility,
    /// The member is deleted.
    DeletedMember,
    /// The member may be under 18 (excluded from AI, ads and analytics).
    Minor,
    /// The policy allows the cell but not in the requested form.
    Form,
    /// Private content (closed-group posts, messages, attachments, notes): never read.
    PrivateContent,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Consent => "consent",
            Exclusion::Visibility => "visibility",
            Exclusion::DeletedMember => "deleted_member",
            Exclusion::Minor => "minor",
            Exclusion::Form => "form",
            Exclusion::PrivateContent => "private_content",
        }
    }
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gated read.
#[derive(Clone, Debug)]
pub struct GateRequest<'a> {
    pub purpose: &'a str,
    /// Category names or prefixes (`member.profile`, `member.content.post`).
    pub categories: &'a [&'a str],
    /// The form the caller will release the data in; each item's decision must permit it.
    pub form: Form,
    /// Consent is evaluated as of this time (ms since the epoch); also the consent snapshot
    /// time a release records.
    pub at_ms: i64,
}

/// What a read returned and what it left out, per reason — the numbers a release records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GateReport {
    pub purpose: String,
    pub form: &'static str,
    pub policy_version: String,
    pub at_ms: i64,
    /// Leaf categories read.
    pub categories: Vec<String>,
    /// Leaf categories under a requested prefix that the policy never allows, with the reason.
    pub categories_denied: Vec<(String, String)>,
    pub rows_returned: u64,
    /// Members with at least one row returned.
    pub members_returned: u64,
    /// Items left out, per reason.
    pub excluded_rows: BTreeMap<Exclusion, u64>,
    /// Members left out entirely, per reason: deleted and minors always; and, when profile
    /// fields are read, members none of whose requested fields was allowed (consent named
    /// before visibility).
    pub excluded_members: BTreeMap<Exclusion, u64>,
}

/// A member's profile fields as the purpose may have them: `None` where the field is absent
/// or not allowed for this member, this visibility and this purpose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileRecord {
    pub member_id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub headline: Option<String>,
    pub summary: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub industry: Option<String>,
    pub job_function: Option<String>,
    pub seniority: Option<String>,
    pub company_size: Option<String>,
    pub years_experience: Option<i64>,
    pub gender: Option<String>,
    pub birth_year: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRecord {
    pub position_id: i64,
    pub member_id: i64,
    pub company_id: Option<i64>,
    pub company_name: String,
    pub title: String,
    pub start_year: i64,
    pub end_year: Option<i64>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EducationRecord {
    pub education_id: i64,
    pub member_id: i64,
    pub school: String,
    pub degree: Option<String>,
    pub field: Option<String>,
    pub start_year: Option<i64>,
    pub end_year: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillRecord {
    pub member_id: i64,
    pub skill: String,
    pub endorsements: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRecord {
    pub member_id: i64,
    pub other_member_id: i64,
    pub created_at: i64,
}

/// A feed post or open-group post. There is no closed-group variant: their bodies are sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostRecord {
    pub post_id: i64,
    pub member_id: i64,
    pub group_id: Option<i64>,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngagementRecord {
    pub event_id: i64,
    pub member_id: i64,
    pub kind: String,
    pub target_kind: String,
    pub target_id: i64,
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRecord {
    pub event_id: i64,
    pub member_id: i64,
    pub query: String,
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub application_id: i64,
    pub member_id: i64,
    pub job_id: i64,
    pub applied_at: i64,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyRecord {
    pub company_id: i64,
    pub name: String,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    pub job_id: i64,
    pub company_id: i64,
    pub title: String,
    pub job_function: Option<String>,
    pub seniority: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub description: Option<String>,
    pub posted_at: i64,
}

/// One item the gate hands over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatedRecord {
    Profile(Box<ProfileRecord>),
    Position(PositionRecord),
    Education(EducationRecord),
    Skill(SkillRecord),
    Connection(ConnectionRecord),
    Post(PostRecord),
    Engagement(EngagementRecord),
    Search(SearchRecord),
    Application(ApplicationRecord),
    Company(CompanyRecord),
    Job(JobRecord),
}

impl GatedRecord {
    /// The member the record is about, if any (organisations have none).
    pub fn member_id(&self) -> Option<i64> {
        match self {
            GatedRecord::Profile(r) => Some(r.member_id),
            GatedRecord::Position(r) => Some(r.member_id),
            GatedRecord::Education(r) => Some(r.member_id),
            GatedRecord::Skill(r) => Some(r.member_id),
            GatedRecord::Connection(r) => Some(r.member_id),
            GatedRecord::Post(r) => Some(r.member_id),
            GatedRecord::Engagement(r) => Some(r.member_id),
            GatedRecord::Search(r) => Some(r.member_id),
            GatedRecord::Application(r) => Some(r.member_id),
            GatedRecord::Company(_) | GatedRecord::Job(_) => None,
        }
    }
}

/// Where the store keeps each readable leaf category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    /// A field of `members`, with the index of its section in `SECTIONS`.
    ProfileField(usize),
    Positions,
    Education,
    Skills,
    Connections,
    FeedPosts,
    OpenGroupPosts,
    Engagement,
    Search,
    Applications,
    Companies,
    Jobs,
}

fn section_index(name: &str) -> Option<usize> {
    SECTIONS.iter().position(|s| s.name == name)
}

fn source_of(category: &str) -> Option<Source> {
    if let Some(i) = SECTIONS.iter().position(|s| s.category == category) {
        return Some(match SECTIONS[i].name {
            "experience" => Source::Positions,
            "education" => Source::Education,
            "skills" => Source::Skills,
            "connections" => Source::Connections,
            _ => Source::ProfileField(i),
        });
    }
    Some(match category {
        "member.content.post" => Source::FeedPosts,
        "member.content.group_post.open" => Source::OpenGroupPosts,
        "member.activity.engagement" => Source::Engagement,
        "member.activity.search" => Source::Search,
        "member.activity.job_applications" => Source::Applications,
        "org.company_page" => Source::Companies,
        "org.job_posting" => Source::Jobs,
        _ => return None,
    })
}

/// The visibilities items of a source can carry.
fn visibilities_of(source: Source) -> &'static [Visibility] {
    match source {
        Source::ProfileField(_)
        | Source::Positions
        | Source::Education
        | Source::Skills
        | Source::Connections => &[
            Visibility::Public,
            Visibility::Connections,
            Visibility::Private,
        ],
        Source::FeedPosts => &[Visibility::Public, Visibility::Connections],
        Source::OpenGroupPosts => &[Visibility::GroupOpen],
        Source::Engagement | Source::Search | Source::Applications => &[Visibility::Private],
        Source::Companies | Source::Jobs => &[Visibility::Public],
    }
}

/// How many rows of private content a prefix covers, counted (never read) for the report.
fn private_count_sql(category: &str) -> Option<&'static str> {
    Some(match category {
        "member.content.group_post.closed" => {
            "SELECT COUNT(*) FROM posts WHERE visibility = 'group_closed'"
        }
        "member.content.message" => "SELECT COUNT(*) FROM messages",
        "member.content.attachment" => "SELECT COUNT(*) FROM attachments",
        "member.content.private_note" => "SELECT COUNT(*) FROM private_notes",
        _ => return None,
    })
}

/// What the gate knows about each member before reading any item.
#[derive(Clone, Copy, Debug)]
struct MemberMeta {
    consent: ConsentSet,
    deleted: bool,
    minor: bool,
    visibility: [Visibility; SECTIONS_LEN],
}

const SECTIONS_LEN: usize = 17;
const _: () = assert!(SECTIONS.len() == SECTIONS_LEN);

/// A gate over a store, bound to one compiled policy.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    store: &'a Store,
    policy: &'a Policy,
}

impl<'a> Gate<'a> {
    pub fn new(store: &'a Store, policy: &'a Policy) -> Gate<'a> {
        Gate { store, policy }
    }

    /// Streams the permitted items of `request` to `each` from one consistent snapshot and
    /// returns what was left out and why.
    pub fn read<E>(
        &self,
        request: &GateRequest<'_>,
        each: impl FnMut(GatedRecord) -> Result<(), E>,
    ) -> Result<GateReport, E>
    where
        E: From<GateError> + From<StoreError>,
    {
        let policy = self.policy;
        self.store.read(|tx| read_in(tx, policy, request, each))
    }

    /// [`Gate::read`] for several requests over one snapshot and one pass (see
    /// [`read_many_in`]): request `i`'s records arrive as `(i, record)`, its report is the
    /// `i`-th returned.
    pub fn read_many<E>(
        &self,
        requests: &[GateRequest<'_>],
        each: impl FnMut(usize, GatedRecord) -> Result<(), E>,
    ) -> Result<Vec<GateReport>, E>
    where
        E: From<GateError> + From<StoreError>,
    {
        let policy = self.policy;
        self.store
            .read(|tx| read_many_in(tx, policy, requests, each))
    }
}

struct Plan {
    purpose: PurposeId,
    /// Leaf categories to read, with their sources.
    leaves: Vec<(CategoryId, Source)>,
    denied: Vec<(String, String)>,
    private_prefixes: Vec<String>,
}

fn deny_reason(
    policy: &Policy,
    purpose: PurposeId,
    category: CategoryId,
    source: Source,
    form: Form,
) -> Option<(Option<String>, String)> {
    // Allowed for some visibility and full consent in a form that permits the request?
    let mut best: Option<(Option<String>, String)> = None;
    for &v in visibilities_of(source) {
        let d = policy.decide(purpose, category, v, ConsentSet::ALL);
        if d.permits(form) {
            return None;
        }
        if best.is_none() || d.is_allowed() {
            let e = policy.explain(purpose, category, v, ConsentSet::ALL);
            let reason = match d {
                Decision::Allow { form: allowed, .. } => format!(
                    "{}; the request asks for form `{form}`, which `{allowed}` does not permit",
                    e.reason
                ),
                Decision::Deny(_) => e.reason,
            };
            best = Some((e.rule, reason));
        }
    }
    best.or(Some((
        None,
        "no visibility of this source is allowed".to_owned(),
    )))
}

fn plan(policy: &Policy, request: &GateRequest<'_>) -> Result<Plan, GateError> {
    let t = policy.taxonomy();
    let purpose = t
        .purpose_id(request.purpose)
        .ok_or_else(|| GateError::UnknownPurpose(request.purpose.to_owned()))?;
    let mut leaves: Vec<(CategoryId, Source)> = Vec::new();
    let mut denied = Vec::new();
    let mut private_prefixes = Vec::new();
    for &name in request.categories {
        let requested = t
            .category_id(name)
            .ok_or_else(|| GateError::UnknownCategory(name.to_owned()))?;
        if t.category(requested).is_some_and(|c| c.private_content) {
            return Err(GateError::PrivateContent {
                category: name.to_owned(),
            });
        }
        let exact = source_of(name).is_some();
        let mut any = false;
        for c in t.category_ids() {
            let cname = t.category_name(c);
            if !steward_core::taxonomy::name_is_under(cname, name) {
                continue;
            }
            if t.category(c).is_some_and(|x| x.private_content) {
                if private_count_sql(cname).is_some() {
                    private_prefixes.push(cname.to_owned());
                }
                continue;
            }
            let Some(source) = source_of(cname) else {
                continue;
            };
            any = true;
            if let Some((rule, reason)) = deny_reason(policy, purpose, c, source, request.form) {
                if exact {
                    return Err(GateError::Denied {
                        purpose: request.purpose.to_owned(),
                        category: cname.to_owned(),
                        form: request.form.as_str(),
                        rule,
                        reason,
                    });
                }
                if !denied.iter().any(|(n, _)| n == cname) {
                    denied.push((cname.to_owned(), reason));
                }
                continue;
            }
            if !leaves.iter().any(|(l, _)| *l == c) {
                leaves.push((c, source));
            }
        }
        if !any {
            return Err(GateError::NoSource(name.to_owned()));
        }
    }
    if leaves.is_empty() {
        let (category, reason) = denied
            .first()
            .cloned()
            .unwrap_or_else(|| ("?".to_owned(), "nothing readable".to_owned()));
        return Err(GateError::Denied {
            purpose: request.purpose.to_owned(),
            category,
            form: request.form.as_str(),
            rule: None,
            reason,
        });
    }
    private_prefixes.sort();
    private_prefixes.dedup();
    Ok(Plan {
        purpose,
        leaves,
        denied,
        private_prefixes,
    })
}

struct Counter {
    report: GateReport,
    members: HashSet<i64>,
}

impl Counter {
    fn exclude_row(&mut self, why: Exclusion) {
        *self.report.excluded_rows.entry(why).or_insert(0) += 1;
    }
    fn exclude_rows(&mut self, why: Exclusion, n: u64) {
        if n > 0 {
            *self.report.excluded_rows.entry(why).or_insert(0) += n;
        }
    }
    fn returned(&mut self, member: Option<i64>) {
        self.report.rows_returned += 1;
        if let Some(m) = member {
            self.members.insert(m);
        }
    }
}

fn classify(d: Decision, form: Form) -> Result<(), Exclusion> {
    match d {
        Decision::Allow { .. } if d.permits(form) => Ok(()),
        Decision::Allow { .. } => Err(Exclusion::Form),
        Decision::Deny(Denial::MissingConsent { .. }) => Err(Exclusion::Consent),
        Decision::Deny(Denial::NoRule) => Err(Exclusion::Visibility),
    }
}

/// The gated read inside a caller's transaction — for callers that record the release (a
/// ledger entry, a dataset registry row) in the same transaction.
pub fn read_in<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    request: &GateRequest<'_>,
    each: impl FnMut(GatedRecord) -> Result<(), E>,
) -> Result<GateReport, E>
where
    E: From<GateError> + From<StoreError>,
{
    read_scoped(tx, policy, request, None, each)
}

/// [`read_in`] for the items of some members only — the same plan and the same decision per
/// item, with every member-keyed query restricted to `members` (indexed look-ups instead of
/// whole-table scans), for callers that keep a derived structure current after a member's
/// change. Organisation sources (company pages, job postings) are not member data and are
/// read whole. The report counts only these members' items.
pub fn read_members_in<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    request: &GateRequest<'_>,
    members: &[i64],
    each: impl FnMut(GatedRecord) -> Result<(), E>,
) -> Result<GateReport, E>
where
    E: From<GateError> + From<StoreError>,
{
    let mut ids: Vec<i64> = members.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // Integers only: nothing a caller passes can change the statement.
    let filter = if ids.is_empty() {
        "1 = 0".to_owned()
    } else {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!("member_id IN ({})", list.join(", "))
    };
    read_scoped(tx, policy, request, Some(&filter), each)
}

/// `sql` restricted by `scope` (a condition on `member_id`), placed before any `ORDER BY`.
fn scoped(sql: &str, scope: Option<&str>) -> String {
    let Some(scope) = scope else {
        return sql.to_owned();
    };
    let (head, tail) = sql
        .find(" ORDER BY ")
        .map_or((sql, ""), |i| sql.split_at(i));
    let joiner = if head.contains(" WHERE ") {
        " AND "
    } else {
        " WHERE "
    };
    format!("{head}{joiner}{scope}{tail}")
}

/// [`read_in`] for several requests at once, over one snapshot: the members table is scanned
/// once — joined with the consent events and visibility settings of its members, and reading
/// only the columns of the profile sections some request names — and every other source once,
/// however many requests read it. Request `i`'s records reach `each` as `(i, record)` and its
/// report is the `i`-th returned: exactly the records and the report [`read_in`] gives for
/// that request alone, under the same rules (consent with jurisdiction defaults, visibility,
/// deleted members, minors, form, private content).
pub fn read_many_in<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    requests: &[GateRequest<'_>],
    mut each: impl FnMut(usize, GatedRecord) -> Result<(), E>,
) -> Result<Vec<GateReport>, E>
where
    E: From<GateError> + From<StoreError>,
{
    read_many_scoped(tx, policy, requests, None, &mut each)
}

fn read_scoped<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    request: &GateRequest<'_>,
    scope: Option<&str>,
    mut each: impl FnMut(GatedRecord) -> Result<(), E>,
) -> Result<GateReport, E>
where
    E: From<GateError> + From<StoreError>,
{
    let mut reports = read_many_scoped(
        tx,
        policy,
        std::slice::from_ref(request),
        scope,
        &mut |_, record| each(record),
    )?;
    Ok(reports.pop().unwrap_or_default())
}

fn read_many_scoped<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    requests: &[GateRequest<'_>],
    scope: Option<&str>,
    each: &mut dyn FnMut(usize, GatedRecord) -> Result<(), E>,
) -> Result<Vec<GateReport>, E>
where
    E: From<GateError> + From<StoreError>,
{
    // Consent and age depend on the read's time: one pass per distinct time (in practice one).
    let mut times: Vec<i64> = requests.iter().map(|r| r.at_ms).collect();
    times.sort_unstable();
    times.dedup();
    let mut reports: Vec<Option<GateReport>> = vec![None; requests.len()];
    for at_ms in times {
        let group: Vec<(usize, &GateRequest<'_>)> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.at_ms == at_ms)
            .collect();
        for (i, report) in read_pass(tx, policy, &group, at_ms, scope, each)? {
            if let Some(slot) = reports.get_mut(i) {
                *slot = Some(report);
            }
        }
    }
    Ok(reports.into_iter().flatten().collect())
}

/// The columns of `members` a profile section carries, and the one whose presence makes the
/// section count as given for a member (a name is given when its first name is).
fn section_columns(section: &str) -> (&'static [&'static str], &'static str) {
    match section {
        "name" => (&["first_name", "last_name"], "first_name"),
        "email" => (&["email"], "email"),
        "phone" => (&["phone"], "phone"),
        "headline" => (&["headline"], "headline"),
        "summary" => (&["summary"], "summary"),
        "location" => (&["city", "region", "country"], "country"),
        "industry" => (&["industry"], "industry"),
        "job_function" => (&["job_function"], "job_function"),
        "seniority" => (&["seniority"], "seniority"),
        "company_size" => (&["company_size"], "company_size"),
        "years_experience" => (&["years_experience"], "years_experience"),
        "gender" => (&["gender"], "gender"),
        "birth_year" => (&["birth_year"], "birth_year"),
        _ => (&[], ""),
    }
}

/// Puts `value` of `column` into `rec`; whether the field is now present.
fn set_profile_column(rec: &mut ProfileRecord, column: &str, value: &Value) -> bool {
    fn text(slot: &mut Option<String>, value: &Value) -> bool {
        *slot = value.as_str().map(str::to_owned);
        slot.is_some()
    }
    fn int(slot: &mut Option<i64>, value: &Value) -> bool {
        *slot = value.as_i64();
        slot.is_some()
    }
    match column {
        "first_name" => text(&mut rec.first_name, value),
        "last_name" => text(&mut rec.last_name, value),
        "email" => text(&mut rec.email, value),
        "phone" => text(&mut rec.phone, value),
        "headline" => text(&mut rec.headline, value),
        "summary" => text(&mut rec.summary, value),
        "city" => text(&mut rec.city, value),
        "region" => text(&mut rec.region, value),
        "country" => text(&mut rec.country, value),
        "industry" => text(&mut rec.industry, value),
        "job_function" => text(&mut rec.job_function, value),
        "seniority" => text(&mut rec.seniority, value),
        "company_size" => text(&mut rec.company_size, value),
        "years_experience" => int(&mut rec.years_experience, value),
        "gender" => text(&mut rec.gender, value),
        "birth_year" => int(&mut rec.birth_year, value),
        _ => false,
    }
}

/// A profile field a request reads: its category, section, and where its columns sit in the
/// members pass's rows.
struct FieldRead {
    category: CategoryId,
    section: usize,
    columns: Vec<(&'static str, usize)>,
    presence: &'static str,
}

/// One request's share of a pass.
struct Pass {
    /// The request's position in the caller's list.
    index: usize,
    form: Form,
    plan: Plan,
    protects_minors: bool,
    fields: Vec<FieldRead>,
    counter: Counter,
}

/// The statement that reads a source other than profile fields, in the order its items are
/// handed over, and the profile section whose visibility its items take (none: they carry
/// their own, or are private activity, or organisations').
fn source_sql(source: Source) -> Option<(&'static str, Option<usize>)> {
    Some(match source {
        Source::ProfileField(_) => return None,
        Source::Positions => (
            "SELECT position_id, member_id, company_id, company_name, title, start_year, end_year, description FROM positions ORDER BY member_id, position_id",
            section_index("experience"),
        ),
        Source::Education => (
            "SELECT education_id, member_id, school, degree, field, start_year, end_year FROM education ORDER BY member_id, education_id",
            section_index("education"),
        ),
        Source::Skills => (
            "SELECT member_id, skill, endorsements FROM skills ORDER BY member_id, skill",
            section_index("skills"),
        ),
        Source::Connections => (
            "SELECT member_id, other_member_id, created_at FROM connections ORDER BY member_id, other_member_id",
            section_index("connections"),
        ),
        Source::FeedPosts => (
            "SELECT post_id, member_id, group_id, visibility, body, created_at FROM posts WHERE visibility IN ('public', 'connections') ORDER BY post_id",
            None,
        ),
        Source::OpenGroupPosts => (
            "SELECT post_id, member_id, group_id, visibility, body, created_at FROM posts WHERE visibility = 'group_open' ORDER BY post_id",
            None,
        ),
        Source::Engagement => (
            "SELECT event_id, member_id, kind, target_kind, target_id, at FROM engagement_events ORDER BY event_id",
            None,
        ),
        Source::Search => (
            "SELECT event_id, member_id, query, at FROM search_events ORDER BY event_id",
            None,
        ),
        Source::Applications => (
            "SELECT application_id, member_id, job_id, applied_at, status FROM applications ORDER BY application_id",
            None,
        ),
        Source::Companies => (
            "SELECT company_id, name, industry, size_band, description FROM companies ORDER BY company_id",
            None,
        ),
        Source::Jobs => (
            "SELECT job_id, company_id, title, job_function, seniority, region, country, description, posted_at FROM jobs ORDER BY job_id",
            None,
        ),
    })
}

/// The column of a source's rows that names the member.
fn member_column(source: Source) -> usize {
    match source {
        Source::Skills | Source::Connections => 0,
        _ => 1,
    }
}

fn is_org(source: Source) -> bool {
    matches!(source, Source::Companies | Source::Jobs)
}

/// Whether `purpose` keeps minors out (AI, ads and analytics).
fn protects_minors(purpose: &str) -> bool {
    ["ai", "ads", "analytics"]
        .iter()
        .any(|p| steward_core::taxonomy::name_is_under(purpose, p))
}

/// Member-level exclusions, before any item: deleted always, minors where the purpose
/// protects them.
fn member_gate(m: &MemberMeta, protects_minors: bool) -> Result<(), Exclusion> {
    if m.deleted {
        Err(Exclusion::DeletedMember)
    } else if protects_minors && m.minor {
        Err(Exclusion::Minor)
    } else {
        Ok(())
    }
}

/// Members' gate facts in member order, found by id; sources mostly arrive in member order,
/// so the last position is tried first.
struct Metas {
    rows: Vec<(i64, MemberMeta)>,
    last: usize,
}

impl Metas {
    fn find(&mut self, id: i64) -> Option<MemberMeta> {
        for at in [self.last, self.last + 1] {
            if let Some((k, m)) = self.rows.get(at)
                && *k == id
            {
                self.last = at;
                return Some(*m);
            }
        }
        let at = self.rows.binary_search_by_key(&id, |(k, _)| *k).ok()?;
        self.last = at;
        self.rows.get(at).map(|(_, m)| *m)
    }
}

/// One pass of the requests in `group` (all at `at_ms`): plans, member facts with the profile
/// fields in one scan of `members`, then each other source once.
fn read_pass<E>(
    tx: &mut Tx<'_>,
    policy: &Policy,
    group: &[(usize, &GateRequest<'_>)],
    at_ms: i64,
    scope: Option<&str>,
    each: &mut dyn FnMut(usize, GatedRecord) -> Result<(), E>,
) -> Result<Vec<(usize, GateReport)>, E>
where
    E: From<GateError> + From<StoreError>,
{
    let t = policy.taxonomy();
    // The members pass reads the member facts, then the columns some request's sections need.
    let mut columns: Vec<&'static str> =
        vec!["member_id", "jurisdiction", "birth_year", "deleted_at"];
    let mut passes: Vec<Pass> = Vec::with_capacity(group.len());
    for &(index, request) in group {
        let plan = plan(policy, request)?;
        let mut fields = Vec::new();
        for &(category, source) in &plan.leaves {
            let Source::ProfileField(section) = source else {
                continue;
            };
            let (cols, presence) = section_columns(SECTIONS.get(section).map_or("", |s| s.name));
            let mut at = Vec::with_capacity(cols.len());
            for &c in cols {
                let i = match columns.iter().position(|x| *x == c) {
                    Some(i) => i,
                    None => {
                        columns.push(c);
                        columns.len() - 1
                    }
                };
                at.push((c, i));
            }
            fields.push(FieldRead {
                category,
                section,
                columns: at,
                presence,
            });
        }
        let report = GateReport {
            purpose: request.purpose.to_owned(),
            form: request.form.as_str(),
            policy_version: policy.version_id(),
            at_ms: request.at_ms,
            categories: plan
                .leaves
                .iter()
                .map(|(id, _)| t.category_name(*id).to_owned())
                .collect(),
            categories_denied: plan.denied.clone(),
            ..GateReport::default()
        };
        passes.push(Pass {
            index,
            form: request.form,
            protects_minors: protects_minors(request.purpose),
            plan,
            fields,
            counter: Counter {
                report,
                members: HashSet::new(),
            },
        });
    }

    for pass in &mut passes {
        for prefix in &pass.plan.private_prefixes {
            if let Some(sql) = private_count_sql(prefix) {
                let n = tx
                    .query_i64(&scoped(sql, scope), &[])
                    .map_err(GateError::from)?;
                pass.counter
                    .exclude_rows(Exclusion::PrivateContent, u64::try_from(n).unwrap_or(0));
            }
        }
    }

    // Consent events and visibility settings, in member order, joined to the members scan.
    let mut events: Vec<(i64, steward_core::ConsentKey, bool)> = Vec::new();
    tx.query_each(
        &scoped(
            "SELECT member_id, key, value FROM consent_events WHERE at <= $1 ORDER BY member_id, at, event_id",
            scope,
        ),
        &[at_ms.into()],
        |r: &Row| {
            let member = r.i64(0)?;
            if let Some(k) = t.consent_key_id(r.get(1).as_str().unwrap_or(""))
                && let Ok(granted) = consent::parse_consent_value(r.get(2).as_str().unwrap_or(""))
            {
                events.push((member, k, granted));
            }
            Ok::<(), StoreError>(())
        },
    )
    .map_err(GateError::from)?;
    let mut settings: Vec<(i64, usize, Visibility)> = Vec::new();
    tx.query_each(
        &scoped(
            "SELECT member_id, section, visibility FROM profile_visibility ORDER BY member_id",
            scope,
        ),
        &[],
        |r: &Row| {
            let member = r.i64(0)?;
            if let (Some(i), Some(v)) = (
                r.get(1).as_str().and_then(section_index),
                r.get(2).as_str().and_then(Visibility::parse),
            ) {
                settings.push((member, i, v));
            }
            Ok::<(), StoreError>(())
        },
    )
    .map_err(GateError::from)?;

    let default_visibility: [Visibility; SECTIONS_LEN] = {
        let mut v = [Visibility::Private; SECTIONS_LEN];
        for (slot, s) in v.iter_mut().zip(SECTIONS) {
            *slot = s.default;
        }
        v
    };
    let mut defaults: HashMap<String, ConsentSet> = HashMap::new();
    let mut metas = Metas {
        rows: Vec::new(),
        last: 0,
    };
    let (mut next_event, mut next_setting) = (0usize, 0usize);
    let members_sql = format!(
        "SELECT {} FROM members ORDER BY member_id",
        columns.join(", ")
    );
    tx.query_each(&scoped(&members_sql, scope), &[], |r: &Row| {
        let id = r.i64(0)?;
        let jurisdiction = r
            .get(1)
            .as_str()
            .ok_or_else(|| StoreError::Type(format!("member {id}: jurisdiction is not text")))?;
        let mut consent = match defaults.get(jurisdiction) {
            Some(c) => *c,
            None => {
                let c = consent::defaults_for(t, jurisdiction);
                defaults.insert(jurisdiction.to_owned(), c);
                c
            }
        };
        // Events apply in time order on top of the defaults (ties in insertion order).
        while events.get(next_event).is_some_and(|e| e.0 < id) {
            next_event += 1;
        }
        while let Some(&(_, key, granted)) = events.get(next_event).filter(|e| e.0 == id) {
            consent.set(key, granted);
            next_event += 1;
        }
        let mut visibility = default_visibility;
        while settings.get(next_setting).is_some_and(|s| s.0 < id) {
            next_setting += 1;
        }
        while let Some(&(_, section, v)) = settings.get(next_setting).filter(|s| s.0 == id) {
            if let Some(slot) = visibility.get_mut(section) {
                *slot = v;
            }
            next_setting += 1;
        }
        let m = MemberMeta {
            consent,
            deleted: !r.get(3).is_null(),
            minor: vocab::may_be_minor(r.opt_i64(2)?, at_ms),
            visibility,
        };
        metas.rows.push((id, m));
        for pass in &mut passes {
            let gate = member_gate(&m, pass.protects_minors);
            if let Err(why) = gate {
                *pass.counter.report.excluded_members.entry(why).or_insert(0) += 1;
            }
            if pass.fields.is_empty() {
                continue;
            }
            if let Err(why) = gate {
                pass.counter.exclude_rows(why, pass.fields.len() as u64);
                continue;
            }
            let mut rec = ProfileRecord {
                member_id: id,
                ..ProfileRecord::default()
            };
            let mut any = false;
            let mut first_exclusion: Option<Exclusion> = None;
            for f in &pass.fields {
                let vis = m
                    .visibility
                    .get(f.section)
                    .copied()
                    .unwrap_or(Visibility::Private);
                if let Err(why) = classify(
                    policy.decide(pass.plan.purpose, f.category, vis, m.consent),
                    pass.form,
                ) {
                    pass.counter.exclude_row(why);
                    // Consent outranks visibility when naming why a whole profile stayed out.
                    if first_exclusion.is_none() || why == Exclusion::Consent {
                        first_exclusion = Some(why);
                    }
                    continue;
                }
                for &(column, i) in &f.columns {
                    let present = set_profile_column(&mut rec, column, r.get(i));
                    if column == f.presence {
                        any |= present;
                    }
                }
            }
            if any {
                pass.counter.returned(Some(id));
                each(pass.index, GatedRecord::Profile(Box::new(rec)))?;
            } else if let Some(why) = first_exclusion {
                *pass.counter.report.excluded_members.entry(why).or_insert(0) += 1;
            }
        }
        Ok::<(), E>(())
    })?;
    drop(events);
    drop(settings);

    // Every other source once, each row decided for every request that reads it.
    let mut sources: Vec<Source> = Vec::new();
    for pass in &passes {
        for &(_, s) in &pass.plan.leaves {
            if !matches!(s, Source::ProfileField(_)) && !sources.contains(&s) {
                sources.push(s);
            }
        }
    }
    for source in sources {
        let Some((sql, section)) = source_sql(source) else {
            continue;
        };
        let readers: Vec<(usize, CategoryId)> = passes
            .iter()
            .enumerate()
            .filter_map(|(pi, p)| {
                p.plan
                    .leaves
                    .iter()
                    .find(|(_, s)| *s == source)
                    .map(|(c, _)| (pi, *c))
            })
            .collect();
        let org = is_org(source);
        let sql = if org {
            sql.to_owned()
        } else {
            scoped(sql, scope)
        };
        let member_col = member_column(source);
        let posts = matches!(source, Source::FeedPosts | Source::OpenGroupPosts);
        tx.query_each(&sql, &[], |r: &Row| {
            let member = if org {
                None
            } else {
                Some(metas.find(r.i64(member_col).map_err(GateError::from)?))
            };
            let own_visibility = if posts {
                r.get(3).as_str().and_then(Visibility::parse)
            } else {
                None
            };
            for &(pi, category) in &readers {
                let Some(pass) = passes.get_mut(pi) else {
                    continue;
                };
                let (consent, vis) = match member {
                    None => (ConsentSet::NONE, Visibility::Public),
                    Some(None) => {
                        pass.counter.exclude_row(Exclusion::DeletedMember);
                        continue;
                    }
                    Some(Some(m)) => {
                        if let Err(why) = member_gate(&m, pass.protects_minors) {
                            pass.counter.exclude_row(why);
                            continue;
                        }
                        let vis = if posts {
                            match own_visibility {
                                Some(v) => v,
                                None => {
                                    pass.counter.exclude_row(Exclusion::Visibility);
                                    continue;
                                }
                            }
                        } else {
                            match section {
                                Some(i) => {
                                    m.visibility.get(i).copied().unwrap_or(Visibility::Private)
                                }
                                None => Visibility::Private,
                            }
                        };
                        (m.consent, vis)
                    }
                };
                if vis.is_private() {
                    pass.counter.exclude_row(Exclusion::PrivateContent);
                    continue;
                }
                if let Err(why) = classify(
                    policy.decide(pass.plan.purpose, category, vis, consent),
                    pass.form,
                ) {
                    pass.counter.exclude_row(why);
                    continue;
                }
                let record = to_record(source, r, vis).map_err(GateError::from)?;
                pass.counter.returned(record.member_id());
                each(pass.index, record)?;
            }
            Ok::<(), E>(())
        })?;
    }
    Ok(passes
        .into_iter()
        .map(|p| {
            let mut report = p.counter.report;
            report.members_returned = p.counter.members.len() as u64;
            (p.index, report)
        })
        .collect())
}

fn to_record(source: Source, r: &Row, vis: Visibility) -> Result<GatedRecord, StoreError> {
    Ok(match source {
        Source::Positions => GatedRecord::Position(PositionRecord {
            position_id: r.i64(0)?,
            member_id: r.i64(1)?,
            company_id: r.opt_i64(2)?,
            company_name: r.text(3)?,
            title: r.text(4)?,
            start_year: r.i64(5)?,
            end_year: r.opt_i64(6)?,
            description: r.opt_text(7)?,
        }),
        Source::Education => GatedRecord::Education(EducationRecord {
            education_id: r.i64(0)?,
            member_id: r.i64(1)?,
            school: r.text(2)?,
            degree: r.opt_text(3)?,
            field: r.opt_text(4)?,
            start_year: r.opt_i64(5)?,
            end_year: r.opt_i64(6)?,
        }),
        Source::Skills => GatedRecord::Skill(SkillRecord {
            member_id: r.i64(0)?,
            skill: r.text(1)?,
            endorsements: r.i64(2)?,
        }),
        Source::Connections => GatedRecord::Connection(ConnectionRecord {
            member_id: r.i64(0)?,
            other_member_id: r.i64(1)?,
            created_at: r.i64(2)?,
        }),
        Source::FeedPosts | Source::OpenGroupPosts => GatedRecord::Post(PostRecord {
            post_id: r.i64(0)?,
            member_id: r.i64(1)?,
            group_id: r.opt_i64(2)?,
            visibility: vis,
            body: r.text(4)?,
            created_at: r.i64(5)?,
        }),
        Source::Engagement => GatedRecord::Engagement(EngagementRecord {
            event_id: r.i64(0)?,
            member_id: r.i64(1)?,
            kind: r.text(2)?,
            target_kind: r.text(3)?,
            target_id: r.i64(4)?,
            at: r.i64(5)?,
        }),
        Source::Search => GatedRecord::Search(SearchRecord {
            event_id: r.i64(0)?,
            member_id: r.i64(1)?,
            query: r.text(2)?,
            at: r.i64(3)?,
        }),
        Source::Applications => GatedRecord::Application(ApplicationRecord {
            application_id: r.i64(0)?,
            member_id: r.i64(1)?,
            job_id: r.i64(2)?,
            applied_at: r.i64(3)?,
            status: r.text(4)?,
        }),
        Source::Companies => GatedRecord::Company(CompanyRecord {
            company_id: r.i64(0)?,
            name: r.text(1)?,
            industry: r.opt_text(2)?,
            size_band: r.opt_text(3)?,
            description: r.opt_text(4)?,
        }),
        Source::Jobs => GatedRecord::Job(JobRecord {
            job_id: r.i64(0)?,
            company_id: r.i64(1)?,
            title: r.text(2)?,
            job_function: r.opt_text(3)?,
            seniority: r.opt_text(4)?,
            region: r.opt_text(5)?,
            country: r.opt_text(6)?,
            description: r.opt_text(7)?,
            posted_at: r.i64(8)?,
        }),
        Source::ProfileField(_) => {
            return Err(StoreError::Invalid(
                "profile fields are read per member".to_owned(),
            ));
        }
    })
}

/// The gate as it read before [`read_many_in`]: one request at a time, the member facts in a
/// scan of their own before a second scan of `members` reading every profile column. Kept
/// only so tests can check the single-pass read against it, as `steward_core::policy::reference`
/// checks the compiled policy; nothing reads member data through it.
#[doc(hidden)]
pub mod reference {
    use super::*;

    /// [`super::read_in`], the old way.
    pub fn read_in<E>(
        tx: &mut Tx<'_>,
        policy: &Policy,
        request: &GateRequest<'_>,
        each: impl FnMut(GatedRecord) -> Result<(), E>,
    ) -> Result<GateReport, E>
    where
        E: From<GateError> + From<StoreError>,
    {
        read_scoped(tx, policy, request, None, each)
    }

    fn load_members(
        tx: &mut Tx<'_>,
        policy: &Policy,
        at_ms: i64,
        scope: Option<&str>,
    ) -> Result<HashMap<i64, MemberMeta>, StoreError> {
        let t = policy.taxonomy();
        let mut meta: HashMap<i64, MemberMeta> = HashMap::new();
        let mut defaults: HashMap<String, ConsentSet> = HashMap::new();
        let default_vis: [Visibility; SECTIONS_LEN] = {
            let mut v = [Visibility::Private; SECTIONS_LEN];
            for (i, s) in SECTIONS.iter().enumerate().take(SECTIONS_LEN) {
                v[i] = s.default;
            }
            v
        };
        tx.query_each(
            &scoped(
                "SELECT member_id, jurisdiction, birth_year, deleted_at FROM members",
                scope,
            ),
            &[],
            |r: &Row| {
                let jurisdiction = r.text(1)?;
                let consent = *defaults
                    .entry(jurisdiction.clone())
                    .or_insert_with(|| consent::defaults_for(t, &jurisdiction));
                meta.insert(
                    r.i64(0)?,
                    MemberMeta {
                        consent,
                        deleted: !r.get(3).is_null(),
                        minor: vocab::may_be_minor(r.opt_i64(2)?, at_ms),
                        visibility: default_vis,
                    },
                );
                Ok::<(), StoreError>(())
            },
        )?;
        // Events apply in time order on top of the defaults (ties in insertion order).
        tx.query_each(
        &scoped(
            "SELECT member_id, key, value FROM consent_events WHERE at <= $1 ORDER BY member_id, at, event_id",
            scope,
        ),
        &[at_ms.into()],
        |r: &Row| {
            let key = r.get(1).as_str().unwrap_or("");
            if let (Some(k), Some(m)) = (t.consent_key_id(key), meta.get_mut(&r.i64(0)?))
                && let Ok(granted) = consent::parse_consent_value(r.get(2).as_str().unwrap_or(""))
            {
                m.consent.set(k, granted);
            }
            Ok::<(), StoreError>(())
        },
    )?;
        tx.query_each(
            &scoped(
                "SELECT member_id, section, visibility FROM profile_visibility",
                scope,
            ),
            &[],
            |r: &Row| {
                if let (Some(i), Some(v), Some(m)) = (
                    r.get(1).as_str().and_then(section_index),
                    r.get(2).as_str().and_then(Visibility::parse),
                    meta.get_mut(&r.i64(0)?),
                ) && let Some(slot) = m.visibility.get_mut(i)
                {
                    *slot = v;
                }
                Ok::<(), StoreError>(())
            },
        )?;
        Ok(meta)
    }

    fn read_scoped<E>(
        tx: &mut Tx<'_>,
        policy: &Policy,
        request: &GateRequest<'_>,
        scope: Option<&str>,
        mut each: impl FnMut(GatedRecord) -> Result<(), E>,
    ) -> Result<GateReport, E>
    where
        E: From<GateError> + From<StoreError>,
    {
        let plan = plan(policy, request)?;
        let meta = load_members(tx, policy, request.at_ms, scope).map_err(GateError::from)?;
        let purpose_name = request.purpose;
        let protects_minors = ["ai", "ads", "analytics"]
            .iter()
            .any(|p| steward_core::taxonomy::name_is_under(purpose_name, p));
        let mut c = Counter {
            report: GateReport {
                purpose: purpose_name.to_owned(),
                form: request.form.as_str(),
                policy_version: policy.version_id(),
                at_ms: request.at_ms,
                categories: plan
                    .leaves
                    .iter()
                    .map(|(id, _)| policy.taxonomy().category_name(*id).to_owned())
                    .collect(),
                categories_denied: plan.denied.clone(),
                ..GateReport::default()
            },
            members: HashSet::new(),
        };
        for m in meta.values() {
            if m.deleted {
                *c.report
                    .excluded_members
                    .entry(Exclusion::DeletedMember)
                    .or_insert(0) += 1;
            } else if protects_minors && m.minor {
                *c.report
                    .excluded_members
                    .entry(Exclusion::Minor)
                    .or_insert(0) += 1;
            }
        }
        // Member-level exclusions first: deleted always, minors for AI, ads and analytics.
        let member_gate = |m: &MemberMeta| -> Result<(), Exclusion> {
            if m.deleted {
                Err(Exclusion::DeletedMember)
            } else if protects_minors && m.minor {
                Err(Exclusion::Minor)
            } else {
                Ok(())
            }
        };

        for prefix in &plan.private_prefixes {
            if let Some(sql) = private_count_sql(prefix) {
                let n = tx
                    .query_i64(&scoped(sql, scope), &[])
                    .map_err(GateError::from)?;
                c.exclude_rows(Exclusion::PrivateContent, u64::try_from(n).unwrap_or(0));
            }
        }

        let profile_fields: Vec<(CategoryId, usize)> = plan
            .leaves
            .iter()
            .filter_map(|(id, s)| match s {
                Source::ProfileField(i) => Some((*id, *i)),
                _ => None,
            })
            .collect();
        let p = plan.purpose;
        let form = request.form;

        if !profile_fields.is_empty() {
            let sql = "SELECT member_id, first_name, last_name, email, phone, headline, summary, city, \
                   region, country, industry, job_function, seniority, company_size, \
                   years_experience, gender, birth_year FROM members ORDER BY member_id";
            tx.query_each(&scoped(sql, scope), &[], |r: &Row| {
                let id = r.i64(0).map_err(GateError::from)?;
                let Some(m) = meta.get(&id) else {
                    return Ok(());
                };
                if let Err(why) = member_gate(m) {
                    c.exclude_rows(why, profile_fields.len() as u64);
                    return Ok(());
                }
                let mut rec = ProfileRecord {
                    member_id: id,
                    ..ProfileRecord::default()
                };
                let mut any = false;
                let mut first_exclusion: Option<Exclusion> = None;
                for &(cat, si) in &profile_fields {
                    let vis = m.visibility.get(si).copied().unwrap_or(Visibility::Private);
                    if let Err(why) = classify(policy.decide(p, cat, vis, m.consent), form) {
                        c.exclude_row(why);
                        // Consent outranks visibility when naming why a whole profile stayed out.
                        if first_exclusion.is_none() || why == Exclusion::Consent {
                            first_exclusion = Some(why);
                        }
                        continue;
                    }
                    let text = |i: usize| r.get(i).as_str().map(str::to_owned);
                    match SECTIONS.get(si).map(|s| s.name).unwrap_or("") {
                        "name" => {
                            rec.first_name = text(1);
                            rec.last_name = text(2);
                            any |= rec.first_name.is_some();
                        }
                        "email" => {
                            rec.email = text(3);
                            any |= rec.email.is_some();
                        }
                        "phone" => {
                            rec.phone = text(4);
                            any |= rec.phone.is_some();
                        }
                        "headline" => {
                            rec.headline = text(5);
                            any |= rec.headline.is_some();
                        }
                        "summary" => {
                            rec.summary = text(6);
                            any |= rec.summary.is_some();
                        }
                        "location" => {
                            rec.city = text(7);
                            rec.region = text(8);
                            rec.country = text(9);
                            any |= rec.country.is_some();
                        }
                        "industry" => {
                            rec.industry = text(10);
                            any |= rec.industry.is_some();
                        }
                        "job_function" => {
                            rec.job_function = text(11);
                            any |= rec.job_function.is_some();
                        }
                        "seniority" => {
                            rec.seniority = text(12);
                            any |= rec.seniority.is_some();
                        }
                        "company_size" => {
                            rec.company_size = text(13);
                            any |= rec.company_size.is_some();
                        }
                        "years_experience" => {
                            rec.years_experience = r.get(14).as_i64();
                            any |= rec.years_experience.is_some();
                        }
                        "gender" => {
                            rec.gender = text(15);
                            any |= rec.gender.is_some();
                        }
                        "birth_year" => {
                            rec.birth_year = r.get(16).as_i64();
                            any |= rec.birth_year.is_some();
                        }
                        _ => {}
                    }
                }
                if any {
                    c.returned(Some(id));
                    each(GatedRecord::Profile(Box::new(rec)))?;
                } else if let Some(why) = first_exclusion {
                    *c.report.excluded_members.entry(why).or_insert(0) += 1;
                }
                Ok::<(), E>(())
            })?;
        }

        for &(cat, source) in &plan.leaves {
            let Some((sql, section)) = source_sql(source) else {
                continue;
            };
            let org = matches!(source, Source::Companies | Source::Jobs);
            let member_col = match source {
                Source::Skills | Source::Connections => 0,
                _ => 1,
            };
            let sql = if org {
                sql.to_owned()
            } else {
                scoped(sql, scope)
            };
            tx.query_each(&sql, &[], |r: &Row| {
                let (consent, vis) = if org {
                    (ConsentSet::NONE, Visibility::Public)
                } else {
                    let id = r.i64(member_col).map_err(GateError::from)?;
                    let Some(m) = meta.get(&id) else {
                        c.exclude_row(Exclusion::DeletedMember);
                        return Ok(());
                    };
                    if let Err(why) = member_gate(m) {
                        c.exclude_row(why);
                        return Ok(());
                    }
                    let vis = match (source, section) {
                        (Source::FeedPosts | Source::OpenGroupPosts, _) => {
                            match r.get(3).as_str().and_then(Visibility::parse) {
                                Some(v) => v,
                                None => {
                                    c.exclude_row(Exclusion::Visibility);
                                    return Ok(());
                                }
                            }
                        }
                        (_, Some(i)) => m.visibility.get(i).copied().unwrap_or(Visibility::Private),
                        (_, None) => Visibility::Private,
                    };
                    (m.consent, vis)
                };
                if vis.is_private() {
                    c.exclude_row(Exclusion::PrivateContent);
                    return Ok(());
                }
                if let Err(why) = classify(policy.decide(p, cat, vis, consent), form) {
                    c.exclude_row(why);
                    return Ok(());
                }
                let record = to_record(source, r, vis).map_err(GateError::from)?;
                c.returned(record.member_id());
                each(record)
            })?;
        }
        c.report.members_returned = c.members.len() as u64;
        Ok(c.report)
    }
}
