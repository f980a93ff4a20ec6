//! Chain parameters every part of the node shares: gas limits, clock drift, the block
//! environment execution sees, and the executor a genesis calls for. Modules above (the
//! transaction path, the application, the servers) import these; this module imports none of
//! them.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use babel_cairo::{CairoAdapter, Committed};
use babel_evm::EvmAdapter;
use babel_execution::{
    BlockEnv, ExecError, ExecutionAdapter, Executor, VmKind,
    registry::{self, AdapterFactory, Chain, Registry},
};
use babel_genesis::Genesis;
use babel_proto::v1;
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
/// node keeps it on disk, [`executor_with`]), following a registry of its own. Fails only if
/// the WASM engine cannot be built (fatal: the node cannot run).
pub fn executor_for(genesis: &Genesis) -> Result<Executor, WasmError> {
    let registry = Arc::new(Registry::from_genesis(genesis));
    executor_with(genesis, Code::Memory, |adapter| adapter, registry)
}

/// Where an executor's adapters keep compiled code.
#[derive(Clone, Debug)]
pub enum Code {
    /// In memory only (tests, tools).
    Memory,
    /// Block execution: compiled WASM code also in `wasm`, for good; committed Cairo classes
    /// in `cairo`.
    Blocks {
        /// The directory of compiled WASM code.
        wasm: PathBuf,
        /// Each Cairo rollup's committed classes.
        cairo: CairoClasses,
    },
    /// Clients' read-only calls: compiled WASM code read from `wasm`, never added to; the
    /// committed Cairo classes block execution keeps in `cairo`, read.
    Queries {
        /// The directory of compiled WASM code.
        wasm: PathBuf,
        /// Each Cairo rollup's committed classes.
        cairo: CairoClasses,
    },
}

/// Each Cairo rollup's committed classes, compiled: the executor that runs blocks keeps them
/// and the one that runs clients' calls reads them, so that no call compiles a committed
/// class. A rollup's entry is made when its first adapter is.
#[derive(Clone, Debug, Default)]
pub struct CairoClasses(Arc<Mutex<BTreeMap<u64, Committed>>>);

impl CairoClasses {
    fn of(&self, rollup: u64) -> Committed {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(rollup).or_default().clone()
    }
}

type Wrap = dyn Fn(Arc<dyn ExecutionAdapter>) -> Arc<dyn ExecutionAdapter> + Send + Sync;

/// Makes the adapter of a rollup, whether in the genesis or registered since.
struct Factory {
    code: Code,
    wrap: Box<Wrap>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory").field("code", &self.code).finish()
    }
}

impl Factory {
    fn make(&self, rollup: &v1::RollupRecord) -> Result<Arc<dyn ExecutionAdapter>, WasmError> {
        let adapter: Arc<dyn ExecutionAdapter> = match rollup.vm.as_str() {
            "wasm" => Arc::new(match &self.code {
                Code::Memory => WasmAdapter::new()?,
                Code::Blocks { wasm, .. } => WasmAdapter::with_code_dir(wasm)?,
                Code::Queries { wasm, .. } => WasmAdapter::with_code(CodeDir::read_only(wasm)?)?,
            }),
            "cairo" => Arc::new(match &self.code {
                Code::Memory => CairoAdapter::new(),
                Code::Blocks { cairo, .. } => CairoAdapter::for_blocks(cairo.of(rollup.id)),
                Code::Queries { cairo, .. } => CairoAdapter::for_queries(cairo.of(rollup.id)),
            }),
            // Records are written from a parsed genesis entry: "evm" is the one left.
            _ => Arc::new(EvmAdapter::new(rollup.evm_chain_id)),
        };
        Ok((self.wrap)(adapter))
    }
}

impl AdapterFactory for Factory {
    fn adapter(&self, rollup: &v1::RollupRecord) -> Result<Arc<dyn ExecutionAdapter>, ExecError> {
        self.make(rollup).map_err(|e| ExecError::Adapter {
            vm: VmKind::Wasm,
            message: e.to_string(),
        })
    }
}

/// [`executor_for`] keeping compiled code as `code` says, with every adapter passed through
/// `wrap` (to observe it), following `registry` (shared by a node's executors) for the
/// rollups registered since the genesis.
pub fn executor_with(
    genesis: &Genesis,
    code: Code,
    wrap: impl Fn(Arc<dyn ExecutionAdapter>) -> Arc<dyn ExecutionAdapter> + Send + Sync + 'static,
    registry: Arc<Registry>,
) -> Result<Executor, WasmError> {
    let factory = Arc::new(Factory {
        code,
        wrap: Box::new(wrap),
    });
    let mut exec = Executor::new();
    for rollup in &genesis.rollups {
        let adapter = factory.make(&registry::record(rollup, "", 0))?;
        exec = exec.with_rollup(rollup.id, adapter, rollup.gas_price);
    }
    Ok(exec.following(
        registry,
        Chain {
            chain_id: genesis.chain_id.clone(),
            governance: genesis.governance.clone(),
            factory,
        },
    ))
}

/// The block environment execution sees.
pub fn block_env(height: u64, time_ms: u64) -> BlockEnv {
    BlockEnv {
        height,
        time_ms,
        max_tx_gas: MAX_TX_GAS,
    }
}
