//! [`CairoAdapter`]: one Cairo rollup's frames on cairo-vm.

use babel_execution::{
    Caller, ExecError, ExecutionAdapter, Frame, FrameInput, FrameOutcome, Host, VmKind, abi,
    native, state::KeyValues,
};
use babel_genesis::{RollupGenesis, VmGenesis};
use babel_proto::v1::{CairoCall, transaction::Payload};
use bytes::Bytes;
use cairo_vm::Felt252;

use crate::{
    cache::{Classes, Committed},
    felt::{
        address_from_target, bytes_to_felts, caller_felt, contract_address, felt_from_bytes,
        felts_to_bytes, panic_message, revert_data, selector,
    },
    frame::{Invocation, Invoked, invoke, invoke_entry},
    limits::{
        DEPLOY_GAS_PER_FELT, DEPLOY_GAS_PER_UNIT, FREE_REASON_BYTES, MAX_CALLDATA_FELTS,
        MAX_CLASS_BYTES, MAX_ENTRYPOINT_LEN, OUTPUT_GAS_PER_BYTE, SIERRA_GAS_PER_GAS, deploy_gas,
        tx_gas,
    },
    run::Ended,
    state::{
        CLASS_PREFIX, balance_key, class_hash, class_hash_of_key, class_key, contract_key,
        deploys_key, storage_key,
    },
};

/// The entry point other rollups call: `call(input: ByteArray) -> ByteArray`.
pub const XCALL_ENTRY: &str = "call";

/// A Cairo rollup on cairo-vm: contract classes deployed by transaction (or at genesis) and
/// compiled by the node, called by transactions and by other rollups, metered with Sierra
/// gas and steps against the frame's gas.
#[derive(Debug, Default)]
pub struct CairoAdapter {
    classes: Classes,
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

    fn sierra(&self) -> u64 {
        (self.limit - self.used).saturating_mul(SIERRA_GAS_PER_GAS)
    }
}

/// A failed frame with a stable reason, as Solidity `Error(string)` so that any caller can
/// decode it.
fn failed(reason: &str, gas_used: u64) -> FrameOutcome {
    FrameOutcome::failed(abi::error_message(reason), gas_used)
}

/// How a call's answer becomes bytes.
#[derive(Clone, Copy)]
enum Answer {
    /// A transaction's: the returned felts, 32 big-endian bytes each.
    Felts,
    /// Another rollup's: a `ByteArray`'s bytes.
    Bytes,
}

/// Intrinsic gas of a transaction's call: its bytes besides a class.
fn call_gas(call: &CairoCall) -> u64 {
    let words: usize = call.calldata.iter().map(|w| w.len()).sum();
    tx_gas(words + call.contract.len() + call.entrypoint.len())
}

/// Calldata felts from 32-byte big-endian words.
fn felts_of(words: &[Bytes]) -> Option<Vec<Felt252>> {
    words.iter().map(|w| felt_from_bytes(w)).collect()
}

impl CairoAdapter {
    /// A new adapter that runs blocks, with an empty class cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// An adapter that runs blocks, keeping the classes that commit in `committed`.
    pub fn for_blocks(committed: Committed) -> Self {
        Self {
            classes: Classes::for_blocks(committed),
        }
    }

    /// An adapter that runs clients' simulations, reading the classes an adapter that runs
    /// blocks keeps in `committed` (so that no call of a committed contract compiles).
    pub fn for_queries(committed: Committed) -> Self {
        Self {
            classes: Classes::for_queries(committed),
        }
    }

    /// How many classes this adapter has compiled: at deploy, at genesis, when told of a
    /// committed class, and (never, unless the node lost its cache) while calling.
    pub fn compiles(&self) -> u64 {
        self.classes.compiles()
    }

