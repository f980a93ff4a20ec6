//! Chain parameters every part of the node shares: gas limits, clock drift, the block
//! environment execution sees, and the executor a genesis calls for. Modules above (the
//! transaction path, the application, the servers) import these; this module imports none of
//! them.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use babel_cairo::{CairoAdapter, Committed};
use babel_evm::EvmAdapter;
use babel_execution::{BlockEnv, ExecutionAdapter, Executor};
use babel_genesis::{Genesis, VmGenesis};
use babel_wasm::{CodeDir, WasmAdapter, WasmError};

/// Most gas one transaction may use (a transaction asking for more is refused at admission).
pub const MAX_TX_GAS: u64 = 30_000_000;

/// Most gas one block may ask for: the sum of its transactions' gas limits. It bounds the
/// execution work of a block (about a second of revm at its slowest) so that a full block
/// still fits in the round timeouts; 9 500 plain transfers fit.
pub const MAX_BLOCK_GAS: u64 = 200_000_000;

/// How far ahead of a validator's clock a proposed block's time may be.
pub const MAX_CLOCK_DRIFT_MS: u64 = 10_000;

/// The executor for `genesis`: every EVM rollup on revm, every WASM rollup on wasmtime, every
/// Cairo rollup on cairo-vm, keeping compiled WASM code in memory only (for tests and tools; a
/// node keeps it on disk, [`executor_with`]). Fails only if the WASM engine cannot be built
/// (fatal: the node cannot run).
pub fn executor_for(genesis: &Genesis) -> Result<Executor, WasmError> {
    executor_with(genesis, Code::Memory, |adapter| adapter)
}

/// Where an executor's adapters keep compiled code.
#[derive(Clone, Copy, Debug)]
pub enum Code<'a> {
    /// In memory only (tests, tools).
    Memory,
    /// Block execution: compiled WASM code also in `wasm`, for good; committed Cairo classes
    /// in `cairo`.
    Blocks {
        /// The directory of compiled WASM code.
        wasm: &'a Path,
        /// Each Cairo rollup's committed classes.
        cairo: &'a CairoClasses,
    },
    /// Clients' read-only calls: compiled WASM code read from `wasm`, never added to; the
    /// committed Cairo classes block execution keeps in `cairo`, read.
    Queries {
        /// The directory of compiled WASM code.
        wasm: &'a Path,
        /// Each Cairo rollup's committed classes.
        cairo: &'a CairoClasses,
    },
}

/// Each Cairo rollup's committed classes, compiled: the executor that runs blocks keeps them
/// and the one that runs clients' calls reads them, so that no call compiles a committed
/// class.
pub type CairoClasses = BTreeMap<u64, Committed>;

/// An empty [`CairoClasses`] for every Cairo rollup of `genesis`.
pub fn cairo_classes(genesis: &Genesis) -> CairoClasses {
    genesis
        .rollups
        .iter()
        .filter(|r| matches!(r.vm, VmGenesis::Cairo(_)))
        .map(|r| (r.id, Committed::default()))
        .collect()
}

/// [`executor_for`] keeping compiled code as `code` says, with every adapter passed through
/// `wrap` (to observe it).
pub fn executor_with(
    genesis: &Genesis,
    code: Code<'_>,
    wrap: impl Fn(Arc<dyn ExecutionAdapter>) -> Arc<dyn ExecutionAdapter>,
) -> Result<Executor, WasmError> {
    let mut exec = Executor::new();
    for rollup in &genesis.rollups {
        // Built from the same genesis, `cairo` has every Cairo rollup.
        let committed = |cairo: &CairoClasses| cairo.get(&rollup.id).cloned().unwrap_or_default();
        let adapter: Arc<dyn ExecutionAdapter> = match &rollup.vm {
            VmGenesis::Evm(evm) => Arc::new(EvmAdapter::new(evm.evm_chain_id)),
            VmGenesis::Wasm(_) => Arc::new(match code {
                Code::Memory => WasmAdapter::new()?,
                Code::Blocks { wasm, .. } => WasmAdapter::with_code_dir(wasm)?,
                Code::Queries { wasm, .. } => WasmAdapter::with_code(CodeDir::read_only(wasm)?)?,
            }),
            VmGenesis::Cairo(_) => Arc::new(match code {
                Code::Memory => CairoAdapter::new(),
                Code::Blocks { cairo, .. } => CairoAdapter::for_blocks(committed(cairo)),
                Code::Queries { cairo, .. } => CairoAdapter::for_queries(committed(cairo)),
            }),
        };
        exec = exec.with_rollup(rollup.id, wrap(adapter), rollup.gas_price);
    }
    Ok(exec)
}

/// The block environment execution sees.
pub fn block_env(height: u64, time_ms: u64) -> BlockEnv {
    BlockEnv {
        height,
        time_ms,
        max_tx_gas: MAX_TX_GAS,
    }
}
