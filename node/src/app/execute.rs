//! Executing blocks over the store: the executor for a genesis, the genesis state, and each
//! block's state changes, receipts and header roots.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use babel_execution::{
    BlockExecution, ExecError, Executor, RollupId,
    commitment::{aggregate_root, by_rollup, start_tree, update_tree},
    registry,
    state::Changes,
};
use babel_genesis::{Genesis, REGISTRY_ROLLUP_ID};
use babel_proto::v1;
use jmt::storage::TreeUpdateBatch;

use crate::{
    metrics::Phase,
    params::block_env,
    store::{StateWrite, Store},
};

/// A block's execution: what goes in its header and what its commit writes.
#[derive(Clone, Debug)]
pub struct Executed {
    /// The executed height.
    pub height: u64,
    /// One receipt per transaction.
    pub receipts: Vec<v1::Receipt>,
    /// State changes, in key order.
    pub changes: Changes,
    /// Commitment to the receipts.
    pub results_root: [u8; 32],
    /// Each rollup's state root after the block.
    pub state_roots: BTreeMap<RollupId, [u8; 32]>,
    /// Root over `state_roots`.
    pub state_root: [u8; 32],
    /// Each rollup's tree update.
    pub trees: Vec<(RollupId, TreeUpdateBatch)>,
    /// Transactions that may not be in a block, by index, and why (see
    /// `babel_execution::TxExecution::invalid`).
    pub invalid: Vec<(usize, String)>,
    /// Time spent updating the state trees (part of the execution), for metrics.
    pub tree_elapsed: Duration,
}

impl Executed {
    /// Put the roots in `header`.
    pub fn fill(&self, header: &mut v1::Header) {
        header.results_root = self.results_root.to_vec().into();
        header.state_roots = self
            .state_roots
            .iter()
            .map(|(id, root)| v1::RollupStateRoot {
                rollup_id: *id,
                root: root.to_vec().into(),
            })
            .collect();
        header.state_root = self.state_root.to_vec().into();
    }

    /// Why `header`'s roots are not these, if they are not.
    pub fn mismatch(&self, header: &v1::Header) -> Option<String> {
        let mut expected = header.clone();
        self.fill(&mut expected);
        if expected.results_root != header.results_root {
            return Some("results root differs from re-execution".into());
        }
        if expected.state_roots.len() != header.state_roots.len() {
            return Some(format!(
                "{} state roots, expected {}",
                header.state_roots.len(),
                expected.state_roots.len()
            ));
        }
        for (want, got) in expected.state_roots.iter().zip(&header.state_roots) {
            if want != got {
                return Some(format!(
                    "state root of rollup {} differs from re-execution",
                    want.rollup_id
                ));
            }
        }
        (expected.state_root != header.state_root)
            .then(|| "aggregate state root differs from re-execution".into())
    }

    /// What a commit writes: the receipts, the state writes and the tree updates.
    pub fn into_parts(
        self,
    ) -> (
        Vec<v1::Receipt>,
        Vec<StateWrite>,
        Vec<(RollupId, TreeUpdateBatch)>,
    ) {
        (self.receipts, state_writes(self.changes), self.trees)
    }
}

/// Changes as the store's state writes.
fn state_writes(changes: Changes) -> Vec<StateWrite> {
    changes
        .into_iter()
        .map(|((rollup_id, key), value)| StateWrite {
            rollup_id,
            key,
            value,
        })
        .collect()
}

/// Execute `txs` as block `height` over the committed state in `store`.
pub fn execute(
    store: &Store,
    exec: &Executor,
    height: u64,
    time_ms: u64,
    txs: &[v1::SignedTransaction],
) -> Result<Executed, ExecError> {
    let block = exec.execute_block(store, &block_env(height, time_ms), txs)?;
    with_roots(store, exec, height, block)
}

/// A proposer's block `height` from `candidates` over the committed state in `store`.
#[derive(Debug)]
pub struct Built {
    /// The transactions kept.
    pub txs: Vec<v1::SignedTransaction>,
    /// Their execution.
    pub executed: Executed,
    /// Each sender's first candidate that may not be in a block (see
    /// `Executor::build_block`), with its hash.
    pub left_out: Vec<([u8; 32], v1::SignedTransaction)>,
}

/// Build block `height` from `candidates` over the committed state in `store`.
pub fn build(
    store: &Store,
    exec: &Executor,
    height: u64,
    time_ms: u64,
    candidates: &[v1::SignedTransaction],
) -> Result<Built, ExecError> {
    let built = exec.build_block(store, &block_env(height, time_ms), candidates)?;
    let mut left_out = Vec::with_capacity(built.left_out.len());
    for (i, why) in &built.left_out {
        let tx = &candidates[*i];
        let hash = babel_proto::tx_hash(tx);
        tracing::debug!(tx = %hex::encode(hash), reason = %why, "left out of the block");
        left_out.push((hash, tx.clone()));
    }
    Ok(Built {
        txs: built.txs,
        executed: with_roots(store, exec, height, built.execution)?,
        left_out,
    })
}

