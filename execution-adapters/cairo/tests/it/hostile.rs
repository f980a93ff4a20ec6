//! Hostile classes are stopped with a failed receipt that uses up what they were given, and
//! what they make the node store or compute is paid for: endless loops, deep recursion,
//! endless self-calls, floods of writes and events, huge calldata.

use babel_cairo::Felt252;
use babel_cairo::limits::{MAX_CALLDATA_FELTS, MAX_EVENT_FELTS};
use babel_proto::v1::{self, transaction::Payload};

use crate::{CAIRO, Chain, reason, word};

fn hostile(chain: &mut Chain) -> bytes::Bytes {
    chain.deploy(CAIRO, "hostile", vec![])
}

#[test]
fn an_endless_loop_runs_out_of_gas_and_pays_for_all_of_it() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let out = chain.call_with(CAIRO, 2_000_000, &contract, "spin", vec![]);
    assert_eq!(reason(&out), "Out of gas");
    assert!(out.receipt.gas_used > 1_900_000, "{}", out.receipt.gas_used);
}

#[test]
fn deep_recursion_is_stopped_by_gas() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let out = chain.call(CAIRO, &contract, "recurse", vec![word(10u64)]);
    assert!(out.receipt.success, "{}", reason(&out));
    let out = chain.call(CAIRO, &contract, "recurse", vec![word(100_000_000u64)]);
    assert_eq!(reason(&out), "Out of gas");
}

#[test]
fn endless_self_calls_stop_at_the_depth_bound() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    // Enough gas to reach the bound: the innermost call is refused, and every frame above it
    // fails with that reason (on a test thread's small stack: nested runs grow their own).
    let out = chain.call_with(CAIRO, 30_000_000, &contract, "self_call", vec![word(0u64)]);
    let why = reason(&out);
    assert!(why.contains("calls nested too deep"), "{why}");
}

#[test]
fn answers_copied_between_frames_are_paid_for() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let small = chain.call(
        CAIRO,
        &contract,
        "call_answer_many",
        vec![word(0u64), word(10u64)],
    );
    assert!(small.receipt.success, "{}", reason(&small));
    let large = chain.call(
        CAIRO,
        &contract,
        "call_answer_many",
        vec![word(1_000u64), word(10u64)],
    );
    assert!(large.receipt.success, "{}", reason(&large));
    // Ten answers of 1 000 felts: at least the copy charge, whatever the steps cost.
    let copy = 10 * 1_000 * babel_cairo::limits::syscall_gas::PER_FELT
        / babel_cairo::limits::SIERRA_GAS_PER_GAS;
    assert!(
        large.receipt.gas_used - small.receipt.gas_used >= copy,
        "{} vs {}",
        large.receipt.gas_used,
        small.receipt.gas_used
    );
    // Dropping huge answers in a loop runs out of gas long before it runs out of memory.
    let flood = chain.call_with(
        CAIRO,
        30_000_000,
        &contract,
        "call_answer_many",
        vec![word(16_000u64), word(1_000_000u64)],
    );
    assert!(reason(&flood).contains("Out of gas"), "{}", reason(&flood));
}

#[test]
fn every_call_pays_to_load_its_class() {
    let mut chain = Chain::new();
    let hostile_contract = hostile(&mut chain);
    let counter = chain.deploy(CAIRO, "counter", vec![word(1u64)]);
    // The same small work (a view) on a small and a larger class: the larger costs more.
    let small = chain.call(CAIRO, &hostile_contract, "recurse", vec![word(0u64)]);
    let large = chain.call(CAIRO, &counter, "get", vec![]);
    let floor = babel_cairo::limits::TX_BASE_GAS + babel_cairo::limits::load_gas(4_584, 0);
    assert!(
        large.receipt.gas_used >= floor,
        "{}",
        large.receipt.gas_used
    );
    assert!(large.receipt.gas_used > small.receipt.gas_used);
}

