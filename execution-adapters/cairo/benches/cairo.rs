//! Cairo execution benchmarks, Babel beside the bare engine in one run:
//!
//! - `call`: one call of an entry point that recurses 100 deep (`hostile.recurse(100)`, no
//!   system calls), on a class compiled once. Bare cairo-vm does what any embedder must per
//!   call (a runner over the shared program, a `Cairo1HintProcessor` with a step bound, the
//!   entry point's arguments, `run_from_entrypoint` with `verify_secure`); Babel runs it as a
//!   transaction through the executor and the adapter (nonce, journal, the hint processor with
//!   its system calls, metering, the receipt with its call tree).
//! - `xcall from the EVM`: the script interpreter on the Cairo rollup, answering at once,
//!   reached from the EVM rollup's `Script` contract through `xcall`, beside that contract
//!   alone and beside the direct Cairo transaction: the price of entering Cairo from another
//!   rollup.
//! - `three VMs`: one transaction EVM → WASM → Cairo and back (`Locker.relay` on the EVM
//!   rollup, the WASM relay, the Cairo counter's `increment`), end to end through the
//!   executor.
//!
//! After criterion's report, the ratios of the means (over every sample taken) are printed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy_sol_types::{SolCall, sol};
use babel_cairo::{CairoAdapter, Felt252, felt};
use babel_execution::{BlockEnv, ExecutionAdapter, Executor, state::MemState};
use babel_genesis::{
    CairoContract, CairoGenesis, EvmAccount, EvmGenesis, Hex, RollupGenesis, StorageSlot,
    VmGenesis, WasmContract, WasmGenesis,
};
use babel_proto::v1;
use cairo_lang_starknet_classes::{
    casm_contract_class::CasmContractClass, contract_class::ContractClass,
};
use cairo_vm::{
    hint_processor::cairo_1_hint_processor::hint_processor::Cairo1HintProcessor,
    types::program::Program,
    types::{builtin_name::BuiltinName, layout_name::LayoutName, relocatable::MaybeRelocatable},
    vm::runners::cairo_runner::{CairoArg, CairoRunner, RunResources},
};
use criterion::{Criterion, criterion_group};

sol! {
    function relay(uint64 rollup, bytes target, bytes data) external returns (bytes);
    function increment(uint256 by) external returns (uint256);
}

const KEY: [u8; 32] = [0xBE; 32];
const CAIRO: u64 = 1;
const EVM: u64 = 2;
const WASM: u64 = 3;
/// Addresses (the Cairo ones are felts of these numbers).
const HOSTILE: [u8; 20] = [0x11; 20];
const INTERPRETER: [u8; 20] = [0x5C; 20];
const COUNTER: [u8; 20] = [0xC0; 20];
const LOCKER: [u8; 20] = [0x10; 20];
const RELAY: [u8; 20] = [0xBB; 20];
const DEPTH: u64 = 100;

/// Total time and iterations of each benchmark, by name, over every sample it took.
static TOTALS: Mutex<BTreeMap<&'static str, (Duration, u64)>> = Mutex::new(BTreeMap::new());

fn record(name: &'static str, iters: u64, total: Duration) -> Duration {
    if let Ok(mut totals) = TOTALS.lock() {
        let entry = totals.entry(name).or_default();
        entry.0 += total;
        entry.1 += iters;
    }
    total
}

