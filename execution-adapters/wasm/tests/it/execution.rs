//! Deploys, calls and cross-rollup calls that work.

use babel_execution::test_utils::{Op, encode, payload};

use crate::{
    Chain, GAS, SCRIPT, SIGNER, WASM,
    contracts::{COUNTER, FLOATS, FORWARDER, WHOAMI},
    reason,
};

fn counter_value(chain: &Chain, id: &[u8]) -> Option<u64> {
    chain
        .storage(id, b"n")
        .map(|v| u64::from_le_bytes(v.try_into().unwrap()))
}

#[test]
fn a_deployed_counter_counts_and_answers() {
    let mut chain = Chain::new();
    let id = chain.deploy(COUNTER, "");
    assert_eq!(id.len(), 20);
    assert_eq!(
        id.as_ref(),
        babel_wasm::state::contract_id(WASM, &SIGNER, 0)
    );
    assert_eq!(counter_value(&chain, &id), None);
    for _ in 0..2 {
        let out = chain.call(&id, "increment", b"");
        assert!(out.receipt.success, "{:?}", reason(&out));
        // Every frame pays for its instance, however little it runs.
        let floor = babel_wasm::limits::TX_BASE_GAS + babel_wasm::limits::INSTANTIATE_GAS;
        assert!(out.receipt.gas_used > floor && out.receipt.gas_used < GAS);
    }
    assert_eq!(counter_value(&chain, &id), Some(2));
    let got = chain.call(&id, "get", b"");
    assert!(got.receipt.success);
    assert_eq!(got.receipt.output.as_ref(), 2u64.to_le_bytes());

    // A second deploy of the same code is another contract, with storage of its own; the
    // module is stored once.
    let other = chain.deploy(COUNTER, "increment");
    assert_ne!(other, id);
    assert_eq!(
        counter_value(&chain, &other),
        Some(1),
        "the constructor ran"
    );
    assert_eq!(counter_value(&chain, &id), Some(2));
}

#[test]
fn a_revert_keeps_nothing_but_the_nonce_and_returns_its_data() {
    let mut chain = Chain::new();
    let id = chain.deploy(COUNTER, "");
    let out = chain.call(&id, "fail", b"");
    assert!(!out.receipt.success);
    assert_eq!(out.receipt.output.as_ref(), b"nope");
    assert!(out.receipt.gas_used < GAS, "a revert does not burn all gas");
    assert_eq!(counter_value(&chain, &id), None);
}

#[test]
fn wasm_calls_another_rollup_and_both_commit_or_neither() {
    let mut chain = Chain::new();
    let id = chain.deploy(FORWARDER, "");
    // The callee writes on its rollup and returns bytes.
    let ok = encode(&[
        Op::Write(b"k".to_vec(), Some(b"v".to_vec())),
        Op::Return(b"out".to_vec()),
    ]);
    let out = chain.call(&id, "forward", &ok);
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(out.receipt.output.as_ref(), b"out");
    assert_eq!(chain.get(SCRIPT, b"k"), Some(b"v".to_vec()));
    assert_eq!(chain.storage(&id, b"mark"), Some(b"mark".to_vec()));
    // The call tree records the cross-rollup frame.
    let root = out.receipt.root.as_ref().unwrap();
    assert_eq!(root.children.len(), 1);
    assert_eq!(root.children[0].rollup_id, SCRIPT);

    // The callee fails: the forwarder reverts with its data, and nothing of either stays.
    let mut chain = Chain::new();
    let id = chain.deploy(FORWARDER, "");
    let bad = encode(&[
        Op::Write(b"k".to_vec(), Some(b"v".to_vec())),
        Op::Fail(b"no".to_vec()),
    ]);
    let out = chain.call(&id, "forward", &bad);
    assert!(!out.receipt.success);
    assert_eq!(out.receipt.output.as_ref(), b"no");
    assert_eq!(chain.get(SCRIPT, b"k"), None);
    assert_eq!(chain.storage(&id, b"mark"), None);

    // A caught failure keeps the caller's changes only.
    let out = chain.call(&id, "forward_catch", &bad);
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(chain.get(SCRIPT, b"k"), None);
    assert_eq!(chain.storage(&id, b"mark"), Some(b"mark".to_vec()));
}

