//! WASM execution benchmarks, Babel beside the bare engine in one run:
//!
//! - `warm call`: one call of an export that sums 1 000 numbers, on a module compiled once. Bare
//!   wasmtime instantiates it per call as the adapter does (a fresh store with fuel, then
//!   `call`), with the same engine configuration; Babel runs it as a transaction through the
//!   executor and the adapter (nonce, journal, a store with limits, the guest on a fiber, the
//!   receipt with its call tree).
//! - `xcall`: the same work reached from another rollup (a frame of the core's test script VM
//!   calling the contract through the core's cross-rollup call) versus the direct
//!   transaction: the price of entering a WASM frame through `xcall`, plus the script frame's
//!   own (small) cost.
//! - `xcall from the EVM`: the same work reached from a Solidity contract on an EVM rollup
//!   through the `xcall` precompile, beside that contract alone (its frame and the
//!   transaction, no call), so that the cost of entering WASM from the EVM shows on its own.
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
    future::Future,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use babel_execution::{
    BlockEnv, Executor,
    state::MemState,
    test_utils::{Op, ScriptAdapter, payload},
};
use babel_proto::v1;
use babel_wasm::WasmAdapter;
use criterion::{Criterion, criterion_group};
use wasmtime::{Engine, Instance, Module, Store};

const KEY: [u8; 32] = [0xBE; 32];
const WASM: u64 = 1;
const SCRIPT: u64 = 2;
const EVM: u64 = 3;
const CONTRACT: [u8; 20] = [0xC0; 20];
/// The EVM rollup's `Script` contract (`execution-adapters/evm/tests/fixtures`), which runs
/// a byte script from its call data: here, either nothing or one xcall.
const SCRIPT_EVM: [u8; 20] = [0x5C; 20];

/// Sums 1..=1000 into a global: `run` for transactions, `call` for cross-rollup calls.
const SUM: &str = r#"(module
  (memory (export "memory") 1)
  (global $out (mut i64) (i64.const 0))
  (func $sum (local $i i64) (local $acc i64)
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (local.set $acc (i64.add (local.get $acc) (local.get $i)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 1000))))
    (global.set $out (local.get $acc)))
  (func (export "run") (call $sum))
  (func (export "call") (call $sum)))"#;

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

fn env() -> BlockEnv {
    BlockEnv {
        height: 1,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

/// An executor with the contract deployed at genesis on the WASM rollup, and its state.
fn world() -> (Executor, MemState) {
    let code = wat::parse_str(SUM).unwrap();
    let genesis = babel_genesis::RollupGenesis {
        id: WASM,
        name: "wasm".into(),
        namespace: None,
        gas_price: 0,
        vm: babel_genesis::VmGenesis::Wasm(babel_genesis::WasmGenesis {
            contracts: vec![babel_genesis::WasmContract {
                id: babel_genesis::Hex(CONTRACT.to_vec()),
                code: babel_genesis::Hex(code),
                storage: Vec::new(),
            }],
        }),
    };
    let adapter = WasmAdapter::new().unwrap();
    let mut state = MemState::new();
    let mut changes = babel_execution::state::Changes::new();
    for (key, value) in
        babel_execution::ExecutionAdapter::genesis_state(&adapter, &genesis).unwrap()
    {
        changes.insert((WASM, key), Some(value));
    }
    let fixtures: serde_json::Value =
        serde_json::from_str(include_str!("../../evm/tests/fixtures/contracts.json")).unwrap();
    let script = fixtures["contracts"]["Script"]["deployedBytecode"]
        .as_str()
        .unwrap();
    let evm = babel_evm::EvmAdapter::new(31);
    let evm_genesis = babel_genesis::RollupGenesis {
        id: EVM,
        name: "evm".into(),
        namespace: None,
        gas_price: 0,
        vm: babel_genesis::VmGenesis::Evm(babel_genesis::EvmGenesis {
            evm_chain_id: 31,
            alloc: vec![babel_genesis::EvmAccount {
                address: SCRIPT_EVM.into(),
                balance: Default::default(),
                nonce: 0,
                code: babel_genesis::Hex(hex::decode(script.trim_start_matches("0x")).unwrap()),
                storage: Vec::new(),
            }],
        }),
    };
    for (key, value) in
        babel_execution::ExecutionAdapter::genesis_state(&evm, &evm_genesis).unwrap()
    {
        changes.insert((EVM, key), Some(value));
    }
    state.apply(&changes);
    let exec = Executor::new()
        .with_rollup(WASM, Arc::new(adapter), 0)
        .with_rollup(SCRIPT, Arc::new(ScriptAdapter), 0)
        .with_rollup(EVM, Arc::new(evm), 0);
    (exec, state)
}

fn tx(rollup: u64, nonce: u64, payload: v1::transaction::Payload) -> v1::Transaction {
    v1::Transaction {
        chain_id: "bench".into(),
        rollup_id: rollup,
        sender_pubkey: KEY.to_vec().into(),
        nonce,
        gas_limit: 1_000_000,
        max_fee: 0,
        payload: Some(payload),
    }
}

fn direct() -> v1::transaction::Payload {
    v1::transaction::Payload::Wasm(v1::WasmCall {
        contract: CONTRACT.to_vec().into(),
        method: "run".into(),
        ..Default::default()
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
    let tx = tx(rollup, 0, payload.clone());
    let start = Instant::now();
    for _ in 0..iters {
        let out = exec.execute_tx(state, &env(), &tx).unwrap();
        assert!(out.receipt.success, "{:?}", out.receipt);
    }
    start.elapsed()
}

fn warm_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("warm call");
    let engine = Engine::new(&babel_wasm::engine::config()).unwrap();
    let module = Module::new(&engine, wat::parse_str(SUM).unwrap()).unwrap();
    group.bench_function("bare wasmtime", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut store = Store::new(&engine, ());
                store.set_fuel(10_000_000).unwrap();
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let run = instance
                    .get_typed_func::<(), ()>(&mut store, "run")
                    .unwrap();
                run.call(&mut store, ()).unwrap();
            }
            record("warm call/bare wasmtime", iters, start.elapsed())
        });
    });
    // The same, with the guest on a fiber as the adapter runs it: what the fiber alone costs.
    group.bench_function("bare wasmtime on a fiber", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut store = Store::new(&engine, ());
                store.set_fuel(10_000_000).unwrap();
                let call = async {
                    let instance = Instance::new_async(&mut store, &module, &[]).await?;
                    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
                    run.call_async(&mut store, ()).await
                };
                let mut call = std::pin::pin!(call);
                let mut cx = Context::from_waker(Waker::noop());
                let Poll::Ready(result) = call.as_mut().poll(&mut cx) else {
                    panic!("the guest suspended");
                };
                result.unwrap();
            }
            record("warm call/bare wasmtime on a fiber", iters, start.elapsed())
        });
    });
    let (exec, state) = world();
    group.bench_function("babel-wasm", |b| {
        b.iter_custom(|iters| {
            record(
                "warm call/babel-wasm",
                iters,
                babel(&exec, &state, WASM, &direct(), iters),
            )
        });
    });
    group.finish();
}