    /// The frame outcome of `invoked`, metered on `meter`.
    fn outcome(invoked: Invoked, answer: Answer, mut meter: Meter) -> FrameOutcome {
        if !meter.spend(invoked.charged.div_ceil(SIERRA_GAS_PER_GAS)) {
            return failed("cairo: out of gas", meter.limit);
        }
        let (success, output) = match invoked.ran.ended {
            Ended::Returned(felts) => match answer {
                Answer::Felts => (true, felts.iter().flat_map(|f| f.to_bytes_be()).collect()),
                Answer::Bytes => match felts_to_bytes(&felts) {
                    Some((bytes, used)) if used == felts.len() => (true, Bytes::from(bytes)),
                    _ => return failed("cairo: the answer is not a ByteArray", meter.used),
                },
            },
            Ended::Panicked(data) => match revert_data(&data) {
                Some(bytes) => (false, Bytes::from(bytes)),
                None => (false, abi::error_message(&panic_message(&data))),
            },
            // Like an exceptional halt on the EVM: all the frame's gas is gone.
            Ended::OutOfSteps => return failed("cairo: out of steps", meter.limit),
            Ended::Failed(why) => return failed(why, meter.limit),
        };
        // A transaction's answer and any failure's reason go into the receipt: paid by the
        // byte (another rollup's caller pays for an answer it receives, by the core's rule).
        let recorded = match (success, answer) {
            (true, Answer::Bytes) => 0,
            (true, Answer::Felts) => output.len() as u64,
            (false, _) => (output.len() as u64).saturating_sub(FREE_REASON_BYTES),
        };
        if !meter.spend(OUTPUT_GAS_PER_BYTE.saturating_mul(recorded)) {
            return failed("cairo: out of gas", meter.limit);
        }
        FrameOutcome {
            success,
            output,
            gas_used: meter.used,
            logs: if success { invoked.logs } else { Vec::new() },
            created: None,
        }
    }

    /// Call `entry` of contract `address` for the rest of the meter's gas.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        host: &mut dyn Host,
        address: Felt252,
        entry: &str,
        calldata: Vec<Felt252>,
        caller: Felt252,
        answer: Answer,
        meter: Meter,
    ) -> Result<FrameOutcome, ExecError> {
        let call = Invocation {
            address,
            selector: selector(entry),
            calldata,
            caller,
            sierra_gas: meter.sierra(),
            inner_depth: 0,
        };
        Ok(match invoke(&self.classes, host, call)? {
            Ok(invoked) => Self::outcome(invoked, answer, meter),
            Err(why) => failed(why, meter.used),
        })
    }

    /// Deploy `call.class` for `signer`, then run its constructor (if any) with the calldata.
    fn deploy(
        &self,
        host: &mut dyn Host,
        rollup: u64,
        signer: [u8; 32],
        call: &CairoCall,
        calldata: Vec<Felt252>,
        mut meter: Meter,
    ) -> Result<FrameOutcome, ExecError> {
        if !meter.spend(deploy_gas(call.class.len())) {
            return Ok(failed("cairo: out of gas", meter.used));
        }
        let hash = class_hash(&call.class);
        // The compile work is paid before the compiler runs: a deploy that cannot pay it
        // compiles nothing.
        let paid = self.classes.get_or_stage(hash, &call.class, |work| {
            meter.spend(DEPLOY_GAS_PER_UNIT.saturating_mul(work))
        });
        let class = match paid {
            Ok(Some(class)) => class,
            Ok(None) => return Ok(failed("cairo: out of gas", meter.used)),
            Err(refusal) => return Ok(failed(&refusal.to_string(), meter.used)),
        };
        let felts = DEPLOY_GAS_PER_FELT.saturating_mul(class.bytecode_len as u64);
        if !meter.spend(felts) {
            return Ok(failed("cairo: out of gas", meter.used));
        }
        let count_key = deploys_key(&signer);
        let count = host
            .get(&count_key)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        host.set(&count_key, Some((count + 1).to_be_bytes().to_vec()));
        let address = contract_address(rollup, &signer, count);
        let address_bytes = address.to_bytes_be();
        if host.get(&class_key(&hash))?.is_none() {
            host.set(&class_key(&hash), Some(call.class.to_vec()));
        }
        host.set(&contract_key(&address_bytes), Some(hash.to_vec()));
        let created = Bytes::copy_from_slice(&address_bytes);
        let mut outcome = match &class.constructor {
            None if calldata.is_empty() => FrameOutcome {
                success: true,
                gas_used: meter.used,
                ..FrameOutcome::default()
            },
            None => return Ok(failed("cairo: the class has no constructor", meter.used)),
            Some(entry) => {
                let call = Invocation {
                    address,
                    selector: selector("constructor"),
                    calldata,
                    caller: caller_felt(rollup, &signer),
                    sierra_gas: meter.sierra(),
                    inner_depth: 0,
                };
                let invoked = invoke_entry(&self.classes, host, &class, entry, call)?;
                Self::outcome(invoked, Answer::Felts, meter)
            }
        };
        if outcome.success {
            outcome.output = created.clone();
            outcome.created = Some(created);
        }
        Ok(outcome)
    }
}

