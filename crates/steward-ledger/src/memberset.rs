//! Member sets of batch releases: a sorted list of member ids committed to by a Merkle root,
//! so a ledger entry names a million members in 32 bytes, and a member can be shown a proof
//! that they were — or were not — in a release without seeing anyone else.
//!
//! The digest is the RFC 6962 tree head over leaves `u64_be(member_id)` in ascending order.
//! Membership is an inclusion proof; absence is two adjacent inclusion proofs whose ids
//! straddle the member's (or one at an end of the set).

use crate::error::LedgerError;
use crate::hash::{Hash, leaf_hash};
use crate::merkle::{Tree, verify_inclusion};

/// The leaf hash of one member id in a member set.
pub fn member_leaf(member: u64) -> Hash {
    leaf_hash(&member.to_be_bytes())
}

/// A sorted, duplicate-free set of member ids with its Merkle tree.
#[derive(Debug, Clone)]
pub struct MemberSet {
    ids: Vec<u64>,
    tree: Tree,
}

/// One member of a set, with its position and the proof against the set's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProof {
    pub member: u64,
    pub index: u64,
    pub path: Vec<Hash>,
}

/// The answer to "was member M in this set?", checkable against the digest alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Present(MemberProof),
    /// The neighbours that prove absence: the largest id below and the smallest above
    /// (either missing at the ends of the set; both missing for the empty set).
    Absent {
        below: Option<MemberProof>,
        above: Option<MemberProof>,
    },
}

impl MemberSet {
    /// Builds the set from ids in any order; duplicates are dropped.
    pub fn new(ids: impl IntoIterator<Item = u64>) -> MemberSet {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let tree = Tree::from_leaves(ids.iter().map(|id| member_leaf(*id)));
        MemberSet { ids, tree }
    }

    /// Builds the set from ids that must already be strictly ascending (as stored).
    pub fn from_sorted(ids: Vec<u64>) -> Result<MemberSet, LedgerError> {
        if let Some(i) = ids.windows(2).position(|w| w[0] >= w[1]) {
            return Err(LedgerError::MemberSetUnsorted { position: i + 1 });
        }
        let tree = Tree::from_leaves(ids.iter().map(|id| member_leaf(*id)));
        Ok(MemberSet { ids, tree })
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    pub fn len(&self) -> u64 {
        self.ids.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn digest(&self) -> Hash {
        self.tree.root()
    }

    fn proof_at(&self, index: usize) -> Result<MemberProof, LedgerError> {
        let member = *self.ids.get(index).ok_or(LedgerError::IndexOutOfRange {
            index: index as u64,
            size: self.len(),
        })?;
        Ok(MemberProof {
            member,
            index: index as u64,
            path: self.tree.inclusion_proof(index as u64, self.len())?,
        })
    }

    /// Whether `member` is in the set, with the proof either way.
    pub fn membership(&self, member: u64) -> Result<Membership, LedgerError> {
        match self.ids.binary_search(&member) {
            Ok(i) => Ok(Membership::Present(self.proof_at(i)?)),
            Err(i) => Ok(Membership::Absent {
                below: if i > 0 {
                    Some(self.proof_at(i - 1)?)
                } else {
                    None
                },
                above: if i < self.ids.len() {
                    Some(self.proof_at(i)?)
                } else {
                    None
                },
            }),
        }
    }
}

/// Checks a membership answer for `member` against a set's `digest` and `count` (both taken
/// from the ledger entry, which is itself proven to be in the log).
pub fn verify_membership(
    member: u64,
    answer: &Membership,
    digest: &Hash,
    count: u64,
) -> Result<bool, LedgerError> {
    let check =
        |p: &MemberProof| verify_inclusion(p.index, count, &member_leaf(p.member), &p.path, digest);
    let bad = |detail: &str| LedgerError::ProofInvalid {
        detail: detail.to_owned(),
    };
    match answer {
        Membership::Present(p) => {
            if p.member != member {
                return Err(bad("membership proof is for another member"));
            }
            check(p)?;
            Ok(true)
        }
        Membership::Absent { below, above } => {
            match (below, above) {
                (None, None) => {
                    if count != 0 || *digest != Hash::empty_tree() {
                        return Err(bad(
                            "absence without neighbours is only valid for the empty set",
                        ));
                    }
                }
                (Some(b), None) => {
                    check(b)?;
                    if b.member >= member || b.index + 1 != count {
                        return Err(bad("lower neighbour is not the last member below"));
                    }
                }
                (None, Some(a)) => {
                    check(a)?;
                    if a.member <= member || a.index != 0 {
                        return Err(bad("upper neighbour is not the first member above"));
                    }
                }
                (Some(b), Some(a)) => {
                    check(b)?;
                    check(a)?;
                    if !(b.member < member && member < a.member && b.index + 1 == a.index) {
                        return Err(bad("neighbours do not straddle the member"));
                    }
                }
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_and_absence_are_provable() {
        let set = MemberSet::new([50, 10, 30, 30, 70]);
        assert_eq!(set.ids(), &[10, 30, 50, 70]);
        let (d, n) = (set.digest(), set.len());
        for member in [10, 30, 50, 70] {
            let answer = set.membership(member).unwrap();
            assert!(verify_membership(member, &answer, &d, n).unwrap());
        }
        for member in [0, 11, 40, 69, 71, u64::MAX] {
            let answer = set.membership(member).unwrap();
            assert!(
                !verify_membership(member, &answer, &d, n).unwrap(),
                "{member}"
            );
        }
    }

    #[test]
    fn lies_about_membership_fail() {
        let set = MemberSet::new([10, 30, 50, 70]);
        let (d, n) = (set.digest(), set.len());
        // Claiming absence of 30 using non-adjacent neighbours 10 and 50.
        let Membership::Present(p10) = set.membership(10).unwrap() else {
            panic!()
        };
        let Membership::Present(p50) = set.membership(50).unwrap() else {
            panic!()
        };
        let lie = Membership::Absent {
            below: Some(p10.clone()),
            above: Some(p50),
        };
        assert!(verify_membership(30, &lie, &d, n).is_err());
        // Claiming presence with another member's proof.
        assert!(verify_membership(20, &Membership::Present(p10.clone()), &d, n).is_err());
        // Claiming absence at the top end when the set continues.
        let lie = Membership::Absent {
            below: Some(p10),
            above: None,
        };
        assert!(verify_membership(20, &lie, &d, n).is_err());
        // Claiming the set is empty.
        let lie = Membership::Absent {
            below: None,
            above: None,
        };
        assert!(verify_membership(20, &lie, &d, n).is_err());
        // A different digest.
        let other = MemberSet::new([10, 30, 50, 71]);
        let answer = set.membership(30).unwrap();
        assert!(verify_membership(30, &answer, &other.digest(), n).is_err());
    }

    #[test]
    fn unsorted_stored_sets_are_rejected() {
        assert_eq!(
            MemberSet::from_sorted(vec![1, 3, 2]).unwrap_err().code(),
            "ledger.member_set_unsorted"
        );
        assert!(MemberSet::from_sorted(vec![]).unwrap().is_empty());
    }
}
