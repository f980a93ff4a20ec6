//! The follower reads every DA height's sequencer namespace, in order, and records the posts of
//! committed blocks it finds there. It is how a node learns of the other validators' posts (to
//! check references and not post a block twice), and how it finds its own post again after a
//! crash between submitting and recording.

use std::{sync::Arc, time::Duration};

use babel_da::{DaError, layout};
use tracing::{debug, info, warn};

use super::{
    DaLink,
    verify::{self, PostError},
};
use crate::{
    metrics::Metrics,
    store::{DaRecord, Store, StoreError},
};

/// How often the follower looks for new DA heights.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Most DA heights scanned in one pass (the cursor is saved after each).
const MAX_PASS: u64 = 256;

/// Reads the DA and records posts.
#[derive(Clone, Debug)]
pub struct Follower {
    link: Arc<DaLink>,
    store: Arc<Store>,
    metrics: Metrics,
}

/// What one pass found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Scanned through the DA head.
    CaughtUp,
    /// More DA heights wait (or a post of a block this node has not committed yet does).
    Behind,
}

impl Follower {
    /// A follower of `link`, recording into `store`.
    pub fn new(link: Arc<DaLink>, store: Arc<Store>, metrics: Metrics) -> Self {
        Self {
            link,
            store,
            metrics,
        }
    }

    /// Where scanning starts on a node's first run: its own DA from the start; a shared one
    /// from its head, since earlier blocks' references come with the blocks themselves.
    async fn start(&self) -> Result<u64, FollowError> {
        let scanned = self.store.da_scanned()?;
        if scanned > 0 {
            return Ok(scanned);
        }
        let from = if self.link.shared() {
            self.link.da().head().await?.saturating_sub(1)
        } else {
            0
        };
        if from > 0 {
            self.store.set_da_scanned(from)?;
            info!(da_height = from, "following the DA from its head");
        }
        Ok(from)
    }

    /// Scan DA heights after the saved cursor, at most [`MAX_PASS`] of them.
    pub async fn pass(&self) -> Result<Pass, FollowError> {
        let result = self.pass_inner().await;
        self.link
            .reached(!matches!(result, Err(FollowError::Da(_))));
        result
    }

    async fn pass_inner(&self) -> Result<Pass, FollowError> {
        let scanned = self.start().await?;
        let head = self.link.da().head().await?;
        let last = head.min(scanned.saturating_add(MAX_PASS));
        for da_height in scanned + 1..=last {
            if !self.scan(da_height).await? {
                return Ok(Pass::Behind);
            }
            self.store.set_da_scanned(da_height)?;
            self.metrics.da_scanned(da_height);
        }
        Ok(if last == head {
            Pass::CaughtUp
        } else {
            Pass::Behind
        })
    }

    /// Record the posts at `da_height`; `false` when one is of a block this node has not
    /// committed yet (the height is then scanned again later).
    async fn scan(&self, da_height: u64) -> Result<bool, FollowError> {
        let blobs = self
            .link
            .da()
            .get_all(da_height, &[self.link.namespaces().sequencer])
            .await?;
        let committed = self.store.latest_height()?.unwrap_or(0);
        for blob in &blobs {
            let Ok(header_blob) = layout::read_header(blob) else {
                debug!(da_height, "skipping a blob that is not a header blob");
                continue;
            };
            let Ok((header, hash, _)) = verify::header_of(&self.link, &header_blob) else {
                continue;
            };
            let height = header.height;
            if height > committed {
                // A block this node has yet to commit, if its certificate holds: wait for it.
                // Otherwise anyone could stall the follower with a made-up header.
                if verify::certified(&self.link, &header_blob).await {
                    return Ok(false);
                }
                continue;
            }
            if self.store.block_hash_at(height)? != Some(hash) {
                continue;
            }
            if let Some(known) = self.store.da_location(height)? {
                if known.da_height != da_height || known.commitment != header_blob.commitment.hash()
                {
                    // Posted twice (a stand-in raced the proposer): the first post stands.
                    self.metrics.da_duplicate();
                }
                continue;
            }
            // Without a certificate that holds, the post could not be replayed: it does not
            // count, and the block stays due.
            if !verify::certified(&self.link, &header_blob).await {
                warn!(
                    height,
                    da_height, "ignoring a post whose certificate does not hold"
                );
                continue;
            }
            match verify::block_txs(&self.link, da_height, &header_blob).await {
                Ok(_) => {
                    let record = DaRecord {
                        da_height,
                        commitment: header_blob.commitment.hash().to_vec(),
                    };
                    if self.store.record_posted(height, &record)? {
                        info!(height, da_height, "found the post of a block");
                    }
                }
                Err(PostError::Da(e)) => return Err(e.into()),
                Err(PostError::Invalid(why)) => {
                    warn!(height, da_height, %why, "ignoring an invalid post of a block");
                }
            }
        }
        Ok(true)
    }
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The DA could not be read: the pass is tried again.
    #[error("DA: {0}")]
    Da(#[from] DaError),
    /// The store failed (fatal for the node).
    #[error(transparent)]
    Store(#[from] StoreError),
}
