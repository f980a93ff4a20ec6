//! Hostile blocks: what a byzantine proposer or sync peer sends reaches the node as bytes,
//! which the consensus driver decodes as a `Block` and hands to `NodeApp::validate_block`. An
//! `Err` from validation is fatal (the node stops), so no input may cause one, nor a panic:
//! a bad block must come back as an invalid verdict.

use babel_proto::test_utils::{field_mutants, mutate_with};
use ed25519_dalek::SigningKey;
use proptest::{
    prelude::*,
    test_runner::{Config, RngSeed, TestCaseResult, TestRunner},
};

use super::tests::{Fixture, block_with, commit, fixture, transfer};
use super::*;
use crate::txpath::admission::sign;

/// The one-validator chain of the app tests and a valid block at height 2 (so it carries a
/// certificate of its parent) holding eight transfers from four senders.
fn honest() -> (Fixture, v1::Block) {
    let mut f = fixture();
    let first = block_with(&mut f, Vec::new());
    commit(&mut f, first);
    let txs = (1..=4u8)
        .flat_map(|sender| {
            let key = SigningKey::from_bytes(&[sender; 32]);
            (0..2).map(move |nonce| sign(&transfer(sender, nonce, u64::from(sender), 0), &key))
        })
        .collect();
    let block = block_with(&mut f, txs);
    assert_eq!(block.txs.len(), 8);
    (f, block)
}

/// What the driver does with a complete proposal's (or a synced value's) bytes: decode, take
/// the header, check its height, hash it, validate. Validation must answer, not fail; a block
/// that differs from the honest one must not be valid unless only its time changed (a
/// proposer picks the time).
fn received(f: &Fixture, honest_block: &v1::Block, bytes: &[u8]) -> TestCaseResult {
    let Ok(block) = v1::Block::decode(bytes) else {
        return Ok(());
    };
    let Some(header) = block.header.as_ref() else {
        return Ok(());
    };
    if header.height != 2 {
        return Ok(());
    }
    let _ = babel_proto::block_hash(header);
    let mut honest = honest_block.clone();
    if let Some(h) = honest.header.as_mut() {
        h.time_ms = header.time_ms;
    }
    for origin in [BlockOrigin::Proposal, BlockOrigin::Decided] {
        // The application is a handle on shared state: a clone validates the same way.
        let verdict = f.app.clone().validate_block(&block, origin);
        prop_assert!(verdict.is_ok(), "validation failed: {verdict:?}");
        if verdict.is_ok_and(|v| v.is_valid()) {
            prop_assert_eq!(&block, &honest, "a tampered block was judged valid");
        }
    }
    Ok(())
}

/// Run `test` on `cases` inputs drawn from `strategy` with a fixed seed, against one fixture
/// (building a chain per case would cost more than the cases).
fn run_cases<S: Strategy>(
    cases: u32,
    seed: u64,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn the_honest_block_is_valid() {
    let (f, good) = honest();
    for origin in [BlockOrigin::Proposal, BlockOrigin::Decided] {
        let verdict = f.app.clone().validate_block(&good, origin).unwrap();
        assert!(verdict.is_valid(), "{}", verdict.reason());
    }
}

/// The honest block's encoding, or its header's (most of a block's bytes are transactions),
/// with a few bytes or protobuf fields changed (see `babel_proto::test_utils`): validation
/// answers, and only the honest block (whatever its time) is valid.
#[test]
fn mutated_blocks_are_judged_and_never_crash_the_node() {
    let (f, good) = honest();
    let honest = good.encode_to_vec();
    let header = good.header.as_ref().map(|h| h.encode_to_vec()).unwrap();
    let mutations = proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u64>()), 1..6);
    let inputs = (mutations, any::<bool>(), any::<bool>());
    run_cases(1024, 13, inputs, |(m, structured, in_header)| {
        if !in_header {
            return received(&f, &good, &mutate_with(structured, &honest, &m));
        }
        let Ok(header) = v1::Header::decode(mutate_with(structured, &header, &m).as_slice()) else {
            return Ok(());
        };
        let block = v1::Block {
            header: Some(header),
            ..good.clone()
        };
        received(&f, &good, &block.encode_to_vec())
    });
}

/// Every block one field change away from the honest one, at any depth (header fields, the
/// transactions' envelopes, bodies and payloads): validation answers, and only the honest
/// block (whatever its time) is valid.
#[test]
fn every_one_field_change_of_a_block_is_judged() {
    let (f, good) = honest();
    for mutant in field_mutants(&good.encode_to_vec()) {
        if let Err(e) = received(&f, &good, &mutant) {
            panic!("{e} for {}", hex::encode(&mutant));
        }
    }
}

/// Random bytes where a peer should have sent a block, and the honest header over random
/// transactions (with a matching transaction root, so that they reach the transaction
/// checks), never crash the node.
#[test]
fn random_bytes_and_random_transactions_never_crash_the_node() {
    let (f, good) = honest();
    let tx = (
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 62..66),
    );
    let inputs = (
        proptest::collection::vec(any::<u8>(), 0..2048),
        proptest::collection::vec(tx, 1..4),
        any::<bool>(),
    );
    run_cases(512, 17, inputs, |(raw, txs, keep_honest)| {
        received(&f, &good, &raw)?;
        let mut block = good.clone();
        if !keep_honest {
            block.txs.clear();
        }
        block.txs.extend(
            txs.into_iter()
                .map(|(body, signature)| v1::SignedTransaction {
                    body: body.into(),
                    signature: signature.into(),
                    ..Default::default()
                }),
        );
        if let Some(h) = block.header.as_mut() {
            h.tx_root = babel_proto::tx_root(&block.txs).to_vec().into();
            h.tx_count = block.txs.len() as u64;
        }
        received(&f, &good, &block.encode_to_vec())
    });
}
