//! What a Cairo frame may use, and what it costs. Every number here is consensus: changing
//! one changes receipts, so it is a hard fork, like changing the cairo-vm or compiler version.

/// Sierra gas per unit of Babel gas. The compiled code meters itself in Sierra gas, which
/// charges 100 per Cairo step; cairo-vm runs a step in tens of nanoseconds, against a few
/// nanoseconds for a unit of EVM gas on revm, so one gas buys about one-tenth of a step.
pub const SIERRA_GAS_PER_GAS: u64 = 10;
/// Gas per Cairo step: the floor a frame pays for its steps whatever Sierra gas it reports
/// (hints and the entry code run steps that Sierra gas does not see), and what bounds the
/// memory a frame holds (each step writes a cell or two). A frame pays the larger of its
/// Sierra gas and its steps at these rates.
pub const GAS_PER_STEP: u64 = 10;
/// Steps a field square root hint counts for (about 3.3 µs in cairo-vm, docs/BENCHMARKS.md),
/// on top of its own: hints run in a step, whatever they compute.
pub const FIELD_SQRT_STEPS: u64 = 100;
/// Steps a random curve point hint counts for (square roots until one exists, about 115 µs a
/// try).
pub const RANDOM_EC_POINT_STEPS: u64 = 3_000;
/// Most steps one frame may take, whatever its gas: what one transaction's gas buys.
pub const MAX_STEPS: u64 = 3_000_000;
/// Sierra gas the compiled code of every entry point assumes was paid before it runs (the
/// compiler's `ENTRY_POINT_COST`): the host charges it and gives the rest.
pub const ENTRY_POINT_SIERRA_GAS: u64 = 10_000;

/// Gas every Cairo transaction pays first, before [`TX_GAS_PER_BYTE`] (its intrinsic cost).
pub const TX_BASE_GAS: u64 = 5_000;
/// Gas per byte a transaction carries besides a class (calldata, entry point, contract):
/// every node receives, stores and posts them. The EVM's 16 per non-zero byte of calldata.
pub const TX_GAS_PER_BYTE: u64 = 16;
/// Gas of loading a contract for a call (any call: a transaction's, another rollup's, or
/// another Cairo contract's), on top of what it runs: a run starts by loading the class's
/// whole bytecode into a fresh VM and naming every hint, work in proportion to the class
/// that its Sierra gas does not see. A base, plus [`LOAD_GAS_PER_FELT`] per felt of
/// bytecode and [`LOAD_GAS_PER_HINT`] per hinted instruction ([`load_gas`]).
pub const LOAD_GAS_BASE: u64 = 2_000;
/// Per felt of a class's bytecode, per call.
pub const LOAD_GAS_PER_FELT: u64 = 2;
/// Per hinted instruction of a class, per call.
pub const LOAD_GAS_PER_HINT: u64 = 10;
/// Gas of a deploy: a base, plus [`DEPLOY_GAS_PER_BYTE`] per byte of the class (the node
/// parses and checks it, and keeps it in state), plus [`DEPLOY_GAS_PER_UNIT`] per unit of
/// compile work before it compiles, plus [`DEPLOY_GAS_PER_FELT`] per felt of the bytecode it
/// compiles to (which the node keeps in memory).
pub const DEPLOY_GAS_BASE: u64 = 32_000;
/// Per byte of a deployed class's JSON: half of what the EVM and WASM charge per byte of
/// code, because a class spells each felt of its program in hex (about 1.5 bytes of JSON per
/// byte of program, its ABI on top); compiling it costs the node about a hundredth of this
/// (docs/BENCHMARKS.md), the work bounded by [`MAX_SIERRA_FELTS`] and the checks of
/// [`crate::sierra`].
pub const DEPLOY_GAS_PER_BYTE: u64 = 100;
/// Per unit of compile work (`sierra::check`: the references and cells the compiler holds,
/// summed over statements, and the constants it lays out), paid before the compiler runs: a
/// small program can keep many values live across many statements, work its bytes do not
/// pay for. The compiler spends about 12 ns per unit (docs/BENCHMARKS.md), 2.4 gas at the
/// block budget's 5 ns per gas.
pub const DEPLOY_GAS_PER_UNIT: u64 = 3;
/// Per felt of a deployed class's compiled bytecode, paid once the class compiles: a few
/// kilobytes of Sierra can compile to a hundred thousand felts, held in memory (about a
/// hundred bytes each as a loaded program) for as long as the node runs.
pub const DEPLOY_GAS_PER_FELT: u64 = 100;
/// Gas per byte of a transaction's answer or of a failure's reason past the first
/// [`FREE_REASON_BYTES`] (the receipt records them), as the core charges a callee's output to
/// its caller.
pub const OUTPUT_GAS_PER_BYTE: u64 = 8;
/// Bytes of a failure's reason a frame does not pay for, so that running out of gas still
/// leaves a readable reason.
pub const FREE_REASON_BYTES: u64 = 1_024;
/// Largest contract class accepted, in bytes of JSON.
pub const MAX_CLASS_BYTES: usize = 1024 * 1024;
/// Longest Sierra program a class may carry, in felts once decompressed (the largest class
/// here has 40 092). Bounds what the node decompresses and compiles before the class is known
/// to be sound.
pub const MAX_SIERRA_FELTS: usize = 200_000;
/// Largest compiled class, in felts of CASM bytecode (Starknet's own bound is 81 290).
pub const MAX_BYTECODE_FELTS: usize = 100_000;
/// Longest entrypoint name a transaction may call.
pub const MAX_ENTRYPOINT_LEN: usize = 64;
/// Most calldata felts one call may pass.
pub const MAX_CALLDATA_FELTS: usize = 16 * 1024;
/// Most felts of return or panic data one frame may give back.
pub const MAX_RETURN_FELTS: usize = 16 * 1024;
/// Deepest stack of Cairo-to-Cairo calls within one rollup (each a frame of its own). Calls to
/// other rollups are bounded by the core instead.
pub const MAX_INNER_DEPTH: u32 = 32;
/// Most keys and data felts of one event.
pub const MAX_EVENT_FELTS: usize = 1024;

