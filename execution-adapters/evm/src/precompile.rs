//! The cross-rollup call precompile at [`XCALL_ADDRESS`], beside Ethereum's standard ones.
//!
//! Solidity ABI: `xcall(uint64 rollup, bytes target, bytes input) returns (bytes)`. It calls
//! `target` on rollup `rollup` synchronously with all the gas the CALL forwarded (less the
//! cross-rollup overhead and a 64th, see `babel_execution::gas`), and returns the callee's
//! output ABI-encoded as `bytes`. If the callee fails, the precompile reverts with the
//! callee's revert data unchanged, so `try`/`catch` or a bubbling `revert` see the callee's own
//! error. Only a plain `CALL` without value may invoke it: a static context would forbid the
//! callee's writes, and value cannot cross rollups this way (move value with contracts).

use alloy_sol_types::{SolCall, sol};
use babel_execution::{XCall, abi};
use revm::{
    context_interface::{Cfg, ContextTr},
    handler::{EthPrecompiles, PrecompileProvider, precompile_output_to_interpreter_result},
    interpreter::{CallInputs, CallScheme, InterpreterResult},
    precompile::PrecompileOutput,
    primitives::{Address, AddressSet, U256, address, hardfork::SpecId},
};

use crate::host::Shared;

/// Address of the cross-rollup call precompile.
pub const XCALL_ADDRESS: Address = address!("0x000000000000000000000000000000000000BABE");

sol! {
    /// The precompile's interface.
    function xcall(uint64 rollup, bytes target, bytes input) external returns (bytes);
}

/// The addresses of Ethereum's precompiles at `spec` plus [`XCALL_ADDRESS`] (computed once
/// per adapter: every frame needs them warm).
pub(crate) fn warm_set(spec: SpecId) -> AddressSet {
    let mut warm = EthPrecompiles::new(spec).warm_addresses().clone();
    warm.insert(XCALL_ADDRESS);
    warm
}

/// Ethereum's precompiles plus [`XCALL_ADDRESS`].
pub(crate) struct Precompiles<'s, 'h> {
    standard: EthPrecompiles,
    warm: &'s AddressSet,
    shared: &'s Shared<'h>,
}

impl<'s, 'h> Precompiles<'s, 'h> {
    /// `warm` is [`warm_set`] of `spec`.
    pub(crate) fn new(shared: &'s Shared<'h>, spec: SpecId, warm: &'s AddressSet) -> Self {
        Self {
            standard: EthPrecompiles::new(spec),
            warm,
            shared,
        }
    }

    fn refuse(inputs: &CallInputs, why: &str) -> PrecompileOutput {
        PrecompileOutput::revert(
            0,
            abi::error_message(&format!("babel: {why}")).into(),
            inputs.reservoir,
        )
    }

    /// Run an xcall; `Err` carries a fatal host failure (parked in the shared host).
    fn xcall<CTX: ContextTr>(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<PrecompileOutput, String> {
        if inputs.scheme != CallScheme::Call || inputs.is_static {
            return Ok(Self::refuse(
                inputs,
                "xcall must be a plain CALL (not STATICCALL, DELEGATECALL or CALLCODE)",
            ));
        }
        if inputs.call_value() != U256::ZERO {
            return Ok(Self::refuse(inputs, "xcall carries no value"));
        }
        let data = inputs.input.bytes(context);
        let Ok(call) = xcallCall::abi_decode(&data) else {
            return Ok(Self::refuse(
                inputs,
                "xcall input is not xcall(uint64,bytes,bytes)",
            ));
        };
        let result = self
            .shared
            .xcall(
                inputs.caller.as_slice(),
                XCall {
                    target_rollup: call.rollup,
                    target: call.target.0,
                    input: call.input.0,
                    gas_limit: inputs.gas_limit,
                },
            )
            .map_err(|e| e.0)?;
        let gas_used = result.gas_used.min(inputs.gas_limit);
        Ok(if result.success {
            let encoded = xcallCall::abi_encode_returns(&result.output.into());
            PrecompileOutput::new(gas_used, encoded.into(), inputs.reservoir)
        } else {
            PrecompileOutput::revert(gas_used, result.output.into(), inputs.reservoir)
        })
    }
}

impl<CTX> PrecompileProvider<CTX> for Precompiles<'_, '_>
where
    CTX: ContextTr<Cfg: Cfg<Spec = SpecId>>,
{
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        // The adapter runs one fixed spec, so the warm set computed for it stays right.
        <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.standard, spec)
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        if inputs.bytecode_address == XCALL_ADDRESS {
            let output = self.xcall(context, inputs)?;
            return Ok(Some(precompile_output_to_interpreter_result(
                output,
                inputs.gas_limit,
            )));
        }
        <EthPrecompiles as PrecompileProvider<CTX>>::run(&mut self.standard, context, inputs)
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.warm
    }
}
