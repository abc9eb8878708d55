//! The audience index: one roaring bitmap of members per attribute value, built only from what
//! the purpose gate releases for `ads.targeting` in `audience` form.
//!
//! The gate applies the policy per member and per attribute: a member with personalized ads
//! off gets no attribute at all, a member who switched one attribute off (`ads.attr.skills`)
//! loses exactly that attribute, hidden sections, deleted members and minors never appear.
//! So the index cannot hold what the policy withholds, and every audience evaluated on it —
//! exclusions included — only uses attributes the member allows: `not region in (x)` matches
//! members whose region is *known* and not x, never a member whose region is switched off.
//!
//! [`AudienceIndex::apply_changes`] keeps it current: after a profile or settings change it
//! re-reads through the gate and replaces those members' bits. (The gate streams every member,
//! so a batch costs one gate pass whatever its size; a per-member gate read would make it
//! constant-time.)

use std::collections::{HashMap, HashSet};

use roaring::RoaringBitmap;
use steward_core::{Form, Policy};
use steward_store::gate::{GateRequest, GatedRecord, read_in};
use steward_store::{GateReport, Store, Tx};

use crate::attr::{Attribute, normalize, years_band};
use crate::error::AdsError;
use crate::expr::Expr;

/// The category matched audiences read (emails, only with `ads.third_party` consent).
pub const EMAIL_CATEGORY: &str = "member.identity.contact.email";

/// Bitmaps per attribute value.
#[derive(Clone, Debug, Default)]
pub struct AudienceIndex {
    values: Vec<HashMap<String, RoaringBitmap>>,
    /// Per attribute: members for whom it is known and allowed.
    known: Vec<RoaringBitmap>,
    /// Members with at least one attribute released (personalized ads on).
    targetable: RoaringBitmap,
    /// Members whose email the gate releases for matching (`ads.third_party` on).
    third_party: RoaringBitmap,
    /// What each member contributed, to take it back on change.
    member_values: HashMap<u32, Vec<(Attribute, String)>>,
    /// The attributes the policy allowed when the index was built.
    allowed: Vec<Attribute>,
    pub policy_version: String,
    pub built_at_ms: i64,
    /// The gate's account of what it left out, from the last full build.
    pub report: Option<GateReport>,
}

/// A member id as a bitmap position.
pub fn member_bit(member_id: i64) -> Result<u32, AdsError> {
    u32::try_from(member_id)
        .map_err(|_| AdsError::Invalid(format!("member id `{member_id}` is out of range")))
}

/// What one gated read yields per member.
type Extracted = HashMap<u32, (Vec<(Attribute, String)>, bool)>;

impl AudienceIndex {
    fn empty(policy: &Policy, at_ms: i64) -> AudienceIndex {
        AudienceIndex {
            values: vec![HashMap::new(); Attribute::ALL.len()],
            known: vec![RoaringBitmap::new(); Attribute::ALL.len()],
            allowed: Attribute::ALL
                .iter()
                .copied()
                .filter(|a| a.allowed_by(policy))
                .collect(),
            policy_version: policy.version_id(),
            built_at_ms: at_ms,
            ..AudienceIndex::default()
        }
    }

    /// Builds the index from `store` with consent as of `at_ms`.
    pub fn build(store: &Store, policy: &Policy, at_ms: i64) -> Result<AudienceIndex, AdsError> {
        store.read(|tx| AudienceIndex::build_in(tx, policy, at_ms))
    }

    /// Builds the index inside a caller's transaction.
    pub fn build_in(
        tx: &mut Tx<'_>,
        policy: &Policy,
        at_ms: i64,
    ) -> Result<AudienceIndex, AdsError> {
        let mut index = AudienceIndex::empty(policy, at_ms);
        let (extracted, report) = extract(tx, policy, &index.allowed, at_ms, None)?;
        for (bit, (values, email)) in extracted {
            index.insert(bit, values, email);
        }
        index.report = report;
        Ok(index)
    }

