//! What cairo-vm spends on the builtins and hints whose work is not in proportion to a step,
//! next to what Babel charges for each (`babel_cairo::run::BUILTIN_COSTS` in Sierra gas,
//! `babel_cairo::limits::HINT_STEPS` in steps): the bare operation of the field and curve
//! crate cairo-vm runs, as its builtin runners and hint processor run it.

// Constant inputs only; criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use babel_cairo::limits::{GAS_PER_STEP, SIERRA_GAS_PER_GAS};
use criterion::{Criterion, criterion_group, criterion_main};
use starknet_types_core::{
    curve::{AffinePoint, ProjectivePoint},
    felt::Felt,
    hash::{Pedersen, Poseidon, StarkHash},
};
use std::hint::black_box;

/// `P + m * Q` as cairo-vm's EC op builtin computes it: a double-and-add over the scalar's
/// bits, checking at each step that the two points differ in x.
fn ec_op(p: &ProjectivePoint, q: &ProjectivePoint, m: &Felt) -> Option<AffinePoint> {
    let bits = m.to_biguint();
    let (mut sum, mut doubled) = (p.clone(), q.clone());
    for i in 0..bits.bits().min(252) {
        if sum.x() * doubled.z() == sum.z() * doubled.x() {
            return None;
        }
        if bits.bit(i) {
            sum += &doubled;
        }
        doubled = doubled.double();
    }
    sum.to_affine().ok()
}

fn builtins(c: &mut Criterion) {
    let a = Felt::from_hex_unchecked(
        "0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb",
    );
    let b = Felt::from_hex_unchecked(
        "0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a",
    );
    let g = AffinePoint::generator();
    let p = ProjectivePoint::from_affine(g.x(), g.y()).unwrap();
    let q = p.double();
    let mut group = c.benchmark_group("cairo builtins and hints");
    group.bench_function("pedersen", |bench| {
        bench.iter(|| Pedersen::hash(black_box(&a), black_box(&b)))
    });
    group.bench_function("poseidon permutation", |bench| {
        bench.iter(|| {
            let mut state = [a, b, Felt::TWO];
            Poseidon::hades_permutation(black_box(&mut state));
            state
        })
    });
    group.bench_function("ec op (252-bit scalar)", |bench| {
        bench.iter(|| ec_op(black_box(&p), black_box(&q), black_box(&a)))
    });
    group.bench_function("field sqrt (hint)", |bench| {
        bench.iter(|| black_box(&a).sqrt())
    });
    group.bench_function("a point from x (hint)", |bench| {
        bench.iter(|| AffinePoint::new_from_x(black_box(&b), false))
    });
    group.finish();
    eprintln!(
        "charged: one step = {GAS_PER_STEP} gas = {} Sierra gas",
        GAS_PER_STEP * SIERRA_GAS_PER_GAS
    );
}

criterion_group!(benches, builtins);
criterion_main!(benches);
