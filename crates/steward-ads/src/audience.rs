//! Audiences: attribute expressions and matched contact lists, each held to the minimum size
//! on the server every time it is created or edited, with rounded, noised size estimates.
//!
//! The exact size of an audience never leaves this module: a refusal says "fewer than the
//! minimum" (no number), and an estimate is the size plus discrete Laplace noise drawn from
//! the audience's canonical expression under the noise key, rounded to two significant digits.
//! Asking again gives the same estimate; rewriting the expression in another order is the same
//! question; two audiences that differ by one member get estimates whose distributions differ
//! by at most the ε of one estimate (tested as an attack in `tests/attacks.rs`).

use std::collections::HashSet;

use roaring::RoaringBitmap;
use sha2::{Digest, Sha256};
use steward_core::{Form, Policy};
use steward_ledger::{Entry, Ledger};
use steward_privacy::dp::{
    CanonicalQuery, DiscreteLaplace, Epsilon, NoiseKey, round_two_significant,
};
use steward_store::gate::{GateRequest, GatedRecord, read_in};
use steward_store::{Tx, Value};

use crate::error::AdsError;
use crate::expr::Expr;
use crate::index::{AudienceIndex, EMAIL_CATEGORY, member_bit};

/// No configuration may set the minimum audience below this.
pub const MIN_AUDIENCE_FLOOR: u32 = 100;
/// The default minimum audience.
pub const DEFAULT_MIN_AUDIENCE: u32 = 300;

/// The ads settings an operator may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdsConfig {
    min_audience: u32,
    /// ε of one size estimate (discrete Laplace, sensitivity 1).
    pub estimate_epsilon: Epsilon,
    /// A new advertiser's total ε for reports.
    pub advertiser_budget: Epsilon,
    /// A new campaign's ε for reports, unless the advertiser asks for another.
    pub campaign_budget: Epsilon,
}

impl Default for AdsConfig {
    fn default() -> AdsConfig {
        AdsConfig {
            min_audience: DEFAULT_MIN_AUDIENCE,
            estimate_epsilon: Epsilon(100_000),
            advertiser_budget: Epsilon(20_000_000),
            campaign_budget: Epsilon(5_000_000),
        }
    }
}

impl AdsConfig {
    /// A configuration with another minimum audience; refused below [`MIN_AUDIENCE_FLOOR`].
    pub fn with_min_audience(min_audience: u32) -> Result<AdsConfig, AdsError> {
        if min_audience < MIN_AUDIENCE_FLOOR {
            return Err(AdsError::Config(format!(
                "the minimum audience is never below {MIN_AUDIENCE_FLOOR}, not {min_audience}"
            )));
        }
        Ok(AdsConfig {
            min_audience,
            ..AdsConfig::default()
        })
    }

    pub fn min_audience(&self) -> u32 {
        self.min_audience
    }

    /// Refuses a reach below the minimum, without saying the reach.
    pub fn check_minimum(&self, reach: u64) -> Result<(), AdsError> {
        if reach < u64::from(self.min_audience) {
            return Err(AdsError::AudienceTooSmall {
                minimum: self.min_audience,
            });
        }
        Ok(())
    }
}

/// What an advertiser is told about an audience's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimate {
    /// Fewer members than the minimum: no number is given.
    BelowMinimum { minimum: u32 },
    /// About this many members (noised, two significant digits, never below the minimum).
    About(u64),
}

impl Estimate {
    pub fn text(&self) -> String {
        match self {
            Estimate::BelowMinimum { minimum } => format!("fewer than {minimum}"),
            Estimate::About(n) => format!("about {n}"),
        }
    }
}

