//! Dataset staleness: when a member who is in a published dataset withdraws AI-training consent
//! or is erased, every dataset whose member set (`dataset_members`) includes them is marked
//! `stale`, with a count per reason in `dataset_staleness`.
//!
//! A stale dataset is not rewritten — a release is immutable and its digests are ledgered —
//! but it is flagged so its users know to rebuild; the next build reads through the gate,
//! which already leaves out members without consent and deleted (erased) members.
//!
//! A withdrawal need not be an explicit `ai.training=off`: a member's effective consent is
//! their jurisdiction's default overridden by their own changes, so moving to a jurisdiction
//! whose default is off (without an explicit choice) withdraws it too. [`mark_jurisdiction_change`]
//! compares the effective AI-training keys under the old and the new jurisdiction; the import
//! compares them before and after each batch of `members` or `consent_events` rows
//! ([`TrainingConsent`]). Both count as [`StaleReason::ConsentWithdrawn`].
//!
//! For a consent withdrawal the row keeps the member id (the member still exists, and a second
//! withdrawal is not counted twice). For an erasure the row has no member id: only the count
//! survives, and any earlier withdrawal row of that member loses its id too.

use steward_core::consent::{self, ConsentSet};
use steward_core::{ConsentKey, Taxonomy};

use crate::db::Tx;
use crate::error::StoreError;
use crate::member::{consent_events, get_member, setting_history};
use crate::value::Value;

/// The consent key whose withdrawal makes AI-training datasets stale. Keys below it
/// (`ai.training.<something>`, from a taxonomy extension) count as well.
pub const AI_TRAINING_CONSENT_KEY: &str = "ai.training";

/// Whether turning `key` off withdraws consent to AI training.
pub fn governs_ai_training(key: &str) -> bool {
    key == AI_TRAINING_CONSENT_KEY
        || key
            .strip_prefix(AI_TRAINING_CONSENT_KEY)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Why a dataset went stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaleReason {
    /// A member in the dataset turned AI-training consent off.
    ConsentWithdrawn,
    /// A member in the dataset was erased.
    MemberErased,
}

impl StaleReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaleReason::ConsentWithdrawn => "consent_withdrawn",
            StaleReason::MemberErased => "member_erased",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<StaleReason> {
        match s {
            "consent_withdrawn" => Some(StaleReason::ConsentWithdrawn),
            "member_erased" => Some(StaleReason::MemberErased),
            _ => None,
        }
    }
}

