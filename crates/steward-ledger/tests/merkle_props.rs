//! Property tests: for any tree size, any leaf and any pair of sizes, generated proofs verify,
//! and any single-bit change to the proof, the leaf, the root or the sizes makes them fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use steward_ledger::hash::{Hash, leaf_hash};
use steward_ledger::merkle::{
    Frontier, Tree, reference_root, verify_consistency, verify_inclusion,
};

const MAX: u64 = 3000;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out.0[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn frontier_tree_and_reference_agree(n in 0u64..600) {
        let all = leaves(n);
        let mut frontier = Frontier::new();
        for leaf in &all {
            frontier.push(*leaf);
        }
        let tree = Tree::from_leaves(all.iter().copied());
        let expected = reference_root(&all);
        prop_assert_eq!(frontier.root(), expected);
        prop_assert_eq!(tree.root(), expected);
    }

    #[test]
    fn inclusion_proofs_verify_and_any_bit_flip_fails(
        size in 1u64..MAX,
        index_seed in any::<u64>(),
        bit in 0usize..256,
        which in 0usize..1000,
    ) {
        let index = index_seed % size;
        let tree = Tree::from_leaves(leaves(MAX));
        let root = tree.root_at(size).unwrap();
        let leaf = tree.leaf(index).unwrap();
        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());

        // A bit flipped in one proof element.
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which % bad.len();
            bad[k] = flip(&bad[k], bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
        }
        // In the leaf, in the root.
        prop_assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &root).is_err());
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
        // In the index.
        let ibit = 1u64 << (bit % 64);
        prop_assert!(verify_inclusion(index ^ ibit, size, &leaf, &proof, &root).is_err());
        // In the size. The size is authenticated by the signed checkpoint together with the
        // root, not by the proof (RFC 9162 verification only follows the path's shape, and
        // trees of 14 and 15 leaves share it for leaf 0), so the meaningful property is: the
        // proof does not verify against the tree of the other size.
        let other_size = size ^ ibit;
        if other_size != size && index < other_size && other_size <= tree.size() {
            let other_root = tree.root_at(other_size).unwrap();
            prop_assert!(verify_inclusion(index, other_size, &leaf, &proof, &other_root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_any_bit_flip_fails(
        new_size in 1u64..MAX,
        old_seed in any::<u64>(),
        bit in 0usize..256,
        which in 0usize..1000,
    ) {
        let old_size = 1 + old_seed % new_size;
        let tree = Tree::from_leaves(leaves(new_size));
        let old_root = tree.root_at(old_size).unwrap();
        let new_root = tree.root();
        let proof = tree.consistency_proof(old_size, new_size).unwrap();
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof).is_ok());

        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which % bad.len();
            bad[k] = flip(&bad[k], bit);
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &bad).is_err());
        }
        prop_assert!(
            verify_consistency(old_size, new_size, &flip(&old_root, bit), &new_root, &proof).is_err()
        );
        prop_assert!(
            verify_consistency(old_size, new_size, &old_root, &flip(&new_root, bit), &proof).is_err()
        );
        // Sizes, checked against the real roots of the trees of the flipped sizes (see the
        // inclusion test for why a size alone is not bound by the proof).
        let sbit = 1u64 << (bit % 64);
        let other_old = old_size ^ sbit;
        if other_old != 0 && other_old < new_size {
            let other_root = tree.root_at(other_old).unwrap();
            prop_assert!(
                verify_consistency(other_old, new_size, &other_root, &new_root, &proof).is_err()
            );
        }
        let other_new = new_size ^ sbit;
        if other_new > old_size && other_new < new_size {
            let other_root = tree.root_at(other_new).unwrap();
            prop_assert!(
                verify_consistency(old_size, other_new, &old_root, &other_root, &proof).is_err()
            );
        }
    }

    #[test]
    fn a_proof_for_a_different_tree_fails(size in 2u64..MAX, index_seed in any::<u64>()) {
        let index = index_seed % size;
        let honest = Tree::from_leaves(leaves(size));
        let mut changed = leaves(size);
        let victim = (index + 1) % size;
        changed[victim as usize] = leaf_hash(b"rewritten history");
        let forged = Tree::from_leaves(changed);
        let proof = forged.inclusion_proof(index, size).unwrap();
        let leaf = forged.leaf(index).unwrap();
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &honest.root()).is_err());
    }
}
