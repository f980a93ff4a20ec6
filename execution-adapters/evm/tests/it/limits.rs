//! Hostile contracts on real revm: long xcall targets, large outputs, oversized receipts and
//! blocks, and calldata the precompile has not been paid to read.

use alloy_sol_types::SolCall;
use babel_execution::{
    abi,
    gas::{xcall_output_cost, xcall_overhead},
    receipt::{MAX_BLOCK_RECEIPT_BYTES, MAX_RECEIPT_BYTES, MAX_RECEIPT_FRAMES},
};
use babel_proto::v1;
use prost::Message;
use revm::primitives::{Address, U256};

use crate::support::*;

/// A receipt that records no long target stays this small.
const SMALL_RECEIPT: usize = 4 * 1024;

/// `Spammer` on rollup 1 (which charges for gas) and on rollup 2.
fn setup() -> (World, Address, Address) {
    let mut w = World::new();
    let on1 = w.deploy(1, "Spammer", Vec::new());
    let on2 = w.deploy(2, "Spammer", Vec::new());
    (w, on1, on2)
}

fn spam(rollup: u64, target_len: usize, n: u64, gas: u64) -> Vec<u8> {
    spamTargetsCall {
        rollup,
        targetLen: U256::from(target_len),
        n: U256::from(n),
        gas_: U256::from(gas),
    }
    .abi_encode()
}

fn message(output: &[u8]) -> String {
    abi::decode_error_message(output).unwrap_or_default()
}

fn children(receipt: &v1::Receipt) -> &[v1::CallFrame] {
    &receipt.root.as_ref().unwrap().children
}

#[test]
fn a_loop_of_xcalls_with_long_targets_is_refused_charged_and_not_recorded() {
    let (mut w, spammer, _) = setup();
    // To an unknown rollup (the reported attack) and to an EVM rollup: the length is checked
    // first either way.
    for rollup in [999, 2] {
        let receipt = w.send(1, Some(spammer), spam(rollup, 32 * 1024, 5, 0));
        assert!(receipt.success, "{}", message(&receipt.output));
        let failed = spamTargetsCall::abi_decode_returns(&receipt.output).unwrap();
        assert_eq!(failed, U256::from(5));
        assert_eq!(children(&receipt).len(), 5);
        for child in children(&receipt) {
            assert!(!child.success && child.target.is_empty());
            assert_eq!(
                child.gas_used,
                xcall_overhead(0, 32 * 1024),
                "charged per byte"
            );
            assert!(
                message(&child.output).contains("xcall target is 32768 bytes, more than 32"),
                "{}",
                message(&child.output)
            );
        }
        assert!(receipt.encoded_len() < SMALL_RECEIPT);
    }

    // Unbounded, the loop runs out of gas and its receipt is still small.
    let receipt = w.send(1, Some(spammer), spam(999, 32 * 1024, 1_000, 0));
    assert!(!receipt.success);
    assert_eq!(receipt.gas_used, 5_000_000);
    assert!(receipt.encoded_len() < SMALL_RECEIPT);

    // Within the core's bound but longer than an EVM address: refused by the EVM rollup, and
    // not recorded either.
    let receipt = w.send(1, Some(spammer), spam(2, 32, 1, 0));
    let child = &children(&receipt)[0];
    assert!(!child.success && child.target.is_empty());
    let why = message(&child.output);
    assert!(
        why.contains("xcall target is 32 bytes, rollup 2 takes at most 20"),
        "{why}"
    );
}

#[test]
fn a_callee_output_is_charged_to_the_caller_per_byte() {
    let (mut w, on1, on2) = setup();
    let fetch = |n: usize, gas: u64| {
        fetchCall {
            rollup: 2,
            target: on2,
            n: U256::from(n),
            gas_: U256::from(gas),
        }
        .abi_encode()
    };
    let small = w.send(1, Some(on1), fetch(0, 1_000_000));
    let large = w.send(1, Some(on1), fetch(10_016, 1_000_000));
    for receipt in [&small, &large] {
        assert!(fetchCall::abi_decode_returns(&receipt.output).unwrap());
    }
    let (small_child, large_child) = (&children(&small)[0], &children(&large)[0]);
    // `bytes` ABI-encoded: offset, length, data.
    assert_eq!(small_child.output.len(), 64);
    assert_eq!(large_child.output.len(), 64 + 10_016);
    // The caller copies nothing back, so what its transaction pays beyond the callee's own
    // extra gas is the charge for the extra output (and a few gas of calldata).
    let extra = (large.gas_used - small.gas_used) - (large_child.gas_used - small_child.gas_used);
    let charge = xcall_output_cost(10_016);
    assert!(
        extra >= charge && extra < charge + 100,
        "paid {extra} for {charge} of output"
    );

    // Offered enough to run the callee but not to pay for its output: out of gas, and the
    // contract sees the call fail.
    let receipt = w.send(1, Some(on1), fetch(10_016, 60_000));
    assert!(receipt.success);
    assert!(!fetchCall::abi_decode_returns(&receipt.output).unwrap());
    let child = &children(&receipt)[0];
    assert!(!child.success);
    assert_eq!(message(&child.output), "babel: out of gas for xcall output");
}

