//! The wasmtime engine every WASM rollup runs on, configured so that execution is a function
//! of the module and its inputs alone.

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy,
    WasmBacktraceDetails,
};

use crate::{
    WasmError,
    limits::{FIBER_STACK, MAX_LIVE_FRAMES, MAX_MEMORY_PAGES, MAX_TABLE_ELEMENTS, MAX_WASM_STACK},
};

/// Largest linear memory, in bytes.
const MAX_MEMORY_BYTES: usize = MAX_MEMORY_PAGES as usize * 65_536;

/// The engine's configuration:
/// - Winch, wasmtime's single-pass baseline compiler: compiling takes time linear in the
///   module, whatever its shape. An optimising compiler's register allocator is not: with
///   Cranelift, a 16 KB module of values live around nested loops compiled for minutes,
///   which a deploy cannot be priced for. Winch runs on x86-64 only (its tier-1 target),
///   so [`engine`] refuses other architectures;
/// - fuel metering on (one fuel per operator), no epochs (they follow the wall clock);
/// - NaN canonicalisation, so float results do not depend on the CPU;
/// - only what Rust's `wasm32` target emits: MVP, bulk memory, multi-value, reference types,
///   sign extension and saturating float-to-int; every later proposal off (SIMD, relaxed
///   SIMD, GC, tail calls, multi-memory, memory64, stack switching, wide arithmetic, extended
///   constants, custom page sizes here; threads, exceptions, function references and
///   components are not even built into this wasmtime);
/// - code for the baseline of the host's architecture, not for the CPU at hand: every node
///   of an architecture runs the same machine code (and so the same stack frames);
/// - no memory images;
/// - instances, memories, tables and fiber stacks from a pool of [`MAX_LIVE_FRAMES`] slots,
///   allocated once and reused: a frame maps no memory (mapping and unmapping a memory and
///   a fiber stack per frame cost more than running a small contract). Each memory slot is
///   as large as the largest memory, so accesses are bounds-checked rather than caught by a
///   multi-gigabyte guard region, which keeps many nodes in one process affordable;
/// - no backtrace details (the default reads an environment variable); compilation is serial
///   (this wasmtime is built without parallel compilation: it must not take the cores
///   consensus runs on).
pub fn config() -> Config {
    let mut c = Config::new();
    c.consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .wasm_relaxed_simd(false)
        .wasm_simd(false)
        .wasm_gc(false)
        .wasm_tail_call(false)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_stack_switching(false)
        .wasm_wide_arithmetic(false)
        .wasm_extended_const(false)
        .wasm_custom_page_sizes(false)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_backtrace_details(WasmBacktraceDetails::Disable)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(FIBER_STACK)
        .strategy(Strategy::Winch)
        // No memory images: a tiny module with data far apart would otherwise make every
        // node build (and keep, with the module) an image of its whole memory.
        .memory_init_cow(false)
        .memory_guaranteed_dense_image_size(0)
        .memory_reservation(MAX_MEMORY_BYTES as u64)
        .memory_guard_size(65_536)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
    if let Some(triple) = BASELINE {
        // Naming the target turns off inferring the host CPU's features.
        let _ = c.target(triple);
    }
    c
}

/// The pool behind every frame: sized for [`MAX_LIVE_FRAMES`], with each slot as large as
/// the limits of [`crate::module::check`] allow, so a module that passed the deploy checks
/// always fits a slot.
fn pool() -> PoolingAllocationConfig {
    let mut p = PoolingAllocationConfig::new();
    p.total_core_instances(MAX_LIVE_FRAMES)
        .total_memories(MAX_LIVE_FRAMES)
        .total_tables(MAX_LIVE_FRAMES)
        .total_stacks(MAX_LIVE_FRAMES)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(MAX_MEMORY_BYTES)
        .table_elements(usize::try_from(MAX_TABLE_ELEMENTS).unwrap_or(usize::MAX));
    p
}

/// The host's target triple, where it is one whose baseline is known to work.
const BASELINE: Option<&str> = if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
    Some("x86_64-unknown-linux-gnu")
} else {
    None
};

/// The features the engine enables, as a validator's: what the stack instrumentation
/// validates with before rewriting a module (wasmtime validates again when it compiles).
pub fn features() -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    F::WASM2.difference(F::SIMD) | F::CALL_INDIRECT_OVERLONG | F::BULK_MEMORY_OPT
}

/// A new engine with [`config`]; on a host that is not x86-64, an error saying so.
pub fn engine() -> Result<Engine, WasmError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(WasmError::Engine(
            "WASM rollups run on x86-64 hosts only (the Winch compiler's tier-1 target)".into(),
        ));
    }
    Engine::new(&config()).map_err(|e| WasmError::Engine(format!("{e:#}")))
}