    fn insert(&mut self, bit: u32, values: Vec<(Attribute, String)>, email: bool) {
        if email {
            self.third_party.insert(bit);
        }
        if values.is_empty() {
            return;
        }
        self.targetable.insert(bit);
        for (a, v) in &values {
            let i = a.index();
            if let Some(k) = self.known.get_mut(i) {
                k.insert(bit);
            }
            if let Some(map) = self.values.get_mut(i) {
                map.entry(v.clone()).or_default().insert(bit);
            }
        }
        self.member_values.insert(bit, values);
    }

    fn remove(&mut self, bit: u32) {
        self.targetable.remove(bit);
        self.third_party.remove(bit);
        if let Some(values) = self.member_values.remove(&bit) {
            for (a, v) in values {
                let i = a.index();
                if let Some(k) = self.known.get_mut(i) {
                    k.remove(bit);
                }
                if let Some(map) = self.values.get_mut(i)
                    && let Some(b) = map.get_mut(&v)
                {
                    b.remove(bit);
                    if b.is_empty() {
                        map.remove(&v);
                    }
                }
            }
        }
    }

    /// Re-reads `members` through the gate (consent as of `at_ms`) and replaces their bits:
    /// call after a profile update, a settings change or an erasure.
    pub fn apply_changes(
        &mut self,
        store: &Store,
        policy: &Policy,
        members: &[i64],
        at_ms: i64,
    ) -> Result<(), AdsError> {
        store.read(|tx| self.apply_changes_in(tx, policy, members, at_ms))
    }

    /// [`AudienceIndex::apply_changes`] inside a caller's transaction.
    pub fn apply_changes_in(
        &mut self,
        tx: &mut Tx<'_>,
        policy: &Policy,
        members: &[i64],
        at_ms: i64,
    ) -> Result<(), AdsError> {
        let bits: HashSet<u32> = members
            .iter()
            .map(|&m| member_bit(m))
            .collect::<Result<_, _>>()?;
        if policy.version_id() != self.policy_version {
            // Another policy may allow other attributes: rebuild everything.
            *self = AudienceIndex::build_in(tx, policy, at_ms)?;
            return Ok(());
        }
        let (mut extracted, _) = extract(tx, policy, &self.allowed, at_ms, Some(&bits))?;
        for &bit in &bits {
            self.remove(bit);
            if let Some((values, email)) = extracted.remove(&bit) {
                self.insert(bit, values, email);
            }
        }
        Ok(())
    }

    /// A one-member change.
    pub fn apply_change(
        &mut self,
        store: &Store,
        policy: &Policy,
        member: i64,
        at_ms: i64,
    ) -> Result<(), AdsError> {
        self.apply_changes(store, policy, &[member], at_ms)
    }

    /// The attributes the policy allowed at build time.
    pub fn allowed(&self) -> &[Attribute] {
        &self.allowed
    }

    /// Members with personalized ads on and at least one attribute known.
    pub fn targetable(&self) -> &RoaringBitmap {
        &self.targetable
    }

    /// Members who allow matching of advertisers' contact lists.
    pub fn third_party(&self) -> &RoaringBitmap {
        &self.third_party
    }

    /// The members `expr` reaches.
    pub fn evaluate(&self, expr: &Expr) -> Result<RoaringBitmap, AdsError> {
        let mut result: Option<RoaringBitmap> = None;
        for c in &expr.clauses {
            if !self.allowed.contains(&c.attribute) {
                return Err(AdsError::AttributeNotAllowed {
                    attribute: c.attribute.name().to_owned(),
                    policy: self.policy_version.clone(),
                });
            }
            let i = c.attribute.index();
            let mut any = RoaringBitmap::new();
            if let Some(map) = self.values.get(i) {
                for v in &c.values {
                    if let Some(b) = map.get(v) {
                        any |= b;
                    }
                }
            }
            let facet = if c.negated {
                let known = self.known.get(i).cloned().unwrap_or_default();
                known - any
            } else {
                any
            };
            result = Some(match result {
                Some(r) => r & facet,
                None => facet,
            });
        }
        Ok(result.unwrap_or_default())
    }

