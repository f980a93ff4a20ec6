//! The counter and the asset on one rollup: deploys, constructors, storage, events, views and
//! failures with their stable reasons.

use babel_cairo::Felt252;
use babel_cairo::felt::{caller_felt, selector};
use babel_proto::v1::{self, transaction::Payload};
use bytes::Bytes;

use crate::{CAIRO, Chain, GAS, SIGNER, class, felts, reason, word};

#[test]
fn a_counter_is_deployed_counts_emits_events_and_answers_views() {
    let mut chain = Chain::new();
    let counter = chain.deploy(CAIRO, "counter", vec![word(5u64)]);
    assert_eq!(counter.len(), 32);

    let out = chain.call(CAIRO, &counter, "increment", vec![word(3u64)]);
    assert!(out.receipt.success, "{:?}", out.receipt);
    assert_eq!(felts(&out), vec![Felt252::from(8u64)]);
    // The event: its name's selector as the first key, then its fields as data.
    let logs = crate::logs(&out);
    let [log] = logs.as_slice() else {
        panic!("logs: {:?}", crate::logs(&out))
    };
    assert_eq!(log.address, counter);
    assert_eq!(log.topics, vec![word(selector("Incremented"))]);
    assert_eq!(log.data, [word(3u64), word(8u64)].concat());
    // Sierra gas is metered: more than the base, less than the limit.
    assert!(out.receipt.gas_used > babel_cairo::limits::TX_BASE_GAS);
    assert!(out.receipt.gas_used < GAS);

    let out = chain.call(CAIRO, &counter, "get", vec![]);
    assert_eq!(felts(&out), vec![Felt252::from(8u64)]);
    assert_eq!(
        chain.storage(CAIRO, &counter, selector("value")),
        Some(word(8u64).to_vec())
    );

    // A second deploy by the same signer gets another address.
    let other = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    assert_ne!(other, counter);
}

#[test]
fn a_failed_assert_or_panic_fails_with_its_message_and_undoes_the_frame() {
    let mut chain = Chain::new();
    let counter = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    let out = chain.call(CAIRO, &counter, "increment", vec![word(0u64)]);
    assert_eq!(reason(&out), "zero increment");
    assert!(crate::logs(&out).is_empty());
    let out = chain.call(CAIRO, &counter, "increment_then_fail", vec![word(4u64)]);
    assert_eq!(reason(&out), "after write");
    let out = chain.call(CAIRO, &counter, "get", vec![]);
    assert_eq!(felts(&out), vec![Felt252::ONE]);
}

#[test]
fn calls_that_cannot_run_fail_with_stable_reasons() {
    let mut chain = Chain::new();
    let counter = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    let out = chain.call(CAIRO, &counter, "no_such_entry", vec![]);
    assert_eq!(reason(&out), "cairo: no such entry point");
    let out = chain.call(CAIRO, &[0; 32], "get", vec![]);
    assert_eq!(reason(&out), "cairo: no contract");
    // Calldata that does not deserialize to the entry point's arguments.
    let out = chain.call(CAIRO, &counter, "increment", vec![]);
    assert!(!out.receipt.success);
    // A class that is not one, and a constructor argument missing.
    let bad = chain.run(
        CAIRO,
        GAS,
        Payload::Cairo(v1::CairoCall {
            class: Bytes::from_static(b"{\"sierra_program\": 7}"),
            ..Default::default()
        }),
    );
    assert_eq!(reason(&bad), "cairo: not a contract class");
    let out = chain.run(
        CAIRO,
        GAS,
        Payload::Cairo(v1::CairoCall {
            class: class("counter").into(),
            ..Default::default()
        }),
    );
    assert!(!out.receipt.success);
}

