//! The node's [`Application`]: builds, checks and commits blocks over the RocksDB store.
//!
//! The proposer reaps the mempool, executes the transactions and puts the results root and
//! every rollup's state root in the header. A validator checks the link, chain id, proposer,
//! monotonic time, every transaction (admission rules, signatures in one batch, consecutive
//! nonces) and the transaction commitment, then re-executes the block and refuses it if any
//! root differs. Executions are kept by block hash until their height commits, so a block is
//! executed once per node in the common case; commit writes block, certificate, state changes,
//! receipts and tree nodes in one `WriteBatch`.

mod execute;

pub use execute::{
    Built, Executed, build, ensure_genesis_state, execute, load_registry, restore_kept,
};

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use babel_consensus::{
    Address, Application, BlockOrigin, ConsensusError, Height, Refusal, StoredProposals,
    TransactionsReady, ValidatorSet, Verdict,
};
use babel_execution::{
    Executor,
    state::{decode_nonce, nonce_key_sender},
};
use babel_proto::v1;
use bytes::Bytes;
use prost::Message as _;

use babel_genesis::Genesis;

use crate::{
    da::{DaLink, refs},
    health::{Health, now_ms},
    metrics::{Metrics, Phase},
    params::{MAX_BLOCK_GAS, MAX_CLOCK_DRIFT_MS, block_env},
    store::{CommitBatch, Store, StoreError},
    txpath::{
        SharedPool,
        admission::{self, CheckedTx},
        mempool::{Account, BlockLimits, PoolTx},
    },
};

/// Room left in a block for its header and framing.
const HEADER_MARGIN_BYTES: u64 = 64 * 1024;

/// Node state that consensus drives.
#[derive(Clone, Debug)]
pub struct NodeApp {
    store: Arc<Store>,
    genesis: Arc<Genesis>,
    chain_id: String,
    validators: ValidatorSet,
    /// The same validators, as the light-client verifier checks certificates against them.
    trusted: Arc<babel_settlement::ValidatorSet>,
    pool: SharedPool,
    committed: Option<tokio::sync::watch::Sender<u64>>,
    executor: Arc<Executor>,
    /// Executions of proposed blocks, by block hash, until their height commits.
    executed: Arc<Mutex<HashMap<[u8; 32], Arc<Executed>>>>,
    metrics: Metrics,
    health: Health,
    /// The DA layer shared with the other validators, whose posts headers reference.
    da: Option<Arc<DaLink>>,
}

impl NodeApp {
    /// An application over `store` for `genesis`, proposing from `pool`, executing with
    /// `executor`. Refused when `validators` do not make a set the light-client verifier
    /// accepts.
    pub fn new(
        store: Arc<Store>,
        genesis: Arc<Genesis>,
        validators: ValidatorSet,
        pool: SharedPool,
        executor: Arc<Executor>,
    ) -> Result<Self, babel_settlement::VerifyError> {
        Ok(Self {
            trusted: Arc::new(light_client_set(&genesis.chain_id, &validators)?),
            store,
            chain_id: genesis.chain_id.clone(),
            genesis,
            validators,
            pool,
            committed: None,
            executor,
            executed: Arc::default(),
            metrics: Metrics::new(),
            health: Health::new(Duration::MAX),
            da: None,
        })
    }

    /// Reference posts on `link` in proposed headers, and check the references of others'
    /// (only when the DA is shared: a node's own DA is no one else's to check).
    pub fn with_da(mut self, link: Arc<DaLink>) -> Self {
        self.da = Some(link);
        self
    }

    /// Report block phases and commits to `metrics`, and commits to `health`.
    pub fn observe(mut self, metrics: Metrics, health: Health) -> Self {
        self.metrics = metrics;
        self.health = health;
        self
    }

    /// Run `f` as block phase `phase` of `height`: in a tracing span of that name, timed.
    fn phase<T>(&self, phase: Phase, height: u64, f: impl FnOnce() -> T) -> T {
        let span = tracing::info_span!("block", phase = phase.as_str(), height);
        let _entered = span.enter();
        let start = Instant::now();
        let out = f();
        self.metrics.phase(phase, start.elapsed());
        out
    }

