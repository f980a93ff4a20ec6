//! Property: random call trees over two EVM, two WASM and a Cairo rollup, run by the node's
//! executor with the real adapters (revm, wasmtime, cairo-vm), end exactly where a
//! brute-force model ends.
//!
//! Each rollup runs the same script interpreter, in Solidity on the EVM rollups
//! (`Script.sol` in the EVM fixtures), in WAT on the WASM ones ([`SCRIPT_WAT`]) and in Cairo on
//! the Cairo one (`script.cairo` in the Cairo contracts), so one random script drives frames on
//! all three VMs. The model snapshots the whole world before every
//! frame and puts it back when the frame fails: all-or-nothing with no journal. It knows only
//! the interpreters' semantics and the core's rules for refused calls (re-entrancy, unknown
//! rollups); gas is left to the core's own property test, which models it exactly.
//!
//! `PROPTEST_CASES` sets the number of cases (2 000 by default).

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use babel_execution::{
    BlockEnv, Executor, abi,
    state::{MemState, StateView},
};
use babel_genesis::Genesis;
use babel_proto::v1;
use proptest::{prelude::*, test_runner::Config};

const EVM_A: u64 = 1;
const WASM_A: u64 = 2;
const EVM_B: u64 = 3;
const WASM_B: u64 = 4;
const CAIRO: u64 = 5;
const ROLLUPS: [u64; 5] = [EVM_A, WASM_A, EVM_B, WASM_B, CAIRO];
/// A rollup no genesis names: calls to it are refused by the core.
const NOWHERE: u64 = 9;
const SIGNER: [u8; 32] = [0x3C; 32];
/// The interpreter's address: on the EVM rollups an account with `Script`'s code, on the WASM
/// rollups a contract id, on the Cairo rollup the felt of the same number.
const INTERPRETER: [u8; 20] = [0x5C; 20];
const KEYS: u8 = 4;

/// The interpreter of the script format `Script.sol` documents, as a WASM contract.
const SCRIPT_WAT: &str = r#"(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "storage_delete" (func $delete (param i32 i32)))
  (import "babel" "log" (func $log (param i32 i32 i32 i32)))
  (import "babel" "xcall" (func $xcall (param i64 i32 i32 i32 i32 i64) (result i32)))
  (import "babel" "return_data_len" (func $rd_len (result i32)))
  (import "babel" "return_data_copy" (func $rd_copy (param i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (import "babel" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 4)
  (data (i32.const 0) "failok")
  (func (export "call")
    (local $i i32) (local $end i32) (local $op i32) (local $len i32)
    (call $input_copy (i32.const 1024))
    (local.set $i (i32.const 1024))
    (local.set $end (i32.add (i32.const 1024) (call $input_len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $op (i32.load8_u (local.get $i)))
        (if (i32.eq (local.get $op) (i32.const 1))
          (then
            (if (i32.load8_u offset=2 (local.get $i))
              (then (call $write (i32.add (local.get $i) (i32.const 1)) (i32.const 1)
                                 (i32.add (local.get $i) (i32.const 2)) (i32.const 1)))
              (else (call $delete (i32.add (local.get $i) (i32.const 1)) (i32.const 1))))
            (local.set $i (i32.add (local.get $i) (i32.const 3)))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 2))
          (then (call $revert (i32.const 0) (i32.const 4))))
        (if (i32.eq (local.get $op) (i32.const 3))
          (then (call $ret (i32.const 4) (i32.const 2)) (return)))
        (if (i32.eq (local.get $op) (i32.const 4))
          (then
            (local.set $len (i32.or (i32.shl (i32.load8_u offset=23 (local.get $i)) (i32.const 8))
                                    (i32.load8_u offset=24 (local.get $i))))
            (if (i32.eqz (call $xcall (i64.extend_i32_u (i32.load8_u offset=1 (local.get $i)))
                                      (i32.add (local.get $i) (i32.const 3)) (i32.const 20)
                                      (i32.add (local.get $i) (i32.const 25)) (local.get $len)
                                      (call $gas_left)))
              (then
                (if (i32.eqz (i32.load8_u offset=2 (local.get $i)))
                  (then
                    (call $rd_copy (i32.const 131072))
                    (call $revert (i32.const 131072) (call $rd_len))))))
            (local.set $i (i32.add (local.get $i) (i32.add (i32.const 25) (local.get $len))))
            (br $next)))
        (if (i32.eq (local.get $op) (i32.const 5))
          (then
            (call $log (i32.const 0) (i32.const 0) (i32.add (local.get $i) (i32.const 1)) (i32.const 1))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $next)))
        (unreachable)))))"#;

