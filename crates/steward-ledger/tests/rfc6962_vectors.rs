//! Known-answer tests: the RFC 6962 reference tree of eight leaves, its roots, inclusion
//! proofs and consistency proofs, as published in transparency-dev/merkle
//! (`proof/verify_test.go`, Apache-2.0, derived from the Certificate Transparency reference
//! implementation). The values are copied as data; see THIRD_PARTY.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use steward_ledger::hash::{Hash, leaf_hash};
use steward_ledger::merkle::{Tree, reference_root, verify_consistency, verify_inclusion};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `ROOTS[n - 1]` is the head of the tree of the first `n` leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, audit path).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, consistency proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(text: &str) -> Hash {
    Hash::from_hex(text).unwrap()
}

fn hashes(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|t| h(t)).collect()
}

fn tree() -> Tree {
    Tree::from_leaves(LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())))
}

#[test]
fn roots_match_for_every_prefix() {
    let tree = tree();
    let leaf_hashes: Vec<Hash> = (0..8).map(|i| tree.leaf(i).unwrap()).collect();
    for (n, expected) in ROOTS.iter().enumerate() {
        let size = n as u64 + 1;
        assert_eq!(tree.root_at(size).unwrap(), h(expected), "size {size}");
        assert_eq!(
            reference_root(&leaf_hashes[..=n]),
            h(expected),
            "reference, size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_are_generated_exactly_and_verify() {
    let tree = tree();
    for (index, size, path) in INCLUSION {
        let expected = hashes(path);
        assert_eq!(
            tree.inclusion_proof(index, size).unwrap(),
            expected,
            "{index}@{size}"
        );
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(index, size, &tree.leaf(index).unwrap(), &expected, &root).unwrap();
    }
}

#[test]
fn consistency_proofs_are_generated_exactly_and_verify() {
    let tree = tree();
    for (old, new, path) in CONSISTENCY {
        let expected = hashes(path);
        assert_eq!(
            tree.consistency_proof(old, new).unwrap(),
            expected,
            "{old}->{new}"
        );
        let old_root = h(ROOTS[old as usize - 1]);
        let new_root = h(ROOTS[new as usize - 1]);
        verify_consistency(old, new, &old_root, &new_root, &expected).unwrap();
    }
}

/// The corruptions transparency-dev applies to every known-good inclusion proof.
#[test]
fn corrupted_inclusion_proofs_fail() {
    let tree = tree();
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for (index, size, path) in INCLUSION.into_iter().skip(1) {
        let proof = hashes(path);
        let root = h(ROOTS[size as usize - 1]);
        let leaf = tree.leaf(index).unwrap();
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> = vec![
            (
                index.wrapping_sub(1),
                size,
                leaf,
                root,
                proof.clone(),
                "index-1".into(),
            ),
            (index + 1, size, leaf, root, proof.clone(), "index+1".into()),
            (index ^ 2, size, leaf, root, proof.clone(), "index^2".into()),
            (index, size * 2, leaf, root, proof.clone(), "size*2".into()),
            (index, size / 2, leaf, root, proof.clone(), "size/2".into()),
            (
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                root,
                proof.clone(),
                "leaf".into(),
            ),
            (
                index,
                size,
                leaf,
                Hash::empty_tree(),
                proof.clone(),
                "empty root".into(),
            ),
            (index, size, leaf, some, proof.clone(), "random root".into()),
            (
                index,
                size,
                leaf,
                root,
                [proof.clone(), vec![root]].concat(),
                "trailing".into(),
            ),
            (
                index,
                size,
                leaf,
                root,
                [vec![root], proof.clone()].concat(),
                "preceding".into(),
            ),
        ];
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i].0[0] ^= 8;
            probes.push((index, size, leaf, root, wrong, format!("bit in proof[{i}]")));
        }
        probes.push((
            index,
            size,
            leaf,
            root,
            proof[..proof.len() - 1].to_vec(),
            "removed".into(),
        ));
        if proof.len() > 1 {
            let inserted = [vec![proof[0], some], proof[1..].to_vec()].concat();
            probes.push((index, size, leaf, root, inserted, "inserted".into()));
        }
        for (i, s, l, r, p, desc) in probes {
            assert!(
                verify_inclusion(i, s, &l, &p, &r).is_err(),
                "{index}@{size}: corruption `{desc}` verified"
            );
        }
    }
}

/// The corruptions transparency-dev applies to every known-good consistency proof.
#[test]
fn corrupted_consistency_proofs_fail() {
    for (old, new, path) in CONSISTENCY.into_iter().skip(1) {
        let proof = hashes(path);
        let r1 = h(ROOTS[old as usize - 1]);
        let r2 = h(ROOTS[new as usize - 1]);
        let wrong_root = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>, String)> = vec![
            (old - 1, new, r1, r2, proof.clone(), "old-1".into()),
            (old + 1, new, r1, r2, proof.clone(), "old+1".into()),
            (old ^ 2, new, r1, r2, proof.clone(), "old^2".into()),
            (old, new * 2, r1, r2, proof.clone(), "new*2".into()),
            (old, new / 2, r1, r2, proof.clone(), "new/2".into()),
            (old, new, wrong_root, r2, proof.clone(), "root1".into()),
            (old, new, r1, wrong_root, proof.clone(), "root2".into()),
            (old, new, r2, r1, proof.clone(), "swapped".into()),
            (old, new, r1, r2, vec![], "empty".into()),
            (
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
                "trailing root1".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r2]].concat(),
                "trailing root2".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![r1], proof.clone()].concat(),
                "preceding root1".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![r2], proof.clone()].concat(),
                "preceding root2".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
                "preceding p0".into(),
            ),
            (
                old,
                new,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
                "truncated".into(),
            ),
        ];
        for i in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[i].0[0] ^= 16;
            probes.push((old, new, r1, r2, wrong, format!("bit in proof[{i}]")));
        }
        for (s1, s2, a, b, p, desc) in probes {
            assert!(
                verify_consistency(s1, s2, &a, &b, &p).is_err(),
                "{old}->{new}: corruption `{desc}` verified"
            );
        }
    }
}

#[test]
fn trivial_consistency_cases() {
    let empty = Hash::empty_tree();
    let r = h(ROOTS[0]);
    verify_consistency(0, 0, &empty, &empty, &[]).unwrap();
    verify_consistency(0, 5, &empty, &r, &[]).unwrap();
    verify_consistency(1, 1, &r, &r, &[]).unwrap();
    assert!(verify_consistency(1, 1, &r, &empty, &[]).is_err());
    assert!(verify_consistency(1, 0, &r, &empty, &[]).is_err());
    assert!(verify_consistency(2, 1, &r, &r, &[]).is_err());
    assert!(verify_consistency(1, 2, &r, &r, &[]).is_err());
    assert!(verify_consistency(0, 1, &empty, &r, &[empty]).is_err());
    assert!(verify_consistency(1, 1, &r, &r, &[empty]).is_err());
}
