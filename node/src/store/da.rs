//! What the store keeps about the DA layer.
//!
//! - `da_records`: where this node knows each block's blobs to be (its own posts and what its
//!   follower verified), block height → [`DaRecord`]. Local knowledge: two nodes may know of
//!   different posts of the same block.
//! - `da_referenced`: the references that committed headers carry, block height → [`DaRecord`].
//!   Written only by [`Store::commit`], so it is the same on every node: a block referenced
//!   once is never referenced again.
//! - In `meta`: the lowest block height not yet referenced, the DA height the follower has
//!   scanned to, and the height through which every block is known to be posted.

use babel_proto::v1;
use rocksdb::WriteBatch;

use super::{Cf, Store, StoreError, decode_height};

const META_DA_REF_FLOOR: &[u8] = b"da_ref_floor";
const META_DA_SCANNED: &[u8] = b"da_scanned";
const META_DA_POSTED_THROUGH: &[u8] = b"da_posted_through";
const META_DA_BACKEND: &[u8] = b"da_backend";

/// Where one block's blobs were posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaRecord {
    /// DA-layer height that includes the blobs.
    pub da_height: u64,
    /// Commitment of the header blob.
    pub commitment: Vec<u8>,
}

impl DaRecord {
    fn encode(&self) -> Vec<u8> {
        let mut value = self.da_height.to_be_bytes().to_vec();
        value.extend_from_slice(&self.commitment);
        value
    }

    fn decode(bytes: &[u8], what: &'static str) -> Result<Self, StoreError> {
        let da_height = decode_height(bytes.get(..8).unwrap_or_default(), what)?;
        Ok(Self {
            da_height,
            commitment: bytes[8..].to_vec(),
        })
    }

    /// As a header's reference to the block at `block_height`.
    pub fn reference(&self, block_height: u64) -> v1::DaReference {
        v1::DaReference {
            block_height,
            da_height: self.da_height,
            commitment: self.commitment.clone().into(),
        }
    }
}

impl Store {
    /// Record where the blobs of the block at `height` were posted, unless a record exists;
    /// returns whether this one was written.
    pub fn record_posted(&self, height: u64, record: &DaRecord) -> Result<bool, StoreError> {
        let _guard = self.da_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.da_record(height)?.is_some() {
            return Ok(false);
        }
        self.db.put_cf(
            self.cf(Cf::DaRecords)?,
            height.to_be_bytes(),
            record.encode(),
        )?;
        Ok(true)
    }

    /// Where this node knows the blobs of the block at `height` to be.
    pub fn da_record(&self, height: u64) -> Result<Option<DaRecord>, StoreError> {
        self.get(Cf::DaRecords, &height.to_be_bytes())?
            .map(|b| DaRecord::decode(&b, "DA record"))
            .transpose()
    }

    /// The reference to the block at `height` that a committed header carries, if one does.
    pub fn da_referenced(&self, height: u64) -> Result<Option<DaRecord>, StoreError> {
        self.get(Cf::DaReferenced, &height.to_be_bytes())?
            .map(|b| DaRecord::decode(&b, "DA reference"))
            .transpose()
    }

    /// Where the block at `height` is posted: the committed reference, else this node's record.
    pub fn da_location(&self, height: u64) -> Result<Option<DaRecord>, StoreError> {
        match self.da_referenced(height)? {
            Some(r) => Ok(Some(r)),
            None => self.da_record(height),
        }
    }

    /// Where the block at `height` is posted, as a header's reference to it.
    pub fn da_reference(&self, height: u64) -> Result<Option<v1::DaReference>, StoreError> {
        Ok(self.da_location(height)?.map(|r| r.reference(height)))
    }

    /// The lowest block height that no committed header references (1 at first).
    pub fn da_ref_floor(&self) -> Result<u64, StoreError> {
        self.meta_height(META_DA_REF_FLOOR).map(|h| h.unwrap_or(1))
    }

