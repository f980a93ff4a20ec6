//! Cross-rollup call trees: all-or-nothing, caught failures, re-entrancy, depth, gas, fees,
//! receipts and determinism.

use babel_execution::{
    BlockEnv, abi,
    gas::{MAX_XCALL_DEPTH, forwardable, xcall_output_cost, xcall_overhead},
    state::{MemState, nonce_key},
    test_utils::{OP_GAS, Op, balance_key, encode},
};

use crate::support::{SENDER, call, encode_tx, executor, fund, get, run, tx, w};

fn nonce(state: &MemState) -> Option<Vec<u8>> {
    get(state, 1, &nonce_key(&SENDER))
}

#[test]
fn a_successful_call_tree_changes_every_rollup_it_touches() {
    let exec = executor(0);
    let mut state = MemState::new();
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[
            w("a", "1"),
            call(
                2,
                vec![w("b", "2"), call(3, vec![w("c", "3")], false)],
                false,
            ),
            Op::Return(b"done".to_vec()),
        ],
    );
    assert!(out.receipt.success);
    assert_eq!(out.receipt.output.as_ref(), b"done");
    assert_eq!(get(&state, 1, b"a"), Some(b"1".to_vec()));
    assert_eq!(get(&state, 2, b"b"), Some(b"2".to_vec()));
    assert_eq!(get(&state, 3, b"c"), Some(b"3".to_vec()));
    assert_eq!(nonce(&state), Some(1u64.to_be_bytes().to_vec()));

    let root = out.receipt.root.unwrap();
    assert_eq!(root.rollup_id, 1);
    assert_eq!(root.children.len(), 1);
    assert_eq!(root.children[0].rollup_id, 2);
    assert_eq!(root.children[0].children[0].rollup_id, 3);
    assert!(root.children[0].children[0].success);
}

#[test]
fn an_uncaught_callee_failure_reverts_the_whole_tree_but_keeps_nonce_and_fee() {
    let exec = executor(2);
    let mut state = MemState::new();
    fund(&mut state, &SENDER, 1_000_000);

    let out = run(
        &exec,
        &mut state,
        0,
        100_000,
        &[
            w("a", "1"),
            call(2, vec![w("b", "2"), Op::Fail(b"no".to_vec())], false),
        ],
    );
    assert!(!out.receipt.success);
    assert_eq!(
        out.receipt.output.as_ref(),
        b"no",
        "the callee's revert data surfaces"
    );
    assert_eq!(get(&state, 1, b"a"), None);
    assert_eq!(get(&state, 2, b"b"), None);
    assert_eq!(nonce(&state), Some(1u64.to_be_bytes().to_vec()));
    let fee = u128::from(out.receipt.gas_used) * 2;
    assert!(fee > 0);
    assert_eq!(u128::from(out.receipt.fee_paid), fee);
    let balance = u128::from_be_bytes(
        get(&state, 1, &balance_key(&SENDER))
            .unwrap()
            .try_into()
            .unwrap(),
    );
    assert_eq!(balance, 1_000_000 - fee, "only the used gas is paid");
}

#[test]
fn a_caught_failure_keeps_the_callers_changes_only() {
    let exec = executor(0);
    let mut state = MemState::new();
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[
            w("a", "1"),
            call(
                2,
                vec![
                    w("b", "2"),
                    call(3, vec![w("c", "3")], false),
                    Op::Log(b"lost".to_vec()),
                    Op::Fail(b"x".to_vec()),
                ],
                true,
            ),
            call(3, vec![w("d", "4"), Op::Log(b"kept".to_vec())], false),
        ],
    );
    assert!(out.receipt.success);
    assert_eq!(get(&state, 1, b"a"), Some(b"1".to_vec()));
    assert_eq!(get(&state, 2, b"b"), None);
    assert_eq!(
        get(&state, 3, b"c"),
        None,
        "grandchild of the failed frame reverted too"
    );
    assert_eq!(get(&state, 3, b"d"), Some(b"4".to_vec()));

    let root = out.receipt.root.unwrap();
    let failed = &root.children[0];
    assert!(!failed.success && failed.logs.is_empty());
    assert!(
        failed.children[0].success,
        "the grandchild itself succeeded"
    );
    assert_eq!(root.children[1].logs.len(), 1);
    assert_eq!(root.children[1].logs[0].data.as_ref(), b"kept");
}