    /// How many members `expr` reaches (exact: never shown to an advertiser).
    pub fn count(&self, expr: &Expr) -> Result<u64, AdsError> {
        Ok(self.evaluate(expr)?.len())
    }

    /// The values of an attribute present in the index, with their member counts (for the
    /// operator and tests; advertisers see only DP estimates).
    pub fn values_of(&self, attribute: Attribute) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .values
            .get(attribute.index())
            .map(|m| m.iter().map(|(k, b)| (k.clone(), b.len())).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Whether the index holds anything about `member`.
    pub fn knows(&self, member_id: i64) -> bool {
        member_bit(member_id)
            .map(|b| self.targetable.contains(b) || self.third_party.contains(b))
            .unwrap_or(false)
    }
}

/// Reads the allowed attributes (and whether the email is released for matching) per member
/// through the gate; `only` restricts the result to some members.
fn extract(
    tx: &mut Tx<'_>,
    policy: &Policy,
    allowed: &[Attribute],
    at_ms: i64,
    only: Option<&HashSet<u32>>,
) -> Result<(Extracted, Option<GateReport>), AdsError> {
    let mut categories: Vec<&str> = allowed.iter().map(|a| a.category()).collect();
    let email_allowed = email_allowed(policy);
    if email_allowed {
        categories.push(EMAIL_CATEGORY);
    }
    categories.sort_unstable();
    categories.dedup();
    let mut out: Extracted = HashMap::new();
    if categories.is_empty() {
        return Ok((out, None));
    }
    let request = GateRequest {
        purpose: crate::PURPOSE,
        categories: &categories,
        form: Form::Audience,
        at_ms,
    };
    let has = |a: Attribute| allowed.contains(&a);
    let report = read_in(tx, policy, &request, |record| {
        let Some(member) = record.member_id() else {
            return Ok(());
        };
        let bit = member_bit(member)?;
        if only.is_some_and(|o| !o.contains(&bit)) {
            return Ok(());
        }
        let slot = out.entry(bit).or_default();
        match record {
            GatedRecord::Profile(p) => {
                let mut push = |a: Attribute, v: Option<&str>| {
                    if let Some(v) = v
                        && has(a)
                    {
                        let v = normalize(v);
                        if !v.is_empty() {
                            slot.0.push((a, v));
                        }
                    }
                };
                push(Attribute::Region, p.region.as_deref());
                push(Attribute::Country, p.country.as_deref());
                push(Attribute::Industry, p.industry.as_deref());
                push(Attribute::JobFunction, p.job_function.as_deref());
                push(Attribute::Seniority, p.seniority.as_deref());
                push(Attribute::CompanySize, p.company_size.as_deref());
                push(
                    Attribute::YearsExperience,
                    p.years_experience.map(years_band),
                );
                if p.email.is_some() {
                    slot.1 = true;
                }
            }
            GatedRecord::Skill(s) if has(Attribute::Skill) => {
                let v = normalize(&s.skill);
                if !v.is_empty() {
                    slot.0.push((Attribute::Skill, v));
                }
            }
            _ => {}
        }
        Ok::<(), AdsError>(())
    })?;
    Ok((out, Some(report)))
}

/// Whether the policy lets `ads.targeting` match contact emails in audience form.
pub fn email_allowed(policy: &Policy) -> bool {
    use steward_core::{ConsentSet, Visibility};
    let t = policy.taxonomy();
    let (Some(p), Some(c)) = (t.purpose_id(crate::PURPOSE), t.category_id(EMAIL_CATEGORY)) else {
        return false;
    };
    [
        Visibility::Public,
        Visibility::Connections,
        Visibility::Private,
    ]
    .iter()
    .any(|&v| {
        policy
            .decide(p, c, v, ConsentSet::ALL)
            .permits(Form::Audience)
    })
}