fn xcall(c: &mut Criterion) {
    let mut group = c.benchmark_group("xcall");
    let (exec, state) = world();
    group.bench_function("direct", |b| {
        b.iter_custom(|iters| {
            record(
                "xcall/direct",
                iters,
                babel(&exec, &state, WASM, &direct(), iters),
            )
        });
    });
    let through = payload(&[Op::CallAt {
        rollup: WASM,
        target: CONTRACT.to_vec(),
        script: vec![],
        gas: 500_000,
        catch: false,
    }]);
    group.bench_function("from a script rollup", |b| {
        b.iter_custom(|iters| {
            record(
                "xcall/from a script rollup",
                iters,
                babel(&exec, &state, SCRIPT, &through, iters),
            )
        });
    });
    group.finish();
}

/// A call of the EVM `Script` contract with `script` as call data.
fn evm_script(script: Vec<u8>) -> v1::transaction::Payload {
    v1::transaction::Payload::Evm(v1::EvmCall {
        to: SCRIPT_EVM.to_vec().into(),
        value: Default::default(),
        data: script.into(),
    })
}

fn xcall_from_evm(c: &mut Criterion) {
    let mut group = c.benchmark_group("xcall from the EVM");
    let (exec, state) = world();
    // `04 rollup catch target len(2) script`: one xcall of the WASM contract, no input.
    let mut call = vec![4, WASM as u8, 0];
    call.extend(CONTRACT);
    call.extend([0, 0]);
    let through = evm_script(call);
    group.bench_function("EVM contract alone", |b| {
        b.iter_custom(|iters| {
            record(
                "xcall from the EVM/EVM contract alone",
                iters,
                babel(&exec, &state, EVM, &evm_script(Vec::new()), iters),
            )
        });
    });
    group.bench_function("EVM contract calling WASM", |b| {
        b.iter_custom(|iters| {
            record(
                "xcall from the EVM/EVM contract calling WASM",
                iters,
                babel(&exec, &state, EVM, &through, iters),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, warm_call, xcall, xcall_from_evm);

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
    let (bare, ours) = (
        mean("warm call/bare wasmtime"),
        mean("warm call/babel-wasm"),
    );
    let fiber = mean("warm call/bare wasmtime on a fiber");
    println!(
        "warm call: bare wasmtime {bare:?}, babel-wasm {ours:?}: {:.2}x \
         (bare wasmtime on a fiber {fiber:?}: {:.2}x)",
        ratio(ours, bare),
        ratio(ours, fiber)
    );
    let (direct, via) = (mean("xcall/direct"), mean("xcall/from a script rollup"));
    println!(
        "xcall: direct transaction {direct:?}, from another rollup {via:?}: +{:?} per xcall",
        via.saturating_sub(direct)
    );
    let (alone, evm_via) = (
        mean("xcall from the EVM/EVM contract alone"),
        mean("xcall from the EVM/EVM contract calling WASM"),
    );
    println!(
        "xcall from the EVM: the EVM contract alone {alone:?}, calling WASM {evm_via:?}; \
         above the direct WASM transaction +{:?}, of which entering WASM from the EVM frame \
         +{:?}",
        evm_via.saturating_sub(direct),
        evm_via.saturating_sub(alone).saturating_sub(direct)
    );
}
