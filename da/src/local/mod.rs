//! The embedded DA: a Celestia-compatible chain of DA blocks kept by this process.
//!
//! Each submission becomes one DA block: its blobs laid out in a data square as Celestia lays
//! them out ([`square`]), and a header signed by the DA's own key ([`signer`]) whose data root
//! is that square's. Blocks are stored in RocksDB ([`storage`]) and read back by height and
//! namespace. [`crate::server`] serves a `LocalDa` over the celestia-node JSON-RPC API.

mod signer;
pub mod square;
mod storage;

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use celestia_types::{
    Blob, Commitment, DataAvailabilityHeader, ExtendedHeader,
    consts::appconsts::SHARE_VERSION_ZERO,
    nmt::{Namespace, NamespaceProof},
};
use tendermint::Time;
use tokio::sync::watch;

use crate::{DaError, DataAvailability};
use signer::Signer;
use storage::Storage;

/// Chain id of every local DA's headers.
pub const CHAIN_ID: &str = "babel-local-da";

/// An embedded DA. Cheap to clone: clones share one store.
#[derive(Clone)]
pub struct LocalDa {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    signer: Signer,
    /// The head's header; held while a submission makes the next block, so heights follow
    /// one another.
    last: Mutex<ExtendedHeader>,
    head: watch::Sender<u64>,
}

impl LocalDa {
    /// Open (or create) a local DA in the directory `path`.
    pub fn open(path: &Path) -> Result<Self, DaError> {
        Self::init(Storage::open(path)?)
    }

    /// A local DA in memory, gone with the process (tests).
    pub fn in_memory() -> Result<Self, DaError> {
        Self::init(Storage::memory())
    }

    fn init(storage: Storage) -> Result<Self, DaError> {
        let seed = storage.seed(|| {
            use rand::RngCore;
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            seed
        })?;
        let signer = Signer::new(seed, CHAIN_ID)?;
        let head = storage.head()?;
        let last = if head == 0 {
            // Height 1 is an empty block, so that a new DA has a head to show.
            let (eds, _) = square::build(Vec::new())?;
            let header =
                signer.header(1, now(None)?, DataAvailabilityHeader::from_eds(&eds), None)?;
            storage.put(1, &header, &[])?;
            header
        } else {
            storage
                .header(head)?
                .ok_or_else(|| DaError::Storage(format!("head {head} has no header")))?
        };
        let (head, _) = watch::channel(last.height());
        Ok(Self {
            inner: Arc::new(Inner {
                storage,
                signer,
                last: Mutex::new(last),
                head,
            }),
        })
    }

    /// Store `blobs` as the next DA block; returns its height. Refuses a blob whose commitment
    /// does not match its data, an empty one, one in a reserved namespace or of another share
    /// version, and blobs that do not fit one square.
    pub fn submit_blocking(&self, blobs: Vec<Blob>) -> Result<u64, DaError> {
        if blobs.is_empty() {
            return Err(DaError::Refused("no blobs provided".into()));
        }
        for blob in &blobs {
            check(blob)?;
        }
        let blobs = blobs
            .into_iter()
            .map(|mut b| {
                b.index = None;
                b
            })
            .collect();
        let (eds, blobs) = square::build(blobs)?;
        let dah = DataAvailabilityHeader::from_eds(&eds);
        let mut last = self
            .inner
            .last
            .lock()
            .map_err(|_| DaError::Storage("poisoned".into()))?;
        let height = last.height() + 1;
        let header = self
            .inner
            .signer
            .header(height, now(Some(last.time()))?, dah, Some(&last))?;
        self.inner.storage.put(height, &header, &blobs)?;
        *last = header;
        self.inner.head.send_replace(height);
        Ok(height)
    }

    /// Every blob at `height` in any of `namespaces`, in the order of `namespaces` (each once,
    /// however often it is asked for) and then in square order.
    pub fn blobs_in(&self, height: u64, namespaces: &[Namespace]) -> Result<Vec<Blob>, DaError> {
        let blobs = self.blobs(height)?;
        let mut seen = std::collections::HashSet::new();
        Ok(namespaces
            .iter()
            .filter(|ns| seen.insert(ns.as_bytes().to_vec()))
            .flat_map(|ns| blobs.iter().filter(move |b| b.namespace == *ns))
            .cloned()
            .collect())
    }

