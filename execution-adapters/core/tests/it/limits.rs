//! Hostile input cannot make receipts grow without paying for them: long targets are refused,
//! targets and outputs are charged per byte, and receipts are bounded per transaction and per
//! block.

use babel_execution::{
    abi,
    gas::{MAX_XCALL_TARGET_LEN, xcall_output_cost, xcall_overhead},
    receipt::{MAX_BLOCK_RECEIPT_BYTES, MAX_RECEIPT_BYTES, MAX_RECEIPT_FRAMES},
    state::{MemState, nonce_key},
    test_utils::{OP_GAS, Op, SCRIPT_TARGET_LEN, encode},
};
use babel_proto::v1;
use prost::Message;

use crate::support::{SENDER, balance, call, encode_tx, env, executor, fund, get, run, tx, w};

/// A refused call's receipt stays this small whatever the call named.
const SMALL_RECEIPT: usize = 4 * 1024;

fn call_at(rollup: u64, target: Vec<u8>, script: Vec<Op>, gas: u64) -> Op {
    Op::CallAt {
        rollup,
        target,
        script,
        gas,
        catch: true,
    }
}

fn message(output: &[u8]) -> String {
    abi::decode_error_message(output).unwrap_or_default()
}

/// `n` logs of 32 KiB each.
fn logs(n: u32) -> Op {
    Op::Repeat(n, vec![Op::Log(vec![0; 32 * 1024])])
}

#[test]
fn a_loop_of_xcalls_with_long_targets_is_refused_charged_and_not_recorded() {
    let exec = executor(0);
    let mut state = MemState::new();
    let target = vec![0xAA; 32 * 1024];
    // To a rollup that exists and to one that does not: the length is checked first.
    for rollup in [2, 999] {
        let mut state = MemState::new();
        let script = [
            Op::Repeat(10, vec![call_at(rollup, target.clone(), vec![], u64::MAX)]),
            w("after", "1"),
        ];
        let out = run(&exec, &mut state, 0, 10_000_000, &script);
        assert!(out.receipt.success, "{}", message(&out.receipt.output));
        let overhead = xcall_overhead(encode(&[]).len(), target.len());
        let root = out.receipt.root.as_ref().unwrap();
        assert_eq!(root.children.len(), 10);
        for child in &root.children {
            assert!(!child.success);
            assert!(child.target.is_empty(), "a long target is not recorded");
            assert_eq!(child.gas_used, overhead, "the target's bytes are charged");
            assert!(
                message(&child.output).contains(&format!(
                    "xcall target is 32768 bytes, more than {MAX_XCALL_TARGET_LEN}"
                )),
                "{}",
                message(&child.output)
            );
        }
        assert_eq!(
            out.receipt.gas_used,
            OP_GAS + 10 * (OP_GAS + overhead) + OP_GAS
        );
        assert!(
            out.receipt.encoded_len() < SMALL_RECEIPT,
            "{} bytes",
            out.receipt.encoded_len()
        );
    }

    // The reported attack: a loop under 3M gas. The charge stops it after a few calls, and
    // its receipt stays small.
    let script = [Op::Repeat(
        100_000,
        vec![call_at(999, target, vec![], u64::MAX)],
    )];
    let out = run(&exec, &mut state, 0, 3_000_000, &script);
    assert!(!out.receipt.success);
    assert_eq!(out.receipt.gas_used, 3_000_000);
    assert!(out.receipt.encoded_len() < SMALL_RECEIPT);
}

#[test]
fn a_target_longer_than_the_vm_takes_is_refused_and_recorded_empty() {
    let exec = executor(0);
    let mut state = MemState::new();
    let long = vec![1; SCRIPT_TARGET_LEN + 1];
    let fits = vec![2; SCRIPT_TARGET_LEN];
    let unknown = vec![3; MAX_XCALL_TARGET_LEN];
    let script = [
        call_at(2, long.clone(), vec![w("b", "long")], u64::MAX),
        call_at(2, fits.clone(), vec![w("b", "fits")], u64::MAX),
        call_at(99, unknown.clone(), vec![], u64::MAX),
    ];
    let out = run(&exec, &mut state, 0, 1_000_000, &script);
    assert!(out.receipt.success);
    let children = &out.receipt.root.as_ref().unwrap().children;

    assert!(!children[0].success);
    assert!(children[0].target.is_empty());
    assert_eq!(
        children[0].gas_used,
        xcall_overhead(encode(&[w("b", "long")]).len(), long.len())
    );
    let why = message(&children[0].output);
    assert!(
        why.contains("xcall target is 17 bytes, rollup 2 takes at most 16"),
        "{why}"
    );

    assert!(children[1].success);
    assert_eq!(children[1].target.as_ref(), fits.as_slice());
    assert_eq!(get(&state, 2, b"b"), Some(b"fits".to_vec()));

    // A refusal for another reason records the target, which the core bound keeps short.
    assert!(!children[2].success);
    assert_eq!(children[2].target.as_ref(), unknown.as_slice());
    assert!(message(&children[2].output).contains("unknown rollup 99"));
}