/// Marks every published dataset that includes `member_id` stale for `reason` and records one
/// count row per dataset. Returns the ids of the datasets concerned (ascending).
///
/// For [`StaleReason::ConsentWithdrawn`] a dataset already counting this member's withdrawal
/// is not counted again. For [`StaleReason::MemberErased`] the member's id is removed from
/// every staleness row first; the new rows carry no id.
pub fn mark_member(
    tx: &mut Tx<'_>,
    member_id: i64,
    reason: StaleReason,
    at_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let datasets: Vec<String> = tx
        .query(
            "SELECT dm.dataset_id FROM dataset_members dm \
             JOIN datasets d ON d.dataset_id = dm.dataset_id \
             WHERE dm.member_id = $1 AND d.status IN ('published', 'stale') \
             ORDER BY dm.dataset_id",
            &[member_id.into()],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    if reason == StaleReason::MemberErased {
        tx.execute(
            "UPDATE dataset_staleness SET member_id = NULL WHERE member_id = $1",
            &[member_id.into()],
        )?;
    }
    for id in &datasets {
        let recorded_member = match reason {
            StaleReason::ConsentWithdrawn => {
                let already = tx.query_i64(
                    "SELECT COUNT(*) FROM dataset_staleness \
                     WHERE dataset_id = $1 AND member_id = $2 AND reason = $3",
                    &[id.as_str().into(), member_id.into(), reason.as_str().into()],
                )?;
                if already > 0 {
                    continue;
                }
                Value::Int(member_id)
            }
            StaleReason::MemberErased => Value::Null,
        };
        tx.execute(
            "UPDATE datasets SET status = 'stale', stale_since = COALESCE(stale_since, $2) \
             WHERE dataset_id = $1",
            &[id.as_str().into(), at_ms.into()],
        )?;
        tx.execute(
            "INSERT INTO dataset_staleness (dataset_id, member_id, reason, at) \
             VALUES ($1, $2, $3, $4)",
            &[
                id.as_str().into(),
                recorded_member,
                reason.as_str().into(),
                at_ms.into(),
            ],
        )?;
    }
    Ok(datasets)
}

/// The AI-training keys of `taxonomy` (`ai.training` and any `ai.training.*`).
fn training_keys(taxonomy: &Taxonomy) -> Vec<ConsentKey> {
    taxonomy
        .consent_key_ids()
        .filter(|k| {
            taxonomy
                .consent_key(*k)
                .is_some_and(|def| governs_ai_training(&def.name))
        })
        .collect()
}

/// A member's effective AI-training consent at one instant: for each AI-training key of the
/// taxonomy, whether it is granted. Compare two with [`TrainingConsent::withdrawn_by`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainingConsent(Vec<(ConsentKey, bool)>);

impl TrainingConsent {
    fn of(keys: &[ConsentKey], set: ConsentSet) -> TrainingConsent {
        TrainingConsent(keys.iter().map(|k| (*k, set.granted(*k))).collect())
    }

    /// No AI-training key granted (a member that does not exist or is deleted).
    fn none(keys: &[ConsentKey]) -> TrainingConsent {
        TrainingConsent(keys.iter().map(|k| (*k, false)).collect())
    }

    /// Whether going from `self` to `after` turns any AI-training key off.
    pub fn withdrawn_by(&self, after: &TrainingConsent) -> bool {
        self.0
            .iter()
            .any(|(k, before)| *before && after.0.iter().any(|(k2, granted)| k2 == k && !granted))
    }

    /// `member_id`'s AI-training consent at `at_ms` as stored now (their jurisdiction's
    /// defaults, then their changes); nothing granted for a missing or deleted member.
    pub fn read(
        tx: &mut Tx<'_>,
        taxonomy: &Taxonomy,
        member_id: i64,
        at_ms: i64,
    ) -> Result<TrainingConsent, StoreError> {
        let keys = training_keys(taxonomy);
        let member = match get_member(tx, member_id) {
            Ok(m) if m.deleted_at.is_none() => m,
            Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(TrainingConsent::none(&keys)),
            Err(e) => return Err(e),
        };
        Self::under(tx, taxonomy, &keys, member_id, &member.jurisdiction, at_ms)
    }

    fn under(
        tx: &mut Tx<'_>,
        taxonomy: &Taxonomy,
        keys: &[ConsentKey],
        member_id: i64,
        jurisdiction: &str,
        at_ms: i64,
    ) -> Result<TrainingConsent, StoreError> {
        let events = consent_events(taxonomy, &setting_history(tx, member_id)?);
        Ok(TrainingConsent::of(
            keys,
            consent::effective_at(taxonomy, jurisdiction, &events, at_ms),
        ))
    }
}

/// Members among `member_ids` who are in a published or stale dataset (ascending, distinct):
/// the only ones whose consent changes can make a dataset stale.
pub fn members_in_datasets(tx: &mut Tx<'_>, member_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    for chunk in member_ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let params: Vec<Value> = chunk.iter().map(|m| Value::Int(*m)).collect();
        for r in tx.query(
            &format!(
                "SELECT DISTINCT dm.member_id FROM dataset_members dm \
                 JOIN datasets d ON d.dataset_id = dm.dataset_id \
                 WHERE d.status IN ('published', 'stale') AND dm.member_id IN ({})",
                placeholders.join(", ")
            ),
            &params,
        )? {
            out.push(r.i64(0)?);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// After `member`'s jurisdiction changed from `old_jurisdiction` (the row already holds the
/// new one): if the change turned an AI-training key off — their old jurisdiction's default
/// was on, the new one's is off, and no choice of their own overrides it — every dataset that
/// includes them is marked stale for [`StaleReason::ConsentWithdrawn`], as an explicit opt-out
/// does. Returns the datasets concerned (empty if consent did not go off).
pub fn mark_jurisdiction_change(
    tx: &mut Tx<'_>,
    taxonomy: &Taxonomy,
    member_id: i64,
    old_jurisdiction: &str,
    at_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let keys = training_keys(taxonomy);
    let before = TrainingConsent::under(tx, taxonomy, &keys, member_id, old_jurisdiction, at_ms)?;
    let after = TrainingConsent::read(tx, taxonomy, member_id, at_ms)?;
    if before.withdrawn_by(&after) {
        mark_member(tx, member_id, StaleReason::ConsentWithdrawn, at_ms)
    } else {
        Ok(Vec::new())
    }
}

/// A dataset's status as the registry tables hold it, with staleness counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetStatus {
    pub dataset_id: String,
    /// `building`, `published`, `stale` or `withdrawn`.
    pub status: String,
    /// When it first went stale (ms since the epoch).
    pub stale_since: Option<i64>,
    /// Members who withdrew AI-training consent since it was built.
    pub consent_withdrawn: u64,
    /// Members erased since it was built.
    pub members_erased: u64,
}

impl DatasetStatus {
    pub fn is_stale(&self) -> bool {
        self.status == "stale"
    }
}

/// The status and staleness counts of dataset `dataset_id`, if it exists.
pub fn status(tx: &mut Tx<'_>, dataset_id: &str) -> Result<Option<DatasetStatus>, StoreError> {
    let Some(row) = tx.query_opt(
        "SELECT status, stale_since FROM datasets WHERE dataset_id = $1",
        &[dataset_id.into()],
    )?
    else {
        return Ok(None);
    };
    let mut out = DatasetStatus {
        dataset_id: dataset_id.to_owned(),
        status: row.text(0)?,
        stale_since: row.opt_i64(1)?,
        consent_withdrawn: 0,
        members_erased: 0,
    };
    for r in tx.query(
        "SELECT reason, COUNT(*) FROM dataset_staleness WHERE dataset_id = $1 GROUP BY reason",
        &[dataset_id.into()],
    )? {
        let n = u64::try_from(r.i64(1)?).unwrap_or(0);
        match StaleReason::parse(&r.text(0)?) {
            Some(StaleReason::ConsentWithdrawn) => out.consent_withdrawn = n,
            Some(StaleReason::MemberErased) => out.members_erased = n,
            None => {}
        }
    }
    Ok(Some(out))
}

/// The status of every dataset, by id.
pub fn all_statuses(tx: &mut Tx<'_>) -> Result<Vec<DatasetStatus>, StoreError> {
    let ids: Vec<String> = tx
        .query("SELECT dataset_id FROM datasets ORDER BY dataset_id", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = status(tx, &id)? {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ai_training_keys_govern_training() {
        assert!(governs_ai_training("ai.training"));
        assert!(governs_ai_training("ai.training.generative"));
        assert!(!governs_ai_training("ai.trainingx"));
        assert!(!governs_ai_training("ads.personalized"));
    }

    #[test]
    fn reasons_round_trip() {
        for r in [StaleReason::ConsentWithdrawn, StaleReason::MemberErased] {
            assert_eq!(StaleReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(StaleReason::parse("other"), None);
    }
}
