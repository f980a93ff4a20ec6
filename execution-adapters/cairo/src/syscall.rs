//! Starknet-style system calls, handled as blockifier's syscall hint processor does, over the
//! transaction's journal: storage reads and writes, events, calls to contracts on this rollup
//! and, through the reserved address `'babel'`, synchronous calls to any rollup; and
//! `send_message_to_l1`, which appends to the rollup's outgoing-message log.
//!
//! A system call's request sits at the system pointer: its selector (the call's name as a
//! short string), the caller's Sierra gas, then its fields; the response follows: gas left, a
//! failure flag (0 or 1), then the response's fields, or on failure the span of the reason
//! felts. Each call costs [`syscall_gas`] first; a call the gas cannot pay for fails with
//! `'Out of gas'`, and the contract panics (or handles it).

use babel_execution::{ExecError, Host, Log, XCall, gas::message_cost};
use bytes::Bytes;
use cairo_vm::{
    Felt252,
    types::relocatable::{MaybeRelocatable, Relocatable},
    vm::{errors::hint_errors::HintError, vm_core::VirtualMachine},
};

use crate::{
    cache::Classes,
    felt::{BYTE_ARRAY_MAGIC, bytes_to_felts, caller_felt, felts_to_bytes, selector},
    frame::{Invocation, invoke},
    limits::{
        MAX_CALLDATA_FELTS, MAX_EVENT_FELTS, MAX_EVENT_KEYS, MAX_INNER_DEPTH, SIERRA_GAS_PER_GAS,
        syscall_gas,
    },
    run::Ended,
    state::storage_key,
};

/// Native stack a nested run must find free before it starts, else it gets a new segment.
const STACK_RED_ZONE: usize = 256 * 1024;
/// The segment a nested run gets when the stack is short.
const STACK_PER_CALL: usize = 4 * 1024 * 1024;

/// The address whose `xcall` entry point calls another rollup: the short string `'babel'`.
pub const BABEL_ADDRESS: Felt252 = Felt252::from_hex_unchecked("0x626162656c");

/// A system call's answer.
enum Response {
    /// Success, with the response's fields.
    Ok(Vec<MaybeRelocatable>),
    /// Failure, with its reason.
    Failed(Vec<Felt252>),
}

/// The system call handler of one running frame.
pub struct Syscalls<'a> {
    classes: &'a Classes,
    host: &'a mut dyn Host,
    address: Felt252,
    caller: Felt252,
    selector: Felt252,
    inner_depth: u32,
    logs: Vec<Log>,
    /// A fault that is not the contract's (the store failed): the run stops and the block
    /// with it.
    pub fatal: Option<ExecError>,
}

fn short(text: &[u8]) -> Felt252 {
    Felt252::from_bytes_be_slice(text)
}

/// A failure reason as `panic!("...")` gives it.
fn reason(text: &str) -> Vec<Felt252> {
    let mut felts = vec![BYTE_ARRAY_MAGIC];
    felts.extend(bytes_to_felts(text.as_bytes()));
    felts
}

fn bad(what: &str) -> HintError {
    HintError::CustomHint(what.into())
}

fn read(vm: &VirtualMachine, at: Relocatable) -> Result<Felt252, HintError> {
    Ok(*vm.get_integer(at)?)
}

/// The start and length of the span `[start, end)` whose pointers are at `at`.
fn span_at(vm: &VirtualMachine, at: Relocatable) -> Result<(Relocatable, usize), HintError> {
    let start = vm.get_relocatable(at)?;
    let end = vm.get_relocatable((at + 1usize)?)?;
    Ok((start, (end - start)?))
}

/// The `len` felts from `start`.
fn read_span(
    vm: &VirtualMachine,
    start: Relocatable,
    len: usize,
) -> Result<Vec<Felt252>, HintError> {
    Ok(vm
        .get_integer_range(start, len)?
        .into_iter()
        .map(|f| *f)
        .collect())
}