/// Most keys of one event.
pub const MAX_EVENT_KEYS: usize = 16;

/// Sierra gas each system call costs before what it does; Babel gas ×
/// [`SIERRA_GAS_PER_GAS`], on the EVM's schedule where there is a like.
pub mod syscall_gas {
    use super::SIERRA_GAS_PER_GAS as R;

    /// `storage_read`: the EVM's cold `SLOAD`.
    pub const STORAGE_READ: u64 = 2_100 * R;
    /// `storage_write` of a slot that holds a value or is cleared: the EVM's `SSTORE` of an
    /// existing slot.
    pub const STORAGE_WRITE: u64 = 5_000 * R;
    /// `storage_write` that fills an empty slot (state that every node keeps): the EVM's
    /// `SSTORE` of a new slot.
    pub const STORAGE_CREATE: u64 = 20_000 * R;
    /// `emit_event`, plus [`EVENT_KEY`] per key and [`EVENT_DATA_FELT`] per data felt: the
    /// EVM's `LOG` (375, 375 per topic, 8 per byte of data).
    pub const EMIT_EVENT: u64 = 375 * R;
    /// Per key of an event.
    pub const EVENT_KEY: u64 = 375 * R;
    /// Per data felt of an event (32 bytes the receipt records).
    pub const EVENT_DATA_FELT: u64 = 8 * 32 * R;
    /// `call_contract` (within the rollup or across), before the callee runs.
    pub const CALL_CONTRACT: u64 = 1_000 * R;
    /// `get_execution_info`.
    pub const GET_EXECUTION_INFO: u64 = 100 * R;
    /// `send_message_to_l1`, before the message's own cost (`babel_execution::gas::
    /// message_cost` of its bytes: the destination's 32, then 32 per payload felt).
    pub const SEND_MESSAGE: u64 = 100 * R;
    /// Per felt a call copies between frames (calldata in, answer or panic data out).
    pub const PER_FELT: u64 = 10 * R;
}

/// Babel gas for `sierra` Sierra gas and `steps` steps: the larger of the two, rounded up.
pub fn gas_of(sierra: u64, steps: u64) -> u64 {
    sierra
        .div_ceil(SIERRA_GAS_PER_GAS)
        .max(steps.saturating_mul(GAS_PER_STEP))
}

/// Gas of loading a class of `bytecode_len` felts with `hints` hinted instructions for a call.
pub fn load_gas(bytecode_len: usize, hints: usize) -> u64 {
    LOAD_GAS_BASE
        .saturating_add(LOAD_GAS_PER_FELT.saturating_mul(bytecode_len as u64))
        .saturating_add(LOAD_GAS_PER_HINT.saturating_mul(hints as u64))
}

/// Gas of deploying a class of `len` bytes, before it compiles (then
/// [`DEPLOY_GAS_PER_FELT`] per felt of bytecode follows).
pub fn deploy_gas(len: usize) -> u64 {
    DEPLOY_GAS_PER_BYTE
        .saturating_mul(len as u64)
        .saturating_add(DEPLOY_GAS_BASE)
}

/// Intrinsic gas of a transaction carrying `bytes` bytes besides a class.
pub fn tx_gas(bytes: usize) -> u64 {
    TX_GAS_PER_BYTE
        .saturating_mul(bytes as u64)
        .saturating_add(TX_BASE_GAS)
}