    /// Add the references of a block being committed to `wb`, and move the floor past them.
    pub(super) fn write_referenced(
        &self,
        wb: &mut WriteBatch,
        refs: &[v1::DaReference],
    ) -> Result<(), StoreError> {
        if refs.is_empty() {
            return Ok(());
        }
        let cf = self.cf(Cf::DaReferenced)?;
        for r in refs {
            let record = DaRecord {
                da_height: r.da_height,
                commitment: r.commitment.to_vec(),
            };
            wb.put_cf(cf, r.block_height.to_be_bytes(), record.encode());
        }
        let mut floor = self.da_ref_floor()?;
        while refs.iter().any(|r| r.block_height == floor) || self.da_referenced(floor)?.is_some() {
            floor += 1;
        }
        wb.put_cf(self.cf(Cf::Meta)?, META_DA_REF_FLOOR, floor.to_be_bytes());
        Ok(())
    }

    /// The DA height through which the follower has scanned (0: none).
    pub fn da_scanned(&self) -> Result<u64, StoreError> {
        self.meta_height(META_DA_SCANNED)
            .map(Option::unwrap_or_default)
    }

    /// Remember that the follower has scanned through DA height `height`.
    pub fn set_da_scanned(&self, height: u64) -> Result<(), StoreError> {
        self.put_meta_height(META_DA_SCANNED, height)
    }

    /// The height through which every block is known to be posted (0: none).
    pub fn da_posted_through(&self) -> Result<u64, StoreError> {
        self.meta_height(META_DA_POSTED_THROUGH)
            .map(Option::unwrap_or_default)
    }

    /// Move the posted-through height up to the last height from it that has a record, and
    /// return it.
    pub fn advance_posted_through(&self) -> Result<u64, StoreError> {
        let _guard = self.da_lock.lock().unwrap_or_else(|e| e.into_inner());
        let start = self.da_posted_through()?;
        let mut through = start;
        while self.da_location(through + 1)?.is_some() {
            through += 1;
        }
        if through != start {
            self.put_meta_height(META_DA_POSTED_THROUGH, through)?;
        }
        Ok(through)
    }

    /// Bind the DA records to a DA backend (`local` or `celestia`). Records of posts on
    /// another backend name heights of another DA: when the backend changes they are
    /// dropped, with the follower's cursor and the posted-through height (committed
    /// references stay: they are the chain's). Returns whether anything was dropped.
    pub fn bind_da_backend(&self, backend: &str) -> Result<bool, StoreError> {
        let _guard = self.da_lock.lock().unwrap_or_else(|e| e.into_inner());
        let stored = self.get(Cf::Meta, META_DA_BACKEND)?;
        if stored.as_deref() == Some(backend.as_bytes()) {
            return Ok(false);
        }
        let mut wb = WriteBatch::default();
        let changed = stored.is_some();
        if changed {
            wb.delete_range_cf(self.cf(Cf::DaRecords)?, [0u8; 8], [0xFFu8; 8]);
            wb.delete_cf(self.cf(Cf::DaRecords)?, [0xFFu8; 8]);
            wb.delete_cf(self.cf(Cf::Meta)?, META_DA_SCANNED);
            wb.delete_cf(self.cf(Cf::Meta)?, META_DA_POSTED_THROUGH);
        }
        wb.put_cf(self.cf(Cf::Meta)?, META_DA_BACKEND, backend.as_bytes());
        self.db.write(wb)?;
        Ok(changed)
    }

    fn meta_height(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        self.get(Cf::Meta, key)?
            .map(|b| decode_height(&b, "DA meta"))
            .transpose()
    }

    fn put_meta_height(&self, key: &[u8], height: u64) -> Result<(), StoreError> {
        Ok(self
            .db
            .put_cf(self.cf(Cf::Meta)?, key, height.to_be_bytes())?)
    }
}