/// The estimate of a reach `exact` for the question `canonical` (the audience's canonical
/// form): exposed for the attack tests, which call it with chosen counts.
pub fn estimate_from_count(
    key: &NoiseKey,
    config: &AdsConfig,
    canonical: &str,
    exact: u64,
) -> Result<Estimate, AdsError> {
    let min = config.min_audience;
    if exact < u64::from(min) {
        return Ok(Estimate::BelowMinimum { minimum: min });
    }
    let mechanism = DiscreteLaplace::new(config.estimate_epsilon, 1)?;
    let q = CanonicalQuery::new()
        .with("kind", "audience_estimate")
        .with("audience", canonical)
        .with("mechanism", format!("dlap:{}", config.estimate_epsilon.0));
    let noisy = mechanism.release(&mut key.rng(&q), i64::try_from(exact).unwrap_or(i64::MAX));
    let floor = i64::from(min);
    let clamped = u64::try_from(noisy.max(floor)).unwrap_or(u64::from(min));
    Ok(Estimate::About(
        round_two_significant(clamped).max(u64::from(min)),
    ))
}

/// The estimate for an expression on the index.
pub fn estimate(
    index: &AudienceIndex,
    key: &NoiseKey,
    config: &AdsConfig,
    expr: &Expr,
) -> Result<Estimate, AdsError> {
    let n = index.count(expr)?;
    estimate_from_count(key, config, &expr.canonical(), n)
}

/// The kind of an audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudienceKind {
    Attributes,
    Matched,
}

impl AudienceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AudienceKind::Attributes => "attributes",
            AudienceKind::Matched => "matched",
        }
    }
}

/// A stored audience (no member ids: a matched list's members stay in their own table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    pub id: i64,
    pub advertiser: String,
    pub name: String,
    pub kind: AudienceKind,
    /// The canonical expression of an attribute audience.
    pub expression: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Loads an audience of `advertiser` (another advertiser's audience is "not found").
pub fn get(tx: &mut Tx<'_>, advertiser: &str, id: i64) -> Result<Audience, AdsError> {
    let row = tx
        .query_opt(
            "SELECT audience_id, advertiser, name, kind, expression, created_at, updated_at \
             FROM ads_audiences WHERE audience_id = $1 AND advertiser = $2",
            &[Value::Int(id), Value::from(advertiser)],
        )?
        .ok_or_else(|| AdsError::NotFound(format!("audience `{id}`")))?;
    Ok(Audience {
        id: row.i64(0)?,
        advertiser: row.text(1)?,
        name: row.text(2)?,
        kind: if row.text(3)? == "matched" {
            AudienceKind::Matched
        } else {
            AudienceKind::Attributes
        },
        expression: row.opt_text(4)?,
        created_at: row.i64(5)?,
        updated_at: row.i64(6)?,
    })
}

/// The audiences of an advertiser.
pub fn list(tx: &mut Tx<'_>, advertiser: &str) -> Result<Vec<Audience>, AdsError> {
    let ids: Vec<i64> = tx
        .query(
            "SELECT audience_id FROM ads_audiences WHERE advertiser = $1 ORDER BY audience_id",
            &[Value::from(advertiser)],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(tx, advertiser, id)).collect()
}

/// The members an audience reaches now: an expression evaluated on the index, or a matched
/// list intersected with the members who still allow matching.
pub fn members(
    tx: &mut Tx<'_>,
    index: &AudienceIndex,
    audience: &Audience,
) -> Result<RoaringBitmap, AdsError> {
    match audience.kind {
        AudienceKind::Attributes => {
            let text = audience.expression.as_deref().unwrap_or("");
            let expr = Expr::parse(text)?;
            index.evaluate(&expr)
        }
        AudienceKind::Matched => {
            let mut b = RoaringBitmap::new();
            tx.query_each(
                "SELECT member_id FROM ads_matched_members WHERE audience_id = $1",
                &[Value::Int(audience.id)],
                |r| {
                    if let Ok(bit) = member_bit(r.i64(0)?) {
                        b.insert(bit);
                    }
                    Ok::<(), AdsError>(())
                },
            )?;
            Ok(b & index.third_party())
        }
    }
}

/// What creating or editing an audience returns to the advertiser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub audience: Audience,
    pub estimate: Estimate,
    pub ledger_seq: u64,
}

