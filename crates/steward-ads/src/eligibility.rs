//! Ad-serving eligibility: may this member be shown this campaign? A hash look-up of the
//! campaign and one bitmap `contains`, nanoseconds per answer.
//!
//! A snapshot is built from the active campaigns and the audience index. Targeted campaigns
//! hold the bitmap of their audience, which — coming from the gated index — never contains a
//! member with personalized ads off, nor one whose needed attribute is switched off. Such
//! members still see untargeted campaigns: those use no attribute, and any live member may be
//! shown them. Rebuild the snapshot after the index or the campaigns change.

use std::collections::HashMap;

use roaring::RoaringBitmap;
use steward_store::Tx;

use crate::audience;
use crate::campaign::{self, Status};
use crate::error::AdsError;
use crate::index::AudienceIndex;

#[derive(Clone, Debug)]
enum Target {
    Everyone,
    Members(RoaringBitmap),
}

/// Which members each active campaign may reach.
#[derive(Clone, Debug, Default)]
pub struct Eligibility {
    campaigns: HashMap<i64, Target>,
}

impl Eligibility {
    /// The snapshot for every active campaign.
    pub fn build(tx: &mut Tx<'_>, index: &AudienceIndex) -> Result<Eligibility, AdsError> {
        let mut campaigns = HashMap::new();
        for c in campaign::with_status(tx, Status::Active)? {
            let target = match c.audience_id {
                None => Target::Everyone,
                Some(aid) => {
                    let a = audience::get(tx, &c.advertiser, aid)?;
                    Target::Members(audience::members(tx, index, &a)?)
                }
            };
            campaigns.insert(c.id, target);
        }
        Ok(Eligibility { campaigns })
    }

    /// Whether `member` may be shown `campaign` (false for unknown or inactive campaigns).
    #[inline]
    pub fn is_eligible(&self, member: i64, campaign: i64) -> bool {
        match self.campaigns.get(&campaign) {
            Some(Target::Everyone) => member >= 0,
            Some(Target::Members(b)) => u32::try_from(member).is_ok_and(|m| b.contains(m)),
            None => false,
        }
    }

    /// The active campaigns `member` is eligible for, ascending.
    pub fn campaigns_for(&self, member: i64) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .campaigns
            .keys()
            .copied()
            .filter(|&c| self.is_eligible(member, c))
            .collect();
        v.sort_unstable();
        v
    }

    /// The members a targeted campaign reaches (`None` for untargeted or unknown campaigns).
    pub fn audience_of(&self, campaign: i64) -> Option<&RoaringBitmap> {
        match self.campaigns.get(&campaign) {
            Some(Target::Members(b)) => Some(b),
            _ => None,
        }
    }

    pub fn active_campaigns(&self) -> usize {
        self.campaigns.len()
    }
}
