//! Authenticated rollup state: one Jellyfish Merkle tree (the `jmt` crate, SHA-256) per
//! rollup, versioned by block height.
//!
//! Every block writes version `height` of every rollup's tree (an untouched rollup's root is
//! carried forward by `jmt` as a copied root node), so the tree of rollup `r` at height `h` is
//! always `(r, h)` and a proof needs nothing but the header's root. Keys are hashed with
//! SHA-256 into the tree; values are stored as is. The header's aggregate root commits to every
//! rollup's root: `sha256(Σ rollup_id_be || root)` in rollup order.

use std::collections::{BTreeMap, HashMap};

use jmt::{
    KeyHash, OwnedValue, RootHash, Sha256Jmt, Version,
    storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch},
};
use sha2::{Digest, Sha256};

use crate::{ExecError, RollupId, state::Changes};

/// A Merkle proof of one key's value (or absence) in a rollup's state tree.
pub type StateProof = jmt::proof::SparseMerkleProof<Sha256>;

/// The tree key of a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Sha256>(key)
}

fn commitment_err(e: impl std::fmt::Display) -> ExecError {
    ExecError::Commitment(e.to_string())
}

/// Write `changes` (one rollup's, key → value or deletion) as version `height` of the tree in
/// `reader` (which must hold version `height - 1`, unless `height` is 0). Returns the new root
/// and the nodes to persist; nothing is written.
pub fn update_tree<'c, R: TreeReader>(
    reader: &R,
    height: Version,
    changes: impl IntoIterator<Item = (&'c [u8], Option<&'c Vec<u8>>)>,
) -> Result<([u8; 32], TreeUpdateBatch), ExecError> {
    let set: Vec<(KeyHash, Option<OwnedValue>)> = changes
        .into_iter()
        .map(|(key, value)| (key_hash(key), value.cloned()))
        .collect();
    // `put_value_set` walks from the root and rehashes the path once per key;
    // `batch_put_value_sets` builds each touched node once. It cannot delete and it refuses
    // an empty set (an untouched rollup still gets a version), so those take the first path.
    // Both give the same root and nodes (see the tests).
    if set.is_empty() || set.iter().any(|(_, value)| value.is_none()) {
        return put_each(reader, height, set);
    }
    let inserts = set
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
    let (roots, batch) = Sha256Jmt::new(reader)
        .batch_put_value_sets(vec![inserts], None, height)
        .map_err(commitment_err)?;
    let root = roots
        .first()
        .ok_or_else(|| commitment_err("no root for a batch of one version"))?;
    Ok((root.0, batch))
}

/// [`update_tree`] for a rollup whose tree begins at `height` (one registered in this block):
/// over an empty tree, whatever `reader` holds before.
pub fn start_tree<'c, R: TreeReader>(
    reader: &R,
    height: Version,
    changes: impl IntoIterator<Item = (&'c [u8], Option<&'c Vec<u8>>)>,
) -> Result<([u8; 32], TreeUpdateBatch), ExecError> {
    let empty = EmptyBefore {
        reader,
        root_version: height.saturating_sub(1),
    };
    update_tree(&empty, height, changes)
}

/// A tree reader whose tree is empty at `root_version`.
struct EmptyBefore<'r, R> {
    reader: &'r R,
    root_version: Version,
}

impl<R: TreeReader> TreeReader for EmptyBefore<'_, R> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        if node_key.version() == self.root_version && node_key.nibble_path().num_nibbles() == 0 {
            return Ok(Some(Node::Null));
        }
        self.reader.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.reader.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.reader.get_rightmost_leaf()
    }
}

/// [`update_tree`] one key at a time (deletions included).
fn put_each<R: TreeReader>(
    reader: &R,
    height: Version,
    set: Vec<(KeyHash, Option<OwnedValue>)>,
) -> Result<([u8; 32], TreeUpdateBatch), ExecError> {
    let (root, batch) = Sha256Jmt::new(reader)
        .put_value_set(set, height)
        .map_err(commitment_err)?;
    Ok((root.0, batch))
}

/// One rollup's changes: key and new value (`None`: deleted), borrowed from a [`Changes`].
pub type RollupChanges<'a> = Vec<(&'a [u8], Option<&'a Vec<u8>>)>;

/// Split a block's changes by rollup (key order within each).
pub fn by_rollup(changes: &Changes) -> BTreeMap<RollupId, RollupChanges<'_>> {
    let mut out: BTreeMap<RollupId, RollupChanges<'_>> = BTreeMap::new();
    for ((rollup, key), value) in changes {
        out.entry(*rollup)
            .or_default()
            .push((key.as_slice(), value.as_ref()));
    }
    out
}

