//! EVM execution benchmarks, Babel beside the bare engine in one run:
//!
//! - `transfers`: 100 plain value transfers on bare revm (in-memory `CacheDB`, committed after
//!   each, one EVM for all) versus the same through Babel's executor and EVM adapter (nonce,
//!   journal, an EVM per frame, state diff into the rollup's key-value state, receipt with its
//!   call tree), committed after each into an in-memory hash map (`MemState`) likewise.
//! - `call`: the same work (one storage increment in a `Counter`) called by a contract through
//!   an intra-rollup `CALL` versus through the `xcall` precompile on another EVM rollup.
//!
//! After criterion's report, the ratios of the means are printed.

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

use alloy_sol_types::{SolCall, SolValue, sol};
use babel_evm::{
    EvmAdapter, SPEC, sender_address,
    state::{Account, account_key},
};
use babel_execution::{
    BlockEnv, Executor,
    state::{Changes, MemState},
};
use babel_proto::v1;
use criterion::{Criterion, criterion_group};
use revm::{
    ExecuteCommitEvm,
    context::{CfgEnv, Context, TxEnv},
    database::{CacheDB, EmptyDB},
    handler::{MainBuilder, MainContext},
    primitives::{Address, TxKind, U256},
    state::AccountInfo,
};

sol! {
    function callLocal(address counter) external returns (uint256);
    function callRemote(uint64 rollup, address counter) external returns (uint256);
}

const TRANSFERS: usize = 100;
const KEY: [u8; 32] = [0xBE; 32];
const CHAIN_ID: u64 = 4201;

/// Mean time per iteration of each benchmark, by name.
static MEANS: Mutex<BTreeMap<&'static str, Duration>> = Mutex::new(BTreeMap::new());

fn record(name: &'static str, iters: u64, total: Duration) -> Duration {
    if let Ok(mut means) = MEANS.lock() {
        means.insert(
            name,
            total / u32::try_from(iters.max(1)).unwrap_or(u32::MAX),
        );
    }
    total
}

fn recipient(i: usize) -> Address {
    let mut a = [0x11u8; 20];
    a[12..].copy_from_slice(&(i as u64).to_be_bytes());
    Address::from(a)
}

fn env() -> BlockEnv {
    BlockEnv {
        height: 1,
        time_ms: 1_700_000_000_000,
        max_tx_gas: 30_000_000,
    }
}

fn funded() -> MemState {
    let mut state = MemState::new();
    let mut changes = Changes::new();
    let rich = Account {
        balance: U256::from(10u128.pow(24)),
        ..Account::default()
    };
    changes.insert(
        (1, account_key(&sender_address(&KEY)).to_vec()),
        Some(rich.encode()),
    );
    state.apply(&changes);
    state
}

fn babel_tx(
    rollup: u64,
    nonce: u64,
    to: Option<Address>,
    value: u64,
    data: Vec<u8>,
) -> v1::Transaction {
    v1::Transaction {
        chain_id: "bench".into(),
        rollup_id: rollup,
        sender_pubkey: KEY.to_vec().into(),
        nonce,
        gas_limit: if data.is_empty() { 21_000 } else { 1_000_000 },
        max_fee: 0,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: to.map(|a| a.to_vec()).unwrap_or_default().into(),
            value: U256::from(value).to_be_bytes::<32>().to_vec().into(),
            data: data.into(),
        })),
    }
}

/// Bare revm's in-memory database with the sender funded.
fn funded_db() -> CacheDB<EmptyDB> {
    let mut db = CacheDB::<EmptyDB>::default();
    db.insert_account_info(
        sender_address(&KEY),
        AccountInfo {
            balance: U256::from(10u128.pow(24)),
            ..Default::default()
        },
    );
    db
}

/// Bare revm's transfer `i`: 1 wei to its own recipient.
fn transfer(i: usize) -> TxEnv {
    TxEnv::builder()
        .caller(sender_address(&KEY))
        .kind(TxKind::Call(recipient(i)))
        .value(U256::from(1))
        .gas_limit(21_000)
        .gas_price(0)
        .nonce(i as u64)
        .chain_id(Some(CHAIN_ID))
        .build()
        .unwrap()
}