fn class_json(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/contracts/compiled/{name}.sierra.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn address(bytes: &[u8; 20]) -> [u8; 32] {
    let mut out = [0; 32];
    out[12..].copy_from_slice(bytes);
    out
}

fn env() -> BlockEnv {
    BlockEnv {
        height: 1,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let fixtures: serde_json::Value =
        serde_json::from_str(include_str!("../../evm/tests/fixtures/contracts.json")).unwrap();
    let code = fixtures["contracts"][name]["deployedBytecode"]
        .as_str()
        .unwrap();
    hex::decode(code.trim_start_matches("0x")).unwrap()
}

/// The executor with every contract at genesis, and its state.
fn world() -> (Executor, MemState) {
    let cairo_contract = |at: &[u8; 20], name: &str, storage: Vec<StorageSlot>| CairoContract {
        address: address(at).into(),
        sierra_class: serde_json::from_slice(&class_json(name)).unwrap(),
        storage,
    };
    let rollups = [
        RollupGenesis {
            id: CAIRO,
            name: "cairo".into(),
            namespace: None,
            gas_price: 0,
            vm: VmGenesis::Cairo(CairoGenesis {
                contracts: vec![
                    cairo_contract(&HOSTILE, "hostile", Vec::new()),
                    cairo_contract(&INTERPRETER, "script", Vec::new()),
                    cairo_contract(&COUNTER, "counter", Vec::new()),
                ],
            }),
        },
        RollupGenesis {
            id: EVM,
            name: "evm".into(),
            namespace: None,
            gas_price: 0,
            vm: VmGenesis::Evm(EvmGenesis {
                evm_chain_id: 31,
                alloc: [(INTERPRETER, "Script"), (LOCKER, "Locker")]
                    .into_iter()
                    .map(|(at, name)| EvmAccount {
                        address: at.into(),
                        balance: Default::default(),
                        nonce: 0,
                        code: Hex(fixture(name)),
                        storage: Vec::new(),
                    })
                    .collect(),
            }),
        },
        RollupGenesis {
            id: WASM,
            name: "wasm".into(),
            namespace: None,
            gas_price: 0,
            vm: VmGenesis::Wasm(WasmGenesis {
                contracts: vec![WasmContract {
                    id: Hex(RELAY.to_vec()),
                    code: Hex(
                        wat::parse_str(include_str!("../../wasm/contracts/relay.wat")).unwrap(),
                    ),
                    storage: Vec::new(),
                }],
            }),
        },
    ];
    let adapters: [Arc<dyn ExecutionAdapter>; 3] = [
        Arc::new(CairoAdapter::new()),
        Arc::new(babel_evm::EvmAdapter::new(31)),
        Arc::new(babel_wasm::WasmAdapter::new().unwrap()),
    ];
    let mut changes = babel_execution::state::Changes::new();
    let mut exec = Executor::new();
    for (rollup, adapter) in rollups.iter().zip(adapters) {
        for (key, value) in adapter.genesis_state(rollup).unwrap() {
            changes.insert((rollup.id, key), Some(value));
        }
        exec = exec.with_rollup(rollup.id, adapter, 0);
    }
    let mut state = MemState::new();
    state.apply(&changes);
    (exec, state)
}

fn tx(rollup: u64, payload: v1::transaction::Payload) -> v1::Transaction {
    v1::Transaction {
        chain_id: "bench".into(),
        rollup_id: rollup,
        sender_pubkey: KEY.to_vec().into(),
        nonce: 0,
        gas_limit: 10_000_000,
        max_fee: 0,
        payload: Some(payload),
    }
}

fn cairo(at: &[u8; 20], entrypoint: &str, calldata: &[Felt252]) -> v1::transaction::Payload {
    v1::transaction::Payload::Cairo(v1::CairoCall {
        contract: address(at).to_vec().into(),
        entrypoint: entrypoint.into(),
        calldata: calldata
            .iter()
            .map(|f| f.to_bytes_be().to_vec().into())
            .collect(),
        class: Default::default(),
    })
}

fn evm(to: &[u8; 20], data: Vec<u8>) -> v1::transaction::Payload {
    v1::transaction::Payload::Evm(v1::EvmCall {
        to: to.to_vec().into(),
        value: Default::default(),
        data: data.into(),
    })
}

/// Run `payload` on `rollup` once per iteration, keeping nothing (the nonce stays 0).
fn babel(
    exec: &Executor,
    state: &MemState,
    rollup: u64,
    payload: &v1::transaction::Payload,
    iters: u64,
) -> Duration {
    let tx = tx(rollup, payload.clone());
    let start = Instant::now();
    for _ in 0..iters {
        let out = exec.execute_tx(state, &env(), &tx).unwrap();
        assert!(out.receipt.success, "{:?}", out.receipt);
    }
    start.elapsed()
}

/// The hostile class compiled for bare cairo-vm, and `recurse`'s entry point.
struct Bare {
    program: Program,
    hints: Vec<(usize, Vec<cairo_lang_casm::hints::Hint>)>,
    len: usize,
    offset: usize,
    builtins: Vec<BuiltinName>,
}

fn bare() -> Bare {
    let class: ContractClass = serde_json::from_slice(&class_json("hostile")).unwrap();
    let casm = CasmContractClass::from_contract_class(class, false, usize::MAX).unwrap();
    let ep = casm
        .entry_points_by_type
        .external
        .iter()
        .find(|ep| Felt252::from(&ep.selector) == felt::selector("recurse"))
        .unwrap()
        .clone();
    Bare {
        hints: casm.hints.clone(),
        len: casm.bytecode.len(),
        program: Program::try_from(casm).unwrap(),
        offset: ep.offset,
        builtins: ep
            .builtins
            .iter()
            .map(|b| BuiltinName::from_str(b).unwrap())
            .collect(),
    }
}

/// One bare call of `recurse(DEPTH)`.
fn bare_call(b: &Bare) {
    let mut runner =
        CairoRunner::new(&b.program, LayoutName::all_cairo, None, false, false, false).unwrap();
    runner
        .initialize_function_runner_cairo_1(&b.builtins)
        .unwrap();
    let base = runner.program_base.unwrap();
    let costs = runner.vm.add_memory_segment();
    let table: Vec<MaybeRelocatable> = [4050u64, 583, 4085, 491, 230, 604]
        .iter()
        .map(|c| Felt252::from(*c).into())
        .collect();
    runner.vm.load_data(costs, &table).unwrap();
    let end = (base + b.len).unwrap();
    runner
        .vm
        .insert_value(end, Felt252::from_hex_unchecked("0x208b7fff7fff7ffe"))
        .unwrap();
    runner
        .vm
        .insert_value((end + 1usize).unwrap(), costs)
        .unwrap();
    let mut args: Vec<CairoArg> = Vec::new();
    for name in &b.builtins {
        let builtin = runner
            .vm
            .builtin_runners
            .iter()
            .find(|r| r.name() == *name)
            .unwrap();
        args.extend(builtin.initial_stack().into_iter().map(CairoArg::Single));
    }
    args.push(CairoArg::Single(Felt252::from(100_000_000u64).into()));
    let syscalls = runner.vm.add_memory_segment();
    args.push(CairoArg::Single(syscalls.into()));
    let data = runner.vm.add_memory_segment();
    let data_end = runner
        .vm
        .load_data(data, &[Felt252::from(DEPTH).into()])
        .unwrap();
    args.push(CairoArg::Single(data.into()));
    args.push(CairoArg::Single(data_end.into()));
    let refs: Vec<&CairoArg> = args.iter().collect();
    let mut hints = Cairo1HintProcessor::new(&b.hints, RunResources::new(1_000_000), false);
    runner
        .run_from_entrypoint(b.offset, &refs, true, Some(b.len + 2), &mut hints)
        .unwrap();
    let ret = runner.vm.get_return_values(5).unwrap();
    assert_eq!(ret[2], Felt252::ZERO.into(), "recurse panicked");
}

fn call(c: &mut Criterion) {
    let mut group = c.benchmark_group("call");
    let b = bare();
    group.bench_function("bare cairo-vm", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                bare_call(&b);
            }
            record("call/bare cairo-vm", iters, start.elapsed())
        });
    });
    let (exec, state) = world();
    let payload = cairo(&HOSTILE, "recurse", &[Felt252::from(DEPTH)]);
    group.bench_function("babel-cairo", |bench| {
        bench.iter_custom(|iters| {
            record(
                "call/babel-cairo",
                iters,
                babel(&exec, &state, CAIRO, &payload, iters),
            )
        });
    });
    group.finish();
}