    fn executed_lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Arc<Executed>>> {
        self.executed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Execute a block (or reuse its execution) and remember the result by `block_hash`.
    fn execution(
        &self,
        block_hash: Option<[u8; 32]>,
        header: &v1::Header,
        txs: &[v1::SignedTransaction],
    ) -> Result<Arc<Executed>, ConsensusError> {
        if let Some(done) = block_hash.and_then(|h| self.executed_lock().get(&h).cloned()) {
            return Ok(done);
        }
        let executed = self
            .phase(Phase::Execute, header.height, || {
                execute(
                    &self.store,
                    &self.executor,
                    header.height,
                    header.time_ms,
                    txs,
                )
            })
            .map_err(|e| ConsensusError::Application(format!("execution: {e}")))?;
        self.metrics.phase(Phase::Tree, executed.tree_elapsed);
        Ok(Arc::new(executed))
    }

    fn remember(&self, block_hash: [u8; 32], executed: Arc<Executed>) {
        self.executed_lock().insert(block_hash, executed);
    }

    /// Check every transaction of a block: admission rules, signatures (one batch), and
    /// consecutive nonces per sender from the committed state. `Err` carries the reason.
    fn check_txs(
        &self,
        height: u64,
        txs: &[v1::SignedTransaction],
    ) -> Result<Result<(), String>, ConsensusError> {
        if txs.len() as u64 > self.genesis.consensus.max_block_txs {
            return Ok(Err(format!(
                "{} transactions, limit {}",
                txs.len(),
                self.genesis.consensus.max_block_txs
            )));
        }
        let mut checked = Vec::with_capacity(txs.len());
        let mut gas = 0u64;
        for (i, tx) in txs.iter().enumerate() {
            match admission::check(tx.clone(), &self.genesis, &self.executor) {
                Ok(c) => {
                    gas = gas.saturating_add(c.tx.gas_limit);
                    if gas > MAX_BLOCK_GAS {
                        return Ok(Err(format!(
                            "transactions ask for more than {MAX_BLOCK_GAS} gas"
                        )));
                    }
                    checked.push(c);
                }
                Err(r) => return Ok(Err(format!("transaction {i}: {r}"))),
            }
        }
        // A transaction in our mempool passed the same signature check on admission (ZIP-215
        // rules, which do not depend on the batch), and its hash covers body and signature,
        // so only the others need checking: every node reaches the same verdict.
        // Nor those an earlier validation checked (the same block again, or another round's
        // block with the same transactions).
        let unseen: Vec<usize> = {
            let pool = self.pool.lock();
            let verified = self.pool.verified();
            (0..checked.len())
                .filter(|&i| {
                    let hash = &checked[i].hash;
                    !pool.contains(hash) && verified.get(hash).is_none()
                })
                .collect()
        };
        let to_verify: Vec<&CheckedTx> = unseen.iter().map(|&i| &checked[i]).collect();
        let verdicts = if to_verify.is_empty() {
            Vec::new()
        } else {
            self.phase(Phase::Signatures, height, || {
                admission::verify_signatures(&to_verify)
            })
        };
        if let Some(k) = verdicts.iter().position(|ok| !ok) {
            return Ok(Err(format!("transaction {}: bad signature", unseen[k])));
        }
        // Every one checked out: admission need not check them again when peers forward them.
        // (An Ethereum transaction's signer was recovered while opening it, and is memoized
        // there.)
        self.pool.verified().extend(
            unseen
                .iter()
                .filter(|&&i| !checked[i].ethereum)
                .map(|&i| checked[i].hash),
            (),
        );
        let mut next: HashMap<Account, u64> = HashMap::new();
        for (i, c) in checked.iter().enumerate() {
            let account = (c.tx.rollup_id, c.sender());
            let expected = match next.get(&account) {
                Some(n) => *n,
                None => self.store.nonce(account.0, &account.1).map_err(app_err)?,
            };
            if c.tx.nonce != expected {
                return Ok(Err(format!(
                    "transaction {i}: nonce {} but next is {expected}",
                    c.tx.nonce
                )));
            }
            next.insert(account, expected + 1);
        }
        Ok(Ok(()))
    }

    /// Drop those of `txs` (pooled transactions) whose signer cannot pay the maximum fee on
    /// the committed state at `height`: no block may hold them. After a commit, every validator
    /// checks each touched sender's next transaction on the same state, so all of them drop
    /// the same ones (but for a transaction being admitted meanwhile, which the next proposer
    /// to meet it drops). Pool hygiene only: a failure is logged, never fatal.
    fn drop_unpayable(&self, height: u64, txs: &[([u8; 32], v1::SignedTransaction)]) {
        let env = block_env(height + 1, 0);
        let mut dropped = Vec::new();
        for (hash, signed) in txs {
            // Admission lets in only transactions that decode.
            let Ok(opened) = self.executor.open(signed) else {
                continue;
            };
            let tx = opened.tx;
            match self.executor.can_pay(&*self.store, &env, &tx) {
                Ok(true) => {}
                Ok(false) => dropped.push((
                    *hash,
                    format!(
                        "balance below the maximum fee (gas limit × gas price) after block {height}"
                    ),
                )),
                Err(e) => tracing::warn!(error = %e, "cannot check a pooled transaction's fee"),
            }
        }
        if dropped.is_empty() {
            return;
        }
        for (hash, why) in &dropped {
            tracing::info!(tx = %hex::encode(hash), reason = %why, "dropped from the mempool");
        }
        // The durable copy first: while the pool still holds it, a resubmission is a
        // duplicate and cannot write a pending record that this would then delete.
        let hashes: Vec<[u8; 32]> = dropped.iter().map(|(hash, _)| *hash).collect();
        if let Err(e) = self.store.delete_pending(&hashes) {
            // Left pooled: the next commit or proposal tries again.
            tracing::warn!(error = %e, "cannot drop unpayable transactions");
            return;
        }
        self.pool.lock().drop_invalid(&dropped);
    }

    /// Commit again, from their stored proposals, the decided heights whose writes a crash
    /// lost (see the store's `durable` module); run before consensus starts. Returns how many.
    pub fn replay_decided(&self) -> Result<usize, ConsensusError> {
        let committed = self.committed_height()?.0;
        let decided = self
            .store
            .decided_blocks_above(committed)
            .map_err(app_err)?;
        let count = decided.len();
        if count > 0 {
            tracing::info!(
                from = committed + 1,
                to = committed + count as u64,
                "replaying decided heights whose writes were not on disk"
            );
        }
        for (height, (block, certificate)) in (committed + 1..).zip(decided) {
            self.phase(Phase::Commit, height, || {
                self.commit_block(block, certificate, Progress::Replayed)
            })?;
        }
        Ok(count)
    }

    /// Publish every committed height on `tx` (the gRPC server's live tail follows it).
    pub fn notify_commits(mut self, tx: tokio::sync::watch::Sender<u64>) -> Self {
        self.committed = Some(tx);
        self
    }

    /// Header of the committed block at `height` (`None` for height 0).
    fn header_at(&self, height: u64) -> Result<Option<v1::Header>, ConsensusError> {
        if height == 0 {
            return Ok(None);
        }
        let block = self.store.block(height).map_err(app_err)?.ok_or_else(|| {
            ConsensusError::Application(format!("committed block {height} missing from store"))
        })?;
        Ok(block.header)
    }

    /// The certificate of `height - 1` this node collected (none at height 1): what a block it
    /// proposes at `height` carries, and once that block is decided, the one every node keeps.
    fn parent_certificate(
        &self,
        height: u64,
    ) -> Result<Option<v1::CommitCertificate>, ConsensusError> {
        let Some(parent) = height.checked_sub(1).filter(|h| *h > 0) else {
            return Ok(None);
        };
        let certificate = self.store.certificate(parent).map_err(app_err)?;
        certificate.map(Some).ok_or_else(|| {
            ConsensusError::Application(format!("certificate {parent} missing from store"))
        })
    }

    /// Build the block for `height` (see [`Application::build_block`]).
    fn propose(&self, height: Height, proposer: Address) -> Result<v1::Block, ConsensusError> {
        let (parent_hash, parent_time) = link(self.header_at(height.0.saturating_sub(1))?.as_ref());
        let last_certificate = self.parent_certificate(height.0)?;
        let store = &self.store;
        let max_bytes = self
            .genesis
            .consensus
            .max_block_bytes
            .saturating_sub(HEADER_MARGIN_BYTES)
            .saturating_sub(last_certificate.as_ref().map_or(0, |c| c.encoded_len()) as u64);
        let candidates: Vec<v1::SignedTransaction> = self
            .pool
            .lock()
            .reap(
                BlockLimits {
                    txs: usize::try_from(self.genesis.consensus.max_block_txs)
                        .unwrap_or(usize::MAX),
                    bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
                    gas: MAX_BLOCK_GAS,
                },
                // An account whose nonce cannot be read is skipped for this block.
                |(rollup, sender)| store.nonce(*rollup, sender).unwrap_or(u64::MAX),
            )
            .into_iter()
            .map(|t| t.tx)
            .collect();
        let time_ms = now_ms().max(parent_time.saturating_add(1));
        // Transactions that may not be in a block (a signer who can no longer pay, because an
        // earlier transaction of this block spent the balance) are left out in the same pass;
        // they stay pooled unless they cannot pay even on the committed state.
        let Built {
            txs,
            executed,
            left_out,
        } = self
            .phase(Phase::Execute, height.0, || {
                build(&self.store, &self.executor, height.0, time_ms, &candidates)
            })
            .map_err(|e| ConsensusError::Application(format!("execution: {e}")))?;
        self.metrics.phase(Phase::Tree, executed.tree_elapsed);
        self.drop_unpayable(height.0.saturating_sub(1), &left_out);
        let mut header = v1::Header {
            chain_id: self.chain_id.clone(),
            height: height.0,
            // The proposer's clock, kept strictly increasing so that time never goes backwards.
            time_ms,
            parent_hash: Bytes::copy_from_slice(&parent_hash),
            proposer: Bytes::copy_from_slice(&proposer.0),
            tx_root: Bytes::copy_from_slice(&babel_proto::tx_root(&txs)),
            tx_count: txs.len() as u64,
            last_certificate_hash: babel_proto::certificate_hash(last_certificate.as_ref()),
            da_refs: match &self.da {
                Some(link) if refs::worth_listing(link) => {
                    refs::choose(&self.store, height.0).map_err(app_err)?
                }
                _ => Vec::new(),
            },
            ..Default::default()
        };
        executed.fill(&mut header);
        self.remember(babel_proto::block_hash(&header), Arc::new(executed));
        Ok(v1::Block {
            header: Some(header),
            txs,
            last_certificate,
        })
    }

    /// Check a proposed or synced block (see [`Application::validate_block`]).
    fn validate(&self, block: &v1::Block, origin: BlockOrigin) -> Result<Verdict, ConsensusError> {
        let Some(h) = block.header.as_ref() else {
            return Ok(Verdict::invalid(Refusal::Malformed, "no header"));
        };
        if h.chain_id != self.chain_id {
            return Ok(Verdict::invalid(
                Refusal::Header,
                format!("chain id {:?}", h.chain_id),
            ));
        }
        let expected = self.committed_height()?.0 + 1;
        if h.height != expected {
            return Ok(Verdict::invalid(
                Refusal::Header,
                format!("height {} but next is {expected}", h.height),
            ));
        }
        let parent = self.header_at(h.height.saturating_sub(1))?;
        let (parent_hash, parent_time) = link(parent.as_ref());
        if h.parent_hash.as_ref() != parent_hash {
            return Ok(Verdict::invalid(
                Refusal::Header,
                "parent hash does not match the committed chain",
            ));
        }
        if h.time_ms <= parent_time {
            return Ok(Verdict::invalid(Refusal::Header, "time does not increase"));
        }
        // A time far ahead would force every later proposer to follow it; the vote may use
        // this node's clock (execution never does). A decided block needs no vote: whatever
        // this node's clock says, it is valid if the rest is.
        if origin == BlockOrigin::Proposal
            && h.time_ms > now_ms().saturating_add(MAX_CLOCK_DRIFT_MS)
        {
            return Ok(Verdict::invalid(
                Refusal::Clock,
                format!(
                    "time {} ms is more than {MAX_CLOCK_DRIFT_MS} ms ahead",
                    h.time_ms
                ),
            ));
        }
        let proposer = Address::from_slice(&h.proposer).ok();
        if proposer.is_none_or(|p| self.validators.get(&p).is_none()) {
            return Ok(Verdict::invalid(
                Refusal::Header,
                "proposer is not a validator",
            ));
        }
        if let Err(reason) = self.check_last_certificate(block, parent.as_ref()) {
            return Ok(Verdict::invalid(Refusal::Certificate, reason));
        }
        if let Err(reason) = self.check_txs(h.height, &block.txs)? {
            return Ok(Verdict::invalid(Refusal::Transactions, reason));
        }
        if !babel_proto::txs_match_header(h, &block.txs) {
            return Ok(Verdict::invalid(
                Refusal::TxRoot,
                "tx root or count mismatch",
            ));
        }
        // Like the clock, a decided block's references need no check of this node's: more
        // than 2/3 checked them.
        if origin == BlockOrigin::Proposal
            && let Err(reason) =
                refs::check(&self.store, self.da.as_ref(), h.height, &h.da_refs).map_err(app_err)?
        {
            return Ok(Verdict::invalid(Refusal::Header, reason));
        }
        let block_hash = babel_proto::block_hash(h);
        let executed = self.execution(Some(block_hash), h, &block.txs)?;
        if let Some((i, why)) = executed.invalid.first() {
            return Ok(Verdict::invalid(
                Refusal::Transactions,
                format!("transaction {i}: {why}"),
            ));
        }
        if let Some(reason) = executed.mismatch(h) {
            return Ok(Verdict::invalid(Refusal::Execution, reason));
        }
        self.remember(block_hash, executed);
        Ok(Verdict::valid())
    }

    /// Whether `block` carries a certificate of `parent` (none at height 1) that its header
    /// commits to and more than 2/3 of the validators' power signed. Any such certificate
    /// will do: the one the decided block carries is the one every node keeps.
    fn check_last_certificate(
        &self,
        block: &v1::Block,
        parent: Option<&v1::Header>,
    ) -> Result<(), String> {
        let carried = block.last_certificate.as_ref();
        let committed = block
            .header
            .as_ref()
            .map(|h| &h.last_certificate_hash)
            .ok_or("no header")?;
        if *committed != babel_proto::certificate_hash(carried) {
            return Err("the header does not commit to the block's last certificate".into());
        }
        match (carried, parent) {
            (None, None) => Ok(()),
            (Some(_), None) => Err("a certificate at height 1".into()),
            (None, Some(_)) => Err("no certificate of the parent".into()),
            (Some(certificate), Some(parent)) => {
                babel_settlement::verify_commit(&self.trusted, parent, certificate)
                    .map(|_| ())
                    .map_err(|e| format!("the parent's certificate: {e}"))
            }
        }
    }

    /// Commit a decided block (see [`Application::commit`]).
    fn commit_block(
        &self,
        block: v1::Block,
        certificate: v1::CommitCertificate,
        progress: Progress,
    ) -> Result<(), ConsensusError> {
        let header = block
            .header
            .as_ref()
            .ok_or_else(|| ConsensusError::Application("block without header".into()))?;
        let block_hash = babel_proto::block_hash(header);
        let tx_hashes: Vec<[u8; 32]> = block.txs.iter().map(babel_proto::tx_hash).collect();
        let executed = if header.height <= self.committed_height()?.0 {
            // A replay of a committed height: the store checks it is the same block.
            None
        } else {
            // The execution is taken out of the cache (it is done with after this commit),
            // so that its changes, receipts and tree nodes move into the batch uncopied.
            let cached = self.executed_lock().remove(&block_hash);
            let executed = match cached {
                Some(executed) => executed,
                None => self.execution(None, header, &block.txs)?,
            };
            if let Some(reason) = executed.mismatch(header) {
                // A decided block that this node executes differently: never commit a
                // divergent state.
                return Err(ConsensusError::Application(format!(
                    "decided block {} does not re-execute: {reason}",
                    header.height
                )));
            }
            Some(Arc::unwrap_or_clone(executed))
        };
        // The senders' new nonces, read off the state changes; the mempool drops what they
        // make stale. (A replayed height changes nothing: its evictions happened already.)
        let mut nonces: Vec<(Account, u64)> = Vec::new();
        for ((rollup, key), value) in executed.iter().flat_map(|e| &e.changes) {
            if let Some(sender) = nonce_key_sender(key) {
                let next = decode_nonce(value.as_deref())
                    .map_err(|e| ConsensusError::Application(format!("committed nonce: {e}")))?;
                nonces.push(((*rollup, sender), next));
            }
        }
        // What the block did, for metrics and health (a replayed height reports nothing).
        let fresh = executed.as_ref().map(|e| {
            let gas: u64 = e.receipts.iter().map(|r| r.gas_used).sum();
            (header.time_ms, gas)
        });
        if let Some(e) = &executed {
            // The block is decided: adapters keep what derives from its changes.
            self.executor.committed(&e.changes);
        }
        let (receipts, state, trees) = executed.map(Executed::into_parts).unwrap_or_default();
        // A peer's forwards were never written to the pending set: no deletes for them.
        let pending = {
            let pool = self.pool.lock();
            tx_hashes.iter().map(|h| pool.maybe_pending(h)).collect()
        };
        let batch = CommitBatch {
            block,
            block_hash,
            certificate,
            receipts: tx_hashes.iter().copied().zip(receipts).collect(),
            tx_hashes,
            pending,
            state,
            trees,
        };
        let write = Instant::now();
        self.store.commit(&batch).map_err(app_err)?;
        self.metrics.store_write(write.elapsed());
        let evicted = self.pool.lock().evict_committed(&nonces);
        self.store
            .delete_pending(&left_pending(&batch, &evicted))
            .map_err(app_err)?;
        let height = batch.block.header.as_ref().map_or(0, |h| h.height);
        let heads: Vec<([u8; 32], v1::SignedTransaction)> = {
            let pool = self.pool.lock();
            nonces
                .iter()
                // On a free rollup every signer can pay.
                .filter(|((rollup, _), _)| self.executor.charges_fees(*rollup))
                .filter_map(|(account, next)| pool.get(account, *next))
                .map(|t| (t.hash, t.tx.clone()))
                .collect()
        };
        self.drop_unpayable(height, &heads);
        self.executed_lock().retain(|_, e| e.height > height);
        match self.store.memory() {
            Ok(m) => self
                .metrics
                .store_memory(m.memtables, m.table_readers, m.block_cache),
            Err(e) => tracing::debug!(error = %e, "cannot read the store's memory use"),
        }
        match (fresh, progress) {
            (Some((time_ms, gas)), Progress::Decided) => {
                self.metrics
                    .committed(height, time_ms, batch.tx_hashes.len(), gas);
                self.health.committed(height, time_ms);
            }
            // Restored, not decided by this process: readiness still waits for consensus.
            (Some((time_ms, _)), Progress::Replayed) => self.metrics.restored(height, time_ms),
            (None, _) => {}
        }
        if let Some(tx) = &self.committed {
            tx.send_replace(height);
        }
        Ok(())
    }
}

/// What of `evicted` (the pool's evictions after committing `batch`) is still in the pending
/// set: what the commit deleted went with it; the rest of what is on disk leaves it now. That
/// is transactions replaced by another with the same nonce, and any included one that a
/// client's submission wrote there after the commit looked.
fn left_pending(batch: &CommitBatch, evicted: &[PoolTx]) -> Vec<[u8; 32]> {
    let deleted: std::collections::HashSet<&[u8; 32]> = batch
        .tx_hashes
        .iter()
        .enumerate()
        .filter_map(|(i, hash)| batch.deletes_pending(i).then_some(hash))
        .collect();
    evicted
        .iter()
        .filter(|t| t.durable && !deleted.contains(&t.hash))
        .map(|t| t.hash)
        .collect()
}

/// Whether a commit is consensus moving on or the replay of a height decided before a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    Decided,
    Replayed,
}

