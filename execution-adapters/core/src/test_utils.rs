//! Test helpers: an in-memory [`ExecutionAdapter`] that runs little scripts.
//!
//! A script is a list of [`Op`]s: write a key, burn gas, emit a log or an outgoing message,
//! call another rollup with a
//! script of its own (catching its failure or not), repeat ops, fail, or return bytes. Scripts
//! travel as JSON in the `input` of a `WasmCall` payload (top level) or of an
//! [`XCall`](crate::XCall). Gas: every op costs [`OP_GAS`] each time it runs, `Burn(n)` costs
//! `n` more, and running out fails the frame having used its whole limit. Native balances (for
//! fees) live under `bal/<account>` as 16 big-endian bytes.

use babel_genesis::{RollupGenesis, VmKind};
use babel_proto::v1::{self, transaction::Payload};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{ExecError, ExecutionAdapter, Frame, FrameInput, FrameOutcome, Host, Log, XCall};

/// Gas every op costs.
pub const OP_GAS: u64 = 100;
/// The longest target a script rollup takes in a cross-rollup call ([`Op::Call`] names
/// `script`; [`Op::CallAt`] names any).
pub const SCRIPT_TARGET_LEN: usize = 16;

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Write (`Some`) or delete (`None`) a key of the frame's rollup.
    Write(Vec<u8>, Option<Vec<u8>>),
    /// Use this much extra gas.
    Burn(u64),
    /// Emit a log with this data.
    Log(Vec<u8>),
    /// Append this payload to the rollup's outgoing-message log (from `script`).
    Message(Vec<u8>),
    /// Call `rollup` with `script`, offering at most `gas`. A failed callee fails this frame
    /// too unless `catch`.
    Call {
        /// Target rollup.
        rollup: u64,
        /// What the callee runs.
        script: Vec<Op>,
        /// Most gas the call may cost.
        gas: u64,
        /// Carry on if the callee fails.
        catch: bool,
    },
    /// [`Op::Call`] naming `target` as the callee (scripts ignore it, the core does not).
    CallAt {
        /// Target rollup.
        rollup: u64,
        /// Callee address.
        target: Vec<u8>,
        /// What the callee runs.
        script: Vec<Op>,
        /// Most gas the call may cost.
        gas: u64,
        /// Carry on if the callee fails.
        catch: bool,
    },
    /// Run these ops this many times.
    Repeat(u32, Vec<Op>),
    /// Fail the frame (revert data: these bytes).
    Fail(Vec<u8>),
    /// Stop successfully with this output.
    Return(Vec<u8>),
}

/// Encode a script for a payload or an xcall input.
pub fn encode(script: &[Op]) -> Bytes {
    Bytes::from(serde_json::to_vec(script).unwrap_or_default())
}

/// Decode a script (nesting as deep as the call tree).
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let script = Vec::<Op>::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(script)
}

/// A transaction payload running `script` on a [`ScriptAdapter`] rollup.
pub fn payload(script: &[Op]) -> Payload {
    Payload::Wasm(v1::WasmCall {
        contract: Bytes::from_static(b"script"),
        method: "run".into(),
        input: encode(script),
        code: Bytes::new(),
    })
}

/// The state key of an account's native balance.
pub fn balance_key(account: &[u8]) -> Vec<u8> {
    [b"bal/".as_slice(), account].concat()
}

/// An adapter whose contracts are [`Op`] scripts.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScriptAdapter;

impl ExecutionAdapter for ScriptAdapter {
    fn vm(&self) -> VmKind {
        VmKind::Wasm
    }

    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        match payload {
            Payload::Wasm(call) => decode(&call.input).map(|_| ()),
            _ => Err("not a script payload".into()),
        }
    }

    fn max_target_len(&self) -> usize {
        SCRIPT_TARGET_LEN
    }

    fn genesis_state(&self, _rollup: &RollupGenesis) -> Result<crate::state::KeyValues, ExecError> {
        Ok(Vec::new())
    }

    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        crate::native::debit(host, &balance_key(account), amount)
    }

    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        crate::native::credit(host, &balance_key(account), amount)
    }

    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        let input = match &frame.input {
            FrameInput::Transaction(Payload::Wasm(call)) => call.input.clone(),
            FrameInput::XCall { input, .. } => input.clone(),
            FrameInput::Transaction(_) => {
                return Ok(FrameOutcome::failed(Bytes::from_static(b"not a script"), 0));
            }
        };
        let Ok(script) = decode(&input) else {
            return Ok(FrameOutcome::failed(Bytes::from_static(b"bad script"), 0));
        };
        run(host, &script, frame.gas_limit)
    }
}

