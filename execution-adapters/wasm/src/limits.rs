//! What a WASM frame may use, and what it costs: the engine's limits and the gas schedule.
//!
//! Every number here is consensus: changing one changes which transactions succeed and what
//! their receipts say, so it is a hard fork, like changing the wasmtime version.

use crate::module::Shape;

/// Fuel per unit of gas. wasmtime charges one fuel per operator; revm spends a few gas on its
/// cheapest instructions, which cost it a few nanoseconds, while a compiled wasm operator
/// costs about one: ten operators per gas keeps a gas unit about as much work on either VM.
pub const FUEL_PER_GAS: u64 = 10;

/// Largest module accepted, in bytes: what the gas of one transaction can deploy.
pub const MAX_MODULE_BYTES: usize = 128 * 1024;
/// Most functions a module may define.
pub const MAX_FUNCTIONS: u32 = 4_096;
/// Most locals (parameters included) one function may declare.
pub const MAX_LOCALS: u32 = 1_024;
/// Most imports a module may declare.
pub const MAX_IMPORTS: usize = 32;
/// Most exports a module may declare.
pub const MAX_EXPORTS: usize = 64;
/// Largest linear memory of an instance, in 64 KiB pages (16 MiB).
pub const MAX_MEMORY_PAGES: u64 = 256;
/// Most elements of the (single) table.
pub const MAX_TABLE_ELEMENTS: u64 = 4_096;
/// Most globals a module may define.
pub const MAX_GLOBALS: u32 = 256;
/// Most data and element segments.
pub const MAX_SEGMENTS: u32 = 1_024;
/// Most targets of one `br_table`. wasmparser accepts millions and Winch compiles at most
/// 65 520: a module between the two would validate and then fail to compile, so the limit is
/// a refusal here, well below both.
pub const MAX_BR_TABLE_TARGETS: u32 = 4_096;

/// Native stack for compiled wasm of one frame: 256 bytes for each slot of the deterministic
/// bound ([`crate::stack::MAX_STACK_SLOTS`]), so that it is never what stops a guest. Each
/// frame runs on a fiber of its own whose stack is larger than this (and committed only as
/// it is used), so host calls and nested frames never share it.
pub const MAX_WASM_STACK: usize = 8 * 1024 * 1024;
/// The fiber stack each frame runs on.
pub const FIBER_STACK: usize = 16 * 1024 * 1024;

/// Most executions a node runs at once: block execution plus its read-only queries (`Call`),
/// which the node bounds to `MAX_PARALLEL_EXECUTIONS - 1`.
pub const MAX_PARALLEL_EXECUTIONS: u32 = 3;
/// Most frames alive at once in one adapter. An adapter serves one rollup, and the core
/// refuses to re-enter a rollup that has a frame running, so an execution holds at most one
/// frame of it: a node needs [`MAX_PARALLEL_EXECUTIONS`]; the rest is headroom. The engine
/// preallocates this many instances, memories, tables and fiber stacks (address space, not
/// memory, until used) and reuses them, so that no frame maps or unmaps memory. Running out
/// is the node's error, never a receipt.
pub const MAX_LIVE_FRAMES: u32 = 16;
const _: () = assert!(MAX_LIVE_FRAMES >= MAX_PARALLEL_EXECUTIONS);

/// Largest contract id, in bytes (a target of a cross-rollup call into this VM).
pub const MAX_CONTRACT_ID_LEN: usize = 32;
/// Length of the ids given to deployed contracts.
pub const CONTRACT_ID_LEN: usize = 20;
/// Largest storage key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest storage value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most topics of one log.
pub const MAX_TOPICS: usize = 4;
/// Largest log data, in bytes.
pub const MAX_LOG_BYTES: usize = 64 * 1024;
/// Largest return or revert data, in bytes.
pub const MAX_RETURN_BYTES: usize = 256 * 1024;

/// Gas every WASM transaction pays first, before [`TX_GAS_PER_BYTE`] (its intrinsic cost).
pub const TX_BASE_GAS: u64 = 5_000;
/// Gas per byte a transaction carries besides a module (its input, method and contract id):
/// every node receives, stores and posts them. The EVM's 16 per non-zero byte of calldata.
pub const TX_GAS_PER_BYTE: u64 = 16;

/// Intrinsic gas of a transaction carrying `bytes` bytes besides a module.
pub fn tx_gas(bytes: usize) -> u64 {
    TX_GAS_PER_BYTE
        .saturating_mul(bytes as u64)
        .saturating_add(TX_BASE_GAS)
}
/// Longest export name a transaction may call.
pub const MAX_METHOD_LEN: usize = 64;