fn ledger_entry(
    advertiser: &str,
    action: &str,
    audience_id: i64,
    expr: Option<&Expr>,
    estimate: &Estimate,
    policy_version: &str,
    now_ms: i64,
) -> Entry {
    let mut e = Entry::new(
        u64::try_from(now_ms).unwrap_or(0),
        advertiser,
        "advertiser",
        crate::PURPOSE,
        action,
    );
    e.categories = expr
        .map(|x| {
            x.attributes()
                .iter()
                .map(|a| a.category().to_owned())
                .collect()
        })
        .unwrap_or_else(|| vec![EMAIL_CATEGORY.to_owned()]);
    e.policy_version = policy_version.to_owned();
    e.reference = format!("audience:{audience_id}");
    e.outcome = "ok".to_owned();
    e.details = match expr {
        Some(x) => format!(
            "expression=[{}] estimate={}",
            x.canonical(),
            estimate.text()
        ),
        None => format!("matched_list estimate={}", estimate.text()),
    };
    e.normalize();
    e
}

/// Creates an attribute audience; refused (with no number) below the minimum.
#[allow(clippy::too_many_arguments)]
pub fn create(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    key: &NoiseKey,
    config: &AdsConfig,
    advertiser: &str,
    name: &str,
    expression: &str,
    now_ms: i64,
) -> Result<Saved, AdsError> {
    crate::schema::ensure_advertiser(tx, advertiser, config.advertiser_budget.0, now_ms)?;
    let expr = Expr::parse(expression)?;
    let reach = index.count(&expr)?;
    config.check_minimum(reach)?;
    let est = estimate_from_count(key, config, &expr.canonical(), reach)?;
    let id = tx
        .query_opt(
            "INSERT INTO ads_audiences (advertiser, name, kind, expression, created_at, updated_at) \
             VALUES ($1, $2, 'attributes', $3, $4, $4) RETURNING audience_id",
            &[
                Value::from(advertiser),
                Value::from(name),
                Value::from(expr.canonical().as_str()),
                Value::Int(now_ms),
            ],
        )?
        .ok_or_else(|| AdsError::Invalid("the audience was not stored".to_owned()))?
        .i64(0)?;
    let seq = ledger.append(
        tx,
        ledger_entry(
            advertiser,
            "audience.create",
            id,
            Some(&expr),
            &est,
            &index.policy_version,
            now_ms,
        ),
    )?;
    Ok(Saved {
        audience: get(tx, advertiser, id)?,
        estimate: est,
        ledger_seq: seq,
    })
}

/// Replaces an attribute audience's expression; refused below the minimum (the old one
/// stays). Campaigns using it keep running only because the new reach passed the check.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    index: &AudienceIndex,
    key: &NoiseKey,
    config: &AdsConfig,
    advertiser: &str,
    id: i64,
    expression: &str,
    now_ms: i64,
) -> Result<Saved, AdsError> {
    let audience = get(tx, advertiser, id)?;
    if audience.kind != AudienceKind::Attributes {
        return Err(AdsError::Invalid(
            "a matched audience is replaced by uploading a new list".to_owned(),
        ));
    }
    let expr = Expr::parse(expression)?;
    let reach = index.count(&expr)?;
    config.check_minimum(reach)?;
    let est = estimate_from_count(key, config, &expr.canonical(), reach)?;
    tx.execute(
        "UPDATE ads_audiences SET expression = $1, updated_at = $2 WHERE audience_id = $3",
        &[
            Value::from(expr.canonical().as_str()),
            Value::Int(now_ms),
            Value::Int(id),
        ],
    )?;
    let seq = ledger.append(
        tx,
        ledger_entry(
            advertiser,
            "audience.edit",
            id,
            Some(&expr),
            &est,
            &index.policy_version,
            now_ms,
        ),
    )?;
    Ok(Saved {
        audience: get(tx, advertiser, id)?,
        estimate: est,
        ledger_seq: seq,
    })
}

