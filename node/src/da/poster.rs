//! The poster: every decided block goes to the DA layer once.
//!
//! On a shared DA the proposer of a block posts it. Should it not (it crashed, or its DA
//! endpoint is down), the other validators stand in one after another, in validator-set order
//! from the proposer, each [`STAND_IN_AFTER`] heights after the one before, and only once the
//! DA has answered them for [`STAND_IN_GRACE`] (so that after an outage the proposer, which
//! retries all along, posts first). On a node's own DA every block is posted by the node.
//!
//! Blocks due are posted together, as many as fit one submission, each block's blobs all in the
//! same DA block. Before posting anything the follower must have read the DA through its head,
//! so that a post made just before a crash is found rather than made again.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use babel_consensus::{Address, ValidatorSet};
use babel_da::{
    Blob, DaError,
    layout::{self, BlockRef, Posting},
};
use babel_proto::v1;
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::{
    DaLink,
    follower::{FOLLOW_EVERY, FollowError, Follower, Pass},
    with_rollups,
};
use crate::{
    metrics::Metrics,
    store::{DaRecord, Store, StoreError},
};

/// Heights a stand-in waits for the validator before it to post a block.
pub const STAND_IN_AFTER: u64 = 8;

/// How long the DA must have answered a stand-in before it posts for another.
pub const STAND_IN_GRACE: Duration = Duration::from_secs(10);

/// Most blob bytes in one submission: base64 in JSON makes 8 MiB of the celestia-node
/// client's 10 MiB request limit (a block larger than this is posted alone).
pub const MAX_SUBMIT_BYTES: usize = 6 * 1024 * 1024;

/// Most heights looked at for posting in one round.
const MAX_SCAN: u64 = 1024;

/// Set in a node's environment, this variable makes it abort (as a kill -9 would stop it)
/// right after its first successful submission, before recording it: the crash tests use it
/// to stop a node exactly between posting and recording.
pub const CRASH_AFTER_SUBMIT_ENV: &str = "BABEL_TEST_CRASH_AFTER_DA_SUBMIT";

/// Longest wait between failed submissions.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How long a block the DA refused waits before it is tried again.
const REFUSED_RETRY: Duration = Duration::from_secs(60);

/// Whether the node at `me` (index in the validator set) posts the block at `height`, whose
/// proposer is at `proposer`, now that `committed` is the committed height and the DA has
/// answered for `reachable_for`. `n` is the number of validators; `shared` says whether the
/// DA is shared.
pub fn posts(
    shared: bool,
    (me, proposer, n): (usize, usize, usize),
    height: u64,
    committed: u64,
    reachable_for: Duration,
) -> bool {
    if !shared || me == proposer {
        return true;
    }
    let n = n.max(1);
    // 1 for the validator after the proposer, 2 for the one after that, ...
    let rank = ((me + n - proposer % n) % n) as u64;
    reachable_for >= STAND_IN_GRACE
        && committed >= height.saturating_add(STAND_IN_AFTER.saturating_mul(rank))
}

/// Posts decided blocks.
#[derive(Debug)]
pub struct Poster {
    link: Arc<DaLink>,
    store: Arc<Store>,
    validators: ValidatorSet,
    me: Address,
    follower: Follower,
    metrics: Metrics,
    /// Blocks the DA refused, with when they may be tried again.
    refused: HashMap<u64, Instant>,
}

impl Poster {
    /// A poster for the validator `me`.
    pub fn new(
        link: Arc<DaLink>,
        store: Arc<Store>,
        validators: ValidatorSet,
        me: Address,
        metrics: Metrics,
    ) -> Self {
        let follower = Follower::new(link.clone(), store.clone(), metrics.clone());
        Self {
            link,
            store,
            validators,
            me,
            follower,
            metrics,
            refused: HashMap::new(),
        }
    }

