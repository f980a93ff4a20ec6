//! One genesis on the node's own executor over an in-memory state, with one signer sending
//! transactions: the cross-VM tests' world.

use std::collections::HashMap;

use alloy_sol_types::SolCall;
use babel_execution::{
    BlockEnv, Executor,
    state::{MemState, StateView},
};
use babel_genesis::Genesis;
use babel_proto::v1;

/// The executor of a genesis, its state, and the signer's next nonce per rollup.
pub(crate) struct World {
    exec: Executor,
    state: MemState,
    chain_id: String,
    signer: [u8; 32],
    gas_limit: u64,
    evm: u64,
    nonces: HashMap<u64, u64>,
}

fn env() -> BlockEnv {
    babel_node::params::block_env(5, 1_700_000_000_000)
}

impl World {
    /// The world of `genesis` after genesis: `signer` sends every transaction with
    /// `gas_limit`, and `evm` is the EVM rollup [`World::evm`] calls.
    pub(crate) fn new(genesis: &Genesis, signer: [u8; 32], gas_limit: u64, evm: u64) -> Self {
        let exec = babel_node::params::executor_for(genesis).unwrap();
        let mut state = MemState::new();
        state.apply(&exec.genesis_changes(genesis).unwrap());
        Self {
            exec,
            state,
            chain_id: genesis.chain_id.clone(),
            signer,
            gas_limit,
            evm,
            nonces: HashMap::new(),
        }
    }

    /// Run a transaction with `payload` on `rollup` and apply its changes.
    pub(crate) fn send(&mut self, rollup: u64, payload: v1::transaction::Payload) -> v1::Receipt {
        let nonce = self.nonces.entry(rollup).or_default();
        let tx = v1::Transaction {
            chain_id: self.chain_id.clone(),
            rollup_id: rollup,
            sender_pubkey: self.signer.to_vec().into(),
            nonce: *nonce,
            gas_limit: self.gas_limit,
            max_fee: 0,
            payload: Some(payload),
        };
        *nonce += 1;
        let out = self.exec.execute_tx(&self.state, &env(), &tx).unwrap();
        assert_eq!(out.invalid, None);
        self.state.apply(&out.changes);
        out.receipt
    }

    /// Call `to` on the EVM rollup with `data` (an empty `to` creates a contract).
    pub(crate) fn evm(&mut self, to: &[u8], data: Vec<u8>) -> v1::Receipt {
        self.send(
            self.evm,
            v1::transaction::Payload::Evm(v1::EvmCall {
                to: to.to_vec().into(),
                value: Default::default(),
                data: data.into(),
            }),
        )
    }

    /// Deploy the EVM fixture contract `name` with constructor `args`; its address.
    pub(crate) fn deploy_evm(&mut self, name: &str, args: Vec<u8>) -> Vec<u8> {
        let json: serde_json::Value = serde_json::from_str(include_str!(
            "../../../execution-adapters/evm/tests/fixtures/contracts.json"
        ))
        .unwrap();
        let code = json["contracts"][name]["bytecode"].as_str().unwrap();
        let mut code = hex::decode(code.trim_start_matches("0x")).unwrap();
        code.extend(args);
        let receipt = self.evm(&[], code);
        assert!(receipt.success, "deploy {name}: {receipt:?}");
        receipt.root.unwrap().target.to_vec()
    }

    /// `call` of the EVM contract `to`, which must succeed; its answer.
    pub(crate) fn view<C: SolCall>(&mut self, to: &[u8], call: C) -> C::Return {
        let receipt = self.evm(to, call.abi_encode());
        assert!(receipt.success, "{receipt:?}");
        C::abi_decode_returns(&receipt.output).unwrap()
    }

    /// The value of `key` on `rollup`.
    pub(crate) fn get(&self, rollup: u64, key: &[u8]) -> Option<Vec<u8>> {
        self.state.get(rollup, key).unwrap()
    }
}