fn run(host: &mut dyn Host, script: &[Op], gas_limit: u64) -> Result<FrameOutcome, ExecError> {
    let mut run = Run {
        host,
        gas_limit,
        used: 0,
        logs: Vec::new(),
    };
    Ok(match run.ops(script)? {
        Some(end) => end,
        None => FrameOutcome {
            success: true,
            output: Bytes::new(),
            gas_used: run.used,
            logs: run.logs,
            created: None,
        },
    })
}

/// A script running in one frame.
struct Run<'h> {
    host: &'h mut dyn Host,
    gas_limit: u64,
    used: u64,
    logs: Vec<Log>,
}

impl Run<'_> {
    /// Run `ops`; `Some` if the frame ended (failed, returned or ran out of gas).
    fn ops(&mut self, ops: &[Op]) -> Result<Option<FrameOutcome>, ExecError> {
        for op in ops {
            if let Some(end) = self.op(op)? {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    fn out_of_gas(&self) -> FrameOutcome {
        FrameOutcome::failed(Bytes::from_static(b"out of gas"), self.gas_limit)
    }

    fn op(&mut self, op: &Op) -> Result<Option<FrameOutcome>, ExecError> {
        let cost = OP_GAS.saturating_add(match op {
            Op::Burn(n) => *n,
            _ => 0,
        });
        self.used = self.used.saturating_add(cost);
        if self.used > self.gas_limit {
            return Ok(Some(self.out_of_gas()));
        }
        match op {
            Op::Write(key, value) => self.host.set(key, value.clone()),
            Op::Burn(_) => {}
            Op::Log(data) => self.logs.push(Log {
                address: Bytes::from_static(b"script"),
                topics: Vec::new(),
                data: Bytes::copy_from_slice(data),
            }),
            Op::Message(payload) => {
                self.host.emit_message(b"script", payload)?;
            }
            Op::Call {
                rollup,
                script,
                gas,
                catch,
            } => return self.call(*rollup, b"script", script, *gas, *catch),
            Op::CallAt {
                rollup,
                target,
                script,
                gas,
                catch,
            } => return self.call(*rollup, target, script, *gas, *catch),
            Op::Repeat(times, ops) => {
                for _ in 0..*times {
                    if let Some(end) = self.ops(ops)? {
                        return Ok(Some(end));
                    }
                }
            }
            Op::Fail(data) => {
                return Ok(Some(FrameOutcome::failed(
                    Bytes::copy_from_slice(data),
                    self.used,
                )));
            }
            Op::Return(data) => {
                return Ok(Some(FrameOutcome {
                    success: true,
                    output: Bytes::copy_from_slice(data),
                    gas_used: self.used,
                    logs: std::mem::take(&mut self.logs),
                    created: None,
                }));
            }
        }
        Ok(None)
    }

    fn call(
        &mut self,
        rollup: u64,
        target: &[u8],
        script: &[Op],
        gas: u64,
        catch: bool,
    ) -> Result<Option<FrameOutcome>, ExecError> {
        let offered = gas.min(self.gas_limit - self.used);
        let result = self.host.xcall(
            b"script",
            XCall {
                target_rollup: rollup,
                target: Bytes::copy_from_slice(target),
                input: encode(script),
                gas_limit: offered,
            },
        )?;
        self.used = self.used.saturating_add(result.gas_used);
        if self.used > self.gas_limit {
            return Ok(Some(self.out_of_gas()));
        }
        if !result.success && !catch {
            return Ok(Some(FrameOutcome::failed(result.output, self.used)));
        }
        Ok(None)
    }
}
