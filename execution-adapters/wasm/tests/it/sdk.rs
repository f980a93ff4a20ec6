//! The SDK's Rust examples as a node runs them: the committed modules
//! (`sdk/examples/*.wasm`, built by `scripts/build-wasm-examples.sh`) pass the deploy checks
//! and answer through the real host.

use alloy_sol_types::{SolCall, SolValue, sol};

use crate::{Chain, WASM, reason};

const COUNTER: &[u8] = include_bytes!("../../sdk/examples/counter.wasm");
const VAULT: &[u8] = include_bytes!("../../sdk/examples/vault.wasm");

sol! {
    function credit(address account, uint256 amount) external returns (uint256);
}

/// Deploy `code`; returns the contract id. The deploy must leave most of a transaction's gas
/// free (docs/WASM_ABI.md quotes what it costs; the test prints it).
fn deploy(chain: &mut Chain, code: &[u8], constructor: &str, input: &[u8]) -> Vec<u8> {
    let payload = babel_proto::v1::transaction::Payload::Wasm(babel_proto::v1::WasmCall {
        contract: Default::default(),
        method: constructor.into(),
        input: input.to_vec().into(),
        code: code.to_vec().into(),
    });
    let out = chain.run(WASM, crate::env().max_tx_gas, payload);
    assert!(out.receipt.success, "deploy failed: {:?}", reason(&out));
    let gas = out.receipt.gas_used;
    eprintln!("deploying {} bytes cost {gas} gas", code.len());
    assert!(
        gas < crate::env().max_tx_gas / 2,
        "a {}-byte SDK module costs {gas} gas to deploy",
        code.len()
    );
    out.receipt.output.to_vec()
}

#[test]
fn the_rust_counter_counts_and_answers_other_rollups_in_abi() {
    let mut chain = Chain::new();
    let id = deploy(&mut chain, COUNTER, "", b"");
    for _ in 0..2 {
        assert!(chain.call(&id, "increment", b"").receipt.success);
    }
    let got = chain.call(&id, "get", b"");
    assert_eq!(got.receipt.output.as_ref(), 2u64.to_le_bytes());
    // `call`, the entry other rollups reach, answers a `uint256`.
    let out = chain.call(&id, "call", b"");
    assert!(out.receipt.success, "{:?}", reason(&out));
    let value = alloy_primitives::U256::abi_decode(&out.receipt.output).unwrap();
    assert_eq!(value, alloy_primitives::U256::from(3));
}

#[test]
fn the_rust_vault_takes_abi_credits_up_to_its_cap() {
    let mut chain = Chain::new();
    let cap = alloy_primitives::U256::from(500).abi_encode();
    let id = deploy(&mut chain, VAULT, "init", &cap);
    let account = alloy_primitives::Address::repeat_byte(0xAA);
    let credit = |amount: u64| {
        creditCall {
            account,
            amount: alloy_primitives::U256::from(amount),
        }
        .abi_encode()
    };
    let out = chain.call(&id, "call", &credit(300));
    assert!(out.receipt.success, "{:?}", reason(&out));
    let credits = creditCall::abi_decode_returns(&out.receipt.output).unwrap();
    assert_eq!(credits, alloy_primitives::U256::from(300));
    // Past the cap: a Solidity `Error(string)` revert, and nothing changes.
    let out = chain.call(&id, "call", &credit(201));
    assert!(!out.receipt.success);
    assert_eq!(reason(&out).as_deref(), Some("vault cap reached"));
    let total = chain.call(&id, "total", b"");
    assert_eq!(
        alloy_primitives::U256::abi_decode(&total.receipt.output).unwrap(),
        alloy_primitives::U256::from(300)
    );
    // Garbage call data is refused with the vault's own reason.
    let out = chain.call(&id, "call", b"\x01\x02");
    assert_eq!(reason(&out).as_deref(), Some("vault: bad call"));
}