/// The hash an advertiser uploads for a contact email: SHA-256 (hex) of
/// `salt ‖ ":" ‖ lower-case trimmed email`.
pub fn contact_hash(salt: &str, email: &str) -> String {
    hex::encode(contact_digest(&salted(salt), email))
}

/// SHA-256 fed with `salt ‖ ":"`, cloned for each email.
fn salted(salt: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h
}

/// [`contact_hash`] as bytes, from the salted state.
fn contact_digest(salted: &Sha256, email: &str) -> [u8; 32] {
    let mut h = salted.clone();
    let e = email.trim();
    if e.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        h.update(e.to_lowercase().as_bytes());
    } else {
        h.update(e.as_bytes());
    }
    h.finalize().into()
}

/// Emails hashed per parallel batch: memory stays bounded by the batch, not the network.
const MATCH_BATCH: usize = 65_536;

/// The members among `candidates` whose email (`(bit, email)` pairs) hashes with `salt` to
/// one of `wanted`, hashed on every core.
fn match_batch(salted: &Sha256, wanted: &HashSet<[u8; 32]>, batch: &[(u32, String)]) -> Vec<u32> {
    let threads = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = batch.len().div_ceil(threads).max(1);
    let find = |part: &[(u32, String)]| -> Vec<u32> {
        part.iter()
            .filter(|(_, email)| wanted.contains(&contact_digest(salted, email)))
            .map(|(bit, _)| *bit)
            .collect()
    };
    if threads == 1 || batch.len() < 4_096 {
        return find(batch);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|part| s.spawn(move || find(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Creates a matched audience from salted contact hashes. Emails are read through the gate
/// for `ads.targeting` in audience form, which releases them only for members with
/// `ads.personalized` and `ads.third_party` on; they are hashed in bounded batches on every
/// core. A list matching fewer than the minimum is refused; the answer never says which
/// entries (or how many) matched — only a rounded, noised estimate. A matched audience is
/// intersected with the index's matchable members again at every use.
#[allow(clippy::too_many_arguments)]
pub fn create_matched(
    tx: &mut Tx<'_>,
    ledger: &Ledger,
    policy: &Policy,
    index: &AudienceIndex,
    key: &NoiseKey,
    config: &AdsConfig,
    advertiser: &str,
    name: &str,
    salt: &str,
    hashes: &[String],
    now_ms: i64,
) -> Result<Saved, AdsError> {
    crate::schema::ensure_advertiser(tx, advertiser, config.advertiser_budget.0, now_ms)?;
    if salt.len() < 8 {
        return Err(AdsError::Invalid(
            "the salt must be at least 8 characters".to_owned(),
        ));
    }
    if policy.version_id() != index.policy_version {
        return Err(AdsError::Invalid(format!(
            "the index was built under policy {}, not {}",
            index.policy_version,
            policy.version_id()
        )));
    }
    // Entries that are not a SHA-256 in hex can match nothing.
    let wanted: HashSet<[u8; 32]> = hashes
        .iter()
        .filter_map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h.trim(), &mut out).ok().map(|()| out)
        })
        .collect();
    let salted = salted(salt);
    let mut matched = RoaringBitmap::new();
    let mut batch: Vec<(u32, String)> = Vec::new();
    if !wanted.is_empty() && !index.third_party().is_empty() {
        // The emails come through the gate like every other read for `ads.targeting` (the
        // architecture's rule: the gate is the only read path for this purpose); only the
        // hashing, the costly part, is batched and spread over the cores.
        let categories = [EMAIL_CATEGORY];
        let request = GateRequest {
            purpose: crate::PURPOSE,
            categories: &categories,
            form: Form::Audience,
            at_ms: now_ms,
        };
        read_in(tx, policy, &request, |record| {
            if let GatedRecord::Profile(p) = record
                && let Some(email) = p.email
            {
                batch.push((member_bit(p.member_id)?, email));
                if batch.len() >= MATCH_BATCH {
                    matched.extend(match_batch(&salted, &wanted, &batch));
                    batch.clear();
                }
            }
            Ok::<(), AdsError>(())
        })?;
        matched.extend(match_batch(&salted, &wanted, &batch));
    }
    if matched.len() < u64::from(config.min_audience) {
        return Err(AdsError::MatchedTooSmall {
            minimum: config.min_audience,
        });
    }
    let id = tx
        .query_opt(
            "INSERT INTO ads_audiences (advertiser, name, kind, expression, created_at, updated_at) \
             VALUES ($1, $2, 'matched', NULL, $3, $3) RETURNING audience_id",
            &[Value::from(advertiser), Value::from(name), Value::Int(now_ms)],
        )?
        .ok_or_else(|| AdsError::Invalid("the audience was not stored".to_owned()))?
        .i64(0)?;
    let rows: Vec<Vec<Value>> = matched
        .iter()
        .map(|m| vec![Value::Int(id), Value::Int(i64::from(m))])
        .collect();
    tx.insert_rows(
        "ads_matched_members",
        &["audience_id", "member_id"],
        &rows,
        "",
    )?;
    let est = estimate_from_count(key, config, &format!("matched:{id}"), matched.len())?;
    let seq = ledger.append(
        tx,
        ledger_entry(
            advertiser,
            "audience.create",
            id,
            None,
            &est,
            &index.policy_version,
            now_ms,
        ),
    )?;
    Ok(Saved {
        audience: get(tx, advertiser, id)?,
        estimate: est,
        ledger_seq: seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_is_never_below_the_floor() {
        assert!(AdsConfig::with_min_audience(99).is_err());
        assert_eq!(
            AdsConfig::with_min_audience(100).unwrap().min_audience(),
            100
        );
        assert_eq!(AdsConfig::default().min_audience(), 300);
    }

    #[test]
    fn refusals_say_no_number() {
        let c = AdsConfig::default();
        let e = c.check_minimum(299).unwrap_err();
        assert_eq!(e.code(), "ads.audience_too_small");
        assert!(!e.to_string().contains("299"));
        assert!(c.check_minimum(300).is_ok());
    }

    #[test]
    fn estimates_are_rounded_noised_and_repeatable() {
        let key = NoiseKey::from_bytes([5; 32]);
        let c = AdsConfig::default();
        assert_eq!(
            estimate_from_count(&key, &c, "x", 299).unwrap(),
            Estimate::BelowMinimum { minimum: 300 }
        );
        let a = estimate_from_count(&key, &c, "industry in (x)", 12_345).unwrap();
        let b = estimate_from_count(&key, &c, "industry in (x)", 12_345).unwrap();
        assert_eq!(a, b);
        match a {
            Estimate::About(n) => {
                assert_eq!(n % 100, 0, "two significant digits: {n}");
                assert!((12_000..=12_500).contains(&n));
            }
            Estimate::BelowMinimum { .. } => panic!("above the minimum"),
        }
        // Never an estimate below the minimum for a reach at it.
        for i in 0..200 {
            match estimate_from_count(&key, &c, &format!("q{i}"), 300).unwrap() {
                Estimate::About(n) => assert!(n >= 300),
                Estimate::BelowMinimum { .. } => panic!("reach at the minimum"),
            }
        }
    }

    #[test]
    fn contact_hashes_normalize_the_email() {
        assert_eq!(
            contact_hash("pepper-01", " Ada@Example.com "),
            contact_hash("pepper-01", "ada@example.com")
        );
        assert_ne!(
            contact_hash("pepper-01", "ada@example.com"),
            contact_hash("pepper-02", "ada@example.com")
        );
    }
}
