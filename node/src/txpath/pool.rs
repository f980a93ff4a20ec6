//! Submission: admission checks, batched signatures, nonces against the store, the mempool,
//! and the mempool's on-disk copy.
//!
//! A transaction is acknowledged only after it is in the mempool *and* in the store's pending
//! set, so an acknowledged transaction survives the node being killed: on start-up
//! [`TxPool::restore`] re-admits every pending transaction that is still valid.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

use babel_consensus::{TransactionsReady, ready_when};
use babel_execution::{Executor, memo::TxMemo};
use babel_genesis::Genesis;
use babel_proto::v1::{self, RejectReason};
use tokio::sync::Notify;
use tracing::info;

use crate::{
    metrics::{Metrics, Phase},
    params::{MAX_TX_GAS, block_env},
    store::{Store, StoreError},
    txpath::{
        admission::{self, CheckedTx, Rejection},
        mempool::{Mempool, PoolError, PoolTx},
        sigverify::SigVerifier,
    },
};

/// Native signatures that checked out in a block's validation, remembered so that admission
/// does not check them again when a peer forwards the same transactions later. At most this
/// many (about 50 bytes each).
const VERIFIED_MEMO: usize = 1 << 17;

/// The mempool shared by the gRPC server (submissions) and the application (blocks), with
/// the memo of signatures that block validation checked.
#[derive(Clone, Debug)]
pub struct SharedPool {
    pool: Arc<Mutex<Mempool>>,
    verified: Arc<TxMemo<()>>,
    /// Signalled whenever admission adds transactions (one stored wake-up at most).
    arrivals: Arc<Notify>,
}

impl SharedPool {
    /// Share `pool`.
    pub fn new(pool: Mempool) -> Self {
        Self {
            pool: Arc::new(Mutex::new(pool)),
            verified: Arc::new(TxMemo::new(VERIFIED_MEMO)),
            arrivals: Arc::new(Notify::new()),
        }
    }

    /// Resolves once the pool holds a transaction a block could take: at once if it does
    /// already, else after an admission adds one.
    pub fn ready(&self) -> TransactionsReady {
        let pool = self.clone();
        ready_when(self.arrivals.clone(), move || pool.lock().has_ready())
    }

    /// Lock the pool (a poisoned lock is recovered: the pool has no invariants a panic
    /// elsewhere could have broken half-way).
    pub fn lock(&self) -> MutexGuard<'_, Mempool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hashes of transactions whose signature a block validation found good. A hash covers
    /// body and signature, and the check (ZIP-215) does not depend on the batch, so a
    /// remembered verdict is the one checking again would give.
    pub fn verified(&self) -> &TxMemo<()> {
        &self.verified
    }
}

impl From<PoolError> for Rejection {
    fn from(e: PoolError) -> Self {
        let reason = match e {
            PoolError::Duplicate => RejectReason::Duplicate,
            PoolError::NonceTooLow { .. } => RejectReason::NonceTooLow,
            PoolError::NonceTooHigh { .. } => RejectReason::NonceTooHigh,
            PoolError::Full => RejectReason::MempoolFull,
        };
        Rejection::new(reason, e.to_string())
    }
}

fn storage(e: StoreError) -> Rejection {
    Rejection::new(RejectReason::Unspecified, format!("storage: {e}"))
}

/// The mempool entry for a checked transaction (`durable`: see [`PoolTx::durable`]).
pub fn pool_tx(c: &CheckedTx, durable: bool) -> PoolTx {
    PoolTx {
        hash: c.hash,
        account: (c.tx.rollup_id, c.sender()),
        nonce: c.tx.nonce,
        size: c.size,
        gas: c.tx.gas_limit.min(MAX_TX_GAS),
        tx: c.signed.clone(),
        durable,
    }
}

/// Who handed the node a submission, which decides what admitting it must make durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client, who is answered: what is accepted is written to the store's pending set
    /// first, so an acknowledged transaction survives this node being killed.
    Client,
    /// A peer forwarding what it accepted from a client, before it answers that client: kept
    /// in memory only. The peer holds it on disk; writing every forward on every validator
    /// (and deleting it again at its commit) would only repeat that.
    Peer,
}

/// Result of admitting one transaction: its hash, or why it was refused.
pub type Admission = Result<[u8; 32], Rejection>;

/// The admission pipeline in front of the mempool.
#[derive(Clone, Debug)]
pub struct TxPool {
    pool: SharedPool,
    store: Arc<Store>,
    genesis: Arc<Genesis>,
    executor: Arc<Executor>,
    verifier: SigVerifier,
    metrics: Metrics,
}