#[test]
fn a_callee_output_is_charged_to_the_caller_per_byte() {
    let exec = executor(0);
    let mut state = MemState::new();
    let big = vec![7; 10_000];
    let callee = vec![Op::Return(big.clone())];
    let overhead = xcall_overhead(encode(&callee).len(), b"script".len());

    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[call(2, callee.clone(), false)],
    );
    assert!(out.receipt.success);
    let child = &out.receipt.root.as_ref().unwrap().children[0];
    assert!(child.success);
    assert_eq!(child.output.len(), big.len());
    assert_eq!(child.gas_used, OP_GAS);
    assert_eq!(
        out.receipt.gas_used,
        OP_GAS + overhead + OP_GAS + xcall_output_cost(big.len())
    );
    assert_eq!(xcall_output_cost(big.len()), 80_000);

    // Revert data costs the same.
    let failing = vec![Op::Fail(big.clone())];
    let out = run(
        &exec,
        &mut state,
        1,
        1_000_000,
        &[call(2, failing.clone(), true)],
    );
    assert!(out.receipt.success);
    assert_eq!(
        out.receipt.gas_used,
        OP_GAS
            + xcall_overhead(encode(&failing).len(), b"script".len())
            + OP_GAS
            + xcall_output_cost(big.len())
    );
}

#[test]
fn a_caller_that_cannot_pay_for_the_output_gets_out_of_gas_and_the_callee_is_undone() {
    let exec = executor(0);
    let mut state = MemState::new();
    let callee = vec![
        w("b", "2"),
        Op::Log(b"gone".to_vec()),
        Op::Return(vec![7; 10_000]),
    ];
    let overhead = xcall_overhead(encode(&callee).len(), b"script".len());
    // Enough for the overhead and the callee's two hundred gas, not for 80 000 of output.
    let offered = overhead + 5_000;
    let script = [
        Op::Call {
            rollup: 2,
            script: callee.clone(),
            gas: offered,
            catch: true,
        },
        w("a", "1"),
    ];
    let out = run(&exec, &mut state, 0, 1_000_000, &script);
    assert!(out.receipt.success);
    assert_eq!(
        out.receipt.gas_used,
        OP_GAS + offered + OP_GAS,
        "the call costs exactly what it was offered, never more"
    );
    let child = &out.receipt.root.as_ref().unwrap().children[0];
    assert!(!child.success);
    assert!(child.logs.is_empty());
    assert_eq!(child.gas_used, 3 * OP_GAS, "what the callee itself used");
    assert_eq!(message(&child.output), "babel: out of gas for xcall output");
    assert_eq!(get(&state, 2, b"b"), None, "the callee's write is undone");
    assert_eq!(get(&state, 1, b"a"), Some(b"1".to_vec()));

    // Uncaught, the caller fails with that reason.
    let script = [Op::Call {
        rollup: 2,
        script: callee,
        gas: offered,
        catch: false,
    }];
    let out = run(&exec, &mut state, 1, 1_000_000, &script);
    assert!(!out.receipt.success);
    assert_eq!(
        message(&out.receipt.output),
        "babel: out of gas for xcall output"
    );
}

/// Run `script` from a funded sender on a rollup charging 2 per gas, and check that it failed
/// for its receipt's size with everything but nonce and fee undone.
fn fails_for_its_receipt(script: &[Op], gas: u64) -> String {
    let exec = executor(2);
    let mut state = MemState::new();
    fund(&mut state, &SENDER, 100_000_000);
    let out = run(&exec, &mut state, 0, gas, script);
    assert!(!out.receipt.success);
    assert_eq!(out.invalid, None, "it is paid for: a block may hold it");
    assert_eq!(
        out.receipt.gas_used, gas,
        "as an exceptional halt: all the gas"
    );
    assert_eq!(out.receipt.fee_paid, 2 * gas);
    assert_eq!(balance(&state, &SENDER), 100_000_000 - 2 * u128::from(gas));
    assert_eq!(
        get(&state, 1, &nonce_key(&SENDER)),
        Some(1u64.to_be_bytes().to_vec())
    );
    for (rollup, key) in [(1, "a"), (2, "b")] {
        assert_eq!(get(&state, rollup, key.as_bytes()), None, "{rollup}/{key}");
    }
    assert!(out.receipt.encoded_len() < SMALL_RECEIPT);
    let root = out.receipt.root.as_ref().unwrap();
    assert!(root.children.is_empty() && root.logs.is_empty());
    assert_eq!(root.output, out.receipt.output);
    message(&out.receipt.output)
}

