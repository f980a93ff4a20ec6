//! [`WasmAdapter`]: one WASM rollup's frames on wasmtime.

use babel_execution::{
    Caller, ExecError, ExecutionAdapter, Frame, FrameInput, FrameOutcome, Host, VmKind, abi,
    native, state::KeyValues,
};
use babel_genesis::{RollupGenesis, VmGenesis};
use babel_proto::v1::{WasmCall, transaction::Payload};
use std::path::Path;

use bytes::Bytes;
use wasmtime::{Engine, Linker, Module};

use crate::{
    WasmError,
    abi::XCALL_ENTRY,
    cache::{CodeDir, CodeStats, ModuleCache, Ready},
    engine::engine,
    limits::{
        DEPLOY_GAS_BASE, DEPLOY_GAS_PER_BYTE, FUEL_PER_GAS, INSTANTIATE_GAS, MAX_CONTRACT_ID_LEN,
        MAX_METHOD_LEN, MAX_MODULE_BYTES, compile_gas, load_gas, tx_gas,
    },
    module::{self, Refusal},
    runtime::{FrameInfo, Guest, Ran, Stop, linker, run},
    stack,
    state::{
        MODULE_PREFIX, balance_key, code_hash, contract_id, contract_key, decode_contract,
        deploys_key, encode_contract, module_hash, module_key, storage_prefix,
    },
};

/// A WASM rollup on wasmtime: contracts deployed by transaction (or at genesis), called by
/// transactions and by other rollups, metered with fuel against the frame's gas.
pub struct WasmAdapter {
    engine: Engine,
    linker: Linker<Guest>,
    cache: ModuleCache,
}

impl std::fmt::Debug for WasmAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmAdapter")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// A frame's gas so far.
struct Meter {
    limit: u64,
    used: u64,
}

impl Meter {
    /// Spend `gas`; `false` (and everything spent) if there is not that much left.
    fn spend(&mut self, gas: u64) -> bool {
        match self.used.checked_add(gas).filter(|u| *u <= self.limit) {
            Some(used) => {
                self.used = used;
                true
            }
            None => {
                self.used = self.limit;
                false
            }
        }
    }

    fn fuel(&self) -> u64 {
        (self.limit - self.used).saturating_mul(FUEL_PER_GAS)
    }

    /// Account for a run that started with [`Meter::fuel`] and ended with `left`.
    fn ran(&mut self, fuel: u64, left: u64) {
        let burnt = fuel.saturating_sub(left).div_ceil(FUEL_PER_GAS);
        self.used = self.used.saturating_add(burnt).min(self.limit);
    }
}

/// Intrinsic gas of a transaction's call: its bytes besides a module.
fn call_gas(call: &WasmCall) -> u64 {
    tx_gas(call.input.len() + call.method.len() + call.contract.len())
}

/// A failed frame with a stable reason (Solidity `Error(string)` encoded, as the EVM's
/// refusals are, so that an EVM caller can decode it).
fn failed(reason: &str, gas_used: u64) -> FrameOutcome {
    FrameOutcome::failed(abi::error_message(reason), gas_used)
}

/// A contract to run: its module, its id, and its storage.
struct Target {
    ready: Ready,
    id: Bytes,
}

impl WasmAdapter {
    /// A new adapter (its own engine and module cache) that keeps compiled modules in memory
    /// only: for tests and tools. A node uses [`WasmAdapter::with_code_dir`].
    pub fn new() -> Result<Self, WasmError> {
        Self::build(None)
    }

    /// A new adapter that also keeps the compiled code of every module it compiles under
    /// `root` (see [`CodeDir`]), so that it never compiles a module twice, even after a
    /// restart. Several adapters may share `root`.
    pub fn with_code_dir(root: &Path) -> Result<Self, WasmError> {
        Self::with_code(CodeDir::open(root)?)
    }

    /// A new adapter with the code directory `dir` (written to, or only read).
    pub fn with_code(dir: CodeDir) -> Result<Self, WasmError> {
        Self::build(Some(dir))
    }

    fn build(dir: Option<CodeDir>) -> Result<Self, WasmError> {
        let engine = engine()?;
        let linker = linker(&engine)?;
        Ok(Self {
            engine,
            linker,
            cache: ModuleCache::new(dir),
        })
    }

    /// How often this adapter compiled modules, and read them back instead.
    pub fn code_stats(&self) -> CodeStats {
        self.cache.stats()
    }

