//! RocksDB storage of a node: blocks, certificates, indexes, receipts, rollup state, DA records,
//! undecided proposals and metadata, one column family each.
//!
//! Everything a committed height changes is written by [`Store::commit`] in one `WriteBatch`,
//! so a crash leaves either the whole height or none of it; what makes it durable is its
//! synced certificate (see [`durable`]). Heights are stored as 8 big-endian bytes so that
//! RocksDB's key order is height order.

mod da;
mod durable;
mod error;
mod tree;

use std::path::Path;

use babel_proto::v1;
use prost::Message;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, Direction,
    IteratorMode, Options, WriteBatch,
};

pub use da::DaRecord;
use durable::synced;
pub use error::StoreError;
pub use tree::{RollupTree, Snapshot};

/// Column families, one per kind of record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cf {
    /// height → encoded `Block`.
    Blocks,
    /// height → encoded `CommitCertificate`.
    Certificates,
    /// block hash → height.
    BlockHashes,
    /// tx hash → (height, index).
    TxIndex,
    /// tx hash → encoded `Receipt`.
    Receipts,
    /// rollup id ‖ key → value.
    State,
    /// block height → where this node knows its blobs to be on the DA layer.
    DaRecords,
    /// block height → the DA reference to it that a committed header carries.
    DaReferenced,
    /// height ‖ round ‖ block hash → an undecided proposed block (ours or a peer's).
    Proposals,
    /// Singleton records: latest height, genesis hash.
    Meta,
    /// tx hash → encoded `SignedTransaction` admitted to the mempool and not yet committed.
    Mempool,
    /// rollup ‖ jmt node key → jmt node (see [`tree`]).
    TreeNodes,
    /// rollup ‖ key hash ‖ version → value (see [`tree`]).
    TreeValues,
    /// height → certificate of a decided height whose other writes may not be on disk yet
    /// (see [`durable`]).
    Decided,
}

impl Cf {
    const ALL: [Cf; 14] = [
        Cf::Blocks,
        Cf::Certificates,
        Cf::BlockHashes,
        Cf::TxIndex,
        Cf::Receipts,
        Cf::State,
        Cf::DaRecords,
        Cf::DaReferenced,
        Cf::Proposals,
        Cf::Meta,
        Cf::Mempool,
        Cf::TreeNodes,
        Cf::TreeValues,
        Cf::Decided,
    ];

    fn name(self) -> &'static str {
        match self {
            Cf::Blocks => "blocks",
            Cf::Certificates => "certificates",
            Cf::BlockHashes => "block_hashes",
            Cf::TxIndex => "tx_index",
            Cf::Receipts => "receipts",
            Cf::State => "state",
            Cf::DaRecords => "da_records",
            Cf::DaReferenced => "da_referenced",
            Cf::Proposals => "proposals",
            Cf::Meta => "meta",
            Cf::Mempool => "mempool",
            Cf::TreeNodes => "tree_nodes",
            Cf::TreeValues => "tree_values",
            Cf::Decided => "decided",
        }
    }

    /// Whether the column family is read by key, often for keys it does not hold (a new
    /// transaction's hash, a fresh account): a Bloom filter answers those misses without
    /// reading a table block. The others are read by height, by prefix or by iteration.
    fn point_lookups(self) -> bool {
        matches!(
            self,
            Cf::BlockHashes | Cf::TxIndex | Cf::Receipts | Cf::State | Cf::Mempool | Cf::TreeNodes
        )
    }

    /// Whether values are protobuf records worth compressing (hashes and tree nodes are not).
    fn compressible(self) -> bool {
        matches!(
            self,
            Cf::Blocks | Cf::Certificates | Cf::Receipts | Cf::Proposals | Cf::Mempool
        )
    }

    fn options(self, cache: &Cache) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(cache);
        // Index and filter blocks live in the cache too, so their memory is bounded with it
        // instead of growing with the data; level 0's stay pinned, being read most.
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        if self.point_lookups() {
            table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        }
        let mut opts = Options::default();
        opts.set_block_based_table_factory(&table);
        opts.set_compression_type(if self.compressible() {
            DBCompressionType::Lz4
        } else {
            DBCompressionType::None
        });
        opts
    }
}

