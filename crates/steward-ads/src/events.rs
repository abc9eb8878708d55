//! Ad events — impressions, clicks, conversions — and a deterministic simulator for demos and
//! benchmarks.
//!
//! An off-platform conversion (one reported by the advertiser's site) is kept only when the
//! member's `ads.off_platform` consent was on at the event's time; otherwise it is dropped
//! before it is stored, and counted as dropped. Events of unknown or deleted members are
//! dropped too. The consent check reads the member's jurisdiction and settings history, as the
//! gate does to evaluate consent; no profile field is read.

use std::collections::HashMap;

use rand_core::Rng;
use steward_core::Policy;
use steward_privacy::dp::{CanonicalQuery, NoiseKey};
use steward_store::{Tx, Value, member};

use crate::eligibility::Eligibility;
use crate::error::AdsError;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Impression,
    Click,
    Conversion,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::Conversion => "conversion",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "impression" => EventKind::Impression,
            "click" => EventKind::Click,
            "conversion" => EventKind::Conversion,
            _ => return None,
        })
    }
}

/// One event as reported by ad serving or an advertiser's conversion feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdEvent {
    pub campaign_id: i64,
    pub member_id: i64,
    pub kind: EventKind,
    /// False for conversions reported from off the platform.
    pub on_platform: bool,
    pub at_ms: i64,
}

/// What [`record`] kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub kept: u64,
    /// Off-platform events of members without `ads.off_platform` consent at that time.
    pub dropped_no_off_platform_consent: u64,
    /// Events of unknown or deleted members.
    pub dropped_unknown_member: u64,
}

/// The key that decides off-platform events.
pub const OFF_PLATFORM_CONSENT: &str = "ads.off_platform";

/// Stores `events`, dropping what consent does not allow.
pub fn record(tx: &mut Tx<'_>, policy: &Policy, events: &[AdEvent]) -> Result<Recorded, AdsError> {
    let taxonomy = policy.taxonomy();
    let key = taxonomy.consent_key_id(OFF_PLATFORM_CONSENT);
    let mut out = Recorded::default();
    // member → (jurisdiction, consent history) of a live member, loaded once per member. Only
    // the two columns consent needs are read, never a profile field.
    let mut members: HashMap<i64, Option<(String, Vec<steward_core::consent::ConsentEvent>)>> =
        HashMap::new();
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(events.len());
    for e in events {
        if let std::collections::hash_map::Entry::Vacant(slot) = members.entry(e.member_id) {
            let row = tx.query_opt(
                "SELECT jurisdiction, deleted_at FROM members WHERE member_id = $1",
                &[Value::Int(e.member_id)],
            )?;
            let loaded = match row {
                Some(r) if r.get(1).is_null() => {
                    let history = member::setting_history(tx, e.member_id)?;
                    Some((r.text(0)?, member::consent_events(taxonomy, &history)))
                }
                _ => None,
            };
            slot.insert(loaded);
        }
        let Some(Some((jurisdiction, history))) = members.get(&e.member_id) else {
            out.dropped_unknown_member += 1;
            continue;
        };
        if !e.on_platform {
            let consent =
                steward_core::consent::effective_at(taxonomy, jurisdiction, history, e.at_ms);
            if !key.is_some_and(|k| consent.granted(k)) {
                out.dropped_no_off_platform_consent += 1;
                continue;
            }
        }
        rows.push(vec![
            Value::Int(e.campaign_id),
            Value::Int(e.member_id),
            Value::from(e.kind.as_str()),
            Value::Int(i64::from(e.on_platform)),
            Value::Int(e.at_ms),
        ]);
        out.kept += 1;
    }
    tx.insert_rows(
        "ads_events",
        &["campaign_id", "member_id", "kind", "on_platform", "at"],
        &rows,
        "",
    )?;
    Ok(out)
}

/// How to simulate a campaign's traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simulation {
    pub campaign_id: i64,
    pub seed: u64,
    pub impressions: u64,
    /// Events fall in `[from_ms, to_ms)`.
    pub from_ms: i64,
    pub to_ms: i64,
    /// Clicks per impression, conversions per click, off-platform share of conversions.
    pub click_rate: f64,
    pub conversion_rate: f64,
    pub off_platform_share: f64,
}

impl Simulation {
    pub fn new(campaign_id: i64, seed: u64, impressions: u64, from_ms: i64, to_ms: i64) -> Self {
        Simulation {
            campaign_id,
            seed,
            impressions,
            from_ms,
            to_ms,
            click_rate: 0.02,
            conversion_rate: 0.1,
            off_platform_share: 0.3,
        }
    }
}

fn chance<R: Rng>(rng: &mut R, p: f64) -> bool {
    // 53 random bits against p: simulation only, never privacy noise.
    ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
}

/// Generates the traffic of a campaign, deterministically from `seed`: impressions go to
/// members eligible for the campaign (a few members see it repeatedly, as real frequency
/// distributions do), some are clicked, some clicks convert, some conversions happen
/// off-platform. Returns the events; [`record`] stores them (dropping what consent refuses).
pub fn simulate(
    eligibility: &Eligibility,
    everyone: &roaring::RoaringBitmap,
    sim: &Simulation,
) -> Result<Vec<AdEvent>, AdsError> {
    let pool = eligibility
        .audience_of(sim.campaign_id)
        .cloned()
        .unwrap_or_else(|| everyone.clone());
    if pool.is_empty() {
        return Err(AdsError::Invalid(format!(
            "campaign `{}` is not active or reaches nobody",
            sim.campaign_id
        )));
    }
    if sim.to_ms <= sim.from_ms {
        return Err(AdsError::Invalid("the window is empty".to_owned()));
    }
    let key = NoiseKey::from_bytes([0x5a; 32]);
    let q = CanonicalQuery::new()
        .with("kind", "simulation")
        .with("campaign", sim.campaign_id)
        .with("seed", sim.seed);
    let mut rng = key.rng(&q);
    let n = pool.len();
    let span = u64::try_from(sim.to_ms - sim.from_ms).unwrap_or(1);
    let mut out = Vec::with_capacity(sim.impressions as usize + sim.impressions as usize / 40);
    for _ in 0..sim.impressions {
        // Skewed towards low ranks: the min of two uniforms.
        let r = (rng.next_u64() % n).min(rng.next_u64() % n);
        let Some(bit) = pool.select(u32::try_from(r).unwrap_or(0)) else {
            continue;
        };
        let member_id = i64::from(bit);
        let at = sim.from_ms + i64::try_from(rng.next_u64() % span).unwrap_or(0);
        let impression = AdEvent {
            campaign_id: sim.campaign_id,
            member_id,
            kind: EventKind::Impression,
            on_platform: true,
            at_ms: at,
        };
        out.push(impression);
        if chance(&mut rng, sim.click_rate) {
            let click_at = (at + 1_000).min(sim.to_ms - 1);
            out.push(AdEvent {
                kind: EventKind::Click,
                at_ms: click_at,
                ..impression
            });
            if chance(&mut rng, sim.conversion_rate) {
                out.push(AdEvent {
                    kind: EventKind::Conversion,
                    on_platform: !chance(&mut rng, sim.off_platform_share),
                    at_ms: (click_at + 60_000).min(sim.to_ms - 1),
                    ..impression
                });
            }
        }
    }
    Ok(out)
}
