//! babel-cairo against the execution core, with the committed test contracts
//! (`contracts/`): deploys, calls, events, failures with their stable reasons, calls between
//! Cairo contracts and across rollups, hostile classes, and determinism.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod classes;
mod contracts;
mod hostile;
mod xcall;

use std::{collections::HashMap, sync::Arc};

use babel_cairo::Felt252;
use babel_cairo::{CairoAdapter, felt};
use babel_execution::{
    BlockEnv, Executor, TxExecution,
    state::{MemState, StateView},
    test_utils::ScriptAdapter,
};
use babel_proto::v1::{self, transaction::Payload};
use bytes::Bytes;

/// The Cairo rollup of these tests.
pub(crate) const CAIRO: u64 = 1;
/// A second Cairo rollup, to call across rollups in Solidity ABI.
pub(crate) const CAIRO2: u64 = 2;
/// A script rollup (the core's test adapter) to call and be called by.
pub(crate) const SCRIPT: u64 = 3;
pub(crate) const SIGNER: [u8; 32] = [7; 32];
pub(crate) const GAS: u64 = 30_000_000;

/// A committed test contract's class JSON.
pub(crate) fn class(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/contracts/compiled/{name}.sierra.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn env() -> BlockEnv {
    BlockEnv {
        height: 3,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

/// A felt as calldata.
pub(crate) fn word(value: impl Into<Felt252>) -> Bytes {
    Bytes::copy_from_slice(&value.into().to_bytes_be())
}

/// Calldata of a `ByteArray` argument.
pub(crate) fn byte_array(bytes: &[u8]) -> Vec<Bytes> {
    felt::bytes_to_felts(bytes).into_iter().map(word).collect()
}

/// A receipt's output read as felts.
pub(crate) fn felts(out: &TxExecution) -> Vec<Felt252> {
    out.receipt
        .output
        .chunks(32)
        .map(|c| felt::felt_from_bytes(c).unwrap())
        .collect()
}

/// The logs of a receipt's frames, depth first (a failed frame keeps none).
pub(crate) fn logs(out: &TxExecution) -> Vec<v1::Log> {
    fn walk(frame: &v1::CallFrame, out: &mut Vec<v1::Log>) {
        out.extend(frame.logs.iter().cloned());
        for child in &frame.children {
            walk(child, out);
        }
    }
    let mut all = Vec::new();
    if let Some(root) = &out.receipt.root {
        walk(root, &mut all);
    }
    all
}

/// The `Error(string)` reason of a failed receipt.
pub(crate) fn reason(out: &TxExecution) -> String {
    assert!(!out.receipt.success, "succeeded: {:?}", out.receipt);
    babel_execution::abi::decode_error_message(&out.receipt.output)
        .unwrap_or_else(|| panic!("no reason: {:?}", out.receipt.output))
}

/// A chain of one executor and its state, with the signer's next nonce per rollup.
pub(crate) struct Chain {
    pub(crate) exec: Executor,
    pub(crate) state: MemState,
    nonces: HashMap<u64, u64>,
}

impl Chain {
    pub(crate) fn new() -> Self {
        Self::with_cairo(Arc::new(CairoAdapter::new()))
    }

    /// A chain whose first Cairo rollup runs on `adapter`.
    pub(crate) fn with_cairo(adapter: Arc<CairoAdapter>) -> Self {
        Self {
            exec: Executor::new()
                .with_rollup(CAIRO, adapter, 0)
                .with_rollup(CAIRO2, Arc::new(CairoAdapter::new()), 0)
                .with_rollup(SCRIPT, Arc::new(ScriptAdapter), 0),
            state: MemState::new(),
            nonces: HashMap::new(),
        }
    }

    /// Run a transaction with `payload` on `rollup` and apply its changes.
    pub(crate) fn run(&mut self, rollup: u64, gas: u64, payload: Payload) -> TxExecution {
        let nonce = self.nonces.entry(rollup).or_default();
        let tx = v1::Transaction {
            chain_id: "c".into(),
            rollup_id: rollup,
            sender_pubkey: SIGNER.to_vec().into(),
            nonce: *nonce,
            gas_limit: gas,
            max_fee: u64::MAX,
            payload: Some(payload),
        };
        *nonce += 1;
        let out = self.exec.execute_tx(&self.state, &env(), &tx).unwrap();
        assert_eq!(out.invalid, None);
        self.state.apply(&out.changes);
        out
    }

    /// Deploy the test contract `name` on `rollup` with constructor `calldata`; its address.
    pub(crate) fn deploy(&mut self, rollup: u64, name: &str, calldata: Vec<Bytes>) -> Bytes {
        let out = self.run(
            rollup,
            GAS,
            Payload::Cairo(v1::CairoCall {
                class: class(name).into(),
                calldata,
                ..Default::default()
            }),
        );
        assert!(out.receipt.success, "deploy of {name}: {:?}", out.receipt);
        out.receipt.output.clone()
    }

    /// Call `entrypoint` of `contract` on `rollup`.
    pub(crate) fn call(
        &mut self,
        rollup: u64,
        contract: &[u8],
        entrypoint: &str,
        calldata: Vec<Bytes>,
    ) -> TxExecution {
        self.call_with(rollup, GAS, contract, entrypoint, calldata)
    }

    /// [`Chain::call`] with a gas limit.
    pub(crate) fn call_with(
        &mut self,
        rollup: u64,
        gas: u64,
        contract: &[u8],
        entrypoint: &str,
        calldata: Vec<Bytes>,
    ) -> TxExecution {
        self.run(
            rollup,
            gas,
            Payload::Cairo(v1::CairoCall {
                contract: Bytes::copy_from_slice(contract),
                entrypoint: entrypoint.into(),
                calldata,
                class: Bytes::new(),
            }),
        )
    }

    /// The value of `key` on `rollup`.
    pub(crate) fn state_get(&self, rollup: u64, key: &[u8]) -> Option<Vec<u8>> {
        self.state.get(rollup, key).unwrap()
    }

    /// Storage slot `key` of `contract` on `rollup`.
    pub(crate) fn storage(&self, rollup: u64, contract: &[u8], key: Felt252) -> Option<Vec<u8>> {
        let address: [u8; 32] = contract.try_into().unwrap();
        self.state
            .get(
                rollup,
                &babel_cairo::state::storage_key(&address, &key.to_bytes_be()),
            )
            .unwrap()
    }
}
