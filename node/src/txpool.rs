//! Submission: admission checks, signature, nonce against the store, then the mempool.

use std::sync::{Arc, Mutex, MutexGuard};

use babel_genesis::Genesis;
use babel_proto::v1::{self, RejectReason};

use crate::{
    admission::{self, CheckedTx, Rejection},
    mempool::{Mempool, PoolError, PoolTx},
    store::Store,
};

/// The mempool shared by the gRPC server (submissions) and the application (blocks).
#[derive(Clone, Debug)]
pub struct SharedPool(Arc<Mutex<Mempool>>);

impl SharedPool {
    /// Share `pool`.
    pub fn new(pool: Mempool) -> Self {
        Self(Arc::new(Mutex::new(pool)))
    }

    /// Lock the pool (a poisoned lock is recovered: the pool has no invariants a panic
    /// elsewhere could have broken half-way).
    pub fn lock(&self) -> MutexGuard<'_, Mempool> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
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

/// The mempool entry for a checked transaction.
pub fn pool_tx(c: &CheckedTx) -> PoolTx {
    PoolTx {
        hash: c.hash,
        account: (c.tx.rollup_id, c.sender()),
        nonce: c.tx.nonce,
        size: c.size,
        tx: c.signed.clone(),
    }
}

/// Admit one signed transaction; returns its hash.
pub fn submit(
    pool: &SharedPool,
    store: &Store,
    genesis: &Genesis,
    signed: v1::SignedTransaction,
) -> Result<[u8; 32], Rejection> {
    let checked = admission::check(signed, genesis)?;
    if store.tx_location(&checked.hash).ok().flatten().is_some() {
        return Err(Rejection::new(
            RejectReason::Duplicate,
            "transaction already included",
        ));
    }
    if admission::verify_signatures(std::slice::from_ref(&checked)) != [true] {
        return Err(Rejection::new(
            RejectReason::BadSignature,
            "signature does not verify",
        ));
    }
    let nonce = store
        .nonce(checked.tx.rollup_id, &checked.sender())
        .map_err(|e| Rejection::new(RejectReason::Unspecified, format!("storage: {e}")))?;
    pool.lock().insert(pool_tx(&checked), nonce)?;
    Ok(checked.hash)
}