/// A new segment holding `felts`, as the two pointers of a span.
fn new_span(
    vm: &mut VirtualMachine,
    felts: &[Felt252],
) -> Result<[MaybeRelocatable; 2], HintError> {
    let start = vm.add_memory_segment();
    let data: Vec<MaybeRelocatable> = felts.iter().map(MaybeRelocatable::from).collect();
    let end = vm.load_data(start, &data)?;
    Ok([start.into(), end.into()])
}

impl<'a> Syscalls<'a> {
    /// The handler of a frame running `call`.
    pub fn new(classes: &'a Classes, host: &'a mut dyn Host, call: &Invocation) -> Self {
        Self {
            classes,
            host,
            address: call.address,
            caller: call.caller,
            selector: call.selector,
            inner_depth: call.inner_depth,
            logs: Vec::new(),
            fatal: None,
        }
    }

    /// The frame's events.
    pub fn into_logs(self) -> Vec<Log> {
        self.logs
    }

    fn fatal(&mut self, e: ExecError) -> HintError {
        self.fatal = Some(e);
        bad("the node failed")
    }

    /// Handle the system call whose request is at `ptr`.
    pub fn call(&mut self, vm: &mut VirtualMachine, ptr: Relocatable) -> Result<(), HintError> {
        let name = read(vm, ptr)?;
        let gas = u64::try_from(read(vm, (ptr + 1usize)?)?).map_err(|_| bad("gas"))?;
        let request = (ptr + 2usize)?;
        let (len, cost) = if name == short(b"StorageRead") {
            (2, syscall_gas::STORAGE_READ)
        } else if name == short(b"StorageWrite") {
            (3, syscall_gas::STORAGE_WRITE)
        } else if name == short(b"EmitEvent") {
            (4, syscall_gas::EMIT_EVENT)
        } else if name == short(b"CallContract") {
            (4, syscall_gas::CALL_CONTRACT)
        } else if name == short(b"GetExecutionInfo") {
            (0, syscall_gas::GET_EXECUTION_INFO)
        } else if name == short(b"SendMessageToL1") {
            (3, syscall_gas::SEND_MESSAGE)
        } else {
            // Its request's length is unknown, so no response can be written: the frame
            // fails.
            return Err(bad("unsupported system call"));
        };
        let response_at = (request + len)?;
        let (gas_left, response) = match gas.checked_sub(cost) {
            None => (gas, Response::Failed(vec![short(b"Out of gas")])),
            Some(left) => match name {
                n if n == short(b"StorageRead") => self.storage_read(vm, request, left)?,
                n if n == short(b"StorageWrite") => self.storage_write(vm, request, left)?,
                n if n == short(b"EmitEvent") => self.emit_event(vm, request, left)?,
                n if n == short(b"CallContract") => self.call_contract(vm, request, left)?,
                n if n == short(b"SendMessageToL1") => self.send_message(vm, request, left)?,
                _ => self.execution_info(vm, left)?,
            },
        };
        vm.insert_value(response_at, Felt252::from(gas_left))?;
        let fields = match response {
            Response::Ok(fields) => {
                vm.insert_value((response_at + 1usize)?, Felt252::ZERO)?;
                fields
            }
            Response::Failed(why) => {
                vm.insert_value((response_at + 1usize)?, Felt252::ONE)?;
                new_span(vm, &why)?.to_vec()
            }
        };
        vm.load_data((response_at + 2usize)?, &fields)?;
        Ok(())
    }

    /// Spend `cost` of `gas`; the failure response if it cannot.
    fn spend(gas: &mut u64, cost: u64) -> Result<(), Response> {
        *gas = gas
            .checked_sub(cost)
            .ok_or_else(|| Response::Failed(vec![short(b"Out of gas")]))?;
        Ok(())
    }

