//! Property: random cross-rollup call trees with random failures and gas limits, run by the
//! executor (journal with nested checkpoints), end exactly where a simple reference model ends.
//!
//! The model snapshots the *whole* state before every frame and restores the snapshot when the
//! frame fails: all-or-nothing by brute force, with no journal. It shares only the documented
//! constants (op cost, xcall overhead, 63/64 forwarding, depth bound, re-entrancy rule).

use std::collections::BTreeMap;

use babel_execution::{
    gas::{MAX_XCALL_DEPTH, forwardable, xcall_overhead},
    state::{MemState, nonce_key},
    test_utils::{OP_GAS, Op, encode},
};
use proptest::{prelude::*, test_runner::Config};

use crate::support::{SENDER, executor, run};

type World = BTreeMap<(u64, Vec<u8>), Vec<u8>>;

/// Outcome of a frame in the model: success and gas used.
fn model_frame(
    world: &mut World,
    rollup: u64,
    script: &[Op],
    gas_limit: u64,
    stack: &mut Vec<u64>,
) -> (bool, u64) {
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
) -> (bool, u64) {
    let mut used = 0u64;
    for op in script {
        used += OP_GAS + if let Op::Burn(n) = op { *n } else { 0 };
        if used > gas_limit {
            return (false, gas_limit);
        }
        match op {
            Op::Write(k, Some(v)) => {
                world.insert((rollup, k.clone()), v.clone());
            }
            Op::Write(k, None) => {
                world.remove(&(rollup, k.clone()));
            }
            Op::Burn(_) | Op::Log(_) => {}
            Op::Call {
                rollup: target,
                script,
                gas,
                catch,
            } => {
                let offered = (*gas).min(gas_limit - used);
                let overhead = xcall_overhead(encode(script).len());
                let (ok, cost) = if offered < overhead {
                    (false, offered)
                } else if stack.len() as u32 > MAX_XCALL_DEPTH || stack.contains(target) {
                    (false, overhead)
                } else {
                    let (ok, g) = model_frame(
                        world,
                        *target,
                        script,
                        forwardable(offered - overhead),
                        stack,
                    );
                    (ok, overhead + g)
                };
                used += cost;
                if used > gas_limit {
                    return (false, gas_limit);
                }
                if !ok && !catch {
                    return (false, used);
                }
            }
            Op::Fail(_) => return (false, used),
            Op::Return(_) => return (true, used),
        }
    }
    (true, used)
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
        let (ok, gas) = model_frame(&mut world, 1, &script, gas_limit, &mut Vec::new());
        world.insert((1, nonce_key(&SENDER).to_vec()), 1u64.to_be_bytes().to_vec());

        prop_assert_eq!(out.receipt.success, ok);
        prop_assert_eq!(out.receipt.gas_used, gas);
        prop_assert_eq!(state.entries(), world.iter().collect());
    }
}