/// `validators`, as the light-client verifier checks certificates of `chain_id` against them.
pub fn light_client_set(
    chain_id: &str,
    validators: &ValidatorSet,
) -> Result<babel_settlement::ValidatorSet, babel_settlement::VerifyError> {
    babel_settlement::ValidatorSet::new(
        chain_id,
        validators
            .validators()
            .iter()
            .map(|v| babel_settlement::Validator {
                public_key: *v.public_key.as_bytes(),
                power: v.voting_power,
            }),
    )
}

/// The hash and time of `parent` (32 zero bytes and 0 before height 1).
fn link(parent: Option<&v1::Header>) -> ([u8; 32], u64) {
    parent.map_or(([0; 32], 0), |h| (babel_proto::block_hash(h), h.time_ms))
}

fn app_err(e: StoreError) -> ConsensusError {
    ConsensusError::Application(e.to_string())
}

impl Application for NodeApp {
    fn committed_height(&self) -> Result<Height, ConsensusError> {
        Ok(Height(
            self.store.latest_height().map_err(app_err)?.unwrap_or(0),
        ))
    }

    fn build_block(
        &mut self,
        height: Height,
        proposer: Address,
    ) -> Result<v1::Block, ConsensusError> {
        self.phase(Phase::Build, height.0, || self.propose(height, proposer))
    }