#[test]
fn reentrancy_into_a_running_rollup_fails_with_a_clear_error_and_corrupts_nothing() {
    let exec = executor(0);
    let mut state = MemState::new();
    // 1 → 2 → 1: the inner call is refused; 2 catches it and carries on.
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[
            w("a", "1"),
            call(
                2,
                vec![w("b", "2"), call(1, vec![w("a", "evil")], true)],
                false,
            ),
        ],
    );
    assert!(out.receipt.success);
    assert_eq!(get(&state, 1, b"a"), Some(b"1".to_vec()));
    assert_eq!(get(&state, 2, b"b"), Some(b"2".to_vec()));
    let refused = &out.receipt.root.unwrap().children[0].children[0];
    assert!(!refused.success);
    let message = abi::decode_error_message(&refused.output).unwrap();
    assert!(
        message.contains("reentrant xcall into rollup 1"),
        "{message}"
    );

    // Uncaught, the refusal fails the whole transaction.
    let out = run(
        &exec,
        &mut state,
        1,
        1_000_000,
        &[w("a", "2"), call(2, vec![call(1, vec![], false)], false)],
    );
    assert!(!out.receipt.success);
    assert_eq!(get(&state, 1, b"a"), Some(b"1".to_vec()));
}

#[test]
fn the_depth_bound_and_unknown_rollups_are_failed_calls() {
    // Re-entrancy is refused, so only a chain of distinct rollups gets deep: 1 → 2 → … → 70.
    let exec = (4..=70).fold(executor(0), |e, id| {
        e.with_rollup(
            id,
            std::sync::Arc::new(babel_execution::test_utils::ScriptAdapter),
            0,
        )
    });
    let mut script = vec![w("here", "x")];
    for rollup in (2..=70).rev() {
        script = vec![w("here", "x"), call(rollup, script, true)];
    }
    let mut state = MemState::new();
    let out = run(&exec, &mut state, 0, u64::MAX / 2, &script);
    assert!(
        out.receipt.success,
        "{:?}",
        abi::decode_error_message(&out.receipt.output)
    );
    // Rollup r runs at depth r - 1: depth MAX_XCALL_DEPTH is the last one allowed.
    let last = u64::from(MAX_XCALL_DEPTH) + 1;
    assert_eq!(get(&state, last, b"here"), Some(b"x".to_vec()));
    assert_eq!(get(&state, last + 1, b"here"), None);

    let out = run(&exec, &mut state, 1, 1_000_000, &[call(99, vec![], false)]);
    assert!(!out.receipt.success);
    let message = abi::decode_error_message(&out.receipt.output).unwrap();
    assert!(message.contains("unknown rollup 99"), "{message}");
}

#[test]
fn the_callee_gets_at_most_63_64ths_and_gas_adds_up() {
    let exec = executor(0);
    let mut state = MemState::new();
    let offered = 64_000;
    let inner = vec![Op::Burn(1_000_000)];
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[Op::Call {
            rollup: 2,
            script: inner.clone(),
            gas: offered,
            catch: true,
        }],
    );
    assert!(out.receipt.success);
    let child = &out.receipt.root.as_ref().unwrap().children[0];
    let overhead = xcall_overhead(encode(&inner).len(), b"script".len());
    assert!(!child.success);
    assert_eq!(
        child.gas_used,
        forwardable(offered - overhead),
        "out of gas uses it all"
    );
    // The caller pays for the callee's revert data too.
    assert_eq!(child.output.as_ref(), b"out of gas");
    assert_eq!(
        out.receipt.gas_used,
        OP_GAS + overhead + child.gas_used + xcall_output_cost(child.output.len())
    );
}

#[test]
fn can_pay_checks_the_maximum_fee_without_writing() {
    let exec = executor(5);
    let mut state = MemState::new();
    let env = crate::support::env();
    assert!(!exec.can_pay(&state, &env, &tx(0, 10_000, &[])).unwrap());
    fund(&mut state, &SENDER, 50_000);
    assert!(exec.can_pay(&state, &env, &tx(0, 10_000, &[])).unwrap());
    assert!(!exec.can_pay(&state, &env, &tx(0, 10_001, &[])).unwrap());
    assert_eq!(
        get(&state, 1, &balance_key(&SENDER)),
        Some(50_000u128.to_be_bytes().to_vec()),
        "nothing was taken"
    );
    assert!(
        executor(0)
            .can_pay(&MemState::new(), &env, &tx(0, 10_000, &[]))
            .unwrap()
    );
}

