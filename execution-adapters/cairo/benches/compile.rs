//! What compiling a class costs the node beside what its deploy pays before the compiler runs
//! (`babel_cairo::limits::deploy_gas` of its bytes plus `DEPLOY_GAS_PER_UNIT` per unit of
//! compile work, which `sierra::check` measures): the test classes, and programs made to hold
//! many values live across many statements (the most compile work per byte a class can have).
//! After criterion's report, a table of work, time and the time the charge buys at the block
//! budget's 5 ns per gas.

// Constant inputs only; criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use babel_cairo::{
    class::Compiled,
    limits::{DEPLOY_GAS_PER_UNIT, deploy_gas},
    test_utils::{class_of, held},
};
use criterion::{Criterion, criterion_group};

/// Name, bytes of JSON, compile work and mean compile time of each case.
static ROWS: Mutex<Vec<(String, usize, u64, Duration)>> = Mutex::new(Vec::new());

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/contracts/compiled/{name}.sierra.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// [`held`] as a class's JSON.
fn held_class(copies: usize, churn: usize) -> Vec<u8> {
    serde_json::to_vec(&class_of(&held(copies, churn))).unwrap()
}

fn compile(c: &mut Criterion) {
    let cases = [
        ("counter".to_string(), fixture("counter")),
        ("asset".to_string(), fixture("asset")),
        ("126 copies held".to_string(), held_class(126, 0)),
        (
            "100 copies held over 400 statements".to_string(),
            held_class(100, 200),
        ),
    ];
    let mut group = c.benchmark_group("cairo compile");
    group.sample_size(10);
    for (name, json) in cases {
        let work = Compiled::check(&json).unwrap().work;
        let mut spent = (Duration::ZERO, 0u32);
        group.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    Compiled::compile(&json).unwrap();
                }
                let elapsed = start.elapsed();
                spent.0 += elapsed;
                spent.1 += u32::try_from(iters).unwrap_or(u32::MAX);
                elapsed
            })
        });
        let mean = spent.0 / spent.1.max(1);
        ROWS.lock().unwrap().push((name, json.len(), work, mean));
    }
    group.finish();
}

criterion_group!(benches, compile);

fn main() {
    benches();
    criterion::Criterion::default().final_summary();
    println!(
        "\n| class | JSON bytes | compile work (units) | compile time (mean) | ns per unit | \
         charged before compiling (gas) | time the charge buys / time |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, bytes, work, mean) in ROWS.lock().unwrap().iter() {
        let charged = deploy_gas(*bytes) + DEPLOY_GAS_PER_UNIT * work;
        let buys = Duration::from_nanos(charged * 5);
        println!(
            "| {name} | {bytes} | {work} | {mean:.2?} | {:.1} | {charged} | {:.2} |",
            mean.as_nanos() as f64 / *work as f64,
            buys.as_secs_f64() / mean.as_secs_f64()
        );
    }
}