/// A block's execution with its state roots and tree updates.
fn with_roots(
    store: &Store,
    exec: &Executor,
    height: u64,
    block: BlockExecution,
) -> Result<Executed, ExecError> {
    let start = Instant::now();
    let (state_roots, trees) = tracing::info_span!("block", phase = Phase::Tree.as_str(), height)
        .in_scope(|| update_trees(store, exec, height, &block.changes))?;
    let tree_elapsed = start.elapsed();
    Ok(Executed {
        height,
        state_root: aggregate_root(&state_roots),
        receipts: block.receipts,
        changes: block.changes,
        results_root: block.results_root,
        state_roots,
        trees,
        invalid: block.invalid,
        tree_elapsed,
    })
}

/// Each rollup's new root, and the tree updates that produce them.
type TreeUpdates = (
    BTreeMap<RollupId, [u8; 32]>,
    Vec<(RollupId, TreeUpdateBatch)>,
);

/// Version `height` of every rollup's tree given the block's `changes`: the registry's, every
/// rollup `exec` runs, and those the block registers.
fn update_trees(
    store: &Store,
    exec: &Executor,
    height: u64,
    changes: &Changes,
) -> Result<TreeUpdates, ExecError> {
    let mut split = by_rollup(changes);
    let mut roots = BTreeMap::new();
    let mut trees = Vec::new();
    let known: BTreeSet<RollupId> = exec.rollup_ids().into_iter().collect();
    let mut ids = known.clone();
    ids.insert(REGISTRY_ROLLUP_ID);
    // Records written by the block: new rollups, and updates of known ones.
    ids.extend(registry::registered_in(changes));
    for id in ids {
        let changes = split.remove(&id).unwrap_or_default();
        let tree = store.tree(id);
        // A rollup registered in this block starts its tree here (the genesis's at 0).
        let (root, batch) = if !known.contains(&id) && id != REGISTRY_ROLLUP_ID && height > 0 {
            start_tree(&tree, height, changes)?
        } else {
            update_tree(&tree, height, changes)?
        };
        roots.insert(id, root);
        trees.push((id, batch));
    }
    if let Some(stray) = split.keys().next() {
        return Err(ExecError::UnknownRollup(*stray));
    }
    Ok((roots, trees))
}

/// Write the genesis state and version 0 of every rollup's tree, unless already done.
pub fn ensure_genesis_state(
    store: &Store,
    exec: &Executor,
    genesis: &Genesis,
) -> anyhow::Result<()> {
    if store.has_genesis_state()? {
        return Ok(());
    }
    let changes = exec.genesis_changes(genesis)?;
    let (_, trees) = update_trees(store, exec, 0, &changes)?;
    exec.committed(&changes);
    store.init_genesis_state(&state_writes(changes), &trees)?;
    Ok(())
}

/// Read the rollups registered since the genesis from the committed registry in `store` into
/// `exec`'s registry: at startup, before any block executes.
pub fn load_registry(store: &Store, exec: &Executor) -> anyhow::Result<()> {
    let mut records = Vec::new();
    store.for_each_state(REGISTRY_ROLLUP_ID, registry::RECORD_PREFIX, |key, value| {
        records.push((key.to_vec(), value.to_vec()));
    })?;
    let new = exec
        .registry()
        .learn(records.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    if !new.is_empty() {
        tracing::info!(rollups = ?new, "rollups registered since the genesis");
    }
    Ok(())
}

/// Hand every adapter the committed state it keeps derived data for (see
/// `ExecutionAdapter::kept_prefix`): at startup, before any block executes, so that data lost
/// since it was made (compiled WASM code) is made again now, not in the middle of a block.
pub fn restore_kept(store: &Store, exec: &Executor) -> anyhow::Result<()> {
    for id in exec.rollup_ids() {
        let Some(adapter) = exec.adapter(id) else {
            continue;
        };
        let Some(prefix) = adapter.kept_prefix() else {
            continue;
        };
        let start = std::time::Instant::now();
        let mut count = 0u64;
        store.for_each_state(id, prefix, |key, value| {
            adapter.committed(&[(key, Some(&value.to_vec()))]);
            count += 1;
            if count.is_multiple_of(100) {
                tracing::info!(rollup = id, entries = count, "restoring kept data");
            }
        })?;
        tracing::debug!(rollup = id, entries = count, elapsed = ?start.elapsed(), "kept data restored");
    }
    Ok(())
}
