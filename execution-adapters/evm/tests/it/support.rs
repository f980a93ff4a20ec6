//! A two-rollup EVM world over in-memory state, and Solidity helpers.

use std::sync::Arc;

use alloy_sol_types::{SolCall, SolValue, sol};
use babel_evm::{
    EvmAdapter, sender_address,
    state::{Account, account_key},
};
use babel_execution::{
    BlockEnv, Executor,
    state::{Changes, MemState, StateView},
};
use babel_proto::v1;
use revm::primitives::{Address, Bytes as EvmBytes, U256};

sol! {
    function transfer(address to, uint256 amount) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
    function locked() external view returns (uint256);
    function failedDeposits() external view returns (uint256);
    function depositTo(uint64 rollup, address vault, uint256 amount) external returns (uint256);
    function tryDepositTo(uint64 rollup, address vault, uint256 amount) external returns (bool);
    function depositAndUndo(uint64 rollup, address vault, uint256 amount) external returns (bool);
    function credits(address account) external view returns (uint256);
    function total() external view returns (uint256);
    function lastCaller() external view returns (address);
    function callBack(uint64 rollup, address target, bytes data) external returns (bytes);
    function counter() external view returns (uint256);
    function spamTargets(uint64 rollup, uint256 targetLen, uint256 n, uint256 gas_)
        external
        returns (uint256);
    function fetch(uint64 rollup, address target, uint256 n, uint256 gas_) external returns (bool);
    function probe(bytes data, uint256 gas_) external returns (bool ok, uint256 used);
    function shout(uint256 n, uint256 size) external;
}

pub(crate) const ALICE: [u8; 32] = [0xA1; 32];
pub(crate) const GAS_PRICE: u64 = 3;

/// Creation bytecode of a fixture contract.
pub(crate) fn bytecode(name: &str) -> Vec<u8> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/contracts.json")).unwrap();
    let hex_code = json["contracts"][name]["bytecode"].as_str().unwrap();
    hex::decode(hex_code.trim_start_matches("0x")).unwrap()
}

/// Rollup 1 (EVM chain id 4201, gas price [`GAS_PRICE`]) and rollup 2 (4202, free).
pub(crate) struct World {
    pub(crate) exec: Executor,
    pub(crate) state: MemState,
    nonces: u64,
}

impl World {
    pub(crate) fn new() -> Self {
        let exec = Executor::new()
            .with_rollup(1, Arc::new(EvmAdapter::new(4201)), GAS_PRICE)
            .with_rollup(2, Arc::new(EvmAdapter::new(4202)), 0);
        let mut state = MemState::new();
        let mut funds = Changes::new();
        let rich = Account {
            balance: U256::from(10u128.pow(24)),
            ..Account::default()
        };
        funds.insert(
            (1, account_key(&sender_address(&ALICE)).to_vec()),
            Some(rich.encode()),
        );
        state.apply(&funds);
        Self {
            exec,
            state,
            nonces: 0,
        }
    }

    /// [`ALICE`]'s next nonce on `rollup`.
    pub(crate) fn nonce(&self, rollup: u64) -> u64 {
        babel_execution::state::decode_nonce(
            self.state
                .get(rollup, &babel_execution::state::nonce_key(&ALICE))
                .unwrap()
                .as_deref(),
        )
        .unwrap()
    }

    fn tx(&mut self, rollup: u64, to: Option<Address>, data: Vec<u8>) -> v1::Transaction {
        self.nonces += 1;
        tx(rollup, self.nonce(rollup), to, data, 5_000_000)
    }

    /// Execute and keep the changes.
    pub(crate) fn send(&mut self, rollup: u64, to: Option<Address>, data: Vec<u8>) -> v1::Receipt {
        self.send_with_gas(rollup, to, data, 5_000_000)
    }

    /// [`World::send`] with a gas limit of `gas`.
    pub(crate) fn send_with_gas(
        &mut self,
        rollup: u64,
        to: Option<Address>,
        data: Vec<u8>,
        gas: u64,
    ) -> v1::Receipt {
        self.nonces += 1;
        let tx = tx(rollup, self.nonce(rollup), to, data, gas);
        let out = self.exec.execute_tx(&self.state, &env(), &tx).unwrap();
        self.state.apply(&out.changes);
        out.receipt
    }

    /// Deploy `name` with ABI-encoded constructor `args` on `rollup`.
    pub(crate) fn deploy(&mut self, rollup: u64, name: &str, args: Vec<u8>) -> Address {
        let mut code = bytecode(name);
        code.extend(args);
        let receipt = self.send(rollup, None, code);
        assert!(receipt.success, "deploy {name}: {receipt:?}");
        Address::from_slice(&receipt.root.unwrap().target)
    }

    /// Run a call without keeping its changes (a read).
    pub(crate) fn view<C: SolCall>(&mut self, rollup: u64, to: Address, call: C) -> C::Return {
        let tx = self.tx(rollup, Some(to), call.abi_encode());
        let out = self.exec.execute_tx(&self.state, &env(), &tx).unwrap();
        assert!(out.receipt.success, "view failed: {:?}", out.receipt);
        C::abi_decode_returns(&out.receipt.output).unwrap()
    }

    /// Native balance of [`ALICE`] on rollup 1.
    pub(crate) fn alice_wei(&self) -> U256 {
        self.state
            .get(1, &account_key(&sender_address(&ALICE)))
            .unwrap()
            .and_then(|b| Account::decode(&b))
            .map(|a| a.balance)
            .unwrap_or_default()
    }
}

/// A transaction from [`ALICE`] calling (or, without `to`, creating) with `data`.
pub(crate) fn tx(
    rollup: u64,
    nonce: u64,
    to: Option<Address>,
    data: Vec<u8>,
    gas_limit: u64,
) -> v1::Transaction {
    v1::Transaction {
        chain_id: "c".into(),
        rollup_id: rollup,
        sender_pubkey: ALICE.to_vec().into(),
        nonce,
        gas_limit,
        max_fee: u64::MAX,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: to.map(|a| a.to_vec()).unwrap_or_default().into(),
            value: Default::default(),
            data: data.into(),
        })),
    }
}

/// A transaction as a block carries it (the executor does not check signatures).
pub(crate) fn signed(tx: &v1::Transaction) -> v1::SignedTransaction {
    v1::SignedTransaction {
        body: prost::Message::encode_to_vec(tx).into(),
        signature: Default::default(),
        ..Default::default()
    }
}

pub(crate) fn env() -> BlockEnv {
    BlockEnv {
        height: 1,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

pub(crate) fn alice() -> Address {
    sender_address(&ALICE)
}

/// ABI-encode constructor arguments.
pub(crate) fn args<T: SolValue>(value: T) -> Vec<u8> {
    value.abi_encode()
}

pub(crate) fn evm_bytes(b: &[u8]) -> EvmBytes {
    EvmBytes::copy_from_slice(b)
}
