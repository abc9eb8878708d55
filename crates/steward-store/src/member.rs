//! A member's own data: the typed profile, effective consent and section visibility, and the
//! two rectification paths (settings and profile fields), each change recorded as an event
//! with time and actor. This is the `member.self_access` / `service.core` path, not the gate.

use steward_core::consent::{self, Actor, ConsentEvent};
use steward_core::{ConsentSet, Taxonomy, Visibility};

use crate::db::Tx;
use crate::error::StoreError;
use crate::schema::{SECTIONS, section_named};
use crate::value::{Row, Value};
use crate::vocab;

/// A member's profile row. Holds personal data: no `Serialize` (serialize at the edge).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub member_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub headline: Option<String>,
    pub summary: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: String,
    pub industry: Option<String>,
    pub job_function: Option<String>,
    pub seniority: Option<String>,
    pub company_size: Option<String>,
    pub years_experience: Option<i64>,
    pub jurisdiction: String,
    pub gender: Option<String>,
    pub birth_year: Option<i64>,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

/// The columns of `members` in the order [`Member::from_row`] reads them.
pub const MEMBER_COLUMNS: &str = "member_id, first_name, last_name, email, phone, headline, \
    summary, city, region, country, industry, job_function, seniority, company_size, \
    years_experience, jurisdiction, gender, birth_year, created_at, deleted_at";

impl Member {
    pub fn from_row(r: &Row) -> Result<Member, StoreError> {
        Ok(Member {
            member_id: r.i64(0)?,
            first_name: r.text(1)?,
            last_name: r.text(2)?,
            email: r.text(3)?,
            phone: r.opt_text(4)?,
            headline: r.opt_text(5)?,
            summary: r.opt_text(6)?,
            city: r.opt_text(7)?,
            region: r.opt_text(8)?,
            country: r.text(9)?,
            industry: r.opt_text(10)?,
            job_function: r.opt_text(11)?,
            seniority: r.opt_text(12)?,
            company_size: r.opt_text(13)?,
            years_experience: r.opt_i64(14)?,
            jurisdiction: r.text(15)?,
            gender: r.opt_text(16)?,
            birth_year: r.opt_i64(17)?,
            created_at: r.i64(18)?,
            deleted_at: r.opt_i64(19)?,
        })
    }

    /// The values in [`MEMBER_COLUMNS`] order.
    pub fn to_values(&self) -> Vec<Value> {
        vec![
            self.member_id.into(),
            self.first_name.as_str().into(),
            self.last_name.as_str().into(),
            self.email.as_str().into(),
            self.phone.clone().into(),
            self.headline.clone().into(),
            self.summary.clone().into(),
            self.city.clone().into(),
            self.region.clone().into(),
            self.country.as_str().into(),
            self.industry.clone().into(),
            self.job_function.clone().into(),
            self.seniority.clone().into(),
            self.company_size.clone().into(),
            self.years_experience.into(),
            self.jurisdiction.as_str().into(),
            self.gender.clone().into(),
            self.birth_year.into(),
            self.created_at.into(),
            self.deleted_at.into(),
        ]
    }

    /// The current value of an updatable profile field, as text.
    pub fn field(&self, field: &str) -> Option<String> {
        match field {
            "first_name" => Some(self.first_name.clone()),
            "last_name" => Some(self.last_name.clone()),
            "email" => Some(self.email.clone()),
            "phone" => self.phone.clone(),
            "headline" => self.headline.clone(),
            "summary" => self.summary.clone(),
            "city" => self.city.clone(),
            "region" => self.region.clone(),
            "country" => Some(self.country.clone()),
            "industry" => self.industry.clone(),
            "job_function" => self.job_function.clone(),
            "seniority" => self.seniority.clone(),
            "company_size" => self.company_size.clone(),
            "years_experience" => self.years_experience.map(|v| v.to_string()),
            "jurisdiction" => Some(self.jurisdiction.clone()),
            "gender" => self.gender.clone(),
            "birth_year" => self.birth_year.map(|v| v.to_string()),
            _ => None,
        }
    }
}

/// The profile fields a member may change with `member update`.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "headline",
    "summary",
    "city",
    "region",
    "country",
    "industry",
    "job_function",
    "seniority",
    "company_size",
    "years_experience",
    "jurisdiction",
    "gender",
    "birth_year",
];