    /// Follow and post until the store fails (fatal) or `stop` turns true. `committed` wakes
    /// the poster when a height commits.
    pub async fn run(
        mut self,
        mut committed: watch::Receiver<u64>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        let mut backoff = Duration::from_millis(250);
        let mut caught_up = false;
        loop {
            let mut failed = false;
            match self.follower.pass().await {
                Ok(Pass::CaughtUp) => caught_up = true,
                // Posting waits while the follower is behind: a post of ours may be among
                // what it has not read.
                Ok(Pass::Behind) => caught_up = false,
                Err(FollowError::Store(e)) => return Err(e),
                Err(FollowError::Da(e)) => {
                    warn!(error = %e, "cannot read the DA");
                    failed = true;
                }
            }
            if caught_up && !failed {
                match self.post_due().await {
                    Ok(()) => {}
                    Err(PostFailure::Store(e)) => return Err(e),
                    Err(PostFailure::Da(e)) => {
                        warn!(error = %e, retry_in = ?backoff, "cannot post to the DA");
                        failed = true;
                    }
                }
            }
            let through = self.store.advance_posted_through()?;
            let height = *committed.borrow();
            self.metrics.da_posted(through, height);
            let wait = if failed {
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            } else {
                backoff = Duration::from_millis(250);
                FOLLOW_EVERY
            };
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
                _ = committed.changed(), if !failed => {}
            }
        }
    }

    /// Post every block that is due, in submissions of at most [`MAX_SUBMIT_BYTES`].
    async fn post_due(&mut self) -> Result<(), PostFailure> {
        let committed = self.store.latest_height()?.unwrap_or(0);
        let from = self.store.da_posted_through()? + 1;
        let n = self.validators.validators().len();
        let me = self.index_of(&self.me);
        let reachable_for = self.link.reachable_for();
        let now = Instant::now();
        self.refused.retain(|_, until| *until > now);
        let mut batch: Vec<(u64, Posting)> = Vec::new();
        let mut bytes = 0;
        for height in from..=committed.min(from.saturating_add(MAX_SCAN)) {
            if self.refused.contains_key(&height) || self.store.da_location(height)?.is_some() {
                continue;
            }
            let (Some(block), Some(certificate)) =
                (self.store.block(height)?, self.store.certificate(height)?)
            else {
                continue;
            };
            let Some(header) = block.header.as_ref() else {
                continue;
            };
            let proposer = Address::from_slice(&header.proposer)
                .ok()
                .and_then(|a| self.index_of(&a))
                .unwrap_or(0);
            // A node outside the validator set posts only to its own DA.
            let me = match me {
                Some(me) => me,
                None if !self.link.shared() => proposer,
                None => continue,
            };
            if !posts(
                self.link.shared(),
                (me, proposer, n),
                height,
                committed,
                reachable_for,
            ) {
                continue;
            }
            let Some(posting) = self.posting(height, &block, &certificate) else {
                continue;
            };
            let size = posting.data_bytes();
            if !batch.is_empty() && bytes + size > MAX_SUBMIT_BYTES {
                self.submit(std::mem::take(&mut batch)).await?;
                bytes = 0;
            }
            bytes += size;
            batch.push((height, posting));
        }
        if !batch.is_empty() {
            self.submit(batch).await?;
        }
        Ok(())
    }

    fn index_of(&self, address: &Address) -> Option<usize> {
        self.validators
            .validators()
            .iter()
            .position(|v| &v.address == address)
    }

    /// The blobs of the committed `block` at `height`.
    fn posting(
        &self,
        height: u64,
        block: &v1::Block,
        certificate: &v1::CommitCertificate,
    ) -> Option<Posting> {
        let header = block.header.as_ref()?;
        let hash = babel_proto::block_hash(header);
        let txs = with_rollups(&block.txs, &self.link.registry);
        let block = BlockRef {
            header,
            certificate,
            last_certificate: block.last_certificate.as_ref(),
            block_hash: &hash,
            txs: &txs,
        };
        match layout::post_block(&self.link.chain_id, block, &self.link.namespaces()) {
            Ok(posting) => Some(posting),
            Err(e) => {
                // Only a bug or a store that lost a rollup's namespace gets here.
                error!(height, error = %e, "cannot lay a block out for the DA");
                self.metrics.da_failed("layout");
                None
            }
        }
    }

    /// Submit the blocks of `batch` in one DA block and record where they went. A submission
    /// the DA refuses is tried block by block; a block refused alone waits
    /// [`REFUSED_RETRY`].
    async fn submit(&mut self, batch: Vec<(u64, Posting)>) -> Result<(), PostFailure> {
        let blobs: Vec<Blob> = batch
            .iter()
            .flat_map(|(_, p)| p.blobs.iter().cloned())
            .collect();
        let bytes: usize = batch.iter().map(|(_, p)| p.data_bytes()).sum();
        let started = Instant::now();
        let result = self.link.da().submit(blobs).await;
        let down = is_down(&result);
        self.link.reached(!down);
        let da_height = match result {
            Ok(h) => h,
            Err(e) if down => {
                self.metrics.da_failed("unavailable");
                return Err(PostFailure::Da(e));
            }
            Err(e) => {
                self.metrics.da_failed("refused");
                if batch.len() > 1 {
                    warn!(error = %e, blocks = batch.len(), "the DA refused a submission; posting its blocks one by one");
                    for one in batch {
                        Box::pin(self.submit(vec![one])).await?;
                    }
                } else if let Some((height, _)) = batch.first() {
                    error!(height, error = %e, "the DA refused a block; trying again later");
                    self.refused.insert(*height, Instant::now() + REFUSED_RETRY);
                }
                return Ok(());
            }
        };
        self.metrics.da_submitted(bytes, started.elapsed());
        if std::env::var_os(CRASH_AFTER_SUBMIT_ENV).is_some() {
            error!(
                da_height,
                "{CRASH_AFTER_SUBMIT_ENV} is set: aborting before recording"
            );
            std::process::abort();
        }
        for (height, posting) in &batch {
            let Some(commitment) = posting.header_commitment() else {
                continue;
            };
            let record = DaRecord {
                da_height,
                commitment: commitment.hash().to_vec(),
            };
            self.store.record_posted(*height, &record)?;
        }
        info!(
            blocks = batch.len(),
            first = batch.first().map_or(0, |(h, _)| *h),
            da_height,
            bytes,
            "posted to the DA"
        );
        Ok(())
    }
}