#[test]
fn an_unpaid_fee_fails_early_and_only_the_nonce_moves() {
    let exec = executor(5);
    let mut state = MemState::new();
    let out = run(&exec, &mut state, 0, 10_000, &[w("a", "1")]);
    assert!(!out.receipt.success);
    let why = out.invalid.as_deref().unwrap_or_default();
    assert!(why.contains("balance below the maximum fee"), "{why}");
    assert_eq!(out.receipt.gas_used, 0);
    let message = abi::decode_error_message(&out.receipt.output).unwrap();
    assert!(
        message.contains("balance below the maximum fee 50000"),
        "{message}"
    );
    assert_eq!(get(&state, 1, b"a"), None);
    assert_eq!(nonce(&state), Some(1u64.to_be_bytes().to_vec()));

    let mut low = tx(1, 10_000, &[w("a", "1")]);
    low.max_fee = 49_999;
    let out = exec
        .execute_tx(&state, &crate::support::env(), &low)
        .unwrap();
    assert!(!out.receipt.success);
    assert!(out.invalid.is_some());
    assert!(
        abi::decode_error_message(&out.receipt.output)
            .unwrap()
            .contains("max_fee 49999")
    );
}

#[test]
fn a_block_reports_the_transactions_that_would_run_for_free() {
    let exec = executor(5);
    let mut state = MemState::new();
    fund(&mut state, &SENDER, 60_000);
    // Each could pay alone (50 000 at most); the first spends 25 000, after which the second
    // cannot pay, and a replayed nonce never can run.
    let txs = [
        tx(0, 10_000, &[Op::Burn(5_000 - OP_GAS)]),
        tx(1, 10_000, &[w("b", "2")]),
        tx(0, 10, &[]),
    ];
    let env = crate::support::env();
    assert!(exec.can_pay(&state, &env, &txs[1]).unwrap());
    let signed: Vec<_> = txs.iter().map(encode_tx).collect();
    let block = exec.execute_block(&state, &env, &signed).unwrap();
    let indices: Vec<usize> = block.invalid.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, [1, 2]);
    assert!(block.receipts[0].success);
    assert!(block.invalid[0].1.contains("balance below the maximum fee"));
    assert!(block.invalid[1].1.contains("nonce 0 but next is 2"));

    // A proposer leaves the one that cannot pay out, and the sender's later one with it (its
    // nonce would leave a gap), but not another sender's; what remains executes as a valid
    // block, identically.
    let other = [0x0E; 32];
    fund(&mut state, &other, 60_000);
    let mut others = tx(0, 10_000, &[w("o", "1")]);
    others.sender_pubkey = other.to_vec().into();
    let candidates = [
        signed[0].clone(),
        signed[1].clone(),
        encode_tx(&others),
        encode_tx(&tx(2, 10, &[])),
    ];
    let built = exec.build_block(&state, &env, &candidates).unwrap();
    assert_eq!(built.txs, [candidates[0].clone(), candidates[2].clone()]);
    assert!(built.execution.receipts.iter().all(|r| r.success));
    assert_eq!(built.left_out.len(), 1);
    assert_eq!(built.left_out[0].0, 1);
    assert!(
        built.left_out[0]
            .1
            .contains("balance below the maximum fee")
    );
    let again = exec.execute_block(&state, &env, &built.txs).unwrap();
    assert!(again.invalid.is_empty());
    assert_eq!(again, built.execution);
}

#[test]
fn the_same_block_gives_the_same_changes_receipts_and_results_root() {
    use babel_execution::test_utils::payload;
    use ed25519_dalek::Signer as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let txs: Vec<babel_proto::v1::SignedTransaction> = (0..20u64)
        .map(|n| {
            let script = vec![
                w(&format!("k{}", n % 4), &n.to_string()),
                call(2 + n % 2, vec![w("x", &n.to_string())], n % 3 == 0),
                if n % 5 == 0 {
                    Op::Fail(vec![])
                } else {
                    Op::Return(vec![])
                },
            ];
            let body = babel_proto::v1::Transaction {
                chain_id: "c".into(),
                rollup_id: 1,
                sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
                nonce: n,
                gas_limit: 1_000_000,
                max_fee: u64::MAX,
                payload: Some(payload(&script)),
            };
            let body = prost::Message::encode_to_vec(&body);
            babel_proto::v1::SignedTransaction {
                signature: key.sign(&body).to_bytes().to_vec().into(),
                body: body.into(),
                ..Default::default()
            }
        })
        .collect();
    let env = BlockEnv {
        height: 7,
        time_ms: 7,
        max_tx_gas: 5_000_000,
    };
    let a = executor(0)
        .execute_block(&MemState::new(), &env, &txs)
        .unwrap();
    let b = executor(0)
        .execute_block(&MemState::new(), &env, &txs)
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.receipts.len(), 20);
    assert_eq!(a.receipts.iter().filter(|r| r.success).count(), 16);
    let mut other = a.receipts.clone();
    other[3].gas_used += 1;
    assert_ne!(
        babel_proto::results_root(&txs, &other),
        a.results_root,
        "the results root commits to every receipt"
    );
}