#[test]
fn the_hash_behind_each_storage_address_is_paid_at_babel_s_rate() {
    // Each slot of a `Map` is addressed by a Pedersen hash, charged from Babel's builtin cost
    // table (8 times the compiler's schedule): the ten writes past the first ten cost that
    // much more than their storage writes.
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    chain.call(CAIRO, &contract, "write_many", vec![word(20u64)]);
    let ten = chain.call(CAIRO, &contract, "write_many", vec![word(10u64)]);
    let twenty = chain.call(CAIRO, &contract, "write_many", vec![word(20u64)]);
    let per_write = (twenty.receipt.gas_used - ten.receipt.gas_used) / 10;
    let (write, pedersen) = (
        babel_cairo::limits::syscall_gas::STORAGE_WRITE,
        babel_cairo::run::BUILTIN_COSTS[0],
    );
    let sierra = babel_cairo::limits::SIERRA_GAS_PER_GAS;
    assert!(
        per_write >= (write + pedersen) / sierra,
        "{per_write} < {}",
        (write + pedersen) / sierra
    );
}

#[test]
fn writes_cost_gas_and_a_flood_of_them_runs_out() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let small = chain.call(CAIRO, &contract, "write_many", vec![word(10u64)]);
    assert!(small.receipt.success, "{}", reason(&small));
    // The same ten slots again: updates, cheaper than filling empty slots.
    let again = chain.call(CAIRO, &contract, "write_many", vec![word(10u64)]);
    let fill = babel_cairo::limits::syscall_gas::STORAGE_CREATE
        - babel_cairo::limits::syscall_gas::STORAGE_WRITE;
    assert_eq!(
        small.receipt.gas_used - again.receipt.gas_used,
        10 * fill / babel_cairo::limits::SIERRA_GAS_PER_GAS
    );
    let more = chain.call(CAIRO, &contract, "write_many", vec![word(20u64)]);
    assert!(more.receipt.gas_used > small.receipt.gas_used);
    let flood = chain.call(CAIRO, &contract, "write_many", vec![word(1_000_000u64)]);
    assert_eq!(reason(&flood), "Out of gas");
}

#[test]
fn events_are_bounded_and_paid_per_felt() {
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let out = chain.call(CAIRO, &contract, "emit_many", vec![word(100u64)]);
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(crate::logs(&out)[0].data.len(), 100 * 32);
    let over = (MAX_EVENT_FELTS + 1) as u64;
    let out = chain.call(CAIRO, &contract, "emit_many", vec![word(over)]);
    assert!(reason(&out).contains("Event too large"), "{}", reason(&out));
}

#[test]
fn calldata_past_the_bound_is_refused_at_admission() {
    let adapter = babel_cairo::CairoAdapter::new();
    let too_long = Payload::Cairo(v1::CairoCall {
        contract: word(1u64),
        entrypoint: "get".into(),
        calldata: vec![word(Felt252::ONE); MAX_CALLDATA_FELTS + 1],
        class: bytes::Bytes::new(),
    });
    let not_felt = Payload::Cairo(v1::CairoCall {
        contract: word(1u64),
        entrypoint: "get".into(),
        calldata: vec![bytes::Bytes::from_static(&[0xff; 32])],
        class: bytes::Bytes::new(),
    });
    use babel_execution::ExecutionAdapter as _;
    assert!(adapter.check_payload(&too_long).is_err());
    assert!(adapter.check_payload(&not_felt).is_err());
    // Within the bound, a long calldata is paid for and runs (the entry point refuses
    // arguments it does not take).
    let mut chain = Chain::new();
    let contract = hostile(&mut chain);
    let out = chain.call(
        CAIRO,
        &contract,
        "recurse",
        vec![word(Felt252::ONE); MAX_CALLDATA_FELTS],
    );
    assert!(!out.receipt.success);
    assert!(out.receipt.gas_used > babel_cairo::limits::TX_BASE_GAS);
}

#[test]
fn two_chains_running_the_same_transactions_agree() {
    let run = || {
        let mut chain = Chain::new();
        let contract = hostile(&mut chain);
        let counter = chain.deploy(CAIRO, "counter", vec![word(3u64)]);
        chain.call(CAIRO, &contract, "write_many", vec![word(5u64)]);
        chain.call(CAIRO, &counter, "increment", vec![word(2u64)]);
        chain.call_with(CAIRO, 500_000, &contract, "spin", vec![]);
        chain.state
    };
    assert_eq!(run(), run());
}