#[test]
fn a_transaction_over_the_receipt_bounds_fails_with_its_changes_undone_but_pays() {
    let (mut w, spammer, _) = setup();
    let shout = |n: u64| {
        shoutCall {
            n: U256::from(n),
            size: U256::from(32 * 1024),
        }
        .abi_encode()
    };
    // Just under the byte bound: fine.
    let receipt = w.send_with_gas(1, Some(spammer), shout(31), 15_000_000);
    assert!(receipt.success, "{}", message(&receipt.output));
    assert!(receipt.encoded_len() <= MAX_RECEIPT_BYTES);
    assert_eq!(w.view(1, spammer, counterCall {}), U256::from(1));

    let over_bytes = (
        shout(40),
        15_000_000,
        format!("more than {MAX_RECEIPT_BYTES} bytes"),
    );
    // Calls refused for an unknown rollup, each paying for itself, until the frames run out.
    let over_frames = (
        spam(999, 0, 1_100, 2_600),
        5_000_000,
        format!("more than {MAX_RECEIPT_FRAMES} call frames"),
    );
    for (data, gas, why) in [over_bytes, over_frames] {
        let wei = w.alice_wei();
        let nonce = w.nonce(1);
        let receipt = w.send_with_gas(1, Some(spammer), data, gas);
        assert!(!receipt.success);
        assert!(
            message(&receipt.output).contains(&why),
            "{}",
            message(&receipt.output)
        );
        assert_eq!(receipt.gas_used, gas, "as an exceptional halt: all the gas");
        let fee = U256::from(gas) * U256::from(GAS_PRICE);
        assert_eq!(U256::from(receipt.fee_paid), fee);
        assert_eq!(w.alice_wei(), wei - fee);
        assert_eq!(w.nonce(1), nonce + 1);
        assert_eq!(
            w.view(1, spammer, counterCall {}),
            U256::from(1),
            "its write is undone"
        );
        assert!(receipt.encoded_len() < SMALL_RECEIPT);
    }
}

#[test]
fn a_block_over_its_receipt_bytes_is_invalid_and_a_proposer_defers_the_rest() {
    let (w, _, spammer) = setup();
    // Receipts just under a MiB each on the free rollup: sixteen fit in a block, seventeen
    // do not.
    let first = w.nonce(2);
    let shout = shoutCall {
        n: U256::from(31),
        size: U256::from(32 * 1024),
    }
    .abi_encode();
    let big = |i: u64| signed(&tx(2, first + i, Some(spammer), shout.clone(), 9_000_000));
    let block: Vec<v1::SignedTransaction> = (0..17).map(big).collect();
    let executed = w.exec.execute_block(&w.state, &env(), &block).unwrap();
    assert!(executed.receipts.iter().all(|r| r.success));
    let total: usize = executed.receipts.iter().map(|r| r.encoded_len()).sum();
    assert!(total > MAX_BLOCK_RECEIPT_BYTES);
    assert!(total - executed.receipts[16].encoded_len() <= MAX_BLOCK_RECEIPT_BYTES);
    let invalid: Vec<usize> = executed.invalid.iter().map(|(i, _)| *i).collect();
    assert_eq!(invalid, [16]);

    // A proposer leaves the seventeenth out with its sender's next, but not as invalid, and
    // still takes another sender's small transaction.
    let bob = [0xB0; 32];
    let mut small = tx(2, 0, Some(spammer), counterCall {}.abi_encode(), 100_000);
    small.sender_pubkey = bob.to_vec().into();
    let mut candidates = block.clone();
    candidates.push(big(17));
    candidates.push(signed(&small));
    let built = w.exec.build_block(&w.state, &env(), &candidates).unwrap();
    assert!(built.left_out.is_empty(), "{:?}", built.left_out);
    assert_eq!(built.deferred, [16]);
    let mut kept = block[..16].to_vec();
    kept.push(signed(&small));
    assert_eq!(built.txs, kept);
    let again = w.exec.execute_block(&w.state, &env(), &built.txs).unwrap();
    assert!(again.invalid.is_empty());
    assert_eq!(again, built.execution);
}

#[test]
fn calldata_the_precompile_was_not_paid_to_read_uses_all_the_gas_offered() {
    let (mut w, spammer, _) = setup();
    let mut probe = |data: Vec<u8>, gas: u64| {
        let receipt = w.send(
            1,
            Some(spammer),
            probeCall {
                data: evm_bytes(&data),
                gas_: U256::from(gas),
            }
            .abi_encode(),
        );
        assert!(receipt.success, "{}", message(&receipt.output));
        let out = probeCall::abi_decode_returns(&receipt.output).unwrap();
        (out.ok, out.used.to::<u64>(), children(&receipt).len())
    };
    let xcall = |target: &[u8], input: &[u8]| {
        babel_evm::xcallCall {
            rollup: 999,
            target: evm_bytes(target),
            input: evm_bytes(input),
        }
        .abi_encode()
    };

    // Well formed and paid for: refused by the core (unknown rollup) at its overhead.
    let (ok, used, recorded) = probe(xcall(&[], &[]), 100_000);
    assert!(!ok);
    assert!(used < 10_000, "{used}");
    assert_eq!(recorded, 1);

    // Not strictly encoded (a trailing byte), or not an xcall at all: all the gas.
    let mut trailing = xcall(&[], &[]);
    trailing.push(0);
    for data in [trailing, vec![0xAB; 4_096]] {
        let (ok, used, recorded) = probe(data, 100_000);
        assert!(!ok);
        assert!(used >= 100_000, "{used}");
        assert_eq!(recorded, 0);
    }

    // 32 KiB of input offered 10 000 gas: refused before it is read, all the gas used.
    let (ok, used, recorded) = probe(xcall(&[], &vec![1; 32 * 1024]), 10_000);
    assert!(!ok);
    assert!(used >= 10_000, "{used}");
    assert_eq!(recorded, 0);
}