#[test]
fn a_transaction_over_the_receipt_bytes_fails_with_its_changes_undone_but_pays() {
    // Its own logs, counted when it ends.
    let why = fails_for_its_receipt(
        &[w("a", "1"), call(2, vec![w("b", "2")], false), logs(40)],
        1_000_000,
    );
    assert_eq!(
        why,
        format!("babel: receipt would record more than {MAX_RECEIPT_BYTES} bytes")
    );
    // A callee's, counted when its frame is recorded: catching its failure does not help.
    // (Its script, 64 KiB of JSON, is input charged per byte: hence the gas.)
    let why = fails_for_its_receipt(
        &[w("a", "1"), call(2, vec![w("b", "2"), logs(40)], true)],
        3_000_000,
    );
    assert!(why.contains("more than 1048576 bytes"), "{why}");

    // Just under the bound is fine, and the receipt is no larger than the bound.
    let exec = executor(0);
    let out = run(&exec, &mut MemState::new(), 0, 1_000_000, &[logs(31)]);
    assert!(out.receipt.success);
    let size = out.receipt.encoded_len();
    assert!(
        size > MAX_RECEIPT_BYTES - 64 * 1024 && size <= MAX_RECEIPT_BYTES,
        "{size}"
    );
}

#[test]
fn a_transaction_over_the_receipt_frames_fails_even_when_each_call_is_free() {
    // Refused for want of gas, each call costs nothing but its op: only the frame bound stops
    // the loop from recording a frame per op.
    let free = call_at(99, vec![], vec![], 0);
    let why = fails_for_its_receipt(
        &[
            w("a", "1"),
            call(2, vec![w("b", "2")], false),
            Op::Repeat(5_000, vec![free.clone()]),
        ],
        1_000_000,
    );
    assert_eq!(
        why,
        format!("babel: receipt would record more than {MAX_RECEIPT_FRAMES} call frames")
    );

    // The top-level frame counts: one call fewer than the bound fits.
    let exec = executor(0);
    let n = u32::try_from(MAX_RECEIPT_FRAMES).unwrap() - 1;
    let out = run(
        &exec,
        &mut MemState::new(),
        0,
        1_000_000,
        &[Op::Repeat(n, vec![free])],
    );
    assert!(out.receipt.success);
    assert_eq!(
        out.receipt.root.as_ref().unwrap().children.len(),
        MAX_RECEIPT_FRAMES - 1
    );
}

#[test]
fn a_block_over_its_receipt_bytes_is_invalid_and_a_proposer_defers_the_rest() {
    let exec = executor(0);
    let state = MemState::new();
    let env = env();
    // Each receipt is just under a MiB: sixteen fit in a block, seventeen do not.
    let big = |nonce| encode_tx(&tx(nonce, 1_000_000, &[logs(31)]));
    let block: Vec<v1::SignedTransaction> = (0..17).map(big).collect();
    let executed = exec.execute_block(&state, &env, &block).unwrap();
    let total: usize = executed.receipts.iter().map(|r| r.encoded_len()).sum();
    assert!(total > MAX_BLOCK_RECEIPT_BYTES);
    assert!(total - executed.receipts[16].encoded_len() <= MAX_BLOCK_RECEIPT_BYTES);
    assert_eq!(executed.invalid.len(), 1);
    assert_eq!(executed.invalid[0].0, 16);
    assert!(
        executed.invalid[0]
            .1
            .contains("receipts of the block above"),
        "{}",
        executed.invalid[0].1
    );

    // A proposer leaves the seventeenth out, and its sender's next (a nonce gap otherwise),
    // but not as invalid; another sender's small transaction still fits.
    let other = [0x0E; 32];
    let mut small = tx(0, 10_000, &[w("o", "1")]);
    small.sender_pubkey = other.to_vec().into();
    let mut candidates = block.clone();
    candidates.push(big(17));
    candidates.push(encode_tx(&small));
    let built = exec.build_block(&state, &env, &candidates).unwrap();
    assert!(built.left_out.is_empty(), "{:?}", built.left_out);
    assert_eq!(built.deferred, [16]);
    let mut expected = block[..16].to_vec();
    expected.push(encode_tx(&small));
    assert_eq!(built.txs, expected);
    let again = exec.execute_block(&state, &env, &built.txs).unwrap();
    assert!(again.invalid.is_empty());
    assert_eq!(again, built.execution);
}