/// One instruction of the interpreters.
#[derive(Clone, Debug)]
enum Op {
    /// Set key to value; 0 deletes.
    Write(u8, u8),
    Fail,
    Return,
    Call {
        rollup: u64,
        script: Vec<Op>,
        catch: bool,
    },
    Log(u8),
}

fn encode(script: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in script {
        match op {
            Op::Write(k, v) => out.extend([1, *k, *v]),
            Op::Fail => out.push(2),
            Op::Return => out.push(3),
            Op::Call {
                rollup,
                script,
                catch,
            } => {
                let inner = encode(script);
                out.extend([4, *rollup as u8, u8::from(*catch)]);
                out.extend(INTERPRETER);
                out.extend(u16::try_from(inner.len()).unwrap().to_be_bytes());
                out.extend(inner);
            }
            Op::Log(d) => out.extend([5, *d]),
        }
    }
    out
}

/// Storage of the interpreter on every rollup, and the logs that survive.
#[derive(Clone, Debug, Default, PartialEq)]
struct World {
    storage: BTreeMap<(u64, u8), u8>,
    logs: Vec<(u64, u8)>,
}

fn refused(why: &str) -> Vec<u8> {
    abi::error_message(&format!("babel: {why}")).to_vec()
}

fn model_frame(
    world: &mut World,
    rollup: u64,
    script: &[Op],
    stack: &mut Vec<u64>,
) -> (bool, Vec<u8>) {
    let snapshot = world.clone();
    stack.push(rollup);
    let result = model_ops(world, rollup, script, stack);
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
    stack: &mut Vec<u64>,
) -> (bool, Vec<u8>) {
    for op in script {
        match op {
            Op::Write(k, 0) => {
                world.storage.remove(&(rollup, *k));
            }
            Op::Write(k, v) => {
                world.storage.insert((rollup, *k), *v);
            }
            Op::Log(d) => world.logs.push((rollup, *d)),
            Op::Fail => return (false, b"fail".to_vec()),
            Op::Return => return (true, b"ok".to_vec()),
            Op::Call {
                rollup: target,
                script,
                catch,
            } => {
                let (ok, output) = if *target == NOWHERE {
                    (false, refused(&format!("unknown rollup {target}")))
                } else if stack.contains(target) {
                    let why =
                        format!("reentrant xcall into rollup {target} (it has a frame running)");
                    (false, refused(&why))
                } else {
                    model_frame(world, *target, script, stack)
                };
                if !ok && !catch {
                    return (false, output);
                }
            }
        }
    }
    (true, Vec::new())
}