/// Renders an actor for the `actor` columns: `member`, `staff:NAME`, `system`.
pub fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::Member => "member".to_owned(),
        Actor::Staff(name) => format!("staff:{name}"),
        Actor::System => "system".to_owned(),
    }
}

fn parse_actor(s: &str) -> Actor {
    match s {
        "member" => Actor::Member,
        "system" => Actor::System,
        other => Actor::Staff(other.strip_prefix("staff:").unwrap_or(other).to_owned()),
    }
}

/// Reads one member (deleted ones included; check `deleted_at`).
pub fn get_member(tx: &mut Tx<'_>, member_id: i64) -> Result<Member, StoreError> {
    let row = tx
        .query_opt(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE member_id = $1"),
            &[member_id.into()],
        )?
        .ok_or_else(|| StoreError::not_found(format!("member `{member_id}`")))?;
    Member::from_row(&row)
}

/// One recorded settings change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingEvent {
    pub event_id: i64,
    pub key: String,
    pub value: String,
    pub at_ms: i64,
    pub actor: String,
}

/// One recorded profile change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileEvent {
    pub event_id: i64,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at_ms: i64,
    pub actor: String,
}

/// Every settings change of a member, oldest first.
pub fn setting_history(tx: &mut Tx<'_>, member_id: i64) -> Result<Vec<SettingEvent>, StoreError> {
    tx.query(
        "SELECT event_id, key, value, at, actor FROM consent_events WHERE member_id = $1 \
         ORDER BY at, event_id",
        &[member_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(SettingEvent {
            event_id: r.i64(0)?,
            key: r.text(1)?,
            value: r.text(2)?,
            at_ms: r.i64(3)?,
            actor: r.text(4)?,
        })
    })
    .collect()
}

/// Every profile change of a member, oldest first.
pub fn profile_history(tx: &mut Tx<'_>, member_id: i64) -> Result<Vec<ProfileEvent>, StoreError> {
    tx.query(
        "SELECT event_id, field, old_value, new_value, at, actor FROM profile_events \
         WHERE member_id = $1 ORDER BY at, event_id",
        &[member_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(ProfileEvent {
            event_id: r.i64(0)?,
            field: r.text(1)?,
            old_value: r.opt_text(2)?,
            new_value: r.opt_text(3)?,
            at_ms: r.i64(4)?,
            actor: r.text(5)?,
        })
    })
    .collect()
}

/// The consent events among a member's settings history, for `steward_core::consent`.
/// Rows for keys the taxonomy does not know (or visibility settings) are skipped.
pub fn consent_events(taxonomy: &Taxonomy, history: &[SettingEvent]) -> Vec<ConsentEvent> {
    history
        .iter()
        .filter_map(|e| {
            let key = taxonomy.consent_key_id(&e.key)?;
            let granted = consent::parse_consent_value(&e.value).ok()?;
            Some(ConsentEvent {
                at_ms: e.at_ms,
                key,
                granted,
                actor: parse_actor(&e.actor),
            })
        })
        .collect()
}

/// A member's effective consent at `at_ms`: jurisdiction defaults, then their events.
pub fn effective_consent(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member: &Member,
    at_ms: i64,
) -> Result<ConsentSet, StoreError> {
    let history = setting_history(tx, member.member_id)?;
    Ok(consent::effective_at(
        taxonomy,
        &member.jurisdiction,
        &consent_events(taxonomy, &history),
        at_ms,
    ))
}

/// The visibility of each profile section of a member, and whether they chose it.
pub fn section_visibility(
    tx: &mut Tx<'_>,
    member_id: i64,
) -> Result<Vec<(&'static str, Visibility, bool)>, StoreError> {
    let rows = tx.query(
        "SELECT section, visibility FROM profile_visibility WHERE member_id = $1",
        &[member_id.into()],
    )?;
    let mut out = Vec::with_capacity(SECTIONS.len());
    for s in SECTIONS {
        let chosen = rows
            .iter()
            .find(|r| r.get(0).as_str() == Some(s.name))
            .and_then(|r| r.get(1).as_str().and_then(Visibility::parse));
        out.push((s.name, chosen.unwrap_or(s.default), chosen.is_some()));
    }
    Ok(out)
}