    /// `code` with its stack counter, checked by wasmtime's validator with this engine's
    /// features: a deterministic verdict (`Err` refuses the module).
    fn instrument(&self, code: &[u8]) -> Result<Vec<u8>, Refusal> {
        let instrumented = stack::instrument(code)?;
        Module::validate(&self.engine, &instrumented).map_err(|_| Refusal::Invalid)?;
        Ok(instrumented)
    }

    /// The module of code hash `hash`, from the cache, or compiled from `instrumented` (a
    /// module that compiled when it was deployed). Failing now is the node's own fault
    /// (memory, the engine): fatal, never a receipt.
    fn ready(
        &self,
        hash: [u8; 32],
        instrumented: impl FnOnce() -> Result<Vec<u8>, ExecError>,
    ) -> Result<Ready, ExecError> {
        if let Some(ready) = self.cache.get(&self.engine, &self.linker, &hash) {
            return Ok(ready);
        }
        self.cache
            .compile(&self.engine, &self.linker, hash, &instrumented()?)
            .map_err(|e| ExecError::Adapter {
                vm: VmKind::Wasm,
                message: format!("compiling module {}: {e:#}", hex::encode(hash)),
            })
    }

    /// Load contract `id` for a call, charging its load gas; `Ok(Err(outcome))` when the
    /// frame fails before running.
    fn load(
        &self,
        host: &mut dyn Host,
        id: &[u8],
        meter: &mut Meter,
    ) -> Result<Result<Target, FrameOutcome>, ExecError> {
        if id.is_empty() || id.len() > MAX_CONTRACT_ID_LEN {
            return Ok(Err(failed("wasm: bad contract id", meter.used)));
        }
        let Some((hash, load_gas)) = host
            .get(&contract_key(id))?
            .as_deref()
            .and_then(decode_contract)
        else {
            return Ok(Err(failed("wasm: no contract", meter.used)));
        };
        if !meter.spend(load_gas) {
            return Ok(Err(failed("wasm: out of gas", meter.used)));
        }
        let ready = self.ready(hash, || {
            let code = host
                .get(&module_key(&hash))?
                .ok_or_else(|| ExecError::Adapter {
                    vm: VmKind::Wasm,
                    message: format!("module {} of a contract is missing", hex::encode(hash)),
                })?;
            // It passed these checks when it was deployed, under the same rules.
            self.instrument(&code).map_err(|r| ExecError::Adapter {
                vm: VmKind::Wasm,
                message: format!("stored module {}: {r}", hex::encode(hash)),
            })
        })?;
        Ok(Ok(Target {
            ready,
            id: Bytes::copy_from_slice(id),
        }))
    }