#[test]
fn another_rollup_calls_wasm_and_a_later_failure_reverts_it() {
    let mut chain = Chain::new();
    let id = chain.deploy(COUNTER, "");
    let into_counter = |then: Vec<Op>| {
        let mut script = vec![Op::CallAt {
            rollup: WASM,
            target: id.to_vec(),
            script: vec![],
            gas: 1_000_000,
            catch: false,
        }];
        script.extend(then);
        payload(&script)
    };
    let out = chain.run(SCRIPT, GAS, into_counter(vec![]));
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(counter_value(&chain, &id), Some(1));
    let out = chain.run(SCRIPT, GAS, into_counter(vec![Op::Fail(b"later".to_vec())]));
    assert!(!out.receipt.success);
    assert_eq!(
        counter_value(&chain, &id),
        Some(1),
        "the increment was reverted"
    );
}

#[test]
fn the_host_tells_who_calls_and_when() {
    let mut chain = Chain::new();
    let id = chain.deploy(WHOAMI, "");
    let out = chain.call(&id, "record", b"");
    assert!(out.receipt.success, "{:?}", reason(&out));
    let le = |v: Option<Vec<u8>>| u64::from_le_bytes(v.unwrap().try_into().unwrap());
    assert_eq!(
        chain.storage(&id, b"c"),
        Some(SIGNER.to_vec()),
        "a signer calls"
    );
    assert_eq!(le(chain.storage(&id, b"r")), WASM);
    assert_eq!(le(chain.storage(&id, b"o")), WASM);
    assert_eq!(chain.storage(&id, b"s"), Some(SIGNER.to_vec()));
    assert_eq!(le(chain.storage(&id, b"h")), crate::env().height);
    assert_eq!(le(chain.storage(&id, b"t")), crate::env().time_ms);

    // Called from the script rollup: the caller is the script contract there, the origin
    // is the script rollup, the signer the same.
    let out = chain.run(
        SCRIPT,
        GAS,
        payload(&[Op::CallAt {
            rollup: WASM,
            target: id.to_vec(),
            script: vec![],
            gas: 1_000_000,
            catch: false,
        }]),
    );
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(chain.storage(&id, b"c"), Some(b"script".to_vec()));
    assert_eq!(le(chain.storage(&id, b"r")), SCRIPT);
    assert_eq!(le(chain.storage(&id, b"o")), SCRIPT);
    assert_eq!(chain.storage(&id, b"s"), Some(SIGNER.to_vec()));
}

#[test]
fn floats_give_canonical_nans_and_two_engines_agree() {
    let run = || {
        let mut chain = Chain::new();
        let id = chain.deploy(FLOATS, "");
        let out = chain.call(&id, "run", b"");
        assert!(out.receipt.success, "{:?}", reason(&out));
        (
            out,
            chain
                .state
                .entries()
                .into_iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>(),
            id,
        )
    };
    let (a, state_a, id) = run();
    let (b, state_b, _) = run();
    assert_eq!(a, b, "same receipt and changes from two engines");
    assert_eq!(state_a, state_b);
    let mut chain = Chain::new();
    let _ = chain.deploy(FLOATS, "");
    let out = chain.call(&id, "run", b"");
    assert!(out.receipt.success);
    // The canonical quiet NaNs, whatever the CPU would have produced.
    assert_eq!(
        chain.storage(&id, b"a"),
        Some(0x7fc0_0000u32.to_le_bytes().to_vec())
    );
    assert_eq!(
        chain.storage(&id, b"b"),
        Some(0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec())
    );
    assert_eq!(
        chain.storage(&id, b"c"),
        Some(0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec())
    );
}
