//! The cross-rollup call precompile at [`XCALL_ADDRESS`] and the outgoing-message precompile
//! at [`MESSAGE_ADDRESS`], beside Ethereum's standard ones.
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
use babel_execution::{
    XCall, abi,
    gas::{message_cost, xcall_overhead},
};
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

/// Address of the outgoing-message precompile.
///
/// Solidity ABI: `sendMessage(bytes payload) returns (uint64 index)`. It appends `payload`
/// from the calling contract to the rollup's outgoing-message log (kept in the rollup's state,
/// provable with a state proof; `babel_proto::message`) and returns its index. It costs
/// [`message_cost`] of the payload and the 20-byte sender, and is undone if the calling frame
/// reverts. The same rules as `xcall` for the call itself: a plain `CALL` without value,
/// strictly encoded calldata, and a call whose gas cannot cover the cost its calldata's length
/// implies is refused, using all its gas, before the calldata is read. A payload longer than
/// [`MAX_MESSAGE_BYTES`](babel_execution::gas::MAX_MESSAGE_BYTES) is refused the same way.
pub const MESSAGE_ADDRESS: Address = address!("0x000000000000000000000000000000000000BABF");

sol! {
    /// The precompile's interface.
    function xcall(uint64 rollup, bytes target, bytes input) external returns (bytes);
    /// The outgoing-message precompile's interface.
    function sendMessage(bytes payload) external returns (uint64 index);
}

/// The most bytes of strictly encoded `sendMessage` calldata that are not payload: the
/// selector, an offset, a length and at most 31 bytes of padding.
const MESSAGE_HEAD: usize = 4 + 2 * 32 + 31;

/// The most bytes of strictly encoded `xcall` calldata that are neither target nor input: the
/// selector, the rollup, two offsets, two lengths, and at most 31 bytes of padding after each
/// of target and input.
const CALLDATA_HEAD: usize = 4 + 5 * 32 + 2 * 31;

/// The addresses of Ethereum's precompiles at `spec` plus [`XCALL_ADDRESS`] and
/// [`MESSAGE_ADDRESS`] (computed once per adapter: every frame needs them warm).
pub(crate) fn warm_set(spec: SpecId) -> AddressSet {
    let mut warm = EthPrecompiles::new(spec).warm_addresses().clone();
    warm.insert(XCALL_ADDRESS);
    warm.insert(MESSAGE_ADDRESS);
    warm
}

/// Ethereum's precompiles plus [`XCALL_ADDRESS`] and [`MESSAGE_ADDRESS`].
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

    /// The refusal of a call to precompile `name` that is not a plain `CALL` without value
    /// (a static context forbids writes; DELEGATECALL and CALLCODE would act for the caller's
    /// caller; value cannot cross into the host), using none of its gas.
    fn not_plain(inputs: &CallInputs, name: &str) -> Option<PrecompileOutput> {
        if inputs.scheme != CallScheme::Call || inputs.is_static {
            let why =
                format!("{name} must be a plain CALL (not STATICCALL, DELEGATECALL or CALLCODE)");
            return Some(Self::refuse(inputs, &why, 0));
        }
        (inputs.call_value() != U256::ZERO)
            .then(|| Self::refuse(inputs, &format!("{name} carries no value"), 0))
    }

    /// The calldata strictly decoded as `C` (no trailing bytes or gaps, so a bound checked
    /// against the calldata's length held for all of it), or the refusal using all the gas.
    fn strict<C: SolCall, CTX: ContextTr>(
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<C, PrecompileOutput> {
        C::abi_decode_with_config(
            &inputs.input.as_bytes(context),
            AbiDecoderConfig::new().strict(true),
        )
        .map_err(|_| {
            let name = C::SIGNATURE.split('(').next().unwrap_or_default();
            let why = format!("{name} input is not strictly encoded {}", C::SIGNATURE);
            Self::refuse(inputs, &why, inputs.gas_limit)
        })
    }

    /// Append an outgoing message; `Err` carries a fatal host failure.
    fn message<CTX: ContextTr>(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<PrecompileOutput, String> {
        if let Some(refused) = Self::not_plain(inputs, "sendMessage") {
            return Ok(refused);
        }
        // As for xcall: what the calldata's length implies is paid before it is read.
        let least = message_cost(20, inputs.input.len().saturating_sub(MESSAGE_HEAD));
        if least.is_none_or(|c| inputs.gas_limit < c) {
            return Ok(Self::refuse(
                inputs,
                "out of gas for sendMessage, or a payload above the bound",
                inputs.gas_limit,
            ));
        }
        let call = match Self::strict::<sendMessageCall, _>(context, inputs) {
            Ok(call) => call,
            Err(refused) => return Ok(refused),
        };
        let cost = message_cost(20, call.payload.len()).filter(|c| *c <= inputs.gas_limit);
        let Some(cost) = cost else {
            return Ok(Self::refuse(
                inputs,
                "out of gas for sendMessage, or a payload above the bound",
                inputs.gas_limit,
            ));
        };
        let index = self
            .shared
            .emit_message(inputs.caller.as_slice(), &call.payload)
            .map_err(|e| e.0)?;
        let encoded = sendMessageCall::abi_encode_returns(&index);
        Ok(PrecompileOutput::new(
            cost,
            encoded.into(),
            inputs.reservoir,
        ))
    }

    /// Run an xcall; `Err` carries a fatal host failure (parked in the shared host).
    fn xcall<CTX: ContextTr>(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<PrecompileOutput, String> {
        if let Some(refused) = Self::not_plain(inputs, "xcall") {
            return Ok(refused);
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
        let call = match Self::strict::<xcallCall, _>(context, inputs) {
            Ok(call) => call,
            Err(refused) => return Ok(refused),
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
        let output = if inputs.bytecode_address == XCALL_ADDRESS {
            self.xcall(context, inputs)?
        } else if inputs.bytecode_address == MESSAGE_ADDRESS {
            self.message(context, inputs)?
        } else {
            return <EthPrecompiles as PrecompileProvider<CTX>>::run(
                &mut self.standard,
                context,
                inputs,
            );
        };
        Ok(Some(precompile_output_to_interpreter_result(
            output,
            inputs.gas_limit,
        )))
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.warm
    }
}