/// What a `member set` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingChange {
    pub key: String,
    pub old_value: String,
    pub new_value: String,
    pub at_ms: i64,
}

/// Changes one setting: a consent key of the taxonomy (`ai.training=off`) or a section's
/// visibility (`visibility.headline=connections`). Recorded as a settings event; takes effect
/// for every decision from `at_ms` on. Turning AI-training consent off marks every dataset
/// that includes the member stale ([`crate::staleness`]).
pub fn set_setting(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member_id: i64,
    assignment: &str,
    actor: &Actor,
    at_ms: i64,
) -> Result<SettingChange, StoreError> {
    let member = get_member(tx, member_id)?;
    if member.deleted_at.is_some() {
        return Err(StoreError::not_found(format!("member `{member_id}`")));
    }
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| StoreError::Invalid(format!("expected `key=value`, got `{assignment}`")))?;
    let (key, value) = (key.trim(), value.trim());
    let (old, new) = if let Some(section) = key.strip_prefix("visibility.") {
        let s = section_named(section).ok_or_else(|| {
            StoreError::Invalid(format!(
                "unknown profile section `{section}`; known: {}",
                SECTIONS
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let vis = Visibility::parse(value)
            .filter(|v| {
                matches!(
                    v,
                    Visibility::Public | Visibility::Connections | Visibility::Private
                )
            })
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "visibility `{value}` for `{key}` must be public, connections or private"
                ))
            })?;
        let old = section_visibility(tx, member_id)?
            .into_iter()
            .find(|(n, _, _)| *n == s.name)
            .map(|(_, v, _)| v)
            .unwrap_or(s.default);
        tx.execute(
            "INSERT INTO profile_visibility (member_id, section, visibility) VALUES ($1, $2, $3) \
             ON CONFLICT (member_id, section) DO UPDATE SET visibility = excluded.visibility",
            &[member_id.into(), s.name.into(), vis.as_str().into()],
        )?;
        (old.as_str().to_owned(), vis.as_str().to_owned())
    } else {
        let (k, granted) = consent::parse_assignment(taxonomy, &format!("{key}={value}"))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let before = effective_consent(tx, taxonomy, &member, at_ms)?.granted(k);
        if before && !granted && crate::staleness::governs_ai_training(key) {
            // Datasets built while this member consented no longer match their choice.
            crate::staleness::mark_member(
                tx,
                member_id,
                crate::staleness::StaleReason::ConsentWithdrawn,
                at_ms,
            )?;
        }
        let word = |b: bool| if b { "on" } else { "off" }.to_owned();
        (word(before), word(granted))
    };
    tx.execute(
        "INSERT INTO consent_events (member_id, key, value, at, actor) VALUES ($1, $2, $3, $4, $5)",
        &[
            member_id.into(),
            key.into(),
            new.as_str().into(),
            at_ms.into(),
            actor_text(actor).into(),
        ],
    )?;
    Ok(SettingChange {
        key: key.to_owned(),
        old_value: old,
        new_value: new,
        at_ms,
    })
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.chars().count() > max {
        return Err(StoreError::Invalid(format!(
            "`{field}` is longer than {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(StoreError::Invalid(format!(
            "`{field}` contains control characters"
        )));
    }
    Ok(())
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), StoreError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "`{field}` must be one of {}; got `{value}`",
            allowed.join(", ")
        )))
    }
}