impl ExecutionAdapter for CairoAdapter {
    fn vm(&self) -> VmKind {
        VmKind::Cairo
    }

    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        let Payload::Cairo(call) = payload else {
            return Err("a Cairo rollup takes Cairo payloads".into());
        };
        if call.calldata.len() > MAX_CALLDATA_FELTS {
            return Err(format!("more than {MAX_CALLDATA_FELTS} calldata felts"));
        }
        if felts_of(&call.calldata).is_none() {
            return Err("every calldata felt must be 32 big-endian bytes below the prime".into());
        }
        if !call.class.is_empty() {
            if !call.contract.is_empty() || !call.entrypoint.is_empty() {
                return Err("a deploy names no contract and no entry point".into());
            }
            if call.class.len() > MAX_CLASS_BYTES {
                return Err(format!("class larger than {MAX_CLASS_BYTES} bytes"));
            }
            return Ok(());
        }
        if felt_from_bytes(&call.contract).is_none() {
            return Err("the contract address must be 32 big-endian bytes below the prime".into());
        }
        if call.entrypoint.is_empty() || call.entrypoint.len() > MAX_ENTRYPOINT_LEN {
            return Err(format!(
                "the entry point name must be 1 to {MAX_ENTRYPOINT_LEN} bytes"
            ));
        }
        Ok(())
    }

    fn min_gas(&self, payload: &Payload) -> u64 {
        match payload {
            Payload::Cairo(call) if !call.class.is_empty() => {
                call_gas(call).saturating_add(deploy_gas(call.class.len()))
            }
            Payload::Cairo(call) => call_gas(call),
            _ => 0,
        }
    }

    fn max_target_len(&self) -> usize {
        32
    }

    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError> {
        let VmGenesis::Cairo(cairo) = &rollup.vm else {
            return Err(ExecError::Genesis {
                rollup: rollup.id,
                message: "not a Cairo rollup".into(),
            });
        };
        let refused = |what: String| ExecError::Genesis {
            rollup: rollup.id,
            message: what,
        };
        let mut out = KeyValues::new();
        for contract in &cairo.contracts {
            let address = contract.address.0;
            let name = hex::encode(address);
            if felt_from_bytes(&address).is_none() {
                return Err(refused(format!("contract {name}: address is not a felt")));
            }
            let json = serde_json::to_vec(&contract.sierra_class)
                .map_err(|e| refused(format!("contract {name}: {e}")))?;
            let hash = class_hash(&json);
            self.classes
                .get_or_compile(hash, &json)
                .map_err(|r| refused(format!("contract {name}: {r}")))?;
            out.push((class_key(&hash), json));
            out.push((contract_key(&address), hash.to_vec()));
            for slot in &contract.storage {
                if felt_from_bytes(&slot.key.0).is_none()
                    || felt_from_bytes(&slot.value.0).is_none()
                {
                    return Err(refused(format!(
                        "contract {name}: a storage slot is not a felt"
                    )));
                }
                if slot.value.0 != [0; 32] {
                    out.push((storage_key(&address, &slot.key.0), slot.value.0.to_vec()));
                }
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
            (FrameInput::Transaction(Payload::Cairo(call)), Caller::Account(signer)) => {
                if !meter.spend(call_gas(call)) {
                    return Ok(failed("cairo: out of gas", meter.used));
                }
                let Some(calldata) = felts_of(&call.calldata) else {
                    return Ok(failed("cairo: calldata is not felts", meter.used));
                };
                if !call.class.is_empty() {
                    return self.deploy(host, frame.rollup, *signer, call, calldata, meter);
                }
                let Some(address) = felt_from_bytes(&call.contract) else {
                    return Ok(failed("cairo: bad contract address", meter.used));
                };
                let caller = caller_felt(frame.rollup, signer);
                self.call(
                    host,
                    address,
                    &call.entrypoint,
                    calldata,
                    caller,
                    Answer::Felts,
                    meter,
                )
            }
            (FrameInput::XCall { target, input }, Caller::Contract { rollup, address }) => {
                let Some(target) = address_from_target(target) else {
                    return Ok(failed("cairo: bad contract address", meter.used));
                };
                let caller = caller_felt(*rollup, address);
                let calldata = bytes_to_felts(input);
                self.call(
                    host,
                    target,
                    XCALL_ENTRY,
                    calldata,
                    caller,
                    Answer::Bytes,
                    meter,
                )
            }
            _ => Ok(failed("cairo: not a Cairo call", 0)),
        }
    }

    fn kept_prefix(&self) -> Option<&'static [u8]> {
        Some(CLASS_PREFIX)
    }

    fn committed(&self, changes: &[(&[u8], Option<&Vec<u8>>)]) {
        for (key, value) in changes {
            if let (Some(hash), Some(json)) = (class_hash_of_key(key), value)
                && let Err(refusal) = self.classes.commit(hash, json)
            {
                tracing::warn!(hash = %hex::encode(hash), "committed class does not compile: {refusal}");
            }
        }
        self.classes.end_commit();
    }
}
