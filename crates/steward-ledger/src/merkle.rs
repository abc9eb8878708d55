//! The Merkle tree of RFC 6962 / RFC 9162 §2.1: tree heads for any size, the O(log n)
//! frontier used while appending, and inclusion and consistency proofs with the RFC's
//! generation (`PATH`, `SUBPROOF`) and verification algorithms.

use crate::error::LedgerError;
use crate::hash::{Hash, node_hash};

/// The largest power of two strictly smaller than `n` (`n >= 2`): the RFC's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The tree head `MTH(D[n])` computed straight from the RFC's recursive definition. Slow
/// (it allocates nothing but recurses over every leaf); kept as the reference the fast
/// structures are tested against.
pub fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty_tree(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

/// The right edge of a tree (a "compact range" starting at 0): one hash per set bit of the
/// size, the roots of the perfect subtrees from the left. Appending is amortised O(1) and
/// at most O(log n) hashes; the root is O(log n). Memory is O(log n), so verification can
/// stream through millions of entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a frontier from its parts (as stored beside a checkpoint). The caller must
    /// check `root()` against a trusted root before relying on it.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Frontier, LedgerError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(LedgerError::SizeOutOfRange {
                size,
                available: peaks.len() as u64,
            });
        }
        Ok(Frontier { size, peaks })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_recording(leaf, |_, _, _| {});
    }

    /// Appends one leaf hash and hands `completed` every perfect subtree of height >= 1 that
    /// the leaf closes, as (height, index, root): the subtree over leaves
    /// `[index·2^height, (index+1)·2^height)`. These are the nodes a [`NodeSource`] serves.
    pub fn push_recording(&mut self, leaf: Hash, mut completed: impl FnMut(u32, u64, Hash)) {
        let mut carry = leaf;
        let mut size = self.size;
        let mut height = 0u32;
        // Each trailing one bit of the old size is a perfect subtree of the same height as
        // `carry`: merge them, like a binary increment.
        while size & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break,
            }
            size >>= 1;
            height += 1;
            completed(height, self.size >> height, carry);
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// The tree head of everything appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(last) = iter.next() else {
            return Hash::empty_tree();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// A whole tree kept in memory, level by level: `levels[h][i]` is the root of the perfect
/// subtree over leaves `[i·2^h, (i+1)·2^h)`. Any earlier tree head and any proof is computed
/// from it in O(log² n) without rehashing leaves. About 64 bytes per leaf.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Tree {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// Appends one leaf hash, completing every perfect subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut height = 0;
        let mut node = leaf;
        loop {
            if self.levels.len() <= height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(node);
            let n = level.len();
            if n % 2 == 1 {
                return;
            }
            node = node_hash(&level[n - 2], &level[n - 1]);
            height += 1;
        }
    }

    /// The tree head of the whole tree.
    pub fn root(&self) -> Hash {
        // The full range is always computable.
        self.root_at(self.size())
            .unwrap_or_else(|_| Hash::empty_tree())
    }

    /// The tree head of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        self.check_size(size)?;
        root_at(&mut &*self, size)
    }

    fn check_size(&self, size: u64) -> Result<(), LedgerError> {
        if size > self.size() {
            return Err(LedgerError::SizeOutOfRange {
                size,
                available: self.size(),
            });
        }
        Ok(())
    }

    /// The audit path for leaf `index` in the tree of the first `size` leaves
    /// (RFC 9162 §2.1.3.1 `PATH`), leaf-side first.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(size)?;
        inclusion_proof(&mut &*self, index, size)
    }

    /// The consistency proof between the trees of the first `old_size` and `new_size`
    /// leaves (RFC 9162 §2.1.4.1 `PROOF`/`SUBPROOF`). Empty when `old_size` is 0 or equal.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(new_size)?;
        consistency_proof(&mut &*self, old_size, new_size)
    }
}

/// Where tree heads and proofs get their hashes: the root of any perfect subtree inside the
/// tree. A [`Tree`] holds them all in memory; the ledger reads them from its node table, so
/// a proof costs O(log² n) look-ups instead of a pass over every leaf.
pub trait NodeSource {
    /// The root of the perfect subtree over leaves `[index·2^height, (index+1)·2^height)`
    /// (height 0: the leaf hash itself). Callers ask only for subtrees inside the tree.
    fn perfect(&mut self, height: u32, index: u64) -> Result<Hash, LedgerError>;
}

