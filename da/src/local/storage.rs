//! Where a local DA keeps its blocks: RocksDB, or memory for tests. Each DA block is written
//! in one batch (header, blobs, head), so a crash leaves whole blocks only.

use std::{collections::BTreeMap, path::Path, sync::Mutex};

use celestia_types::{Blob, Commitment, ExtendedHeader, nmt::Namespace};

use crate::DaError;

const HEAD: &[u8] = b"head";

fn header_key(height: u64) -> Vec<u8> {
    [b"h".as_slice(), &height.to_be_bytes()].concat()
}

fn blobs_key(height: u64) -> Vec<u8> {
    [b"b".as_slice(), &height.to_be_bytes()].concat()
}

/// Key-value storage of a local DA.
pub(crate) enum Storage {
    /// Nothing survives the process.
    Memory(Mutex<BTreeMap<Vec<u8>, Vec<u8>>>),
    /// A RocksDB database of its own.
    Rocks(rocksdb::DB),
}

impl Storage {
    pub(crate) fn memory() -> Self {
        Storage::Memory(Mutex::new(BTreeMap::new()))
    }

    pub(crate) fn open(path: &Path) -> Result<Self, DaError> {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        rocksdb::DB::open(&options, path)
            .map(Storage::Rocks)
            .map_err(|e| DaError::Storage(e.to_string()))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, DaError> {
        match self {
            Storage::Memory(map) => Ok(map
                .lock()
                .map_err(|_| DaError::Storage("poisoned".into()))?
                .get(key)
                .cloned()),
            Storage::Rocks(db) => db.get(key).map_err(|e| DaError::Storage(e.to_string())),
        }
    }

    fn write(&self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), DaError> {
        match self {
            Storage::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| DaError::Storage("poisoned".into()))?;
                map.extend(entries);
                Ok(())
            }
            Storage::Rocks(db) => {
                let mut batch = rocksdb::WriteBatch::default();
                for (k, v) in entries {
                    batch.put(k, v);
                }
                let mut options = rocksdb::WriteOptions::default();
                // A submission is acknowledged with its height: it must survive a power cut.
                options.set_sync(true);
                db.write_opt(batch, &options)
                    .map_err(|e| DaError::Storage(e.to_string()))
            }
        }
    }

    /// The head height, 0 when empty.
    pub(crate) fn head(&self) -> Result<u64, DaError> {
        match self.get(HEAD)? {
            None => Ok(0),
            Some(v) => v
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| DaError::Storage("corrupt head".into())),
        }
    }

    pub(crate) fn header(&self, height: u64) -> Result<Option<ExtendedHeader>, DaError> {
        self.get(&header_key(height))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| DaError::Storage(e.to_string())))
            .transpose()
    }

    pub(crate) fn blobs(&self, height: u64) -> Result<Vec<Blob>, DaError> {
        match self.get(&blobs_key(height))? {
            None => Ok(Vec::new()),
            Some(v) => decode_blobs(&v),
        }
    }

    /// Store DA block `height` and make it the head.
    pub(crate) fn put(
        &self,
        height: u64,
        header: &ExtendedHeader,
        blobs: &[Blob],
    ) -> Result<(), DaError> {
        let header = serde_json::to_vec(header).map_err(|e| DaError::Storage(e.to_string()))?;
        self.write(vec![
            (header_key(height), header),
            (blobs_key(height), encode_blobs(blobs)),
            (HEAD.to_vec(), height.to_be_bytes().to_vec()),
        ])
    }

    /// The DA's key seed, made on first use.
    pub(crate) fn seed(&self, fresh: impl FnOnce() -> [u8; 32]) -> Result<[u8; 32], DaError> {
        if let Some(v) = self.get(b"key")? {
            return v
                .try_into()
                .map_err(|_| DaError::Storage("corrupt key".into()));
        }
        let seed = fresh();
        self.write(vec![(b"key".to_vec(), seed.to_vec())])?;
        Ok(seed)
    }
}

/// Blobs as stored: per blob, namespace (29) ‖ commitment (32) ‖ index (u64) ‖ data length
/// (u32) ‖ data. Only this process writes them; share version 0 is the only one accepted.
fn encode_blobs(blobs: &[Blob]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in blobs {
        out.extend_from_slice(b.namespace.as_bytes());
        out.extend_from_slice(b.commitment.hash());
        out.extend_from_slice(&b.index.unwrap_or(u64::MAX).to_be_bytes());
        out.extend_from_slice(&(b.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&b.data);
    }
    out
}

fn decode_blobs(mut bytes: &[u8]) -> Result<Vec<Blob>, DaError> {
    let corrupt = || DaError::Storage("corrupt blobs".into());
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (head, rest) = bytes
            .split_at_checked(29 + 32 + 8 + 4)
            .ok_or_else(corrupt)?;
        let namespace = Namespace::from_raw(&head[..29])?;
        let commitment: [u8; 32] = head[29..61].try_into().map_err(|_| corrupt())?;
        let index = u64::from_be_bytes(head[61..69].try_into().map_err(|_| corrupt())?);
        let len = u32::from_be_bytes(head[69..73].try_into().map_err(|_| corrupt())?) as usize;
        let (data, rest) = rest.split_at_checked(len).ok_or_else(corrupt)?;
        // Checked when it was submitted; RocksDB checksums what it stores.
        out.push(Blob {
            namespace,
            data: data.to_vec(),
            share_version: 0,
            commitment: Commitment::new(commitment),
            index: (index != u64::MAX).then_some(index),
            signer: None,
        });
        bytes = rest;
    }
    Ok(out)
}