    /// Run export `entry` of `target` for the rest of the meter's gas.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        host: &mut dyn Host,
        target: Target,
        entry: &str,
        input: Bytes,
        caller: Bytes,
        caller_rollup: u64,
        mut meter: Meter,
    ) -> Result<FrameOutcome, ExecError> {
        let (origin_rollup, signer) = host.origin();
        let env = host.env().clone();
        let info = FrameInfo {
            input,
            caller,
            caller_rollup,
            storage_prefix: storage_prefix(&target.id),
            contract: target.id,
            origin_rollup,
            signer,
            height: env.height,
            time_ms: env.time_ms,
        };
        if !meter.spend(INSTANTIATE_GAS) {
            return Ok(failed("wasm: out of gas", meter.used));
        }
        let fuel = meter.fuel();
        let Ran {
            result,
            fuel_left,
            output,
            logs,
        } = run(&self.engine, &target.ready, entry, info, fuel, host)?;
        meter.ran(fuel, fuel_left);
        Ok(match result {
            Ok(()) => FrameOutcome {
                success: true,
                output,
                gas_used: meter.used,
                logs,
                created: None,
            },
            Err(Stop::Revert) => FrameOutcome::failed(output, meter.used),
            // Like an exceptional halt on the EVM: all the frame's gas is gone.
            Err(Stop::OutOfGas) => failed("wasm: out of gas", meter.limit),
            Err(Stop::Failed(reason)) => failed(reason, meter.limit),
        })
    }

    /// Deploy `call.code` for `signer`, then run `call.method` (if any) as its constructor.
    fn deploy(
        &self,
        host: &mut dyn Host,
        rollup: u64,
        signer: [u8; 32],
        call: &WasmCall,
        mut meter: Meter,
    ) -> Result<FrameOutcome, ExecError> {
        let code = &call.code;
        let cost = DEPLOY_GAS_PER_BYTE
            .saturating_mul(code.len() as u64)
            .saturating_add(DEPLOY_GAS_BASE);
        if !meter.spend(cost) {
            return Ok(failed("wasm: out of gas", meter.used));
        }
        let shape = match module::check(code) {
            Ok(shape) => shape,
            Err(refusal) => return Ok(failed(&refusal.to_string(), meter.used)),
        };
        let instrumented = match self.instrument(code) {
            Ok(instrumented) => instrumented,
            Err(refusal) => return Ok(failed(&refusal.to_string(), meter.used)),
        };
        // Compiling costs by what is compiled: the rewritten module, which is larger, and
        // the things the compiler spends a fixed time on.
        let extra = instrumented.len().saturating_sub(code.len()) as u64;
        let compile = DEPLOY_GAS_PER_BYTE
            .saturating_mul(extra)
            .saturating_add(compile_gas(&shape));
        if !meter.spend(compile) {
            return Ok(failed("wasm: out of gas", meter.used));
        }
        let hash = code_hash(code);
        let load_gas = load_gas(instrumented.len(), &shape);
        let ready = match self.cache.get(&self.engine, &self.linker, &hash) {
            Some(ready) => ready,
            None => match self
                .cache
                .compile(&self.engine, &self.linker, hash, &instrumented)
            {
                Ok(ready) => ready,
                // The compiler's own limits, past the validator's (the pinned compiler gives
                // every node the same verdict): the module is refused like an invalid one.
                Err(e) => {
                    tracing::debug!(hash = %hex::encode(hash), "module does not compile: {e:#}");
                    return Ok(failed(&Refusal::Invalid.to_string(), meter.used));
                }
            },
        };
        let count_key = deploys_key(&signer);
        let count = host
            .get(&count_key)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        let id = contract_id(rollup, &signer, count);
        host.set(&count_key, Some((count + 1).to_be_bytes().to_vec()));
        if host.get(&module_key(&hash))?.is_none() {
            host.set(&module_key(&hash), Some(code.to_vec()));
        }
        host.set(&contract_key(&id), Some(encode_contract(&hash, load_gas)));
        let id = Bytes::copy_from_slice(&id);
        if call.method.is_empty() {
            return Ok(FrameOutcome {
                success: true,
                output: id.clone(),
                gas_used: meter.used,
                logs: Vec::new(),
                created: Some(id),
            });
        }
        // The constructor's frame is a call like any other.
        if !meter.spend(load_gas) {
            return Ok(failed("wasm: out of gas", meter.used));
        }
        let target = Target {
            ready,
            id: id.clone(),
        };
        let caller = Bytes::copy_from_slice(&signer);
        let mut outcome = self.call(
            host,
            target,
            &call.method,
            call.input.clone(),
            caller,
            rollup,
            meter,
        )?;
        if outcome.success {
            outcome.output = id.clone();
            outcome.created = Some(id);
        }
        Ok(outcome)
    }
}