impl NodeSource for &Tree {
    fn perfect(&mut self, height: u32, index: u64) -> Result<Hash, LedgerError> {
        self.levels
            .get(height as usize)
            .and_then(|level| level.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(LedgerError::SizeOutOfRange {
                size: index.saturating_add(1) << height,
                available: self.size(),
            })
    }
}

/// `MTH(D[start:end])` for `start < end`, from perfect subtrees: a range the RFC's recursion
/// reaches is either one perfect subtree or splits at its largest power of two.
fn range_hash(nodes: &mut impl NodeSource, start: u64, end: u64) -> Result<Hash, LedgerError> {
    let len = end - start;
    if len.is_power_of_two() && start.is_multiple_of(len) {
        let height = len.trailing_zeros();
        return nodes.perfect(height, start >> height);
    }
    let k = split_point(len);
    let left = range_hash(nodes, start, start + k)?;
    let right = range_hash(nodes, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The tree head of the first `size` leaves (`size` must be inside the source's tree).
pub fn root_at(nodes: &mut impl NodeSource, size: u64) -> Result<Hash, LedgerError> {
    if size == 0 {
        return Ok(Hash::empty_tree());
    }
    range_hash(nodes, 0, size)
}

/// The audit path for leaf `index` in the tree of the first `size` leaves
/// (RFC 9162 §2.1.3.1 `PATH`), leaf-side first.
pub fn inclusion_proof(
    nodes: &mut impl NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            path.push(range_hash(nodes, lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(range_hash(nodes, lo, lo + k)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of the first `old_size` and `new_size` leaves
/// (RFC 9162 §2.1.4.1 `PROOF`/`SUBPROOF`). Empty when `old_size` is 0 or equal.
pub fn consistency_proof(
    nodes: &mut impl NodeSource,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::SizeOutOfRange {
            size: old_size,
            available: new_size,
        });
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    let (mut lo, mut hi) = (0u64, new_size);
    let mut m = old_size;
    // `complete` is the RFC's `b`: true while the old tree is a complete left subtree of
    // the current range, whose hash the verifier already knows.
    let mut complete = true;
    loop {
        let len = hi - lo;
        if m == len {
            if !complete {
                proof.push(range_hash(nodes, lo, hi)?);
            }
            break;
        }
        let k = split_point(len);
        if m <= k {
            proof.push(range_hash(nodes, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(nodes, lo, lo + k)?);
            lo += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or an error if the proof has
/// the wrong shape for `index` and `size`.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(LedgerError::ProofInvalid {
                detail: format!("inclusion proof too long for leaf {index} in tree of size {size}"),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(LedgerError::ProofInvalid {
            detail: format!("inclusion proof too short for leaf {index} in tree of size {size}"),
        });
    }
    Ok(r)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose head is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed != *root {
        return Err(LedgerError::ProofInvalid {
            detail: format!(
                "inclusion proof for leaf {index} leads to root {computed}, expected {root}"
            ),
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with head `old_root` is a prefix of the tree of
/// `new_size` leaves with head `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    let invalid = |detail: String| Err(LedgerError::ProofInvalid { detail });
    if old_size > new_size {
        return invalid(format!(
            "old size {old_size} is larger than new size {new_size}"
        ));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return invalid("proof between equal sizes must be empty".into());
        }
        if old_root != new_root {
            return invalid(format!(
                "trees of equal size {old_size} have different roots"
            ));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return invalid("proof from the empty tree must be empty".into());
        }
        if *old_root != Hash::empty_tree() {
            return invalid("a tree of size 0 must have the empty-tree root".into());
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    // When the old tree is a complete subtree its head is the first node of the path.
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return invalid("empty consistency proof".into());
    };
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if snode == 0 {
            return invalid("consistency proof too long".into());
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return invalid("consistency proof too short".into());
    }
    if fr != *old_root {
        return invalid(format!(
            "consistency proof leads to old root {fr}, expected {old_root}"
        ));
    }
    if sr != *new_root {
        return invalid(format!(
            "consistency proof leads to new root {sr}, expected {new_root}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn frontier_and_tree_agree_with_the_reference_for_every_small_size() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        let mut tree = Tree::new();
        for n in 0..=70usize {
            let expected = reference_root(&all[..n]);
            assert_eq!(frontier.root(), expected, "frontier at size {n}");
            assert_eq!(tree.root(), expected, "tree at size {n}");
            assert_eq!(frontier.peaks().len(), (n as u64).count_ones() as usize);
            if n < 70 {
                frontier.push(all[n]);
                tree.push(all[n]);
            }
        }
        for n in 0..=70u64 {
            assert_eq!(tree.root_at(n).unwrap(), reference_root(&all[..n as usize]));
        }
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let tree = Tree::from_leaves(leaves(5));
        assert_eq!(
            tree.root_at(6).unwrap_err().code(),
            "ledger.size_out_of_range"
        );
        assert_eq!(
            tree.inclusion_proof(5, 5).unwrap_err().code(),
            "ledger.index_out_of_range"
        );
        assert_eq!(
            tree.inclusion_proof(0, 6).unwrap_err().code(),
            "ledger.size_out_of_range"
        );
        assert_eq!(
            tree.consistency_proof(4, 3).unwrap_err().code(),
            "ledger.size_out_of_range"
        );
        assert!(root_from_inclusion_proof(0, 0, &leaves(1)[0], &[]).is_err());
    }
}