    fn slot(
        &self,
        vm: &VirtualMachine,
        request: Relocatable,
    ) -> Result<Option<Vec<u8>>, HintError> {
        let domain = read(vm, request)?;
        if domain != Felt252::ZERO {
            return Ok(None);
        }
        let key = read(vm, (request + 1usize)?)?;
        Ok(Some(storage_key(
            &self.address.to_bytes_be(),
            &key.to_bytes_be(),
        )))
    }

    fn storage_read(
        &mut self,
        vm: &mut VirtualMachine,
        request: Relocatable,
        gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let Some(key) = self.slot(vm, request)? else {
            return Ok((
                gas,
                Response::Failed(vec![short(b"Unsupported address domain")]),
            ));
        };
        let value = match self.host.get(&key) {
            Ok(None) => Felt252::ZERO,
            Ok(Some(bytes)) => crate::felt::felt_from_bytes(&bytes).ok_or_else(|| {
                self.fatal(ExecError::State(
                    "cairo: a stored value is not a felt".into(),
                ))
            })?,
            Err(e) => return Err(self.fatal(e)),
        };
        Ok((gas, Response::Ok(vec![value.into()])))
    }

    fn storage_write(
        &mut self,
        vm: &mut VirtualMachine,
        request: Relocatable,
        mut gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let Some(key) = self.slot(vm, request)? else {
            return Ok((
                gas,
                Response::Failed(vec![short(b"Unsupported address domain")]),
            ));
        };
        let value = read(vm, (request + 2usize)?)?;
        // Filling an empty slot adds state every node keeps, and costs more.
        if value != Felt252::ZERO {
            let empty = match self.host.get(&key) {
                Ok(old) => old.is_none(),
                Err(e) => return Err(self.fatal(e)),
            };
            let extra = syscall_gas::STORAGE_CREATE - syscall_gas::STORAGE_WRITE;
            if empty && let Err(failed) = Self::spend(&mut gas, extra) {
                return Ok((gas, failed));
            }
        }
        // Zero is absent, so that clearing a slot frees it.
        let value = (value != Felt252::ZERO).then(|| value.to_bytes_be().to_vec());
        self.host.set(&key, value);
        Ok((gas, Response::Ok(Vec::new())))
    }

    fn emit_event(
        &mut self,
        vm: &mut VirtualMachine,
        request: Relocatable,
        mut gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let (keys_at, keys) = span_at(vm, request)?;
        let (data_at, data) = span_at(vm, (request + 2usize)?)?;
        if keys > MAX_EVENT_KEYS || data > MAX_EVENT_FELTS {
            return Ok((gas, Response::Failed(vec![short(b"Event too large")])));
        }
        let cost = syscall_gas::EVENT_KEY
            .saturating_mul(keys as u64)
            .saturating_add(syscall_gas::EVENT_DATA_FELT.saturating_mul(data as u64));
        if let Err(failed) = Self::spend(&mut gas, cost) {
            return Ok((gas, failed));
        }
        let keys = read_span(vm, keys_at, keys)?;
        let data = read_span(vm, data_at, data)?;
        self.logs.push(Log {
            address: Bytes::copy_from_slice(&self.address.to_bytes_be()),
            topics: keys
                .iter()
                .map(|k| Bytes::copy_from_slice(&k.to_bytes_be()))
                .collect(),
            data: data.iter().flat_map(|d| d.to_bytes_be()).collect(),
        });
        Ok((gas, Response::Ok(Vec::new())))
    }

    /// `send_message_to_l1(to_address, payload)`: the message's payload is the destination's
    /// 32 bytes, then each payload felt's 32 (big-endian).
    fn send_message(
        &mut self,
        vm: &mut VirtualMachine,
        request: Relocatable,
        mut gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let to = read(vm, request)?;
        let (payload_at, len) = span_at(vm, (request + 1usize)?)?;
        let bytes = len.saturating_add(1).saturating_mul(32);
        let Some(cost) = message_cost(32, bytes) else {
            return Ok((gas, Response::Failed(vec![short(b"Message too long")])));
        };
        if let Err(failed) = Self::spend(&mut gas, cost.saturating_mul(SIERRA_GAS_PER_GAS)) {
            return Ok((gas, failed));
        }
        let felts = read_span(vm, payload_at, len)?;
        let payload: Vec<u8> = std::iter::once(&to)
            .chain(&felts)
            .flat_map(|f| f.to_bytes_be())
            .collect();
        if let Err(e) = self
            .host
            .emit_message(&self.address.to_bytes_be(), &payload)
        {
            return Err(self.fatal(e));
        }
        Ok((gas, Response::Ok(Vec::new())))
    }