impl TxPool {
    /// A pipeline admitting into `pool`, checking against `store` and `genesis`.
    pub fn new(
        pool: SharedPool,
        store: Arc<Store>,
        genesis: Arc<Genesis>,
        executor: Arc<Executor>,
        verifier: SigVerifier,
    ) -> Self {
        Self {
            pool,
            store,
            genesis,
            executor,
            verifier,
            metrics: Metrics::new(),
        }
    }

    /// Count admission results into `metrics`.
    pub fn observe(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The executor whose adapters check payloads.
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    /// The mempool behind the pipeline.
    pub fn pool(&self) -> &SharedPool {
        &self.pool
    }

    /// Admit `txs` from `origin`, returning one result per transaction in order. Signatures
    /// of the whole submission (and of any submitted concurrently) are checked in one batch.
    pub async fn submit(&self, txs: Vec<v1::SignedTransaction>, origin: Origin) -> Vec<Admission> {
        let results = self.admit_all(txs, origin).await;
        for r in &results {
            self.metrics
                .admission(r.as_ref().map(|_| ()).map_err(|e| e.reason));
        }
        results
    }

    async fn admit_all(&self, txs: Vec<v1::SignedTransaction>, origin: Origin) -> Vec<Admission> {
        // Admission's own time, the wait for the signature verifier excluded.
        let start = Instant::now();
        let mut results: Vec<Option<Admission>> = vec![None; txs.len()];
        let mut candidates = Vec::with_capacity(txs.len());
        // Shed load before the expensive checks: what cannot fit is refused at once.
        let room = self.pool.lock().room();
        for (i, signed) in txs.into_iter().enumerate() {
            if i >= room {
                results[i] = Some(Err(PoolError::Full.into()));
                continue;
            }
            match self.stateless(signed) {
                Ok(c) => candidates.push((i, c)),
                Err(r) => results[i] = Some(Err(r)),
            }
        }
        // Those a block's validation has checked already (a peer's forward that arrives after
        // the proposal holding it) are not checked again.
        let (mut good, unseen): (Vec<_>, Vec<_>) = {
            let memo = self.pool.verified();
            candidates
                .into_iter()
                .partition(|(_, c)| memo.get(&c.hash).is_some())
        };
        let (slots, checked): (Vec<usize>, Vec<CheckedTx>) = unseen.into_iter().unzip();
        let mut busy = start.elapsed();
        let (checked, verdicts) = match self.verifier.verify(checked).await {
            Ok(v) => v,
            Err(e) => {
                let refused = Rejection::new(RejectReason::Unspecified, e.to_string());
                return results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err(refused.clone())))
                    .collect();
            }
        };
        let start = Instant::now();
        for ((slot, c), ok) in slots.into_iter().zip(checked).zip(verdicts) {
            if ok {
                good.push((slot, c));
            } else {
                results[slot] = Some(Err(Rejection::new(
                    RejectReason::BadSignature,
                    "signature does not verify",
                )));
            }
        }
        // In submission order, so that a sender's nonces go into the pool in order.
        good.sort_unstable_by_key(|(slot, _)| *slot);
        for (slot, outcome) in self.admit(good, origin) {
            results[slot] = Some(outcome);
        }
        busy += start.elapsed();
        self.metrics.phase(Phase::Admission, busy);
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Rejection::new(RejectReason::Unspecified, "lost"))))
            .collect()
    }

    /// Stateless checks plus "not already committed".
    fn stateless(&self, signed: v1::SignedTransaction) -> Result<CheckedTx, Rejection> {
        let checked = admission::check(signed, &self.genesis, &self.executor)?;
        if self
            .store
            .tx_location(&checked.hash)
            .map_err(storage)?
            .is_some()
        {
            return Err(Rejection::new(
                RejectReason::Duplicate,
                "transaction already included",
            ));
        }
        Ok(checked)
    }

    /// Nonce checks and insertion, then (for a client's) the on-disk copy of what went in.
    fn admit<T: Copy>(&self, txs: Vec<(T, CheckedTx)>, origin: Origin) -> Vec<(T, Admission)> {
        let durable = origin == Origin::Client;
        // Whether the signer can pay the maximum fee now.
        let env = block_env(0, 0);
        let pays: Vec<Result<bool, Rejection>> = txs
            .iter()
            .map(|(_, c)| {
                self.executor
                    .can_pay(&*self.store, &env, &c.tx)
                    .map_err(|e| Rejection::new(RejectReason::Unspecified, format!("state: {e}")))
            })
            .collect();
        let mut out = Vec::with_capacity(txs.len());
        // What goes into the pending set: the client's new transactions, and those a peer
        // forwarded earlier that a client now submits here too (still answered as duplicates,
        // but from now on this node holds them on disk as well).
        let mut admitted = Vec::new();
        let (mut fresh, mut promoted) = (Vec::new(), Vec::new());
        // The pool stays locked until the pending set is written: a commit reads which of its
        // transactions are on disk, writes the store, then evicts, so that whatever it sees
        // (or does not see) here is also what it deletes, and a transaction whose nonce a
        // commit has spent is never written back.
        let mut pool = self.pool.lock();
        for ((slot, c), pays) in txs.iter().zip(pays) {
            // Read under the pool lock: a commit writes the store before it evicts from
            // the pool, so a nonce read here is never older than the pool's view.
            let nonce = self.store.nonce(c.tx.rollup_id, &c.sender());
            let outcome = nonce
                .map_err(storage)
                .and_then(|n| pays.map(|p| (n, p)))
                .and_then(|(n, pays)| {
                    if !pays {
                        return Err(Rejection::new(
                            RejectReason::FeeTooLow,
                            "balance below the maximum fee (gas limit × gas price)",
                        ));
                    }
                    match pool.insert(pool_tx(c, durable), n) {
                        // Not once a commit has spent its nonce: it is about to be evicted.
                        Err(PoolError::Duplicate)
                            if durable && c.tx.nonce >= n && pool.set_durable(&c.hash, true) =>
                        {
                            promoted.push((c.hash, out.len()));
                            admitted.push((c.hash, &c.signed));
                            Err(PoolError::Duplicate.into())
                        }
                        other => other.map_err(Rejection::from),
                    }
                });
            if durable && outcome.is_ok() {
                fresh.push(c.hash);
                admitted.push((c.hash, &c.signed));
            }
            out.push((*slot, outcome.map(|()| c.hash)));
        }
        if let Err(e) = self.store.put_pending(&admitted) {
            // Not durable, so not acknowledged: take them back out and refuse them, and
            // answer the promoted ones with the storage error too (a duplicate may be read as
            // accepted).
            pool.remove(&fresh);
            let refused = storage(e);
            for (hash, at) in &promoted {
                pool.set_durable(hash, false);
                out[*at].1 = Err(refused.clone());
            }
            for (_, outcome) in &mut out {
                if outcome.is_ok() {
                    *outcome = Err(refused.clone());
                }
            }
        }
        drop(pool);
        if out.iter().any(|(_, outcome)| outcome.is_ok()) {
            self.pool.arrivals.notify_one();
        }
        out
    }

    /// Re-admit the transactions remembered in the store (after a restart). Those no longer
    /// valid (committed meanwhile, stale nonce, pool full) are forgotten. Returns how many
    /// were restored and how many dropped.
    pub async fn restore(&self) -> Result<(usize, usize), StoreError> {
        let pending = self.store.pending()?;
        if pending.is_empty() {
            return Ok((0, 0));
        }
        let mut dropped = Vec::new();
        let mut checked = Vec::new();
        for (hash, tx) in pending {
            match tx.map(|t| self.stateless(t)) {
                Some(Ok(c)) if c.hash == hash => checked.push(c),
                _ => dropped.push(hash),
            }
        }
        // Lower nonces first so that each account's run is admitted in order.
        checked.sort_by_key(|c| (c.tx.rollup_id, c.sender(), c.tx.nonce));
        let good = match self.verifier.verify(checked).await {
            Ok((txs, ok)) => txs
                .into_iter()
                .zip(ok)
                .filter_map(|(c, ok)| {
                    if !ok {
                        dropped.push(c.hash);
                    }
                    ok.then_some(((), c))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut restored = 0;
        let hashes: Vec<[u8; 32]> = good.iter().map(|(_, c)| c.hash).collect();
        // Already in the pending set, and still to be kept there.
        for (hash, (_, outcome)) in hashes.into_iter().zip(self.admit(good, Origin::Client)) {
            match outcome {
                Ok(_) => restored += 1,
                Err(_) => dropped.push(hash),
            }
        }
        self.store.delete_pending(&dropped)?;
        info!(
            restored,
            dropped = dropped.len(),
            "mempool restored from the store"
        );
        Ok((restored, dropped.len()))
    }
}