/// Table blocks cached in memory, shared by every column family.
const BLOCK_CACHE_BYTES: usize = 128 << 20;
/// Memtables of all column families together; past this the largest is flushed, so the
/// store's memory stays bounded however many column families are written.
const MEMTABLES_BYTES: usize = 512 << 20;
/// Write-ahead log kept on disk at most: past this, the column families whose memtables hold
/// the oldest log's writes are flushed so it can be deleted. (RocksDB's default, four times
/// all possible memtables, let the log reach several GiB before anything was flushed.)
const WAL_BYTES: u64 = 1 << 30;
/// About 1 % false positives.
const BLOOM_BITS_PER_KEY: f64 = 10.0;

const META_LATEST_HEIGHT: &[u8] = b"latest_height";
const META_FORMAT: &[u8] = b"format";
/// The store's layout: 2 keys tree nodes by big-endian version (see [`tree`]).
pub const FORMAT: u32 = 2;
const META_GENESIS_HASH: &[u8] = b"genesis_hash";
const META_GENESIS_STATE: &[u8] = b"genesis_state";

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index within the block.
    pub index: u32,
}

/// One change to a rollup's state; `None` deletes the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    /// The rollup.
    pub rollup_id: u64,
    /// Key within the rollup's state.
    pub key: Vec<u8>,
    /// New value, or `None` to delete.
    pub value: Option<Vec<u8>>,
}

/// Everything that one decided height writes.
#[derive(Clone, Debug, Default)]
pub struct CommitBatch {
    /// The decided block.
    pub block: v1::Block,
    /// Its hash (sha256 of the encoded header).
    pub block_hash: [u8; 32],
    /// 2f+1 precommits for it.
    pub certificate: v1::CommitCertificate,
    /// Receipts, one per transaction, keyed by transaction hash.
    pub receipts: Vec<([u8; 32], v1::Receipt)>,
    /// Transaction hashes in block order.
    pub tx_hashes: Vec<[u8; 32]>,
    /// Whether the pending set may hold each of them (block order), so that the commit
    /// deletes it there; empty for "all of them" (a replay, which knows no mempool).
    pub pending: Vec<bool>,
    /// State changes.
    pub state: Vec<StateWrite>,
    /// Each rollup's state-tree update for this height.
    pub trees: Vec<(u64, jmt::storage::TreeUpdateBatch)>,
}

impl CommitBatch {
    /// Whether the commit deletes the transaction at `index` from the pending set (see
    /// [`Self::pending`]).
    pub fn deletes_pending(&self, index: usize) -> bool {
        self.pending.get(index).copied().unwrap_or(true)
    }

    /// At least the bytes of this height's `WriteBatch`, so that it is allocated once: grown
    /// by doubling, a full block's batch (tens of MiB, mostly tree nodes) was copied and its
    /// fresh pages zeroed several times over. Reserved pages that stay unwritten cost nothing.
    fn write_bytes(&self) -> usize {
        // A record's tag, column family and two length varints.
        const ENTRY: usize = 16;
        // A node's key: a rollup, a version and a nibble path (a count and at most 32 bytes).
        const NODE_KEY: usize = 8 + 8 + 8 + 4 + 32;
        // A node in borsh: an internal node is 16 child tags, 49 bytes per child at most and
        // two counts; a leaf is two hashes.
        let node = |n: &jmt::storage::Node| match n {
            jmt::storage::Node::Internal(i) => 1 + 16 + 16 + 49 * i.children_sorted().count(),
            jmt::storage::Node::Leaf(_) => 1 + 64,
            jmt::storage::Node::Null => 1,
        };
        let value = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, Vec::len);
        let header = self.block.encoded_len() + self.certificate.encoded_len() + 4 * (ENTRY + 32);
        // Index entry and pending-set deletion per transaction.
        let txs = self.tx_hashes.len() * 2 * (ENTRY + 32 + 12);
        let receipts: usize = self
            .receipts
            .iter()
            .map(|(_, r)| ENTRY + 32 + r.encoded_len())
            .sum();
        let state: usize = self
            .state
            .iter()
            .map(|w| ENTRY + 8 + w.key.len() + value(&w.value))
            .sum();
        let trees: usize = self
            .trees
            .iter()
            .map(|(_, t)| {
                let values: usize = t
                    .node_batch
                    .values()
                    .values()
                    .map(|v| ENTRY + 48 + 1 + value(v))
                    .sum();
                let nodes: usize = t
                    .node_batch
                    .nodes()
                    .values()
                    .map(|n| ENTRY + NODE_KEY + node(n))
                    .sum();
                nodes + values
            })
            .sum();
        header + txs + receipts + state + trees
    }
}