    fn call_contract(
        &mut self,
        vm: &mut VirtualMachine,
        request: Relocatable,
        mut gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let address = read(vm, request)?;
        let selector_felt = read(vm, (request + 1usize)?)?;
        let (calldata_at, len) = span_at(vm, (request + 2usize)?)?;
        if len > MAX_CALLDATA_FELTS {
            return Ok((gas, Response::Failed(vec![short(b"Calldata too long")])));
        }
        if let Err(failed) = Self::spend(&mut gas, syscall_gas::PER_FELT.saturating_mul(len as u64))
        {
            return Ok((gas, failed));
        }
        let calldata = read_span(vm, calldata_at, len)?;
        let response = if address == BABEL_ADDRESS {
            self.xcall(vm, selector_felt, &calldata, &mut gas)?
        } else {
            self.inner_call(vm, address, selector_felt, calldata, &mut gas)?
        };
        Ok((gas, response))
    }

    /// A call to another rollup: calldata `[rollup] ++ ByteArray target ++ ByteArray input`.
    fn xcall(
        &mut self,
        vm: &mut VirtualMachine,
        entry: Felt252,
        calldata: &[Felt252],
        gas: &mut u64,
    ) -> Result<Response, HintError> {
        if entry != selector("xcall") {
            return Ok(Response::Failed(reason(
                "babel: unknown system entry point",
            )));
        }
        let Some(call) = parse_xcall(calldata) else {
            return Ok(Response::Failed(reason("babel: malformed xcall")));
        };
        let offered = *gas / SIERRA_GAS_PER_GAS;
        let me = Bytes::copy_from_slice(&self.address.to_bytes_be());
        let result = match self.host.xcall(
            &me,
            XCall {
                gas_limit: offered,
                ..call
            },
        ) {
            Ok(result) => result,
            Err(e) => return Err(self.fatal(e)),
        };
        *gas -= result.gas_used.min(offered) * SIERRA_GAS_PER_GAS;
        let felts = bytes_to_felts(&result.output);
        Ok(if result.success {
            Response::Ok(new_span(vm, &felts)?.to_vec())
        } else {
            Response::Failed(felts)
        })
    }

    /// A call to a contract on this rollup, with all the gas left.
    fn inner_call(
        &mut self,
        vm: &mut VirtualMachine,
        address: Felt252,
        entry: Felt252,
        calldata: Vec<Felt252>,
        gas: &mut u64,
    ) -> Result<Response, HintError> {
        if self.inner_depth >= MAX_INNER_DEPTH {
            return Ok(Response::Failed(reason("cairo: calls nested too deep")));
        }
        let checkpoint = self.host.checkpoint();
        let call = Invocation {
            address,
            selector: entry,
            calldata,
            caller: self.address,
            sierra_gas: *gas,
            inner_depth: self.inner_depth + 1,
        };
        // Nested runs use the native stack: make sure each has room, however deep.
        let invoked = stacker::maybe_grow(STACK_RED_ZONE, STACK_PER_CALL, || {
            invoke(self.classes, &mut *self.host, call)
        });
        let invoked = match invoked {
            Ok(Ok(invoked)) => invoked,
            Ok(Err(why)) => return Ok(Response::Failed(reason(why))),
            Err(e) => return Err(self.fatal(e)),
        };
        *gas = gas.saturating_sub(invoked.charged);
        let (ok, data) = match invoked.ran.ended {
            Ended::Returned(data) => (true, data),
            Ended::Panicked(data) => (false, data),
            Ended::OutOfSteps => (false, reason("cairo: out of steps")),
            Ended::Failed(why) => (false, reason(why)),
        };
        // The answer (or the reason) is copied into this frame: paid for before it is.
        let copy = syscall_gas::PER_FELT.saturating_mul(data.len() as u64);
        if let Err(failed) = Self::spend(gas, copy) {
            self.host.revert_to(checkpoint);
            return Ok(failed);
        }
        Ok(if ok {
            self.logs.extend(invoked.logs);
            Response::Ok(new_span(vm, &data)?.to_vec())
        } else {
            self.host.revert_to(checkpoint);
            Response::Failed(data)
        })
    }

