//! `babel replay`: rebuild every rollup's state from the DA layer alone.
//!
//! It reads the chain's sequencer namespace DA height by DA height. Every header blob whose
//! commit certificate holds against the genesis validators is a decided block; blocks are taken
//! in height order (a block posted late, by a stand-in, waits in a bounded window), their
//! transactions read back from the rollup blobs the header lists and checked against the
//! header's transaction root, executed over the state rebuilt so far, and every state root the
//! header carries compared with the re-execution. A mismatch names the block and the root.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use babel_da::{
    Commitment,
    layout::{self, HeaderBlob},
};
use babel_genesis::Genesis;
use babel_proto::v1;
use tracing::{info, warn};

use crate::{
    app::{ensure_genesis_state, execute, load_registry},
    da::{DaLink, verify},
    params::{Code, executor_with},
    store::{CommitBatch, Store},
};

/// Most blocks read ahead of the next one to replay (posted out of order).
const WINDOW: u64 = 4096;

/// Most certified posts of one block kept while none of them has assembled.
const MAX_CANDIDATES: usize = 8;

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// What to replay.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// First DA height to read.
    pub from_da_height: u64,
    /// Stop after this block height (`None`: at the DA head).
    pub to: Option<u64>,
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// The last block replayed (0: none).
    pub height: u64,
    /// Its aggregate state root, as re-executed (and as its header says).
    pub state_root: [u8; 32],
    /// Transactions replayed.
    pub txs: u64,
    /// DA heights read.
    pub da_heights: u64,
}

/// `babel replay`: replay the chain of the genesis file from the DA at `url` into the store
/// at `data` (a temporary one when `None`).
pub async fn run(
    url: &str,
    token: Option<&str>,
    genesis: &std::path::Path,
    data: Option<&std::path::Path>,
    options: &ReplayOptions,
) -> anyhow::Result<Replayed> {
    let genesis = Genesis::load(genesis)?;
    let da = babel_da::celestia::CelestiaDa::new(url, token).await?;
    let link = DaLink::new(Arc::new(da), true, &genesis)?;
    let temp;
    let dir = match data {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir().context("creating a temporary store")?;
            temp.path()
        }
    };
    let store = Store::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    store.check_genesis(genesis.hash())?;
    replay(&link, &genesis, &store, options).await
}

/// Replay the chain of `genesis` from `link` into `store` (a fresh or earlier replay's store).
pub async fn replay(
    link: &DaLink,
    genesis: &Genesis,
    store: &Store,
    options: &ReplayOptions,
) -> anyhow::Result<Replayed> {
    // The executor and the DA reads follow one registry, which the replayed blocks update.
    let registry = link.registry().clone();
    let executor = Arc::new(
        executor_with(genesis, Code::Memory, |adapter| adapter, registry)
            .context("building the executors")?,
    );
    ensure_genesis_state(store, &executor, genesis)?;
    load_registry(store, &executor)?;
    let mut done = Replayed {
        height: store.latest_height()?.unwrap_or(0),
        ..Replayed::default()
    };
    let head = link.da().head().await.context("reading the DA head")?;
    info!(
        da_head = head,
        from_block = done.height + 1,
        "replaying from the DA"
    );
    // Certified posts of blocks not replayed yet: block height → (DA height, commitment) of
    // each. A certificate does not cover the blob list, so anyone can post a certified header
    // blob listing the wrong blobs: every candidate is kept (up to a few) until one assembles.
    let mut pending: BTreeMap<u64, Vec<(u64, Commitment)>> = BTreeMap::new();
    let started = Instant::now();
    let mut reported = Instant::now();
    for da_height in options.from_da_height.max(1)..=head {
        if options.to.is_some_and(|to| done.height >= to) {
            break;
        }
        done.da_heights += 1;
        let blobs = link
            .da()
            .get_all(da_height, &[link.namespaces().sequencer])
            .await
            .with_context(|| format!("reading DA height {da_height}"))?;
        for blob in &blobs {
            let Ok(header_blob) = layout::read_header(blob) else {
                continue;
            };
            let Ok((header, _, _)) = verify::header_of(link, &header_blob) else {
                continue;
            };
            let height = header.height;
            let candidates = pending.entry(height).or_default();
            if height <= done.height
                || height > done.height + WINDOW
                || candidates.len() >= MAX_CANDIDATES
                || !verify::certified(link, &header_blob).await
            {
                continue;
            }
            candidates.push((da_height, header_blob.commitment));
        }
        pending.retain(|height, c| *height > done.height && !c.is_empty());
        while let Some(candidates) = pending.remove(&(done.height + 1)) {
            if options.to.is_some_and(|to| done.height >= to) {
                break;
            }
            let Some((da_at, blob, txs)) = first_valid(link, done.height + 1, candidates).await?
            else {
                break;
            };
            apply(store, &executor, (da_at, &blob), &txs, &mut done)?;
        }
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            info!(
                da_height,
                da_head = head,
                block = done.height,
                txs = done.txs,
                blocks_per_s = format!("{:.1}", done.height as f64 / secs),
                "replaying"
            );
        }
    }
    if let Some(to) = options.to
        && done.height < to
    {
        bail!(
            "the DA holds valid posts of blocks only through {} (asked for {to})",
            done.height
        );
    }
    if let Some(later) = pending.keys().next() {
        bail!(
            "block {} has no valid post on the DA, though block {later} has",
            done.height + 1
        );
    }
    Ok(done)
}