fn genesis() -> Genesis {
    let evm = serde_json::from_str::<serde_json::Value>(include_str!(
        "../../../execution-adapters/evm/tests/fixtures/contracts.json"
    ))
    .unwrap()["contracts"]["Script"]["deployedBytecode"]
        .as_str()
        .unwrap()
        .to_owned();
    let wasm = hex::encode(wat::parse_str(SCRIPT_WAT).unwrap());
    let evm_rollup = |id: u64, chain: u64| {
        serde_json::json!({ "id": id, "name": format!("evm-{id}"), "vm": "evm",
            "initial_state": { "evm_chain_id": chain, "alloc": [
                { "address": format!("0x{}", hex::encode(INTERPRETER)), "balance": "0", "code": evm }
            ] } })
    };
    let wasm_rollup = |id: u64| {
        serde_json::json!({ "id": id, "name": format!("wasm-{id}"), "vm": "wasm",
            "initial_state": { "contracts": [ { "id": hex::encode(INTERPRETER), "code": wasm } ] } })
    };
    let cairo: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}/../execution-adapters/cairo/contracts/compiled/script.sierra.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let cairo_rollup = serde_json::json!({ "id": CAIRO, "name": "cairo", "vm": "cairo",
        "initial_state": { "contracts": [
            { "address": format!("0x{}", hex::encode(cairo_interpreter())), "sierra_class": cairo }
        ] } });
    let json = serde_json::json!({
        "chain_id": "mixed",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": hex::encode(
                             ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes()),
                         "voting_power": 1,
                         "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [evm_rollup(EVM_A, 11), wasm_rollup(WASM_A), evm_rollup(EVM_B, 13), wasm_rollup(WASM_B),
                    cairo_rollup]
    });
    Genesis::from_json(json.to_string().as_bytes()).unwrap()
}

fn is_evm(rollup: u64) -> bool {
    rollup == EVM_A || rollup == EVM_B
}

/// The interpreter's Cairo address: [`INTERPRETER`] as a 32-byte big-endian felt.
fn cairo_interpreter() -> [u8; 32] {
    let mut address = [0; 32];
    address[12..].copy_from_slice(&INTERPRETER);
    address
}

/// The interpreter's storage on every rollup and the logs of a receipt's frames that succeeded
/// (with their ancestors), in the model's terms.
fn observed(state: &MemState, receipt: &v1::Receipt) -> World {
    let mut world = World::default();
    for rollup in ROLLUPS {
        for k in 0..KEYS {
            let value = if rollup == CAIRO {
                let key = babel_cairo::state::storage_key(&cairo_interpreter(), &{
                    let mut slot = [0; 32];
                    slot[31] = k;
                    slot
                });
                state.get(rollup, &key).unwrap().map(|word| {
                    assert!(word[..31].iter().all(|b| *b == 0));
                    word[31]
                })
            } else if is_evm(rollup) {
                let key =
                    babel_evm::state::storage_key(&Address::from(INTERPRETER), &U256::from(k));
                state.get(rollup, &key).unwrap().map(|word| {
                    let word = U256::from_be_slice(&word);
                    u8::try_from(word).unwrap()
                })
            } else {
                let key = [
                    babel_wasm::state::storage_prefix(&INTERPRETER).as_slice(),
                    &[k],
                ]
                .concat();
                state.get(rollup, &key).unwrap().map(|v| {
                    assert_eq!(v.len(), 1);
                    v[0]
                })
            };
            if let Some(v) = value {
                world.storage.insert((rollup, k), v);
            }
        }
    }
    fn walk(frame: &v1::CallFrame, logs: &mut Vec<(u64, u8)>) {
        if !frame.success {
            assert!(frame.logs.is_empty(), "a failed frame keeps no logs");
            return;
        }
        for log in &frame.logs {
            // One byte; a felt (32 bytes) on the Cairo rollup.
            let (high, d) = log.data.split_at(log.data.len() - 1);
            assert!(high.len() == 31 * usize::from(frame.rollup_id == CAIRO));
            assert!(high.iter().all(|b| *b == 0));
            logs.push((frame.rollup_id, d[0]));
        }
        for child in &frame.children {
            walk(child, logs);
        }
    }
    if receipt.success {
        walk(receipt.root.as_ref().unwrap(), &mut world.logs);
    }
    world
}