    /// `ExecutionInfo`: pointers to the block and transaction info, the caller, this contract
    /// and the entry point's selector.
    fn execution_info(
        &mut self,
        vm: &mut VirtualMachine,
        gas: u64,
    ) -> Result<(u64, Response), HintError> {
        let env = self.host.env().clone();
        let (origin_rollup, signer) = self.host.origin();
        let block = new_span(
            vm,
            &[
                Felt252::from(env.height),
                Felt252::from(env.time_ms / 1000),
                Felt252::ZERO,
            ],
        )?;
        let empty = new_span(vm, &[])?;
        let account = caller_felt(origin_rollup, &signer);
        let zero = MaybeRelocatable::from(Felt252::ZERO);
        // Cairo 2.12's `TxInfo`: version, account, max fee, signature, hash, chain id, nonce,
        // resource bounds, tip, paymaster data, the two data availability modes and the
        // account deployment data. Babel's transactions fill the account; the rest is zero
        // or empty.
        let tx: Vec<MaybeRelocatable> = vec![
            Felt252::ONE.into(),
            account.into(),
            zero.clone(),
            empty[0].clone(),
            empty[1].clone(),
            zero.clone(),
            zero.clone(),
            zero.clone(),
            empty[0].clone(),
            empty[1].clone(),
            zero.clone(),
            empty[0].clone(),
            empty[1].clone(),
            zero.clone(),
            zero.clone(),
            empty[0].clone(),
            empty[1].clone(),
        ];
        let tx_info = vm.add_memory_segment();
        vm.load_data(tx_info, &tx)?;
        let info = vm.add_memory_segment();
        vm.load_data(
            info,
            &[
                block[0].clone(),
                tx_info.into(),
                self.caller.into(),
                self.address.into(),
                self.selector.into(),
            ],
        )?;
        Ok((gas, Response::Ok(vec![info.into()])))
    }
}