/// A remembered pending transaction: its hash and, if it still decodes, the transaction.
pub type PendingTx = ([u8; 32], Option<v1::SignedTransaction>);

/// The node's database.
pub struct Store {
    db: DB,
    /// Held while a DA record is checked and written, so that two writers cannot both find
    /// a height unrecorded.
    da_lock: std::sync::Mutex<()>,
    /// Written without the write-ahead log since the last flush was requested.
    unlogged: std::sync::Mutex<durable::Unlogged>,
    /// The table-block cache every column family shares.
    cache: Cache,
    /// Makes [`Store::put_pending`] fail, for tests of what a failed write leaves behind.
    #[cfg(test)]
    pub(crate) fail_pending: std::sync::atomic::AtomicBool,
}

/// What the store keeps in memory, in bytes, by RocksDB's own accounting: each part has a
/// bound ([`MEMTABLES_BYTES`] and [`BLOCK_CACHE_BYTES`]; index and filter blocks count in the
/// cache), so a node's memory under steady load levels off once they fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreMemory {
    /// Memtables, flushed or not yet.
    pub memtables: u64,
    /// Table readers outside the block cache.
    pub table_readers: u64,
    /// The block cache.
    pub block_cache: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Store {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_db_write_buffer_size(MEMTABLES_BYTES);
        opts.set_max_total_wal_size(WAL_BYTES);
        // Committed heights skip the write-ahead log; flushing every column family at once
        // keeps what reaches disk a prefix of them (see [`durable`]).
        opts.set_atomic_flush(true);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let cfs = Cf::ALL
            .iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf.options(&cache)));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Self {
            db,
            da_lock: std::sync::Mutex::new(()),
            unlogged: std::sync::Mutex::default(),
            cache,
            #[cfg(test)]
            fail_pending: std::sync::atomic::AtomicBool::new(false),
        };
        store.check_format()?;
        Ok(store)
    }

    /// What the store keeps in memory now.
    pub fn memory(&self) -> Result<StoreMemory, StoreError> {
        let stats = rocksdb::perf::get_memory_usage_stats(Some(&[&self.db]), Some(&[&self.cache]))?;
        Ok(StoreMemory {
            memtables: stats.mem_table_total,
            table_readers: stats.mem_table_readers_total,
            block_cache: stats.cache_total,
        })
    }

    /// Record the layout of a new store, or check that an existing one has this build's.
    fn check_format(&self) -> Result<(), StoreError> {
        match self.get(Cf::Meta, META_FORMAT)? {
            Some(found) if found == FORMAT.to_be_bytes() => Ok(()),
            Some(found) => Err(StoreError::Format {
                found: <[u8; 4]>::try_from(found.as_slice()).map_or(0, u32::from_be_bytes),
            }),
            // Stores from before the marker hold tree nodes under another key layout.
            None if self.get(Cf::Meta, META_GENESIS_HASH)?.is_some() => {
                Err(StoreError::Format { found: 1 })
            }
            None => Ok(self.db.put_cf_opt(
                self.cf(Cf::Meta)?,
                META_FORMAT,
                FORMAT.to_be_bytes(),
                &synced(),
            )?),
        }
    }

    fn cf(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(cf.name())
            .ok_or(StoreError::MissingColumnFamily(cf.name()))
    }

    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(cf)?, key)?)
    }

    /// Bind the database to a genesis: the first call records `hash`; later calls fail with
    /// [`StoreError::GenesisMismatch`] if the database belongs to another chain.
    pub fn check_genesis(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        match self.get(Cf::Meta, META_GENESIS_HASH)? {
            None => Ok(self
                .db
                .put_cf(self.cf(Cf::Meta)?, META_GENESIS_HASH, hash)?),
            Some(stored) if stored == hash => Ok(()),
            Some(stored) => Err(StoreError::GenesisMismatch {
                stored: hex::encode(stored),
                expected: hex::encode(hash),
            }),
        }
    }

    /// Whether the genesis state (height 0) has been written.
    pub fn has_genesis_state(&self) -> Result<bool, StoreError> {
        Ok(self.get(Cf::Meta, META_GENESIS_STATE)?.is_some())
    }

    /// Write the genesis state and version 0 of every rollup's tree, once, atomically.
    pub fn init_genesis_state(
        &self,
        state: &[StateWrite],
        trees: &[(u64, jmt::storage::TreeUpdateBatch)],
    ) -> Result<(), StoreError> {
        if self.has_genesis_state()? {
            return Ok(());
        }
        let mut wb = WriteBatch::default();
        for write in state {
            if let Some(value) = &write.value {
                wb.put_cf(
                    self.cf(Cf::State)?,
                    state_key(write.rollup_id, &write.key),
                    value,
                );
            }
        }
        for (rollup, tree) in trees {
            self.write_tree(&mut wb, *rollup, tree)?;
        }
        wb.put_cf(self.cf(Cf::Meta)?, META_GENESIS_STATE, [1]);
        self.db.write_opt(wb, &synced())?;
        Ok(())
    }

    /// Highest committed height, if any.
    pub fn latest_height(&self) -> Result<Option<u64>, StoreError> {
        self.get(Cf::Meta, META_LATEST_HEIGHT)?
            .map(|bytes| decode_height(&bytes, "meta latest_height"))
            .transpose()
    }

    /// Commit one decided height atomically. Heights must be committed in order; committing the
    /// same block at an already committed height is a no-op (replays after a crash do this),
    /// committing a different one is [`StoreError::ConflictingCommit`].
    pub fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let Some(height) = self.next_height(batch)? else {
            return Ok(());
        };
        // A decided height is acknowledged to consensus only once its certificate is on disk;
        // the rest derives from the block and can be replayed (see [`durable`]).
        self.record_decided(height, &batch.certificate)?;
        let wb = self.commit_write(height, batch)?;
        self.write_unlogged(height, wb)
    }

    /// Commit a height re-derived from the DA layer (`babel replay`), with the rules of
    /// [`Self::commit`] but in one write through the write-ahead log: no `decided` record, since
    /// no stored proposal backs the block, so that a store replayed into (and interrupted) is
    /// never left with heights only a running node's start-up could restore. Not synced: the DA
    /// layer still holds whatever a power loss takes.
    pub fn commit_replayed(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let Some(height) = self.next_height(batch)? else {
            return Ok(());
        };
        let wb = self.commit_write(height, batch)?;
        Ok(self.db.write(wb)?)
    }

    /// The height `batch` commits, or `None` if that same block is already committed.
    fn next_height(&self, batch: &CommitBatch) -> Result<Option<u64>, StoreError> {
        let height = batch
            .block
            .header
            .as_ref()
            .map(|h| h.height)
            .unwrap_or_default();
        let latest = self.latest_height()?;
        if let Some(latest) = latest
            && height <= latest
        {
            return match self.block_hash_at(height)? {
                Some(stored) if stored == batch.block_hash => Ok(None),
                _ => Err(StoreError::ConflictingCommit { height }),
            };
        }
        let expected = latest.map_or(1, |h| h + 1);
        if height != expected {
            return Err(StoreError::HeightGap {
                expected,
                got: height,
            });
        }
        Ok(Some(height))
    }

    /// Everything that committing `batch` at `height` writes, as one `WriteBatch`.
    fn commit_write(&self, height: u64, batch: &CommitBatch) -> Result<WriteBatch, StoreError> {
        let key = height.to_be_bytes();
        let mut wb = WriteBatch::with_capacity_bytes(batch.write_bytes());
        wb.put_cf(self.cf(Cf::Blocks)?, key, batch.block.encode_to_vec());
        wb.put_cf(
            self.cf(Cf::Certificates)?,
            key,
            batch.certificate.encode_to_vec(),
        );
        wb.put_cf(self.cf(Cf::BlockHashes)?, batch.block_hash, key);
        // The certificate of the parent this block carries replaces the one this node
        // collected, so every node keeps (and serves) the same one.
        if let Some(parent) = &batch.block.last_certificate {
            let at = height.checked_sub(1).filter(|h| *h > 0);
            let held = match at {
                Some(at) => self.block_hash_at(at)?,
                None => None,
            };
            match (at, held) {
                (Some(at), Some(held)) if parent.height == at && parent.block_hash == held[..] => {
                    wb.put_cf(
                        self.cf(Cf::Certificates)?,
                        at.to_be_bytes(),
                        parent.encode_to_vec(),
                    );
                }
                _ => return Err(StoreError::ForeignCertificate { height }),
            }
        }
        // Records keyed by transaction hash go in in hash order: RocksDB's memtable inserts a
        // run of ascending keys near the previous one instead of searching from the top for
        // each random hash (in block order they were the costliest part of the commit).
        let mut located = Vec::with_capacity(batch.tx_hashes.len());
        for (index, hash) in batch.tx_hashes.iter().enumerate() {
            let pending = batch.deletes_pending(index);
            let index = u32::try_from(index).map_err(|_| StoreError::TooManyTransactions)?;
            located.push((hash, index, pending));
        }
        // Stable, so that a hash repeated in a block keeps its last index, as before.
        located.sort_by_key(|(hash, _, _)| *hash);
        for (hash, index, pending) in &located {
            wb.put_cf(
                self.cf(Cf::TxIndex)?,
                hash,
                encode_location(TxLocation {
                    height,
                    index: *index,
                }),
            );
            if *pending {
                // Committed, so no longer pending: gone with the same atomic write.
                wb.delete_cf(self.cf(Cf::Mempool)?, hash);
            }
        }
        let mut receipts: Vec<&([u8; 32], v1::Receipt)> = batch.receipts.iter().collect();
        receipts.sort_by_key(|(hash, _)| hash);
        for (hash, receipt) in receipts {
            wb.put_cf(self.cf(Cf::Receipts)?, hash, receipt.encode_to_vec());
        }
        for write in &batch.state {
            let key = state_key(write.rollup_id, &write.key);
            match &write.value {
                Some(value) => wb.put_cf(self.cf(Cf::State)?, key, value),
                None => wb.delete_cf(self.cf(Cf::State)?, key),
            }
        }
        for (rollup, tree) in &batch.trees {
            self.write_tree(&mut wb, *rollup, tree)?;
        }
        // Undecided proposals at or below the committed height are no longer needed.
        let proposals = self.cf(Cf::Proposals)?;
        wb.delete_range_cf(proposals, [0u8; 8], (height + 1).to_be_bytes());
        if let Some(header) = &batch.block.header {
            self.write_referenced(&mut wb, &header.da_refs)?;
        }
        wb.put_cf(self.cf(Cf::Meta)?, META_LATEST_HEIGHT, key);
        Ok(wb)
    }

    /// The block committed at `height`.
    pub fn block(&self, height: u64) -> Result<Option<v1::Block>, StoreError> {
        self.get(Cf::Blocks, &height.to_be_bytes())?
            .map(|b| decode(&b, "block"))
            .transpose()
    }

    /// The commit certificate of the block at `height`: once height + 1 is committed, the one
    /// that block carries (the same on every node); until then, the one this node collected.
    pub fn certificate(&self, height: u64) -> Result<Option<v1::CommitCertificate>, StoreError> {
        self.get(Cf::Certificates, &height.to_be_bytes())?
            .map(|b| decode(&b, "certificate"))
            .transpose()
    }

    /// Hash of the block at `height`, read from its certificate.
    pub fn block_hash_at(&self, height: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let Some(cert) = self.certificate(height)? else {
            return Ok(None);
        };
        cert.block_hash
            .as_ref()
            .try_into()
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                what: "certificate block hash",
                height,
            })
    }

    /// Height of the block with this hash.
    pub fn height_of(&self, block_hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.get(Cf::BlockHashes, block_hash)?
            .map(|b| decode_height(&b, "block hash index"))
            .transpose()
    }

    /// Where a transaction was included.
    pub fn tx_location(&self, tx_hash: &[u8; 32]) -> Result<Option<TxLocation>, StoreError> {
        self.get(Cf::TxIndex, tx_hash)?
            .map(|b| decode_location(&b))
            .transpose()
    }

    /// Receipt of an executed transaction.
    pub fn receipt(&self, tx_hash: &[u8; 32]) -> Result<Option<v1::Receipt>, StoreError> {
        self.get(Cf::Receipts, tx_hash)?
            .map(|b| decode(&b, "receipt"))
            .transpose()
    }

    /// Current value of a rollup's state key.
    pub fn state(&self, rollup_id: u64, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Cf::State, &state_key(rollup_id, key))
    }

    /// Call `f` with each key of `rollup_id`'s state that starts with `prefix` (the key
    /// without the rollup) and its value, in key order.
    pub fn for_each_state(
        &self,
        rollup_id: u64,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), StoreError> {
        let start = state_key(rollup_id, prefix);
        let iter = self.db.iterator_cf(
            self.cf(Cf::State)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(&start) {
                break;
            }
            f(&key[8..], &value);
        }
        Ok(())
    }

    /// The next nonce of `sender` on `rollup_id` (0 if it never sent a transaction).
    pub fn nonce(&self, rollup_id: u64, sender: &[u8; 32]) -> Result<u64, StoreError> {
        self.state(rollup_id, &babel_execution::state::nonce_key(sender))?
            .map(|b| decode_height(&b, "nonce"))
            .transpose()
            .map(|n| n.unwrap_or(0))
    }

    /// Record an undecided proposal so that a restart can answer for it. Must be called before
    /// the proposal is announced or acknowledged.
    pub fn put_proposal(
        &self,
        height: u64,
        round: u32,
        block_hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let key = proposal_key(height, round, &block_hash);
        // Synced so a crash right after announcing cannot lose it.
        Ok(self
            .db
            .put_cf_opt(self.cf(Cf::Proposals)?, key, bytes, &synced())?)
    }

    /// A stored proposal with this height, round and hash.
    pub fn proposal(
        &self,
        height: u64,
        round: u32,
        block_hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Cf::Proposals, &proposal_key(height, round, block_hash))
    }

    /// Every stored proposal for `height` and `round` as (block hash, bytes).
    pub fn proposals_at(
        &self,
        height: u64,
        round: u32,
    ) -> Result<babel_consensus::StoredProposals, StoreError> {
        let prefix = proposal_prefix(height, round);
        let iter = self.db.iterator_cf(
            self.cf(Cf::Proposals)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let hash = key[prefix.len()..]
                .try_into()
                .map_err(|_| StoreError::Corrupt {
                    what: "proposal key",
                    height,
                })?;
            out.push((hash, value.to_vec()));
        }
        Ok(out)
    }

    /// A stored proposal of `height`, any round, with this block hash and the body its header
    /// commits to. A byzantine proposer of another round may have streamed the same header with
    /// another body (stored, as an invalid proposal, under the same hash): that one is never
    /// the block, neither when the hash is decided nor when it is replayed.
    pub fn proposal_by_hash(
        &self,
        height: u64,
        block_hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let prefix = height.to_be_bytes();
        let iter = self.db.iterator_cf(
            self.cf(Cf::Proposals)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in iter {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            // One this node found valid passed validation, which checks the same commitments:
            // only the others are hashed again.
            if key.ends_with(block_hash)
                && v1::StoredProposal::decode(value.as_ref()).is_ok_and(|p| {
                    p.valid
                        || p.block
                            .is_some_and(|b| babel_proto::body_matches_header(&b))
                })
            {
                return Ok(Some(value.to_vec()));
            }
        }
        Ok(None)
    }

    /// Remember admitted transactions until they are committed. Written to RocksDB's WAL
    /// without an fsync: an acknowledged transaction survives the node process being killed
    /// (the OS keeps the write), and the transaction was also forwarded to the other
    /// validators before it was acknowledged.
    pub fn put_pending(
        &self,
        txs: &[([u8; 32], &v1::SignedTransaction)],
    ) -> Result<(), StoreError> {
        if txs.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        if self.fail_pending.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::MissingColumnFamily(
                "mempool (a test's failed write)",
            ));
        }
        let cf = self.cf(Cf::Mempool)?;
        let mut wb = WriteBatch::default();
        // In hash order, for the memtable (see `commit`).
        let mut sorted: Vec<&([u8; 32], &v1::SignedTransaction)> = txs.iter().collect();
        sorted.sort_unstable_by_key(|(hash, _)| hash);
        for (hash, tx) in sorted {
            wb.put_cf(cf, hash, tx.encode_to_vec());
        }
        self.db.write(wb)?;
        Ok(())
    }

    /// Forget pending transactions (dropped from the mempool without being committed).
    pub fn delete_pending(&self, hashes: &[[u8; 32]]) -> Result<(), StoreError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let cf = self.cf(Cf::Mempool)?;
        let mut wb = WriteBatch::default();
        for hash in hashes {
            wb.delete_cf(cf, hash);
        }
        self.db.write(wb)?;
        Ok(())
    }

    /// Every remembered pending transaction, in hash order. An entry that no longer decodes
    /// is reported by hash so that the caller can drop it.
    pub fn pending(&self) -> Result<Vec<PendingTx>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(Cf::Mempool)?, IteratorMode::Start)
        {
            let (key, value) = item?;
            let Ok(hash) = <[u8; 32]>::try_from(key.as_ref()) else {
                continue;
            };
            out.push((hash, v1::SignedTransaction::decode(value.as_ref()).ok()));
        }
        Ok(out)
    }

    /// Flush memtables to disk and wait (clean shutdown: what is committed so far needs no
    /// replay at the next start).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flush_all(&rocksdb::FlushOptions::default())
    }
}

