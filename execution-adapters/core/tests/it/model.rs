//! Property: random cross-rollup call trees with random failures and gas limits, run by the
//! executor (journal with nested checkpoints), end exactly where a simple reference model ends.
//!
//! The model snapshots the *whole* state before every frame and restores the snapshot when the
//! frame fails: all-or-nothing by brute force, with no journal. It shares only the documented
//! constants and rules (op cost, xcall overhead, 63/64 forwarding, the charge for a callee's
//! output, depth bound, re-entrancy rule), the outgoing-message log's layout, and the texts of
//! refused calls.

use std::collections::BTreeMap;

use babel_execution::{
    abi,
    gas::{MAX_XCALL_DEPTH, forwardable, xcall_output_cost, xcall_overhead},
    state::{MemState, nonce_key},
    test_utils::{OP_GAS, Op, encode},
};
use babel_proto::{
    message::{MESSAGE_COUNT_KEY, decode_message_count, encode_message, message_key},
    v1,
};
use proptest::{prelude::*, test_runner::Config};

use crate::support::{SENDER, executor, run};

type World = BTreeMap<(u64, Vec<u8>), Vec<u8>>;

/// Outcome of a frame in the model: success, gas used and output.
type Outcome = (bool, u64, Vec<u8>);

/// Revert data of a call the core refuses.
fn refused(why: &str) -> Vec<u8> {
    abi::error_message(&format!("babel: {why}")).to_vec()
}

fn model_frame(
    world: &mut World,
    rollup: u64,
    script: &[Op],
    gas_limit: u64,
    stack: &mut Vec<u64>,
) -> Outcome {
    let snapshot = world.clone();
    stack.push(rollup);
    let result = model_ops(world, rollup, script, gas_limit, stack);
    stack.pop();
    if !result.0 {
        *world = snapshot;
    }
    result
}

fn model_ops(
    world: &mut World,
    rollup: u64,
    script: &[Op],
    gas_limit: u64,
    stack: &mut Vec<u64>,
) -> Outcome {
    let out_of_gas = || (false, gas_limit, b"out of gas".to_vec());
    let mut used = 0u64;
    for op in script {
        used += OP_GAS + if let Op::Burn(n) = op { *n } else { 0 };
        if used > gas_limit {
            return out_of_gas();
        }
        match op {
            Op::Write(k, Some(v)) => {
                world.insert((rollup, k.clone()), v.clone());
            }
            Op::Write(k, None) => {
                world.remove(&(rollup, k.clone()));
            }
            Op::Burn(_) | Op::Log(_) => {}
            Op::Message(payload) => {
                let count_key = (rollup, MESSAGE_COUNT_KEY.to_vec());
                let index = decode_message_count(world.get(&count_key).map(Vec::as_slice)).unwrap();
                let message = v1::OutgoingMessage {
                    index,
                    height: 1,
                    sender: b"script".to_vec().into(),
                    payload: payload.clone().into(),
                };
                world.insert(
                    (rollup, message_key(index).to_vec()),
                    encode_message(&message),
                );
                world.insert(count_key, (index + 1).to_be_bytes().to_vec());
            }
            Op::Call {
                rollup: target,
                script,
                gas,
                catch,
            } => {
                let offered = (*gas).min(gas_limit - used);
                let overhead = xcall_overhead(encode(script).len(), b"script".len());
                let (ok, cost, output) = if offered < overhead {
                    (false, offered, refused("out of gas for xcall"))
                } else if stack.len() as u32 > MAX_XCALL_DEPTH {
                    let why = format!("xcall depth above {MAX_XCALL_DEPTH}");
                    (false, overhead, refused(&why))
                } else if stack.contains(target) {
                    let why =
                        format!("reentrant xcall into rollup {target} (it has a frame running)");
                    (false, overhead, refused(&why))
                } else {
                    let before = world.clone();
                    let (ok, g, output) = model_frame(
                        world,
                        *target,
                        script,
                        forwardable(offered - overhead),
                        stack,
                    );
                    let cost = overhead + g + xcall_output_cost(output.len());
                    if cost > offered {
                        // The caller cannot pay for the output: out of gas, callee undone.
                        *world = before;
                        (false, offered, refused("out of gas for xcall output"))
                    } else {
                        (ok, cost, output)
                    }
                };
                used += cost;
                if used > gas_limit {
                    return out_of_gas();
                }
                if !ok && !catch {
                    return (false, used, output);
                }
            }
            Op::CallAt { .. } | Op::Repeat(..) => unreachable!("not generated"),
            Op::Fail(data) => return (false, used, data.clone()),
            Op::Return(data) => return (true, used, data.clone()),
        }
    }
    (true, used, Vec::new())
}

fn op(depth: u32) -> BoxedStrategy<Op> {
    let key = prop::sample::select(vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]);
    let value = prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 1..3));
    let leaf = prop_oneof![
        4 => (key, value).prop_map(|(k, v)| Op::Write(k, v)),
        1 => (0u64..3_000).prop_map(Op::Burn),
        1 => Just(Op::Fail(b"fail".to_vec())),
        1 => Just(Op::Return(b"ok".to_vec())),
        1 => Just(Op::Log(b"log".to_vec())),
        1 => Just(Op::Message(b"msg".to_vec())),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        2 => (1u64..=3, prop::collection::vec(op(depth - 1), 0..5), 0u64..60_000, any::<bool>())
            .prop_map(|(rollup, script, gas, catch)| Op::Call { rollup, script, gas, catch }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(Config {
        cases: 512,
        // Seeded: failures reproduce; the file records any shrunk failure.
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xBABE1),
        ..Config::default()
    })]

    #[test]
    fn call_trees_match_the_all_or_nothing_model(
        script in prop::collection::vec(op(3), 1..6),
        gas_limit in 500u64..150_000,
    ) {
        let exec = executor(0);
        let mut state = MemState::new();
        let out = run(&exec, &mut state, 0, gas_limit, &script);

        let mut world = World::new();
        let (ok, gas, output) = model_frame(&mut world, 1, &script, gas_limit, &mut Vec::new());
        world.insert((1, nonce_key(&SENDER).to_vec()), 1u64.to_be_bytes().to_vec());

        prop_assert_eq!(out.receipt.success, ok);
        prop_assert_eq!(out.receipt.gas_used, gas);
        prop_assert_eq!(out.receipt.output.as_ref(), output.as_slice());
        prop_assert_eq!(state.entries(), world.iter().collect());
    }
}
