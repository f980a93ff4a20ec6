//! Calls out of and into Cairo: across rollups through the `'babel'` address (to another
//! Cairo rollup in Solidity ABI, and to a script rollup), caught and uncaught failures, and
//! calls between Cairo contracts on one rollup.

use alloy_primitives::U256;
use babel_cairo::Felt252;
use babel_execution::test_utils::{Op, encode};

use crate::{CAIRO, CAIRO2, Chain, SCRIPT, byte_array, felts, reason, word};

/// Solidity `increment(uint256)` with `by`.
fn increment(by: u64) -> Vec<u8> {
    [
        alloy_primitives::hex!("7cf5dab0").as_slice(),
        &U256::from(by).to_be_bytes::<32>(),
    ]
    .concat()
}

/// `relay(rollup, target, input)` calldata.
fn relay_args(rollup: u64, target: &[u8], input: &[u8]) -> Vec<bytes::Bytes> {
    let mut args = vec![word(rollup)];
    args.extend(byte_array(target));
    args.extend(byte_array(input));
    args
}

/// The `ByteArray` a receipt's felts hold, from `skip` felts on.
fn answer(out: &babel_execution::TxExecution, skip: usize) -> Vec<u8> {
    let felts = felts(out);
    let (bytes, used) = babel_cairo::felt::felts_to_bytes(&felts[skip..]).unwrap();
    assert_eq!(skip + used, felts.len());
    bytes
}

#[test]
fn a_cairo_contract_calls_one_on_another_rollup_in_solidity_abi() {
    let mut chain = Chain::new();
    let relay = chain.deploy(CAIRO, "relay", vec![]);
    let counter = chain.deploy(CAIRO2, "counter", vec![word(10u64)]);
    let out = chain.call(
        CAIRO,
        &relay,
        "relay",
        relay_args(CAIRO2, &counter, &increment(5)),
    );
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(answer(&out, 0), U256::from(15).to_be_bytes::<32>());
    // The callee's event is the transaction's, under the callee's address.
    assert_eq!(crate::logs(&out).len(), 1);
    assert_eq!(crate::logs(&out)[0].address, counter);
    let get = chain.call(CAIRO2, &counter, "get", vec![]);
    assert_eq!(felts(&get), vec![Felt252::from(15u64)]);
}

#[test]
fn a_callee_failure_fails_the_relay_with_the_callee_revert_data_and_undoes_both() {
    let mut chain = Chain::new();
    let relay = chain.deploy(CAIRO, "relay", vec![]);
    let counter = chain.deploy(CAIRO2, "counter", vec![word(10u64)]);
    let out = chain.call(
        CAIRO,
        &relay,
        "relay",
        relay_args(CAIRO2, &counter, &increment(0)),
    );
    // The callee's reason reaches the transaction's receipt unchanged.
    assert_eq!(reason(&out), "zero increment");
    let get = chain.call(CAIRO2, &counter, "get", vec![]);
    assert_eq!(felts(&get), vec![Felt252::from(10u64)]);
}

#[test]
fn a_caught_callee_failure_keeps_only_the_caller_side() {
    let mut chain = Chain::new();
    let relay = chain.deploy(CAIRO, "relay", vec![]);
    // The script callee writes, then fails.
    let script = encode(&[
        Op::Write(b"k".to_vec(), Some(b"v".to_vec())),
        Op::Fail(b"no".to_vec()),
    ]);
    let out = chain.call(
        CAIRO,
        &relay,
        "try_relay",
        relay_args(SCRIPT, b"script", &script),
    );
    assert!(out.receipt.success, "{}", reason(&out));
    // (false, revert bytes)
    assert_eq!(felts(&out)[0], Felt252::ZERO);
    assert_eq!(answer(&out, 1), b"no");
    assert_eq!(chain.state_get(SCRIPT, b"k"), None);
    let attempts = chain.call(CAIRO, &relay, "attempts", vec![]);
    assert_eq!(felts(&attempts), vec![Felt252::ONE]);

    // A succeeding callee's writes are kept, and its answer comes back.
    let script = encode(&[
        Op::Write(b"k".to_vec(), Some(b"v".to_vec())),
        Op::Return(b"yes".to_vec()),
    ]);
    let out = chain.call(
        CAIRO,
        &relay,
        "try_relay",
        relay_args(SCRIPT, b"script", &script),
    );
    assert_eq!(felts(&out)[0], Felt252::ONE);
    assert_eq!(answer(&out, 1), b"yes");
    assert_eq!(chain.state_get(SCRIPT, b"k"), Some(b"v".to_vec()));
}

#[test]
fn a_call_goes_through_cairo_to_a_third_rollup_and_back() {
    let mut chain = Chain::new();
    // CAIRO's relay calls CAIRO2's relay in Solidity ABI (`forward(uint64,bytes,bytes)`), which
    // calls the script rollup; the script's answer comes back through both.
    let first = chain.deploy(CAIRO, "relay", vec![]);
    let second = chain.deploy(CAIRO2, "relay", vec![]);
    let script = encode(&[
        Op::Write(b"k".to_vec(), Some(b"v".to_vec())),
        Op::Return(b"deep".to_vec()),
    ]);
    let forward = alloy_sol_types::SolCall::abi_encode(&forward_call(SCRIPT, b"script", &script));
    let out = chain.call(
        CAIRO,
        &first,
        "relay",
        relay_args(CAIRO2, &second, &forward),
    );
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(answer(&out, 0), b"deep");
    assert_eq!(chain.state_get(SCRIPT, b"k"), Some(b"v".to_vec()));

    // The third rollup fails: nothing is kept anywhere, and its revert data comes back.
    let script = encode(&[
        Op::Write(b"k2".to_vec(), Some(b"v".to_vec())),
        Op::Fail(b"deep no".to_vec()),
    ]);
    let forward = alloy_sol_types::SolCall::abi_encode(&forward_call(SCRIPT, b"script", &script));
    let out = chain.call(
        CAIRO,
        &first,
        "relay",
        relay_args(CAIRO2, &second, &forward),
    );
    assert!(!out.receipt.success);
    assert_eq!(out.receipt.output.as_ref(), b"deep no");
    assert_eq!(chain.state_get(SCRIPT, b"k2"), None);
}

alloy_sol_types::sol! {
    function forward(uint64 rollup, bytes target, bytes data) returns (bytes);
}

fn forward_call(rollup: u64, target: &[u8], data: &[u8]) -> forwardCall {
    forwardCall {
        rollup,
        target: target.to_vec().into(),
        data: data.to_vec().into(),
    }
}

#[test]
fn cairo_contracts_call_each_other_on_one_rollup() {
    let mut chain = Chain::new();
    let counter = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    let relay = chain.deploy(CAIRO, "relay", vec![]);
    let out = chain.call(
        CAIRO,
        &relay,
        "bump_counter",
        vec![
            word(Felt252::from_bytes_be(
                &counter.as_ref().try_into().unwrap(),
            )),
            word(4u64),
        ],
    );
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(felts(&out), vec![Felt252::from(5u64)]);
    // A failing inner call fails the caller (the dispatcher does not catch it), and its write
    // is undone.
    let out = chain.call(
        CAIRO,
        &relay,
        "bump_counter",
        vec![
            word(Felt252::from_bytes_be(
                &counter.as_ref().try_into().unwrap(),
            )),
            word(0u64),
        ],
    );
    assert!(reason(&out).contains("zero increment"), "{}", reason(&out));
    let get = chain.call(CAIRO, &counter, "get", vec![]);
    assert_eq!(felts(&get), vec![Felt252::from(5u64)]);
}