/// The value of `key` at `height` with its proof against that height's root.
pub fn prove<R: TreeReader>(
    reader: &R,
    height: Version,
    key: &[u8],
) -> Result<(Option<Vec<u8>>, StateProof), ExecError> {
    Sha256Jmt::new(reader)
        .get_with_proof(key_hash(key), height)
        .map_err(commitment_err)
}

/// The root of the tree in `reader` at `height`.
pub fn root_at<R: TreeReader>(reader: &R, height: Version) -> Result<[u8; 32], ExecError> {
    Sha256Jmt::new(reader)
        .get_root_hash(height)
        .map(|r| r.0)
        .map_err(commitment_err)
}

/// Whether `proof` shows that `key` holds `value` (`None`: is absent) under `root`.
pub fn verify(root: [u8; 32], key: &[u8], value: Option<&[u8]>, proof: &StateProof) -> bool {
    proof.verify(RootHash(root), key_hash(key), value).is_ok()
}

/// The header's aggregate state root over every rollup's root.
pub fn aggregate_root(roots: &BTreeMap<RollupId, [u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    for (rollup, root) in roots {
        h.update(rollup.to_be_bytes());
        h.update(root);
    }
    h.finalize().into()
}

/// One rollup's tree held in memory (tests, benchmarks, genesis computation).
#[derive(Clone, Debug, Default)]
pub struct MemTree {
    nodes: HashMap<NodeKey, Node>,
    values: BTreeMap<(KeyHash, Version), Option<OwnedValue>>,
}

impl MemTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Persist an update produced by [`update_tree`].
    pub fn write(&mut self, batch: TreeUpdateBatch) {
        for (key, node) in batch.node_batch.nodes() {
            self.nodes.insert(key.clone(), node.clone());
        }
        for ((version, key_hash), value) in batch.node_batch.values() {
            self.values.insert((*key_hash, *version), value.clone());
        }
    }

    /// Apply `changes` as version `height` and persist them; returns the new root.
    pub fn apply<'c>(
        &mut self,
        height: Version,
        changes: impl IntoIterator<Item = (&'c [u8], Option<&'c Vec<u8>>)>,
    ) -> Result<[u8; 32], ExecError> {
        let (root, batch) = update_tree(self, height, changes)?;
        self.write(batch);
        Ok(root)
    }
}