/// Gas of deploying a module: a base, plus [`DEPLOY_GAS_PER_BYTE`] per byte, plus what its
/// [`Shape`] costs to compile ([`compile_gas`]), because compiling it is the expensive step.
pub const DEPLOY_GAS_BASE: u64 = 32_000;
/// Per byte of a deployed module (and of what the stack counter adds to it): the EVM's 200
/// per byte of deployed code. So a module of [`MAX_MODULE_BYTES`] (26 M gas) fits in one
/// transaction's 30 M only if it has few functions.
pub const DEPLOY_GAS_PER_BYTE: u64 = 200;
/// Per function the module defines.
pub const FUNCTION_GAS: u64 = 8_000;
/// Per `call` or `call_indirect` instruction (each is rewritten to count the stack).
pub const CALL_GAS: u64 = 1_000;
/// Per function the host or a table can reach (each gets entry code of its own).
pub const ESCAPING_GAS: u64 = 40_000;
/// Per data or element segment.
pub const SEGMENT_GAS: u64 = 20_000;
/// Per local a function declares (parameters aside): Winch gives each a stack slot and zeroes
/// it on entry with a store of its own, about 8 bytes of machine code, from a local group of a
/// few bytes that may declare a thousand. Priced like a byte of code.
pub const LOCAL_GAS: u64 = DEPLOY_GAS_PER_BYTE;

/// Gas of compiling a module of `shape`, beyond its bytes. The compiler spends a fixed time on
/// each function, call, entry point and segment, whatever its size; without these terms a
/// module of many tiny functions would compile for several times longer than its bytes pay
/// for. The rates are measured (docs/BENCHMARKS.md) at the time per gas that
/// `MAX_BLOCK_GAS` assumes of revm at its slowest, 5 ns.
pub fn compile_gas(shape: &Shape) -> u64 {
    FUNCTION_GAS
        .saturating_mul(shape.functions.into())
        .saturating_add(CALL_GAS.saturating_mul(shape.calls.into()))
        .saturating_add(ESCAPING_GAS.saturating_mul(shape.escaping.into()))
        .saturating_add(SEGMENT_GAS.saturating_mul(shape.segments.into()))
        .saturating_add(LOCAL_GAS.saturating_mul(shape.locals.into()))
}

/// Gas of loading a contract's module for a call, per byte of the module as compiled (with its
/// stack counter), whether or not this node has it in memory: gas must not depend on a
/// node's cache. A node keeps the compiled code of every module it has compiled
/// ([`crate::WasmAdapter::with_code_dir`]), so a module it does not hold in memory is read
/// back and deserialized, never compiled again: this pays for that.
pub const LOAD_GAS_PER_BYTE: u64 = 4;
/// Gas of every instance's copy of a data segment into its memory, per segment (each may
/// touch a page of its own).
pub const DATA_SEGMENT_GAS: u64 = 500;
/// Gas of a 64 KiB page of linear memory, whether an instance starts with it or grows it:
/// what touching it costs (16 page faults, zeroing, giving it back), about 2.4 µs.
pub const PAGE_GAS: u64 = 480;

/// Gas of loading any module: reading back the smallest module takes about 40 µs.
pub const LOAD_GAS_BASE: u64 = 5_000;
/// Gas of loading a module, per function it defines.
pub const LOAD_GAS_PER_FUNCTION: u64 = 100;
/// Gas of loading a module, per local its functions declare: the machine code that zeroes
/// it (see [`LOCAL_GAS`]) is read back like the rest.
pub const LOAD_GAS_PER_LOCAL: u64 = 8;

/// Gas every call of a module pays to load and instantiate it, beyond [`INSTANTIATE_GAS`]:
/// a base, its compiled bytes (`compiled_len`), functions and locals, data segments and
/// initial memory. Fixed at deploy and kept in the contract's record.
pub fn load_gas(compiled_len: usize, shape: &Shape) -> u64 {
    LOAD_GAS_PER_BYTE
        .saturating_mul(compiled_len as u64)
        .saturating_add(LOAD_GAS_BASE)
        .saturating_add(LOAD_GAS_PER_FUNCTION.saturating_mul(shape.functions.into()))
        .saturating_add(LOAD_GAS_PER_LOCAL.saturating_mul(shape.locals.into()))
        .saturating_add(DATA_SEGMENT_GAS.saturating_mul(shape.data_segments.into()))
        .saturating_add(PAGE_GAS.saturating_mul(shape.memory_pages.into()))
}

/// Gas of every frame: a fresh store, an instance, its memory and a fiber.
pub const INSTANTIATE_GAS: u64 = 2_000;
/// Per byte a storage write stores: the key as stored (with the contract's prefix) and the
/// value (the EVM's 20 000 per new 32-byte slot).
pub const STORE_BYTE_GAS: u64 = 625;
/// Base gas of a storage read, plus [`BYTE_GAS`] per key and value byte.
pub const READ_GAS: u64 = 800;
/// Base gas of a storage write or delete, plus [`BYTE_GAS`] per key and value byte moved, plus
/// [`STORE_BYTE_GAS`] per key and value byte written.
pub const WRITE_GAS: u64 = 5_000;
/// Base gas of a log, plus [`TOPIC_GAS`] per topic and [`BYTE_GAS`] per data byte.
pub const LOG_GAS: u64 = 375;
/// Per log topic.
pub const TOPIC_GAS: u64 = 375;
/// Per byte of log data, on top of moving it: receipts carry it (the EVM's 8).
pub const LOG_BYTE_GAS: u64 = 8;
/// Per byte moved between linear memory and the host.
pub const BYTE_GAS: u64 = 3;
/// Base gas of any other host call.
pub const HOST_CALL_GAS: u64 = 10;