    fn transactions_ready(&self) -> TransactionsReady {
        self.pool.ready()
    }

    fn validate_block(
        &mut self,
        block: &v1::Block,
        origin: BlockOrigin,
    ) -> Result<Verdict, ConsensusError> {
        let height = block.header.as_ref().map_or(0, |h| h.height);
        self.phase(Phase::Validate, height, || self.validate(block, origin))
    }

    fn store_proposal(
        &mut self,
        height: Height,
        round: u32,
        block_hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<(), ConsensusError> {
        self.store
            .put_proposal(height.0, round, block_hash, bytes)
            .map_err(app_err)
    }

    fn proposals(&self, height: Height, round: u32) -> Result<StoredProposals, ConsensusError> {
        self.store.proposals_at(height.0, round).map_err(app_err)
    }

    fn proposal_by_hash(
        &self,
        height: Height,
        block_hash: [u8; 32],
    ) -> Result<Option<Vec<u8>>, ConsensusError> {
        self.store
            .proposal_by_hash(height.0, &block_hash)
            .map_err(app_err)
    }

    fn commit(
        &mut self,
        block: v1::Block,
        certificate: v1::CommitCertificate,
    ) -> Result<(), ConsensusError> {
        let height = block.header.as_ref().map_or(0, |h| h.height);
        self.phase(Phase::Commit, height, || {
            self.commit_block(block, certificate, Progress::Decided)
        })
    }

    fn decided(
        &self,
        height: Height,
    ) -> Result<Option<(v1::Block, v1::CommitCertificate)>, ConsensusError> {
        let block = self.store.block(height.0).map_err(app_err)?;
        let cert = self.store.certificate(height.0).map_err(app_err)?;
        Ok(block.zip(cert))
    }
}

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod registry;
#[cfg(test)]
mod tests;