fn state_key(rollup_id: u64, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&rollup_id.to_be_bytes());
    out.extend_from_slice(key);
    out
}

fn proposal_prefix(height: u64, round: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&height.to_be_bytes());
    out[8..].copy_from_slice(&round.to_be_bytes());
    out
}

fn proposal_key(height: u64, round: u32, hash: &[u8; 32]) -> Vec<u8> {
    let mut out = proposal_prefix(height, round).to_vec();
    out.extend_from_slice(hash);
    out
}

fn encode_location(loc: TxLocation) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&loc.height.to_be_bytes());
    out[8..].copy_from_slice(&loc.index.to_be_bytes());
    out
}

fn decode_location(bytes: &[u8]) -> Result<TxLocation, StoreError> {
    let corrupt = || StoreError::Corrupt {
        what: "tx index",
        height: 0,
    };
    let height = u64::from_be_bytes(
        bytes
            .get(..8)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let index = u32::from_be_bytes(
        bytes
            .get(8..12)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    Ok(TxLocation { height, index })
}

fn decode_height(bytes: &[u8], what: &'static str) -> Result<u64, StoreError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt { what, height: 0 })
}

fn decode<M: Message + Default>(bytes: &[u8], what: &'static str) -> Result<M, StoreError> {
    M::decode(bytes).map_err(|_| StoreError::Corrupt { what, height: 0 })
}

#[cfg(test)]
mod tests;