/// The first of `candidates` (posts of the block at `height`) whose blobs assemble.
async fn first_valid(
    link: &DaLink,
    height: u64,
    candidates: Vec<(u64, Commitment)>,
) -> anyhow::Result<Option<(u64, HeaderBlob, Vec<v1::SignedTransaction>)>> {
    for (da_height, commitment) in candidates {
        let Some(blob) = link
            .da()
            .get(da_height, link.namespaces().sequencer, commitment)
            .await
            .with_context(|| format!("reading DA height {da_height}"))?
        else {
            continue;
        };
        let Ok(blob) = layout::read_header(&blob) else {
            continue;
        };
        match verify::block_txs(link, da_height, &blob).await {
            Ok(txs) => return Ok(Some((da_height, blob, txs))),
            Err(verify::PostError::Da(e)) => {
                return Err(anyhow::Error::from(e).context(format!("reading block {height}")));
            }
            Err(verify::PostError::Invalid(why)) => {
                warn!(height, da_height, %why, "skipping an invalid post");
            }
        }
    }
    Ok(None)
}

/// Execute one block and commit it to the replay's store, if every root matches its header.
fn apply(
    store: &Store,
    executor: &babel_execution::Executor,
    (da_height, blob): (u64, &HeaderBlob),
    txs: &[v1::SignedTransaction],
    done: &mut Replayed,
) -> anyhow::Result<()> {
    let (Some(header), Some(certificate)) = (&blob.message.header, &blob.message.certificate)
    else {
        bail!("a header blob without header or certificate");
    };
    let height = header.height;
    let parent = store.block_hash_at(height - 1)?.unwrap_or([0; 32]);
    if header.parent_hash.as_ref() != parent {
        bail!(
            "block {height}: parent hash does not match block {}",
            height - 1
        );
    }
    let executed = execute(store, executor, height, header.time_ms, txs)
        .with_context(|| format!("executing block {height}"))?;
    if let Some((i, why)) = executed.invalid.first() {
        bail!("block {height}: transaction {i} is invalid on replay: {why}");
    }
    if let Some(why) = executed.mismatch(header) {
        bail!("block {height} (DA height {da_height}): {why}");
    }
    let state_root = executed.state_root;
    // Adapters keep what derives from committed state, and rollups it registers run next.
    executor.committed(&executed.changes);
    let tx_hashes: Vec<[u8; 32]> = txs.iter().map(babel_proto::tx_hash).collect();
    let (receipts, state, trees) = executed.into_parts();
    store.commit_replayed(&CommitBatch {
        block: v1::Block {
            header: Some(header.clone()),
            txs: txs.to_vec(),
            // The DA read checked that the header commits to it.
            last_certificate: blob.message.last_certificate.clone(),
        },
        block_hash: babel_proto::block_hash(header),
        certificate: certificate.clone(),
        receipts: tx_hashes.iter().copied().zip(receipts).collect(),
        tx_hashes,
        pending: Vec::new(),
        state,
        trees,
    })?;
    done.height = height;
    done.state_root = state_root;
    done.txs += txs.len() as u64;
    Ok(())
}