/// Validates a new value for profile field `field`; `None` clears an optional field.
pub fn validate_field(field: &str, value: &str, now_ms: i64) -> Result<Option<Value>, StoreError> {
    let v = value.trim();
    let required = matches!(
        field,
        "first_name" | "last_name" | "email" | "country" | "jurisdiction"
    );
    if v.is_empty() {
        return if required {
            Err(StoreError::Invalid(format!("`{field}` cannot be empty")))
        } else {
            Ok(None)
        };
    }
    match field {
        "first_name" | "last_name" | "city" | "region" | "industry" => check_len(field, v, 100)?,
        "gender" => check_len(field, v, 40)?,
        "headline" => check_len(field, v, 220)?,
        "summary" => check_len(field, v, 2600)?,
        "email" => {
            check_len(field, v, 254)?;
            let ok = v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !v.contains(char::is_whitespace)
            });
            if !ok {
                return Err(StoreError::Invalid(format!(
                    "`email` `{v}` is not an email address"
                )));
            }
        }
        "phone" => {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            if !(7..=15).contains(&digits)
                || !v
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'))
            {
                return Err(StoreError::Invalid(format!(
                    "`phone` `{v}` is not a phone number"
                )));
            }
        }
        "country" | "jurisdiction" => {
            if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(StoreError::Invalid(format!(
                    "`{field}` must be an ISO 3166-1 alpha-2 code such as `DE`; got `{v}`"
                )));
            }
        }
        "job_function" => one_of(field, v, vocab::JOB_FUNCTIONS)?,
        "seniority" => one_of(field, v, vocab::SENIORITY)?,
        "company_size" => one_of(field, v, vocab::COMPANY_SIZE)?,
        "years_experience" => {
            let n: i64 = v.parse().map_err(|_| {
                StoreError::Invalid(format!(
                    "`years_experience` must be a whole number; got `{v}`"
                ))
            })?;
            if !(0..=70).contains(&n) {
                return Err(StoreError::Invalid(
                    "`years_experience` must be between 0 and 70".to_owned(),
                ));
            }
            return Ok(Some(Value::Int(n)));
        }
        "birth_year" => {
            let n: i64 = v.parse().map_err(|_| {
                StoreError::Invalid(format!("`birth_year` must be a year; got `{v}`"))
            })?;
            let this_year = vocab::year_of_ms(now_ms);
            if !(1900..=this_year).contains(&n) {
                return Err(StoreError::Invalid(format!(
                    "`birth_year` must be between 1900 and {this_year}"
                )));
            }
            return Ok(Some(Value::Int(n)));
        }
        other => {
            return Err(StoreError::Invalid(format!(
                "unknown profile field `{other}`; updatable: {}",
                UPDATABLE_FIELDS.join(", ")
            )));
        }
    }
    Ok(Some(Value::Text(v.to_owned())))
}

/// What a `member update` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileChange {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at_ms: i64,
}

/// Rectifies one profile field (`headline=Data engineer`), recorded as a profile event. A new
/// jurisdiction is judged under `taxonomy` (the loaded one, extensions included): if its
/// default turns AI training off, the datasets that include the member go stale.
pub fn update_profile(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member_id: i64,
    assignment: &str,
    actor: &Actor,
    at_ms: i64,
) -> Result<ProfileChange, StoreError> {
    let (field, value) = assignment.split_once('=').ok_or_else(|| {
        StoreError::Invalid(format!("expected `field=value`, got `{assignment}`"))
    })?;
    let field = field.trim();
    if !UPDATABLE_FIELDS.contains(&field) {
        return Err(StoreError::Invalid(format!(
            "unknown profile field `{field}`; updatable: {}",
            UPDATABLE_FIELDS.join(", ")
        )));
    }
    let new = validate_field(field, value, at_ms)?;
    let member = get_member(tx, member_id)?;
    if member.deleted_at.is_some() {
        return Err(StoreError::not_found(format!("member `{member_id}`")));
    }
    let old = member.field(field);
    let new_text = new.as_ref().map(|v| match v {
        Value::Int(i) => i.to_string(),
        Value::Text(s) => s.clone(),
        _ => String::new(),
    });
    // `field` is one of UPDATABLE_FIELDS, so interpolating it cannot inject SQL.
    tx.execute(
        &format!("UPDATE members SET {field} = $1 WHERE member_id = $2"),
        &[new.unwrap_or(Value::Null), member_id.into()],
    )?;
    if field == "jurisdiction" {
        // A new jurisdiction can turn AI training off by default: stale datasets, as an opt-out.
        let old_jurisdiction = member.jurisdiction.as_str();
        crate::staleness::mark_jurisdiction_change(
            tx,
            taxonomy,
            member_id,
            old_jurisdiction,
            at_ms,
        )?;
    }
    tx.execute(
        "INSERT INTO profile_events (member_id, field, old_value, new_value, at, actor) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            member_id.into(),
            field.into(),
            old.clone().into(),
            new_text.clone().into(),
            at_ms.into(),
            actor_text(actor).into(),
        ],
    )?;
    Ok(ProfileChange {
        field: field.to_owned(),
        old_value: old,
        new_value: new_text,
        at_ms,
    })
}
