//! The cross-rollup call precompile at [`XCALL_ADDRESS`], beside Ethereum's standard ones.
//!
//! Solidity ABI: `xcall(uint64 rollup, bytes target, bytes input) returns (bytes)`. It calls
//! `target` on rollup `rollup` synchronously with all the gas the CALL forwarded, less the
//! cross-rollup overhead (a base cost and a cost per byte of `input` and of `target`) and a
//! 64th, and charges per byte of the callee's output as well (see `babel_execution::gas`); it
//! never uses more than the CALL forwarded. It returns the callee's output ABI-encoded as
//! `bytes`. If the callee fails, the precompile reverts with the callee's revert data
//! unchanged, so `try`/`catch` or a bubbling `revert` see the callee's own error. A target
//! longer than an address (20 bytes on an EVM rollup) is refused before anything runs.
//!
//! Only a plain `CALL` without value may invoke it: a static context would forbid the callee's
//! writes, and value cannot cross rollups this way (move value with contracts). Its calldata
//! must be strictly ABI-encoded (as Solidity encodes it): anything else uses all the gas the
//! CALL forwarded, and so does a call whose gas cannot cover the overhead its calldata's length
//! implies, refused before the calldata is read. So the node never copies or decodes calldata
//! the caller has not paid for byte by byte. These refusals never reach the core: they are not
//! in the call tree.

use alloy_sol_types::{SolCall, abi::AbiDecoderConfig, sol};
use babel_execution::{XCall, abi, gas::xcall_overhead};
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

/// The most bytes of strictly encoded `xcall` calldata that are neither target nor input: the
/// selector, the rollup, two offsets, two lengths, and at most 31 bytes of padding after each
/// of target and input.
const CALLDATA_HEAD: usize = 4 + 5 * 32 + 2 * 31;

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

    /// Refuse the call for `why`, using `gas_used` of the gas it was given.
    fn refuse(inputs: &CallInputs, why: &str, gas_used: u64) -> PrecompileOutput {
        PrecompileOutput::revert(
            gas_used,
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
                0,
            ));
        }
        if inputs.call_value() != U256::ZERO {
            return Ok(Self::refuse(inputs, "xcall carries no value", 0));
        }
        // Target and input fill all of the calldata but its head, and the overhead charges
        // them per byte: the core would refuse this call out of gas once it had them. Refused
        // before the calldata is read, or a CALL offering no gas could make the node copy
        // and decode a large calldata for nothing, over and over.
        let least_overhead = xcall_overhead(inputs.input.len().saturating_sub(CALLDATA_HEAD), 0);
        if inputs.gas_limit < least_overhead {
            return Ok(Self::refuse(
                inputs,
                "out of gas for xcall",
                inputs.gas_limit,
            ));
        }
        // Strict: no trailing bytes or gaps, so the check above held for all of the calldata.
        let decoded = xcallCall::abi_decode_with_config(
            &inputs.input.as_bytes(context),
            AbiDecoderConfig::new().strict(true),
        );
        let Ok(call) = decoded else {
            return Ok(Self::refuse(
                inputs,
                "xcall input is not strictly encoded xcall(uint64,bytes,bytes)",
                inputs.gas_limit,
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
