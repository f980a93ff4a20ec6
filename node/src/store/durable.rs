//! How a committed height becomes durable.
//!
//! A decided height is acknowledged to consensus once its certificate is synced to disk in
//! `decided` (a few KiB; the block itself was synced as a proposal before it was voted on).
//! Everything else the height writes (block, indexes, receipts, state, tree nodes; tens of
//! MiB for a full block) derives from the block and the state below it, so it skips the
//! write-ahead log: it is visible to readers at once, and on disk once RocksDB flushes the
//! memtables. The same write deletes the height's `decided` record and the proposals at or
//! below the height.
//!
//! Atomic flush (all column families up to one sequence number) makes what survives a
//! crash a prefix of those writes, so the store is always at some committed height, and the
//! `decided` records above it name the heights to execute and commit again, from their stored
//! proposals, before consensus starts ([`Store::decided_above`]). Execution is deterministic, so
//! the replayed heights are the ones that were served. To bound that replay, the store asks
//! for a flush after [`UNLOGGED_BYTES`] or [`UNLOGGED_HEIGHTS`].

use babel_proto::v1;
use prost::Message;
use rocksdb::{FlushOptions, IteratorMode, WriteBatch, WriteOptions};

use super::{Cf, Store, StoreError, decode, decode_height};

/// Bytes written without the write-ahead log after which a flush is requested: about six
/// full blocks (mostly tree nodes) to replay after a crash at saturation.
const UNLOGGED_BYTES: usize = 128 << 20;
/// Heights committed without the write-ahead log after which a flush is requested, so that
/// a lightly loaded node does not keep thousands of small heights to replay.
const UNLOGGED_HEIGHTS: u64 = 256;

/// Unlogged writes since the last flush was requested.
#[derive(Debug, Default)]
pub(super) struct Unlogged {
    bytes: usize,
    heights: u64,
}

impl Unlogged {
    /// Count one height's write; whether a flush is due.
    fn add(&mut self, bytes: usize) -> bool {
        self.bytes = self.bytes.saturating_add(bytes);
        self.heights += 1;
        self.bytes >= UNLOGGED_BYTES || self.heights >= UNLOGGED_HEIGHTS
    }

    /// A flush was requested: count again from zero.
    fn flushing(&mut self) {
        *self = Self::default();
    }
}

impl Store {
    /// Durably record that `certificate` decided its height: the first, synced, half of
    /// committing it.
    pub(super) fn record_decided(
        &self,
        height: u64,
        certificate: &v1::CommitCertificate,
    ) -> Result<(), StoreError> {
        Ok(self.db.put_cf_opt(
            self.cf(Cf::Decided)?,
            height.to_be_bytes(),
            certificate.encode_to_vec(),
            &synced(),
        )?)
    }

    /// Write the rest of a committed height without the write-ahead log (it deletes the
    /// height's `decided` record), and request a flush when enough is unlogged.
    pub(super) fn write_unlogged(&self, height: u64, mut wb: WriteBatch) -> Result<(), StoreError> {
        wb.delete_cf(self.cf(Cf::Decided)?, height.to_be_bytes());
        let bytes = wb.size_in_bytes();
        let mut opts = WriteOptions::default();
        opts.disable_wal(true);
        self.db.write_opt(wb, &opts)?;
        let mut unlogged = self.unlogged.lock().unwrap_or_else(|e| e.into_inner());
        if unlogged.add(bytes) {
            let mut flush = FlushOptions::default();
            // Not waited for: RocksDB writes the tables in the background while the next
            // height goes on (it waits only if writes are stalled, as the next write would).
            flush.set_wait(false);
            match self.flush_all(&flush) {
                Ok(()) => unlogged.flushing(),
                // The height is written; a refused request (writes stalled) only leaves more
                // to replay after a crash, and the next height asks again.
                Err(e) => tracing::warn!(height, error = %e, "cannot request a store flush yet"),
            }
        }
        Ok(())
    }

    /// Flush every column family's memtable, atomically (see the module docs).
    pub(super) fn flush_all(&self, opts: &FlushOptions) -> Result<(), StoreError> {
        let cfs = Cf::ALL
            .iter()
            .map(|cf| self.cf(*cf))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.db.flush_cfs_opt(&cfs, opts)?)
    }

    /// Heights decided above the committed height whose other writes a crash lost, in order,
    /// with their certificates: each must be committed again from its stored proposal before
    /// consensus starts. They run without a gap from the committed height + 1.
    pub fn decided_above(
        &self,
        committed: u64,
    ) -> Result<Vec<(u64, v1::CommitCertificate)>, StoreError> {
        let from = committed.saturating_add(1).to_be_bytes();
        let mode = IteratorMode::From(&from, rocksdb::Direction::Forward);
        let mut out: Vec<(u64, v1::CommitCertificate)> = Vec::new();
        for item in self.db.iterator_cf(self.cf(Cf::Decided)?, mode) {
            let (key, value) = item?;
            let height = decode_height(&key, "decided height")?;
            let expected = out.last().map_or(committed + 1, |(h, _)| h + 1);
            if height != expected {
                return Err(StoreError::HeightGap {
                    expected,
                    got: height,
                });
            }
            out.push((height, decode(&value, "decided certificate")?));
        }
        Ok(out)
    }

    /// The heights of [`Self::decided_above`] with their blocks, read from the stored
    /// proposals: what a restart commits again, in order.
    pub fn decided_blocks_above(
        &self,
        committed: u64,
    ) -> Result<Vec<(v1::Block, v1::CommitCertificate)>, StoreError> {
        self.decided_above(committed)?
            .into_iter()
            .map(|(height, certificate)| {
                let corrupt = |what| StoreError::Corrupt { what, height };
                let hash: [u8; 32] = certificate
                    .block_hash
                    .as_ref()
                    .try_into()
                    .map_err(|_| corrupt("decided certificate"))?;
                let bytes = self
                    .proposal_by_hash(height, &hash)?
                    .ok_or(StoreError::DecidedWithoutProposal { height })?;
                let block = v1::StoredProposal::decode(bytes.as_slice())
                    .ok()
                    .and_then(|p| p.block)
                    .filter(|b| {
                        b.header
                            .as_ref()
                            .is_some_and(|h| babel_proto::block_hash(h) == hash)
                    })
                    .ok_or_else(|| corrupt("decided block"))?;
                Ok((block, certificate))
            })
            .collect()
    }
}

pub(super) fn synced() -> WriteOptions {
    let mut opts = WriteOptions::default();
    opts.set_sync(true);
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_is_due_after_enough_bytes_or_heights_and_the_count_starts_again() {
        let mut u = Unlogged::default();
        for _ in 1..UNLOGGED_HEIGHTS {
            assert!(!u.add(1));
        }
        assert!(u.add(1), "the height limit");
        assert!(u.add(1), "still due until a flush is requested");
        u.flushing();
        assert!(!u.add(UNLOGGED_BYTES - 1));
        assert!(u.add(1), "the byte limit");
        u.flushing();
        assert!(!u.add(0));
    }
}
