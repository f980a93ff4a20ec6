//! Genesis allocations become EVM state that contracts can use.

use std::sync::Arc;

use babel_evm::{
    EvmAdapter,
    state::{Account, account_key, code_key},
};
use babel_execution::{
    ExecError, Executor,
    state::{MemState, StateView},
};
use babel_genesis::{Hex, VmGenesis};
use revm::primitives::{Address, U256, keccak256};

fn genesis_json() -> serde_json::Value {
    serde_json::json!({
        "chain_id": "g",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
                         "voting_power": 1, "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [{ "id": 7, "name": "evm", "vm": "evm", "initial_state": {
            "evm_chain_id": 77,
            "alloc": [{
                "address": "0x1000000000000000000000000000000000000001",
                "balance": "1000",
                "nonce": 2,
                "code": "0x600160005260206000f3",
                "storage": [{ "key": "0x0000000000000000000000000000000000000000000000000000000000000001",
                              "value": "0x00000000000000000000000000000000000000000000000000000000000000ff" }]
            }]
        }}]
    })
}

#[test]
fn genesis_allocations_load_accounts_code_and_storage() {
    let genesis = babel_genesis::Genesis::from_json(genesis_json().to_string().as_bytes()).unwrap();
    let adapter = EvmAdapter::for_rollup(&genesis.rollups[0]).unwrap();
    let exec = Executor::new().with_rollup(7, Arc::new(adapter), 0);
    let mut state = MemState::new();
    state.apply(&exec.genesis_changes(&genesis).unwrap());

    let address: Address = "0x1000000000000000000000000000000000000001"
        .parse()
        .unwrap();
    let account = Account::decode(&state.get(7, &account_key(&address)).unwrap().unwrap()).unwrap();
    assert_eq!(account.balance, U256::from(1000));
    assert_eq!(account.nonce, 2);
    let code = hex::decode("600160005260206000f3").unwrap();
    assert_eq!(account.code_hash, keccak256(&code));
    assert_eq!(
        state.get(7, &code_key(&account.code_hash)).unwrap(),
        Some(code)
    );
    // The account, its code and its slot; the rest is the registry's (rollup 0).
    let rollup_7 = state.entries().iter().filter(|((r, _), _)| *r == 7).count();
    assert_eq!(rollup_7, 3);
}

#[test]
fn genesis_code_starting_with_0xef_is_refused_even_past_validation() {
    // Genesis validation refuses such code; a genesis built in code skips it, and the adapter
    // still refuses to load it.
    let mut genesis =
        babel_genesis::Genesis::from_json(genesis_json().to_string().as_bytes()).unwrap();
    let VmGenesis::Evm(evm) = &mut genesis.rollups[0].vm else {
        panic!("an EVM rollup");
    };
    evm.alloc[0].code = Hex(vec![0xEF, 0x01]);
    let adapter = EvmAdapter::for_rollup(&genesis.rollups[0]).unwrap();
    let exec = Executor::new().with_rollup(7, Arc::new(adapter), 0);
    match exec.genesis_changes(&genesis) {
        Err(ExecError::Genesis { rollup, message }) => {
            assert_eq!(rollup, 7);
            assert!(message.contains("starts with 0xEF"), "{message}");
        }
        other => panic!("expected a genesis error, got {other:?}"),
    }
}
