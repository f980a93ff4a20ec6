//! Consensus throughput and decide latency on loopback, Babel's full node application (RocksDB
//! store, header checks) beside the consensus crate's in-memory application (the Malachite
//! engine with Babel's context and codec, nothing else), in one run.
//!
//! `cargo bench -p babel-node --bench consensus [-- HEIGHTS]` (default 200 heights). Devnet
//! timeouts, no block pacing, multi-thread tokio runtime, logs off.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use babel_consensus::{
    Application, EngineConfig, Height,
    test_utils::{MemApp, net_configs},
};
use babel_genesis::{Genesis, Timestamp};
use babel_node::{
    app::{NodeApp, ensure_genesis_state},
    params::executor_for,
    store::Store,
    txpath::{
        SharedPool,
        mempool::{Mempool, PoolLimits},
    },
};

struct Run {
    heights_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Start one engine per config, then sample node 0's committed height every 200 µs.
async fn run<A: Application + Clone>(
    cfgs: &[EngineConfig],
    apps: Vec<A>,
    heights: u64,
    height_of: impl Fn(&A) -> u64,
) -> Run {
    let mut handles = Vec::new();
    for (cfg, app) in cfgs.iter().zip(&apps) {
        handles.push(
            babel_consensus::start(cfg.clone(), app.clone())
                .await
                .unwrap(),
        );
    }
    // Skip start-up (peer connection) and measure steady state.
    let warmup = 5;
    while height_of(&apps[0]) < warmup {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let mut last = height_of(&apps[0]);
    let mut last_at = Instant::now();
    let start = last_at;
    let mut intervals = Vec::new();
    while last < warmup + heights {
        tokio::time::sleep(Duration::from_micros(200)).await;
        let h = height_of(&apps[0]);
        if h > last {
            let now = Instant::now();
            let per = now.duration_since(last_at).as_secs_f64() * 1e3 / (h - last) as f64;
            intervals.extend(std::iter::repeat_n(per, (h - last) as usize));
            last = h;
            last_at = now;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    for h in handles {
        h.stop().await;
    }
    intervals.sort_by(f64::total_cmp);
    let pct = |p: f64| intervals[((intervals.len() as f64 * p) as usize).min(intervals.len() - 1)];
    Run {
        heights_per_sec: heights as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn params(cfgs: &mut [EngineConfig]) {
    for cfg in cfgs {
        cfg.params = babel_node::cli::devnet::devnet_params();
        cfg.params.block_interval_ms = 0;
    }
}

fn main() {
    let heights: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("{heights} heights per run, devnet timeouts, no pacing\n");
    println!("| validators | application | heights/s | interval p50 | interval p99 |");
    println!("|---|---|---|---|---|");
    for n in [1usize, 4] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfgs = net_configs(n, &dir.path().join("mem"));
        params(&mut cfgs);
        let apps: Vec<MemApp> = (0..n).map(|_| MemApp::new()).collect();
        let mem = rt.block_on(run(&cfgs, apps, heights, MemApp::height));

        let mut cfgs = net_configs(n, &dir.path().join("node"));
        params(&mut cfgs);
        let apps: Vec<NodeApp> = (0..n)
            .map(|i| {
                let store = Arc::new(Store::open(&dir.path().join(format!("store-{i}"))).unwrap());
                let genesis = Arc::new(Genesis {
                    chain_id: cfgs[i].chain_id.clone(),
                    genesis_time: Timestamp { unix_ms: 0 },
                    consensus: cfgs[i].params.clone(),
                    sequencer_namespace: None,
                    governance: None,
                    validators: Vec::new(),
                    rollups: Vec::new(),
                });
                let pool = SharedPool::new(Mempool::new(PoolLimits {
                    max_txs: 1,
                    max_bytes: 1,
                }));
                let executor = Arc::new(executor_for(&genesis).unwrap());
                ensure_genesis_state(&store, &executor, &genesis).unwrap();
                NodeApp::new(
                    store,
                    genesis,
                    cfgs[i].validator_set.clone(),
                    pool,
                    executor,
                )
                .expect("the validators make a light-client set")
            })
            .collect();
        let node = rt.block_on(run(&cfgs, apps, heights, |a: &NodeApp| {
            a.committed_height().map(|h: Height| h.0).unwrap_or(0)
        }));
        for (name, r) in [
            ("in-memory (engine + context)", &mem),
            ("Babel node (RocksDB)", &node),
        ] {
            println!(
                "| {n} | {name} | {:.1} | {:.1} ms | {:.1} ms |",
                r.heights_per_sec, r.p50_ms, r.p99_ms
            );
        }
        println!(
            "| {n} | ratio node / in-memory | {:.2}x slower | {:.2}x | {:.2}x |",
            mem.heights_per_sec / node.heights_per_sec,
            node.p50_ms / mem.p50_ms,
            node.p99_ms / mem.p99_ms
        );
    }
}
