//! Rollup state trees in RocksDB: `jmt` nodes and versioned values, one tree per rollup.
//!
//! Nodes: `rollup ‖ version ‖ borsh(nibble path)` → `borsh(Node)`, both numbers big-endian:
//! a height's nodes are new keys after every older one, so RocksDB's compactions mostly move
//! tables instead of merging them, and a read finds a node in the one table whose range holds
//! its version (with `borsh(NodeKey)`, whose version is little-endian, each height's nodes were
//! spread over the whole key space). Values: `rollup ‖ key hash ‖ version` →
//! `0` (deleted) or `1 ‖ value`, so that the value of a key at a height is the entry at or
//! just before `(key hash, height)`. Both are written by [`Store::commit`](super::Store::commit)
//! in the height's `WriteBatch`. Old versions are kept: proofs can be served at any height.

use babel_execution::{ExecError, RollupId, state::StateView};
use borsh::BorshDeserialize;
use jmt::{
    KeyHash, OwnedValue, Version,
    storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch},
};
use rocksdb::{ColumnFamily, WriteBatch};

use super::{Cf, Store, StoreError, state_key};

/// One rollup's tree in the store, as `jmt` reads it.
#[derive(Clone, Copy, Debug)]
pub struct RollupTree<'a> {
    store: &'a Store,
    rollup: RollupId,
}

fn node_key(rollup: RollupId, key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    put_node_key(&mut out, rollup, key)?;
    Ok(out)
}

/// Write the store key of `key` in `rollup`'s tree into `out` (cleared first).
fn put_node_key(out: &mut Vec<u8>, rollup: RollupId, key: &NodeKey) -> Result<(), StoreError> {
    out.clear();
    out.extend_from_slice(&rollup.to_be_bytes());
    out.extend_from_slice(&key.version().to_be_bytes());
    borsh::to_writer(&mut *out, key.nibble_path()).map_err(|_| StoreError::Corrupt {
        what: "tree node key",
        height: key.version(),
    })
}

fn value_key(rollup: RollupId, key_hash: &KeyHash, version: Version) -> [u8; 48] {
    let mut out = [0u8; 48];
    out[..8].copy_from_slice(&rollup.to_be_bytes());
    out[8..40].copy_from_slice(&key_hash.0);
    out[40..].copy_from_slice(&version.to_be_bytes());
    out
}

impl Store {
    /// Rollup `rollup`'s state tree.
    pub fn tree(&self, rollup: RollupId) -> RollupTree<'_> {
        RollupTree {
            store: self,
            rollup,
        }
    }

    /// Add a tree update of `rollup` to `wb`.
    pub(super) fn write_tree(
        &self,
        wb: &mut WriteBatch,
        rollup: RollupId,
        batch: &TreeUpdateBatch,
    ) -> Result<(), StoreError> {
        // The batch copies each record, so one key and one value buffer serve them all.
        let (mut key_buf, mut value_buf) = (Vec::new(), Vec::new());
        let nodes: &ColumnFamily = self.cf(Cf::TreeNodes)?;
        for (key, node) in batch.node_batch.nodes() {
            put_node_key(&mut key_buf, rollup, key)?;
            value_buf.clear();
            borsh::to_writer(&mut value_buf, node).map_err(|_| StoreError::Corrupt {
                what: "tree node",
                height: key.version(),
            })?;
            wb.put_cf(nodes, &key_buf, &value_buf);
        }
        let values = self.cf(Cf::TreeValues)?;
        for ((version, key_hash), value) in batch.node_batch.values() {
            value_buf.clear();
            match value {
                Some(v) => {
                    value_buf.push(1);
                    value_buf.extend_from_slice(v);
                }
                None => value_buf.push(0),
            }
            wb.put_cf(values, value_key(rollup, key_hash, *version), &value_buf);
        }
        Ok(())
    }
}

fn anyhow_err(e: StoreError) -> anyhow::Error {
    anyhow::Error::new(e)
}

impl TreeReader for RollupTree<'_> {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = node_key(self.rollup, key).map_err(anyhow_err)?;
        let Some(bytes) = self.store.get(Cf::TreeNodes, &key).map_err(anyhow_err)? else {
            return Ok(None);
        };
        Ok(Some(Node::try_from_slice(&bytes)?))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let cf = self.store.cf(Cf::TreeValues).map_err(anyhow_err)?;
        let mut it = self.store.db.raw_iterator_cf(cf);
        it.seek_for_prev(value_key(self.rollup, &key_hash, max_version));
        it.status()?;
        let (Some(key), Some(value)) = (it.key(), it.value()) else {
            return Ok(None);
        };
        if key.len() != 48 || key[..40] != value_key(self.rollup, &key_hash, 0)[..40] {
            return Ok(None);
        }
        Ok(match value.split_first() {
            Some((1, v)) => Some(v.to_vec()),
            _ => None,
        })
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only tree restoration (state sync from a snapshot) asks for this; Babel nodes
        // replay blocks instead.
        anyhow::bail!("rightmost-leaf lookup is not supported by the node's tree store")
    }
}

/// The store as of one moment: reads that span a commit still see one height.
pub struct Snapshot<'a> {
    store: &'a Store,
    snapshot: rocksdb::Snapshot<'a>,
}

impl Store {
    /// A consistent view of the committed state for reads outside consensus (queries).
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            store: self,
            snapshot: self.db.snapshot(),
        }
    }
}

impl Snapshot<'_> {
    /// The height this view holds (0 before the first block).
    pub fn height(&self) -> Result<u64, StoreError> {
        let cf = self.store.cf(Cf::Meta)?;
        Ok(self
            .snapshot
            .get_cf(cf, super::META_LATEST_HEIGHT)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }
}

impl StateView for Snapshot<'_> {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        let read = || -> Result<Option<Vec<u8>>, StoreError> {
            let cf = self.store.cf(Cf::State)?;
            Ok(self.snapshot.get_cf(cf, state_key(rollup, key))?)
        };
        read().map_err(|e| ExecError::State(e.to_string()))
    }
}

impl StateView for Store {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        self.get(Cf::State, &state_key(rollup, key))
            .map_err(|e| ExecError::State(e.to_string()))
    }
}
