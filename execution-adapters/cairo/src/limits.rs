//! What a Cairo frame may use, and what it costs. Every number here is consensus: changing
//! one changes receipts, so it is a hard fork, like changing the cairo-vm or compiler version.

/// Sierra gas per unit of Babel gas. The compiled code meters itself in Sierra gas, which
/// charges 100 per Cairo step; cairo-vm runs a step in tens of nanoseconds, against a few
/// nanoseconds for a unit of EVM gas on revm, so one gas buys about one-tenth of a step.
pub const SIERRA_GAS_PER_GAS: u64 = 10;
/// Cairo steps per unit of gas: the bound on steps a frame may take whatever Sierra gas it
/// reports (hints and the entry code run steps that Sierra gas does not see). A frame pays
/// the larger of its Sierra gas and its steps at these rates.
pub const STEPS_PER_GAS: u64 = 1;
/// Most steps one frame may take, whatever its gas: it bounds the memory one run holds.
pub const MAX_STEPS: u64 = 10_000_000;

/// Gas every Cairo transaction pays first (its intrinsic cost).
pub const TX_BASE_GAS: u64 = 5_000;
/// Gas of loading a contract for a call, on top of what it runs: finding and preparing its
/// compiled class is work the Sierra gas of the call does not see.
pub const LOAD_GAS: u64 = 2_000;
/// Gas of a deploy: a base, plus [`DEPLOY_GAS_PER_BYTE`] per byte of the class (the node
/// parses, checks and compiles it).
pub const DEPLOY_GAS_BASE: u64 = 32_000;
/// Per byte of a deployed class's JSON.
pub const DEPLOY_GAS_PER_BYTE: u64 = 20;
/// Largest contract class accepted, in bytes of JSON.
pub const MAX_CLASS_BYTES: usize = 1024 * 1024;
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

/// Sierra gas each system call costs before what it does (Starknet's order of magnitude).
pub mod syscall_gas {
    /// `storage_read`.
    pub const STORAGE_READ: u64 = 10_000;
    /// `storage_write`.
    pub const STORAGE_WRITE: u64 = 10_000;
    /// `emit_event`, plus [`PER_FELT`] per key and data felt.
    pub const EMIT_EVENT: u64 = 10_000;
    /// `call_contract` (within the rollup or across), before the callee runs.
    pub const CALL_CONTRACT: u64 = 10_000;
    /// `get_execution_info`.
    pub const GET_EXECUTION_INFO: u64 = 1_000;
    /// Per felt an event records or a call copies.
    pub const PER_FELT: u64 = 100;
}

/// Babel gas for `sierra` Sierra gas and `steps` steps: the larger of the two, rounded up.
pub fn gas_of(sierra: u64, steps: u64) -> u64 {
    sierra
        .div_ceil(SIERRA_GAS_PER_GAS)
        .max(steps.div_ceil(STEPS_PER_GAS))
}

/// Gas of deploying a class of `len` bytes.
pub fn deploy_gas(len: usize) -> u64 {
    DEPLOY_GAS_PER_BYTE
        .saturating_mul(len as u64)
        .saturating_add(DEPLOY_GAS_BASE)
}