/// Whether a failed DA call says the DA is down (rather than that it refused the request).
fn is_down<T>(result: &Result<T, DaError>) -> bool {
    matches!(result, Err(e) if e.is_transient() || matches!(e, DaError::Unauthorized))
}

/// Why posting stopped.
#[derive(Debug, thiserror::Error)]
enum PostFailure {
    #[error("DA: {0}")]
    Da(DaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proposer_posts_at_once_and_stand_ins_wait_their_turn() {
        let up = STAND_IN_GRACE;
        // Validator 1 proposed block 10 of a four-validator set.
        assert!(posts(true, (1, 1, 4), 10, 10, Duration::ZERO));
        assert!(!posts(true, (2, 1, 4), 10, 10 + STAND_IN_AFTER - 1, up));
        assert!(posts(true, (2, 1, 4), 10, 10 + STAND_IN_AFTER, up));
        assert!(!posts(true, (3, 1, 4), 10, 10 + STAND_IN_AFTER, up));
        assert!(posts(true, (3, 1, 4), 10, 10 + 2 * STAND_IN_AFTER, up));
        // The one before the proposer, in set order, comes last.
        assert!(!posts(true, (0, 1, 4), 10, 10 + 2 * STAND_IN_AFTER, up));
        assert!(posts(true, (0, 1, 4), 10, 10 + 3 * STAND_IN_AFTER, up));
    }

    #[test]
    fn a_stand_in_waits_until_the_da_has_answered_for_the_grace() {
        let late = 10 + 10 * STAND_IN_AFTER;
        assert!(!posts(true, (2, 1, 4), 10, late, STAND_IN_GRACE / 2));
        assert!(posts(true, (2, 1, 4), 10, late, STAND_IN_GRACE));
    }

    #[test]
    fn a_private_da_gets_every_block() {
        assert!(posts(false, (2, 1, 4), 10, 10, Duration::ZERO));
    }
}
