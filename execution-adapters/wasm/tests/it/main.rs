//! babel-wasm against the execution core: deploys, calls, cross-rollup calls both ways,
//! failures with their stable reasons, and determinism.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod code;
mod contracts;
mod execution;
mod hostile;
mod messages;
mod pool;
mod sdk;

use std::sync::Arc;

use babel_execution::{
    BlockEnv, Executor, TxExecution,
    state::{MemState, StateView},
    test_utils::ScriptAdapter,
};
use babel_proto::v1;
use babel_wasm::WasmAdapter;
use bytes::Bytes;

/// The WASM rollup of these tests.
pub(crate) const WASM: u64 = 1;
/// A script rollup (the core's test adapter) to call and be called by.
pub(crate) const SCRIPT: u64 = 2;
pub(crate) const SIGNER: [u8; 32] = [7; 32];
pub(crate) const GAS: u64 = 10_000_000;

pub(crate) fn executor() -> Executor {
    Executor::new()
        .with_rollup(WASM, Arc::new(WasmAdapter::new().unwrap()), 0)
        .with_rollup(SCRIPT, Arc::new(ScriptAdapter), 0)
}

pub(crate) fn env() -> BlockEnv {
    BlockEnv {
        height: 3,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

/// A chain of one executor and its state, with the signer's next nonce per rollup.
pub(crate) struct Chain {
    pub(crate) exec: Executor,
    pub(crate) state: MemState,
    nonces: std::collections::HashMap<u64, u64>,
}

impl Chain {
    pub(crate) fn new() -> Self {
        Self {
            exec: executor(),
            state: MemState::new(),
            nonces: Default::default(),
        }
    }

    /// Run a transaction with `payload` on `rollup` and apply its changes.
    pub(crate) fn run(
        &mut self,
        rollup: u64,
        gas: u64,
        payload: v1::transaction::Payload,
    ) -> TxExecution {
        let nonce = self.nonces.entry(rollup).or_default();
        let out = run_tx(&self.exec, &mut self.state, rollup, *nonce, gas, payload);
        *nonce += 1;
        out
    }

    /// Deploy `wat` (run `constructor` if not empty); the new contract's id.
    pub(crate) fn deploy(&mut self, wat: &str, constructor: &str) -> Bytes {
        let out = self.run(WASM, GAS, deploy(wat, constructor));
        assert!(out.receipt.success, "deploy failed: {:?}", reason(&out));
        out.receipt.output.clone()
    }

    /// Call `method` of `contract` with `input`.
    pub(crate) fn call(&mut self, contract: &[u8], method: &str, input: &[u8]) -> TxExecution {
        self.run(WASM, GAS, call(contract, method, input))
    }

    pub(crate) fn get(&self, rollup: u64, key: &[u8]) -> Option<Vec<u8>> {
        self.state.get(rollup, key).unwrap()
    }

    /// Value of `key` in `contract`'s storage.
    pub(crate) fn storage(&self, contract: &[u8], key: &[u8]) -> Option<Vec<u8>> {
        let full = [babel_wasm::state::storage_prefix(contract).as_slice(), key].concat();
        self.get(WASM, &full)
    }
}

/// Run a transaction of the signer with `nonce`, `gas` and `payload` on `rollup` of `exec`,
/// and apply its changes.
pub(crate) fn run_tx(
    exec: &Executor,
    state: &mut MemState,
    rollup: u64,
    nonce: u64,
    gas: u64,
    payload: v1::transaction::Payload,
) -> TxExecution {
    let tx = v1::Transaction {
        chain_id: "c".into(),
        rollup_id: rollup,
        sender_pubkey: SIGNER.to_vec().into(),
        nonce,
        gas_limit: gas,
        max_fee: u64::MAX,
        payload: Some(payload),
    };
    let out = exec.execute_tx(state, &env(), &tx).unwrap();
    assert_eq!(out.invalid, None);
    state.apply(&out.changes);
    out
}

pub(crate) fn deploy(wat: &str, constructor: &str) -> v1::transaction::Payload {
    v1::transaction::Payload::Wasm(v1::WasmCall {
        contract: Bytes::new(),
        method: constructor.into(),
        input: Bytes::new(),
        code: wat::parse_str(wat).unwrap().into(),
    })
}

pub(crate) fn call(contract: &[u8], method: &str, input: &[u8]) -> v1::transaction::Payload {
    v1::transaction::Payload::Wasm(v1::WasmCall {
        contract: Bytes::copy_from_slice(contract),
        method: method.into(),
        input: Bytes::copy_from_slice(input),
        code: Bytes::new(),
    })
}

/// The `Error(string)` reason of a failed receipt, if it has one.
pub(crate) fn reason(out: &TxExecution) -> Option<String> {
    babel_execution::abi::decode_error_message(&out.receipt.output)
}