    /// The blob at `height` in `namespace` with `commitment`, if there is one.
    pub fn blob(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<Option<Blob>, DaError> {
        Ok(self
            .blobs(height)?
            .into_iter()
            .find(|b| b.namespace == namespace && b.commitment == commitment))
    }

    /// The head height.
    pub fn head_height(&self) -> u64 {
        *self.inner.head.borrow()
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<ExtendedHeader, DaError> {
        self.in_range(height)?;
        self.inner
            .storage
            .header(height)?
            .ok_or_else(|| DaError::Storage(format!("height {height} has no header")))
    }

    /// The blobs at `height`, in square order.
    pub fn blobs(&self, height: u64) -> Result<Vec<Blob>, DaError> {
        self.in_range(height)?;
        self.inner.storage.blobs(height)
    }

    /// The namespace proofs of a blob (see [`square::proofs`]), if it is there.
    pub fn proofs(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<Option<Vec<NamespaceProof>>, DaError> {
        let blobs = self.blobs(height)?;
        let Some(blob) = blobs
            .iter()
            .find(|b| b.namespace == namespace && b.commitment == commitment)
            .cloned()
        else {
            return Ok(None);
        };
        let (eds, _) = square::build(blobs)?;
        square::proofs(&eds, &blob).map(Some)
    }

    /// Wait until `height` exists, at most `timeout`; then its header.
    pub async fn wait_for(
        &self,
        height: u64,
        timeout: Duration,
    ) -> Result<ExtendedHeader, DaError> {
        let mut head = self.inner.head.subscribe();
        let reached = tokio::time::timeout(timeout, head.wait_for(|h| *h >= height)).await;
        match reached {
            Ok(Ok(_)) => self.header(height),
            _ => Err(DaError::FutureHeight {
                requested: height,
                head: self.head_height(),
            }),
        }
    }

    fn in_range(&self, height: u64) -> Result<(), DaError> {
        let head = self.head_height();
        if height == 0 || height > head {
            return Err(DaError::FutureHeight {
                requested: height,
                head,
            });
        }
        Ok(())
    }
}

fn check(blob: &Blob) -> Result<(), DaError> {
    if blob.data.is_empty() {
        return Err(DaError::Refused("empty blob".into()));
    }
    if blob.share_version != SHARE_VERSION_ZERO || blob.signer.is_some() {
        return Err(DaError::Refused("only share version 0 is accepted".into()));
    }
    if blob.namespace.is_reserved() || blob.namespace.version() != 0 {
        return Err(DaError::Refused(format!(
            "namespace {} is reserved or not version 0",
            hex::encode(blob.namespace.as_bytes())
        )));
    }
    blob.validate()
        .map_err(|e| DaError::Refused(format!("blob does not match its commitment: {e}")))
}

/// The time of a new header: the wall clock, but always after the previous header's (Celestia
/// clients require strictly increasing times).
fn now(prev: Option<Time>) -> Result<Time, DaError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut time = Time::from_unix_timestamp(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        since.subsec_nanos(),
    )
    .map_err(|e| DaError::Celestia(e.to_string()))?;
    if let Some(prev) = prev
        && time <= prev
    {
        time = (prev + Duration::from_millis(1)).map_err(|e| DaError::Celestia(e.to_string()))?;
    }
    Ok(time)
}

#[async_trait]
impl DataAvailability for LocalDa {
    async fn submit(&self, blobs: Vec<Blob>) -> Result<u64, DaError> {
        let da = self.clone();
        tokio::task::spawn_blocking(move || da.submit_blocking(blobs))
            .await
            .map_err(|e| DaError::Storage(e.to_string()))?
    }

    async fn get_all(&self, height: u64, namespaces: &[Namespace]) -> Result<Vec<Blob>, DaError> {
        self.blobs_in(height, namespaces)
    }

    async fn get(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<Option<Blob>, DaError> {
        self.blob(height, namespace, commitment)
    }

    async fn head(&self) -> Result<u64, DaError> {
        Ok(self.head_height())
    }

    async fn included(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<bool, DaError> {
        Ok(self.get(height, namespace, commitment).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(ns: &[u8], data: &[u8]) -> Blob {
        Blob::new(Namespace::new_v0(ns).unwrap(), data.to_vec(), None).unwrap()
    }

    #[tokio::test]
    async fn blobs_land_at_successive_heights_and_read_back_in_namespace_order() {
        let da = LocalDa::in_memory().unwrap();
        assert_eq!(da.head().await.unwrap(), 1);
        let (a, b) = (blob(b"aa", b"first"), blob(b"bb", b"second"));
        let h = da.submit(vec![b.clone(), a.clone()]).await.unwrap();
        assert_eq!(h, 2);
        let got = da.get_all(2, &[b.namespace, a.namespace]).await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].data.as_slice(), got[1].data.as_slice()),
            (&b"second"[..], &b"first"[..])
        );
        assert!(da.included(2, a.namespace, a.commitment).await.unwrap());
        assert!(!da.included(2, a.namespace, b.commitment).await.unwrap());
        assert!(
            da.get_all(2, &[Namespace::new_v0(b"zz").unwrap()])
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            da.get_all(3, &[a.namespace]).await.unwrap_err(),
            DaError::FutureHeight {
                requested: 3,
                head: 2
            }
        ));
        // Headers chain and carry the square's data root.
        let (h1, h2) = (da.header(1).unwrap(), da.header(2).unwrap());
        h1.verify_adjacent(&h2).unwrap();
        assert_eq!(
            da.proofs(2, a.namespace, a.commitment)
                .unwrap()
                .map(|p| p.len()),
            Some(1)
        );
    }

    #[tokio::test]
    async fn bad_blobs_are_refused_and_nothing_is_stored() {
        let da = LocalDa::in_memory().unwrap();
        let mut forged = blob(b"aa", b"data");
        forged.data = b"other".to_vec();
        let reserved = Blob {
            namespace: Namespace::PAY_FOR_BLOB,
            ..blob(b"aa", b"x")
        };
        let empty = Blob {
            data: Vec::new(),
            ..blob(b"aa", b"x")
        };
        for bad in [vec![], vec![forged], vec![reserved], vec![empty]] {
            assert!(matches!(
                da.submit(bad).await.unwrap_err(),
                DaError::Refused(_)
            ));
        }
        // More shares than a square holds.
        let huge = blob(b"aa", &vec![0; 128 * 128 * 512]);
        assert!(matches!(
            da.submit(vec![huge]).await.unwrap_err(),
            DaError::Refused(_)
        ));
        assert_eq!(da.head().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_reopened_store_keeps_blocks_key_and_head() {
        let dir = tempfile::tempdir().unwrap();
        let a = blob(b"aa", b"kept");
        let first = {
            let da = LocalDa::open(dir.path()).unwrap();
            da.submit(vec![a.clone()]).await.unwrap();
            da.header(2).unwrap()
        };
        let da = LocalDa::open(dir.path()).unwrap();
        assert_eq!(da.head_height(), 2);
        assert_eq!(da.header(2).unwrap(), first);
        assert!(da.included(2, a.namespace, a.commitment).await.unwrap());
        // The same key signs on: the next header follows the stored one.
        da.submit(vec![a]).await.unwrap();
        first.verify_adjacent(&da.header(3).unwrap()).unwrap();
    }

    #[tokio::test]
    async fn waiting_for_a_height_returns_when_it_arrives_or_times_out() {
        let da = LocalDa::in_memory().unwrap();
        let waiter = {
            let da = da.clone();
            tokio::spawn(async move { da.wait_for(2, Duration::from_secs(10)).await })
        };
        da.submit(vec![blob(b"aa", b"x")]).await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap().height(), 2);
        assert!(matches!(
            da.wait_for(5, Duration::from_millis(50)).await.unwrap_err(),
            DaError::FutureHeight { requested: 5, .. }
        ));
    }
}