fn payload(rollup: u64, input: Vec<u8>) -> v1::transaction::Payload {
    if rollup == CAIRO {
        v1::transaction::Payload::Cairo(v1::CairoCall {
            contract: cairo_interpreter().to_vec().into(),
            entrypoint: "call".into(),
            calldata: babel_cairo::felt::bytes_to_felts(&input)
                .iter()
                .map(|f| f.to_bytes_be().to_vec().into())
                .collect(),
            class: Default::default(),
        })
    } else if is_evm(rollup) {
        v1::transaction::Payload::Evm(v1::EvmCall {
            to: INTERPRETER.to_vec().into(),
            value: Default::default(),
            data: input.into(),
        })
    } else {
        v1::transaction::Payload::Wasm(v1::WasmCall {
            contract: INTERPRETER.to_vec().into(),
            method: "call".into(),
            input: input.into(),
            code: Default::default(),
        })
    }
}

fn rollup() -> impl Strategy<Value = u64> {
    prop_oneof![
        5 => prop::sample::select(ROLLUPS.to_vec()),
        1 => Just(NOWHERE),
    ]
}

fn op(depth: u32) -> BoxedStrategy<Op> {
    let leaf = prop_oneof![
        5 => (0..KEYS, prop_oneof![4 => 1u8..=255, 1 => Just(0u8)]).prop_map(|(k, v)| Op::Write(k, v)),
        1 => Just(Op::Fail),
        1 => Just(Op::Return),
        2 => any::<u8>().prop_map(Op::Log),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        2 => (rollup(), prop::collection::vec(op(depth - 1), 0..5), any::<bool>())
            .prop_map(|(rollup, script, catch)| Op::Call { rollup, script, catch }),
    ]
    .boxed()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

struct Chain {
    exec: Executor,
    state: MemState,
}

fn chain() -> Chain {
    let genesis = genesis();
    let exec = babel_node::params::executor_for(&genesis).unwrap();
    let mut state = MemState::new();
    state.apply(&exec.genesis_changes(&genesis).unwrap());
    Chain { exec, state }
}

fn env() -> BlockEnv {
    babel_node::params::block_env(1, 1_700_000_000_000)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        // Seeded: failures reproduce; the file records any shrunk failure.
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xBA_BE12),
        ..Config::default()
    })]

    #[test]
    fn mixed_evm_wasm_and_cairo_call_trees_match_the_all_or_nothing_model(
        origin in prop::sample::select(ROLLUPS.to_vec()),
        script in prop::collection::vec(op(4), 1..6),
    ) {
        // One chain per thread: the WASM and Cairo adapters keep their compiled interpreters
        // across cases.
        thread_local!(static CHAIN: Chain = chain());
        CHAIN.with(|chain| {
            let mut state = chain.state.clone();
            let tx = v1::Transaction {
                chain_id: "mixed".into(),
                rollup_id: origin,
                sender_pubkey: SIGNER.to_vec().into(),
                nonce: 0,
                gas_limit: 20_000_000,
                max_fee: 0,
                payload: Some(payload(origin, encode(&script))),
            };
            let out = chain.exec.execute_tx(&state, &env(), &tx).unwrap();
            prop_assert_eq!(out.invalid, None);
            state.apply(&out.changes);

            let mut world = World::default();
            let (ok, output) = model_frame(&mut world, origin, &script, &mut Vec::new());
            let mut expected_logs = world.logs.clone();
            expected_logs.sort_unstable();
            let mut seen = observed(&state, &out.receipt);
            seen.logs.sort_unstable();
            world.logs = expected_logs;

            prop_assert_eq!(out.receipt.success, ok, "{:?}", abi::decode_error_message(&out.receipt.output));
            // A Cairo transaction answers felts: a successful interpreter's are a ByteArray.
            let answer = if origin == CAIRO && out.receipt.success {
                let felts: Vec<_> = out.receipt.output.chunks(32)
                    .map(|c| babel_cairo::felt::felt_from_bytes(c).unwrap())
                    .collect();
                let (bytes, used) = babel_cairo::felt::felts_to_bytes(&felts).unwrap();
                prop_assert_eq!(used, felts.len());
                bytes
            } else {
                out.receipt.output.to_vec()
            };
            prop_assert_eq!(answer, output);
            prop_assert_eq!(seen, world);
            Ok(())
        })?;
    }
}
