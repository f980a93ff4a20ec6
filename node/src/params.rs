//! Chain parameters every part of the node shares: gas limits, clock drift, the block
//! environment execution sees, and the executor a genesis calls for. Modules above (the
//! transaction path, the application, the servers) import these; this module imports none of
//! them.

use std::{path::Path, sync::Arc};

use babel_cairo::CairoAdapter;
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
    executor_with(genesis, WasmCode::Memory, |adapter| adapter)
}

/// Where an executor's WASM adapters keep compiled code.
#[derive(Clone, Copy, Debug)]
pub enum WasmCode<'a> {
    /// In memory only (tests, tools).
    Memory,
    /// Also in this directory, for good (block execution).
    Dir(&'a Path),
    /// Read from this directory, never added to (clients' read-only calls).
    ReadDir(&'a Path),
}

/// [`executor_for`] keeping compiled WASM code as `code` says, with every adapter passed
/// through `wrap` (to observe it).
pub fn executor_with(
    genesis: &Genesis,
    code: WasmCode<'_>,
    wrap: impl Fn(Arc<dyn ExecutionAdapter>) -> Arc<dyn ExecutionAdapter>,
) -> Result<Executor, WasmError> {
    let mut exec = Executor::new();
    for rollup in &genesis.rollups {
        let adapter: Arc<dyn ExecutionAdapter> = match &rollup.vm {
            VmGenesis::Evm(evm) => Arc::new(EvmAdapter::new(evm.evm_chain_id)),
            VmGenesis::Wasm(_) => Arc::new(match code {
                WasmCode::Memory => WasmAdapter::new()?,
                WasmCode::Dir(dir) => WasmAdapter::with_code_dir(dir)?,
                WasmCode::ReadDir(dir) => WasmAdapter::with_code(CodeDir::read_only(dir)?)?,
            }),
            VmGenesis::Cairo(_) => Arc::new(CairoAdapter::new()),
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