#[test]
fn a_class_whose_program_does_not_decode_is_refused_and_changes_nothing() {
    let mut json: serde_json::Value = serde_json::from_slice(&class("counter")).unwrap();
    // Cut the program in half: it no longer decodes to a Sierra program.
    let program = json["sierra_program"].as_array().unwrap().clone();
    json["sierra_program"] = serde_json::Value::Array(program[..program.len() / 2].to_vec());
    let mut chain = Chain::new();
    let out = chain.run(
        CAIRO,
        GAS,
        Payload::Cairo(v1::CairoCall {
            class: serde_json::to_vec(&json).unwrap().into(),
            calldata: vec![word(1u64)],
            ..Default::default()
        }),
    );
    assert_eq!(reason(&out), "cairo: not a contract class");
    // Only the signer's nonce moved: no class, no contract, no deploy count.
    let changed: Vec<_> = out.changes.keys().cloned().collect();
    assert!(
        changed.iter().all(|(_, k)| k.starts_with(b"babel/nonce/")),
        "{changed:?}"
    );
}

#[test]
fn the_asset_mints_only_for_its_minter_and_never_past_its_cap() {
    let mut chain = Chain::new();
    // The minter is the signer itself, calling on this rollup.
    let minter = caller_felt(CAIRO, &SIGNER);
    let asset = chain.deploy(
        CAIRO,
        "asset",
        vec![word(minter), word(1_000u64), word(0u64)],
    );
    // Below the prime, as the asset requires of an account.
    let to = [0x01u8; 32];
    let mint = |amount: u64| {
        let mut input = alloy_primitives::hex!("e1856ff4").to_vec();
        input.extend_from_slice(&to);
        input.extend_from_slice(&alloy_primitives::U256::from(amount).to_be_bytes::<32>());
        input
    };
    let out = chain.call(CAIRO, &asset, "call", crate::byte_array(&mint(600)));
    assert!(out.receipt.success, "{:?}", reason(&out));
    let out = chain.call(CAIRO, &asset, "call", crate::byte_array(&mint(401)));
    assert_eq!(reason(&out), "over cap");
    let out = chain.call(CAIRO, &asset, "total_supply", vec![]);
    // A u256 is two felts, low then high.
    assert_eq!(felts(&out), vec![Felt252::from(600u64), Felt252::ZERO]);
    let out = chain.call(
        CAIRO,
        &asset,
        "balance_of",
        vec![word(Felt252::from_bytes_be(&to))],
    );
    assert_eq!(felts(&out), vec![Felt252::from(600u64), Felt252::ZERO]);

    // Anyone else is refused.
    let other = chain.deploy(
        CAIRO,
        "asset",
        vec![word(Felt252::from(99u64)), word(1_000u64), word(0u64)],
    );
    let out = chain.call(CAIRO, &other, "call", crate::byte_array(&mint(1)));
    assert_eq!(reason(&out), "not minter");
}

#[test]
fn classes_of_unsupported_sierra_versions_are_refused() {
    for minor in ["0x3", "0x8"] {
        let mut json: serde_json::Value = serde_json::from_slice(&class("counter")).unwrap();
        json["sierra_program"][1] = serde_json::json!(minor);
        let mut chain = Chain::new();
        let out = chain.run(
            CAIRO,
            GAS,
            Payload::Cairo(v1::CairoCall {
                class: serde_json::to_vec(&json).unwrap().into(),
                calldata: vec![word(1u64)],
                ..Default::default()
            }),
        );
        assert_eq!(
            reason(&out),
            "cairo: class of an unsupported Sierra version"
        );
    }
}

#[test]
fn calls_never_compile_a_class_that_was_deployed() {
    use std::sync::Arc;
    let adapter = Arc::new(babel_cairo::CairoAdapter::new());
    let mut chain = Chain::with_cairo(adapter.clone());
    let counter = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    let relay = chain.deploy(CAIRO, "relay", vec![]);
    let compiled = adapter.compiles();
    assert_eq!(compiled, 2);
    for _ in 0..3 {
        chain.call(CAIRO, &counter, "increment", vec![word(1u64)]);
        chain.call(
            CAIRO,
            &relay,
            "bump_counter",
            vec![
                word(Felt252::from_bytes_be(
                    &counter.as_ref().try_into().unwrap(),
                )),
                word(1u64),
            ],
        );
    }
    assert_eq!(adapter.compiles(), compiled);
}