fn xcall_from_evm(c: &mut Criterion) {
    let mut group = c.benchmark_group("xcall from the EVM");
    let (exec, state) = world();
    // The interpreters' byte scripts: `03` answers at once; `04 rollup catch target len(2)
    // script` calls the interpreter on `rollup` with `script`.
    let direct = cairo(&INTERPRETER, "call", &felt::bytes_to_felts(&[3]));
    let mut through = vec![4, CAIRO as u8, 0];
    through.extend(INTERPRETER);
    through.extend([0, 1, 3]);
    let cases: [(&'static str, u64, v1::transaction::Payload); 3] = [
        ("xcall from the EVM/direct Cairo transaction", CAIRO, direct),
        (
            "xcall from the EVM/EVM contract alone",
            EVM,
            evm(&INTERPRETER, vec![3]),
        ),
        (
            "xcall from the EVM/EVM contract calling Cairo",
            EVM,
            evm(&INTERPRETER, through),
        ),
    ];
    for (name, rollup, payload) in &cases {
        group.bench_function(name.rsplit('/').next().unwrap_or(name), |bench| {
            bench.iter_custom(|iters| {
                record(name, iters, babel(&exec, &state, *rollup, payload, iters))
            });
        });
    }
    group.finish();
}

fn three_vms(c: &mut Criterion) {
    let mut group = c.benchmark_group("three VMs");
    let (exec, state) = world();
    // EVM Locker.relay → WASM relay (rollup ‖ target length ‖ target ‖ data) → Cairo counter.
    let mut via_wasm = CAIRO.to_le_bytes().to_vec();
    via_wasm.push(32);
    via_wasm.extend(address(&COUNTER));
    via_wasm.extend(
        incrementCall {
            by: alloy_primitives::U256::from(1),
        }
        .abi_encode(),
    );
    let payload = evm(
        &LOCKER,
        relayCall {
            rollup: WASM,
            target: RELAY.to_vec().into(),
            data: via_wasm.into(),
        }
        .abi_encode(),
    );
    group.bench_function("EVM to WASM to Cairo", |bench| {
        bench.iter_custom(|iters| {
            record(
                "three VMs/EVM to WASM to Cairo",
                iters,
                babel(&exec, &state, EVM, &payload, iters),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, call, xcall_from_evm, three_vms);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let totals = TOTALS.lock().unwrap();
    let mean = |name: &str| {
        totals.get(name).map_or(Duration::ZERO, |(total, iters)| {
            total.div_f64((*iters).max(1) as f64)
        })
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE);
    let (bare, ours) = (mean("call/bare cairo-vm"), mean("call/babel-cairo"));
    println!(
        "call: bare cairo-vm {bare:?}, babel-cairo {ours:?}: {:.2}x",
        ratio(ours, bare)
    );
    let direct = mean("xcall from the EVM/direct Cairo transaction");
    let alone = mean("xcall from the EVM/EVM contract alone");
    let via = mean("xcall from the EVM/EVM contract calling Cairo");
    println!(
        "xcall from the EVM: direct Cairo transaction {direct:?}, EVM contract alone {alone:?}, \
         calling Cairo {via:?}; above the direct Cairo transaction +{:?}, of which entering \
         Cairo from the EVM frame +{:?}",
        via.saturating_sub(direct),
        via.saturating_sub(direct).saturating_sub(alone)
    );
    let three = mean("three VMs/EVM to WASM to Cairo");
    println!(
        "three VMs: EVM → WASM → Cairo and back {three:?} per transaction ({:.0} tx/s on one core)",
        1.0 / three.as_secs_f64().max(f64::MIN_POSITIVE)
    );
}
