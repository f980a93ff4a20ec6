//! Shared helpers: an executor over three script rollups and transaction builders.

use std::sync::Arc;

use babel_execution::{
    BlockEnv, Executor, TxExecution,
    state::{Changes, MemState, StateView},
    test_utils::{Op, ScriptAdapter, balance_key, payload},
};
use babel_proto::v1;

pub(crate) const SENDER: [u8; 32] = [7; 32];

/// Rollups 1, 2 and 3 run scripts; rollup 1 charges `gas_price`.
pub(crate) fn executor(gas_price: u64) -> Executor {
    Executor::new()
        .with_rollup(1, Arc::new(ScriptAdapter), gas_price)
        .with_rollup(2, Arc::new(ScriptAdapter), 0)
        .with_rollup(3, Arc::new(ScriptAdapter), 0)
}

pub(crate) fn env() -> BlockEnv {
    BlockEnv {
        height: 1,
        time_ms: 1_000,
        max_tx_gas: 10_000_000,
    }
}

pub(crate) fn tx(nonce: u64, gas_limit: u64, script: &[Op]) -> v1::Transaction {
    v1::Transaction {
        chain_id: "c".into(),
        rollup_id: 1,
        sender_pubkey: SENDER.to_vec().into(),
        nonce,
        gas_limit,
        max_fee: u64::MAX,
        payload: Some(payload(script)),
    }
}

/// Execute `script` as a transaction from [`SENDER`] over `state` and apply its changes.
pub(crate) fn run(
    exec: &Executor,
    state: &mut MemState,
    nonce: u64,
    gas: u64,
    script: &[Op],
) -> TxExecution {
    let out = exec
        .execute_tx(&*state, &env(), &tx(nonce, gas, script))
        .unwrap();
    state.apply(&out.changes);
    out
}

pub(crate) fn get(state: &MemState, rollup: u64, key: &[u8]) -> Option<Vec<u8>> {
    state.get(rollup, key).unwrap()
}

pub(crate) fn w(key: &str, value: &str) -> Op {
    Op::Write(key.as_bytes().to_vec(), Some(value.as_bytes().to_vec()))
}

pub(crate) fn call(rollup: u64, script: Vec<Op>, catch: bool) -> Op {
    Op::Call {
        rollup,
        script,
        gas: u64::MAX,
        catch,
    }
}

/// Give `account` `amount` native units on rollup 1.
pub(crate) fn fund(state: &mut MemState, account: &[u8; 32], amount: u128) {
    let mut funds = Changes::new();
    funds.insert(
        (1, balance_key(account)),
        Some(amount.to_be_bytes().to_vec()),
    );
    state.apply(&funds);
}

/// `account`'s native balance on rollup 1.
pub(crate) fn balance(state: &MemState, account: &[u8; 32]) -> u128 {
    get(state, 1, &balance_key(account))
        .map(|b| u128::from_be_bytes(b.try_into().unwrap()))
        .unwrap_or(0)
}

/// A transaction as a block carries it (the executor does not check signatures).
pub(crate) fn encode_tx(tx: &v1::Transaction) -> v1::SignedTransaction {
    v1::SignedTransaction {
        body: prost::Message::encode_to_vec(tx).into(),
        signature: Default::default(),
        ..Default::default()
    }
}