fn transfers(c: &mut Criterion) {
    let mut group = c.benchmark_group("transfers");
    group.bench_function("bare revm", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let db = funded_db();
                let mut evm = Context::mainnet()
                    .with_db(db)
                    .modify_cfg_chained(|cfg: &mut CfgEnv| {
                        cfg.set_spec_and_mainnet_gas_params(SPEC);
                        cfg.chain_id = CHAIN_ID;
                    })
                    .build_mainnet();
                let start = Instant::now();
                for i in 0..TRANSFERS {
                    assert!(evm.transact_commit(transfer(i)).unwrap().is_success());
                }
                total += start.elapsed();
            }
            record("transfers/bare revm", iters, total)
        });
    });
    let exec = Executor::new().with_rollup(1, Arc::new(EvmAdapter::new(CHAIN_ID)), 0);
    group.bench_function("babel-evm", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut state = funded();
                let txs: Vec<v1::Transaction> = (0..TRANSFERS)
                    .map(|i| babel_tx(1, i as u64, Some(recipient(i)), 1, Vec::new()))
                    .collect();
                let start = Instant::now();
                for tx in &txs {
                    let out = exec.execute_tx(&state, &env(), tx).unwrap();
                    assert!(out.receipt.success);
                    state.commit(out.changes);
                }
                total += start.elapsed();
            }
            record("transfers/babel-evm", iters, total)
        });
    });
    group.finish();
}

fn bytecode(name: &str) -> Vec<u8> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/contracts.json")).unwrap();
    let code = json["contracts"][name]["bytecode"].as_str().unwrap();
    hex::decode(code.trim_start_matches("0x")).unwrap()
}

fn calls(c: &mut Criterion) {
    let exec = Executor::new()
        .with_rollup(1, Arc::new(EvmAdapter::new(CHAIN_ID)), 0)
        .with_rollup(2, Arc::new(EvmAdapter::new(CHAIN_ID + 1)), 0);
    let mut state = funded();
    let mut deploy = |rollup: u64, nonce: u64, name: &str| {
        let out = exec
            .execute_tx(
                &state,
                &env(),
                &babel_tx(rollup, nonce, None, 0, bytecode(name)),
            )
            .unwrap();
        assert!(out.receipt.success);
        state.apply(&out.changes);
        Address::from_slice(&out.receipt.root.unwrap().target)
    };
    let caller = deploy(1, 0, "Caller");
    let local = deploy(1, 1, "Counter");
    let remote = deploy(2, 0, "Counter");

    let local_tx = babel_tx(
        1,
        2,
        Some(caller),
        0,
        callLocalCall { counter: local }.abi_encode(),
    );
    let remote_tx = babel_tx(
        1,
        2,
        Some(caller),
        0,
        callRemoteCall {
            rollup: 2,
            counter: remote,
        }
        .abi_encode(),
    );
    for tx in [&local_tx, &remote_tx] {
        let out = exec.execute_tx(&state, &env(), tx).unwrap();
        assert!(out.receipt.success, "{:?}", out.receipt);
        assert_eq!(
            U256::abi_decode(&out.receipt.output).unwrap(),
            U256::from(1)
        );
    }

    let mut group = c.benchmark_group("call");
    for (name, tx) in [
        ("call/intra-rollup CALL", &local_tx),
        ("call/cross-rollup xcall", &remote_tx),
    ] {
        group.bench_function(name.trim_start_matches("call/"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let out = exec.execute_tx(&state, &env(), tx).unwrap();
                    assert!(out.receipt.success);
                }
                record(name, iters, start.elapsed())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, transfers, calls);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let means = MEANS.lock().map(|m| m.clone()).unwrap_or_default();
    let ratio = |a: &str, b: &str| match (means.get(a), means.get(b)) {
        (Some(a), Some(b)) => a.as_secs_f64() / b.as_secs_f64(),
        _ => f64::NAN,
    };
    println!("\n| benchmark | mean | per operation |");
    println!("|---|---|---|");
    for (name, mean) in &means {
        let per = if name.starts_with("transfers") {
            *mean / TRANSFERS as u32
        } else {
            *mean
        };
        println!("| {name} | {mean:.2?} | {per:.2?} |");
    }
    println!(
        "\nbabel-evm / bare revm (transfers): {:.2}x",
        ratio("transfers/babel-evm", "transfers/bare revm")
    );
    println!(
        "xcall / intra-rollup CALL: {:.2}x",
        ratio("call/cross-rollup xcall", "call/intra-rollup CALL")
    );
}