/// `[rollup] ++ ByteArray target ++ ByteArray input`, exactly.
fn parse_xcall(calldata: &[Felt252]) -> Option<XCall> {
    let (rollup, rest) = calldata.split_first()?;
    let rollup = u64::try_from(*rollup).ok()?;
    let (target, used) = felts_to_bytes(rest)?;
    let (input, used_input) = felts_to_bytes(&rest[used..])?;
    (used + used_input == rest.len()).then(|| XCall {
        target_rollup: rollup,
        target: target.into(),
        input: input.into(),
        gas_limit: 0,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use babel_execution::{BlockEnv, Checkpoint, Journal, XResult};
    use babel_proto::{
        message::{MESSAGE_COUNT_KEY, message_key},
        v1,
    };
    use prost::Message as _;

    use super::*;

    /// A rollup's state in a map, for one frame's system calls.
    #[derive(Default)]
    struct MapHost {
        state: BTreeMap<Vec<u8>, Vec<u8>>,
        env: Option<BlockEnv>,
    }

    impl Host for MapHost {
        fn env(&self) -> &BlockEnv {
            self.env.as_ref().unwrap()
        }
        fn rollup(&self) -> u64 {
            1
        }
        fn depth(&self) -> u32 {
            0
        }
        fn origin(&self) -> (u64, [u8; 32]) {
            (1, [0; 32])
        }
        fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
            Ok(self.state.get(key).cloned())
        }
        fn set(&mut self, key: &[u8], value: Option<Vec<u8>>) {
            match value {
                Some(v) => self.state.insert(key.to_vec(), v),
                None => self.state.remove(key),
            };
        }
        fn checkpoint(&mut self) -> Checkpoint {
            Journal::new().checkpoint()
        }
        fn revert_to(&mut self, _: Checkpoint) {}
        fn xcall(&mut self, _: &[u8], _: XCall) -> Result<XResult, ExecError> {
            unreachable!("no call here")
        }
    }

    /// Run `send_message_to_l1(to, payload)` with `gas` Sierra gas: the gas left and whether
    /// it failed, as the response says.
    fn send(host: &mut MapHost, to: u64, payload: &[Felt252], gas: u64) -> (u64, bool) {
        let classes = Classes::default();
        let call = Invocation {
            address: Felt252::from(0xC0u64),
            selector: Felt252::ZERO,
            calldata: Vec::new(),
            caller: Felt252::ZERO,
            sierra_gas: gas,
            inner_depth: 0,
        };
        let mut vm = VirtualMachine::new(false, false);
        let request = vm.add_memory_segment();
        let data = vm.add_memory_segment();
        let felts: Vec<MaybeRelocatable> = payload.iter().map(MaybeRelocatable::from).collect();
        let end = vm.load_data(data, &felts).unwrap();
        let fields: Vec<MaybeRelocatable> = vec![
            short(b"SendMessageToL1").into(),
            Felt252::from(gas).into(),
            Felt252::from(to).into(),
            data.into(),
            end.into(),
        ];
        vm.load_data(request, &fields).unwrap();
        let mut syscalls = Syscalls::new(&classes, host, &call);
        syscalls.call(&mut vm, request).unwrap();
        let left = read(&vm, (request + 5usize).unwrap()).unwrap();
        let failed = read(&vm, (request + 6usize).unwrap()).unwrap();
        (u64::try_from(left).unwrap(), failed == Felt252::ONE)
    }

    #[test]
    fn send_message_to_l1_appends_to_the_rollup_s_log_at_its_price() {
        let mut host = MapHost {
            env: Some(BlockEnv {
                height: 9,
                time_ms: 0,
                max_tx_gas: 0,
            }),
            ..MapHost::default()
        };
        let payload = [Felt252::from(5u64), Felt252::from(6u64)];
        let gas = 100_000_000;
        let (left, failed) = send(&mut host, 0xE7, &payload, gas);
        assert!(!failed);
        let cost =
            syscall_gas::SEND_MESSAGE + message_cost(32, 3 * 32).unwrap() * SIERRA_GAS_PER_GAS;
        assert_eq!(left, gas - cost);
        let stored = host.state.get(&message_key(0)[..]).unwrap();
        let message = v1::OutgoingMessage::decode(stored.as_slice()).unwrap();
        assert_eq!(message.height, 9);
        assert_eq!(
            message.sender.as_ref(),
            Felt252::from(0xC0u64).to_bytes_be()
        );
        let expected: Vec<u8> = [Felt252::from(0xE7u64), payload[0], payload[1]]
            .iter()
            .flat_map(|f| f.to_bytes_be())
            .collect();
        assert_eq!(message.payload.as_ref(), expected);
        assert_eq!(
            host.state.get(MESSAGE_COUNT_KEY),
            Some(&1u64.to_be_bytes().to_vec())
        );

        // Without the gas, or too long: the call fails and nothing is appended.
        assert!(send(&mut host, 1, &payload, cost - 1).1);
        assert!(send(&mut host, 1, &vec![Felt252::ONE; 128], gas).1);
        assert_eq!(
            host.state.get(MESSAGE_COUNT_KEY),
            Some(&1u64.to_be_bytes().to_vec())
        );
        assert!(
            !send(&mut host, 1, &vec![Felt252::ONE; 127], gas).1,
            "127 felts fit"
        );
    }
}