impl TreeReader for MemTree {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .values
            .range((key_hash, 0)..=(key_hash, max_version))
            .next_back()
            .and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for (key, node) in &self.nodes {
            if let Node::Leaf(leaf) = node
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((key.clone(), leaf.clone()));
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, Option<&str>)]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect()
    }

    fn apply(tree: &mut MemTree, height: u64, pairs: &[(&str, Option<&str>)]) -> [u8; 32] {
        let changes = kv(pairs);
        tree.apply(
            height,
            changes.iter().map(|(k, v)| (k.as_slice(), v.as_ref())),
        )
        .unwrap()
    }

    #[test]
    fn inclusion_and_exclusion_proofs_verify_against_each_height() {
        let mut tree = MemTree::new();
        let r0 = apply(&mut tree, 0, &[("a", Some("1")), ("b", Some("2"))]);
        let r1 = apply(&mut tree, 1, &[("a", Some("3")), ("b", None)]);
        assert_ne!(r0, r1);

        let (value, proof) = prove(&tree, 0, b"b").unwrap();
        assert_eq!(value.as_deref(), Some(&b"2"[..]));
        assert!(verify(r0, b"b", Some(b"2"), &proof));
        assert!(!verify(r0, b"b", Some(b"9"), &proof), "a wrong value fails");
        assert!(!verify(r1, b"b", Some(b"2"), &proof), "another root fails");

        let (value, proof) = prove(&tree, 1, b"b").unwrap();
        assert_eq!(value, None);
        assert!(
            verify(r1, b"b", None, &proof),
            "deleted key: exclusion proof"
        );
        let (value, proof) = prove(&tree, 1, b"a").unwrap();
        assert_eq!(value.as_deref(), Some(&b"3"[..]));
        assert!(verify(r1, b"a", Some(b"3"), &proof));
        assert!(!verify(r1, b"a", None, &proof));
    }

    #[test]
    fn an_untouched_height_keeps_the_root_and_the_next_one_builds_on_it() {
        let mut tree = MemTree::new();
        let r0 = apply(&mut tree, 0, &[("k", Some("v"))]);
        let r1 = apply(&mut tree, 1, &[]);
        assert_eq!(r0, r1);
        assert_eq!(root_at(&tree, 1).unwrap(), r0);
        let r2 = apply(&mut tree, 2, &[("k", Some("w"))]);
        assert_ne!(r2, r1);
        let empty = apply(&mut MemTree::new(), 0, &[]);
        assert_ne!(empty, r0);
    }

    #[test]
    fn the_root_depends_on_content_not_on_write_order() {
        let mut a = MemTree::new();
        let mut b = MemTree::new();
        let ra = apply(&mut a, 0, &[("x", Some("1")), ("y", Some("2"))]);
        let rb0 = apply(&mut b, 0, &[("y", Some("2"))]);
        let rb1 = apply(&mut b, 1, &[("x", Some("1"))]);
        assert_ne!(rb0, rb1);
        assert_eq!(ra, rb1);
    }

    #[test]
    fn deleting_an_absent_key_changes_nothing() {
        let mut tree = MemTree::new();
        let r0 = apply(&mut tree, 0, &[("k", Some("v"))]);
        let r1 = apply(&mut tree, 1, &[("absent", None)]);
        assert_eq!(r0, r1);
    }

    #[test]
    fn aggregate_root_binds_rollup_ids() {
        let roots: BTreeMap<RollupId, [u8; 32]> = [(1, [1; 32]), (2, [2; 32])].into();
        let swapped: BTreeMap<RollupId, [u8; 32]> = [(1, [2; 32]), (2, [1; 32])].into();
        assert_ne!(aggregate_root(&roots), aggregate_root(&swapped));
    }

    /// The batch path on the trees the random histories rarely reach: a root that is a single
    /// leaf (one key, or what a deletion collapsed to), and an empty root at a later version
    /// (everything deleted).
    #[test]
    fn the_batch_path_matches_on_a_leaf_root_and_an_emptied_tree() {
        type Step<'a> = &'a [(&'a str, Option<&'a str>)];
        let histories: [&[Step<'_>]; 3] = [
            &[&[("a", Some("1"))], &[("b", Some("2")), ("a", Some("1"))]],
            &[
                &[("a", Some("1")), ("b", Some("2"))],
                &[("b", None)],
                &[("c", Some("3")), ("d", Some("4"))],
            ],
            &[
                &[("a", Some("1")), ("b", Some("2"))],
                &[("a", None), ("b", None)],
                &[("a", Some("5"))],
                &[("b", Some("6")), ("e", Some("7"))],
            ],
        ];
        for history in histories {
            let (mut fast, mut slow) = (MemTree::new(), MemTree::new());
            for (height, pairs) in history.iter().enumerate() {
                let changes = kv(pairs);
                let pairs = || changes.iter().map(|(k, v)| (k.as_slice(), v.as_ref()));
                let (root, batch) = update_tree(&fast, height as u64, pairs()).unwrap();
                let set = pairs().map(|(k, v)| (key_hash(k), v.cloned())).collect();
                let (want_root, want) = put_each(&slow, height as u64, set).unwrap();
                assert_eq!(root, want_root, "{history:?} at {height}");
                assert_eq!(batch.node_batch.nodes(), want.node_batch.nodes());
                fast.write(batch);
                slow.write(want);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Over random histories of versions, about half of them insert-only (the batch path)
        /// and the rest with deletes or empty (the per-key path), the tree built through
        /// `update_tree` has the same root and persists the same nodes and values at every
        /// version as the per-key path alone.
        #[test]
        fn the_batch_path_builds_the_same_tree_as_the_per_key_path(
            versions in proptest::collection::vec(
                (
                    proptest::bool::ANY,
                    proptest::collection::vec(
                        (0u16..400, proptest::option::weighted(0.8, 0u8..4)),
                        0..60,
                    ),
                ),
                1..10,
            )
        ) {
            let mut fast = MemTree::new();
            let mut slow = MemTree::new();
            for (height, (insert_only, ops)) in versions.iter().enumerate() {
                let height = height as u64;
                let mut changes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
                for (key, value) in ops {
                    let value = if *insert_only { Some(value.unwrap_or(9)) } else { *value };
                    changes.insert(key.to_be_bytes().to_vec(), value.map(|v| vec![v; 3]));
                }
                let pairs = || changes.iter().map(|(k, v)| (k.as_slice(), v.as_ref()));
                let (root, batch) = update_tree(&fast, height, pairs()).unwrap();
                let set = pairs().map(|(k, v)| (key_hash(k), v.cloned())).collect();
                let (want_root, want) = put_each(&slow, height, set).unwrap();
                proptest::prop_assert_eq!(root, want_root, "version {}", height);
                proptest::prop_assert_eq!(batch.node_batch.nodes(), want.node_batch.nodes());
                proptest::prop_assert_eq!(batch.node_batch.values(), want.node_batch.values());
                fast.write(batch);
                slow.write(want);
            }
        }
    }
}
