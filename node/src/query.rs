//! What the query servers (gRPC, Ethereum JSON-RPC) share: read-only execution (gRPC `Call`,
//! `eth_call`, `eth_estimateGas`), a transaction run on a snapshot of the latest state as if in
//! the next block with nothing written, and the one pool of permits their heavy work runs on.

use std::sync::Arc;

use babel_execution::{
    Executor,
    state::{Changes, Overlay, StateView, decode_nonce, nonce_key},
};
use babel_proto::v1;

use crate::{
    params::{MAX_TX_GAS, block_env},
    store::Store,
};

/// Why a simulation did not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request is wrong (the caller's fault).
    #[error("{0}")]
    Invalid(String),
    /// The rollup does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The node failed to read its state (not the caller's fault).
    #[error("{0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> QueryError {
    QueryError::Internal(e.to_string())
}

/// Run `work` off the async threads, on one of `permits` (the node's query slots, which every
/// server shares): simulations, proofs and heavy reads take CPU that consensus needs.
pub async fn blocking<T: Send + 'static>(
    permits: &Arc<tokio::sync::Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, QueryError> {
    let permit = permits.clone().acquire_owned().await.map_err(internal)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(internal)
}

/// Run `tx` on a snapshot of the latest state in `store` as if in the next block: any fee is
/// accepted (a sender who cannot cover it gets a failed receipt saying so), the nonce is the
/// sender's next, a zero or too large gas limit is the most a transaction may use. Returns the
/// receipt and the height whose state it ran on.
pub fn simulate(
    store: &Store,
    executor: &Executor,
    tx: v1::Transaction,
) -> Result<(v1::Receipt, u64), QueryError> {
    simulate_over(store, executor, tx, |_, _| Ok(Changes::new()))
}

/// [`simulate`], with state changes that `overrides` makes (given the snapshot and the
/// transaction as it will run) laid over the snapshot first: a caller's state override.
pub fn simulate_over(
    store: &Store,
    executor: &Executor,
    mut tx: v1::Transaction,
    overrides: impl FnOnce(&dyn StateView, &v1::Transaction) -> Result<Changes, QueryError>,
) -> Result<(v1::Receipt, u64), QueryError> {
    let sender: [u8; 32] = tx
        .sender_pubkey
        .as_ref()
        .try_into()
        .map_err(|_| QueryError::Invalid("sender_pubkey must be 32 bytes".into()))?;
    let adapter = executor
        .adapter(tx.rollup_id)
        .ok_or_else(|| QueryError::NotFound(format!("rollup {} does not exist", tx.rollup_id)))?;
    let payload = tx
        .payload
        .as_ref()
        .ok_or_else(|| QueryError::Invalid("no payload".into()))?;
    adapter
        .check_payload(payload)
        .map_err(QueryError::Invalid)?;
    if tx.gas_limit == 0 || tx.gas_limit > MAX_TX_GAS {
        tx.gas_limit = MAX_TX_GAS;
    }
    tx.max_fee = u64::MAX;
    let snapshot = store.snapshot();
    let height = snapshot.height().map_err(internal)?;
    tx.nonce = decode_nonce(
        StateView::get(&snapshot, tx.rollup_id, &nonce_key(&sender))
            .map_err(internal)?
            .as_deref(),
    )
    .map_err(internal)?;
    let time_ms = store
        .block(height)
        .map_err(internal)?
        .and_then(|b| b.header)
        .map_or(0, |h| h.time_ms);
    let changes = overrides(&snapshot, &tx)?;
    let mut state = Overlay::new(&snapshot);
    state.extend(changes);
    let executed = executor
        .execute_tx(&state, &block_env(height + 1, time_ms), &tx)
        .map_err(internal)?;
    Ok((executed.receipt, height))
}