impl ExecutionAdapter for WasmAdapter {
    fn vm(&self) -> VmKind {
        VmKind::Wasm
    }

    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        let Payload::Wasm(call) = payload else {
            return Err("a WASM rollup takes WASM payloads".into());
        };
        if call.method.len() > MAX_METHOD_LEN {
            return Err(format!("method name longer than {MAX_METHOD_LEN} bytes"));
        }
        if !call.code.is_empty() {
            if !call.contract.is_empty() {
                return Err("a deploy names no contract".into());
            }
            if call.code.len() > MAX_MODULE_BYTES {
                return Err(format!("module larger than {MAX_MODULE_BYTES} bytes"));
            }
            return Ok(());
        }
        if call.contract.is_empty() || call.contract.len() > MAX_CONTRACT_ID_LEN {
            return Err(format!(
                "contract id must be 1 to {MAX_CONTRACT_ID_LEN} bytes"
            ));
        }
        if call.method.is_empty() {
            return Err("no method".into());
        }
        Ok(())
    }

    fn min_gas(&self, payload: &Payload) -> u64 {
        match payload {
            Payload::Wasm(call) if !call.code.is_empty() => call_gas(call)
                .saturating_add(DEPLOY_GAS_BASE)
                .saturating_add(DEPLOY_GAS_PER_BYTE.saturating_mul(call.code.len() as u64)),
            Payload::Wasm(call) => call_gas(call),
            _ => 0,
        }
    }

    fn max_target_len(&self) -> usize {
        MAX_CONTRACT_ID_LEN
    }

    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError> {
        let VmGenesis::Wasm(wasm) = &rollup.vm else {
            return Err(ExecError::Genesis {
                rollup: rollup.id,
                message: "not a WASM rollup".into(),
            });
        };
        let mut out = KeyValues::new();
        for contract in &wasm.contracts {
            let (id, code) = (&contract.id.0, &contract.code.0);
            let refused = |r: Refusal| ExecError::Genesis {
                rollup: rollup.id,
                message: format!("contract {}: {r}", hex::encode(id)),
            };
            let shape = module::check(code).map_err(refused)?;
            let instrumented = self.instrument(code).map_err(refused)?;
            let hash = code_hash(code);
            let load_gas = load_gas(instrumented.len(), &shape);
            // As at deploy: the pinned compiler's own limits give every node the same verdict,
            // so a module it refuses is the genesis's (or a registration's) fault, not the
            // node's.
            if self.cache.get(&self.engine, &self.linker, &hash).is_none() {
                self.cache
                    .compile(&self.engine, &self.linker, hash, &instrumented)
                    .map_err(|e| ExecError::Genesis {
                        rollup: rollup.id,
                        message: format!("contract {}: does not compile: {e:#}", hex::encode(id)),
                    })?;
            }
            out.push((module_key(&hash), code.clone()));
            out.push((contract_key(id), encode_contract(&hash, load_gas)));
            let prefix = storage_prefix(id);
            for entry in &contract.storage {
                out.push((
                    [prefix.as_slice(), &entry.key.0].concat(),
                    entry.value.0.clone(),
                ));
            }
        }
        Ok(out)
    }

    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        native::debit(host, &balance_key(account), amount)
    }

    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        native::credit(host, &balance_key(account), amount)
    }

    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        let mut meter = Meter {
            limit: frame.gas_limit,
            used: 0,
        };
        match (&frame.input, &frame.caller) {
            (FrameInput::Transaction(Payload::Wasm(call)), Caller::Account(signer)) => {
                if !meter.spend(call_gas(call)) {
                    return Ok(failed("wasm: out of gas", meter.used));
                }
                if !call.code.is_empty() {
                    return self.deploy(host, frame.rollup, *signer, call, meter);
                }
                let target = match self.load(host, &call.contract, &mut meter)? {
                    Ok(target) => target,
                    Err(outcome) => return Ok(outcome),
                };
                let caller = Bytes::copy_from_slice(signer);
                self.call(
                    host,
                    target,
                    &call.method,
                    call.input.clone(),
                    caller,
                    frame.rollup,
                    meter,
                )
            }
            (FrameInput::XCall { target, input }, Caller::Contract { rollup, address }) => {
                let target = match self.load(host, target, &mut meter)? {
                    Ok(target) => target,
                    Err(outcome) => return Ok(outcome),
                };
                self.call(
                    host,
                    target,
                    XCALL_ENTRY,
                    input.clone(),
                    address.clone(),
                    *rollup,
                    meter,
                )
            }
            _ => Ok(failed("wasm: not a WASM call", 0)),
        }
    }

    fn kept_prefix(&self) -> Option<&'static [u8]> {
        Some(MODULE_PREFIX)
    }

    fn committed(&self, changes: &[(&[u8], Option<&Vec<u8>>)]) {
        for (key, value) in changes {
            if let (Some(hash), Some(code)) = (module_hash(key), value) {
                self.cache.keep(&hash, || self.compiled(hash, code));
            }
        }
        self.cache.settle();
    }
}

impl WasmAdapter {
    /// The compiled module of `code` (whose hash is `hash`): the cached one, or compiled again
    /// if it was evicted since its deploy.
    fn compiled(&self, hash: [u8; 32], code: &[u8]) -> Option<Module> {
        if let Some(ready) = self.cache.get(&self.engine, &self.linker, &hash) {
            return Some(ready.module().clone());
        }
        let compiled = self
            .instrument(code)
            .map_err(|r| r.to_string())
            .and_then(|code| Module::new(&self.engine, &code).map_err(|e| format!("{e:#}")));
        compiled
            .inspect_err(|e| {
                tracing::warn!(hash = %hex::encode(hash), "committed module does not compile: {e}");
            })
            .ok()
    }
}
