//! One contract call on this rollup: find the contract and its compiled class, then run the
//! entry point with a system call handler of its own. Transactions, calls from other rollups
//! and Cairo-to-Cairo calls all come through here.

use std::sync::Arc;

use babel_execution::{ExecError, Host, Log, VmKind};
use cairo_vm::Felt252;

use crate::{
    cache::Classes,
    class::{Compiled, EntryPoint},
    felt::short_string_felt,
    limits::{ENTRY_POINT_SIERRA_GAS, GAS_PER_STEP, MAX_STEPS, SIERRA_GAS_PER_GAS},
    run::{Ended, Ran, run},
    state::{class_key, contract_key},
    syscall::Syscalls,
};

/// A call of an entry point of a contract on this rollup.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The contract.
    pub address: Felt252,
    /// The entry point's selector.
    pub selector: Felt252,
    /// Its calldata.
    pub calldata: Vec<Felt252>,
    /// What `get_caller_address()` returns.
    pub caller: Felt252,
    /// Sierra gas the call may use.
    pub sierra_gas: u64,
    /// How many Cairo-to-Cairo calls deep it is (0 for a transaction's or another rollup's).
    pub inner_depth: u32,
}

/// A call that ran.
#[derive(Debug)]
pub struct Invoked {
    /// How it ended and what it used.
    pub ran: Ran,
    /// The Sierra gas it costs its caller: loading the class and entering it, then the larger
    /// of its Sierra gas and its steps ([`GAS_PER_STEP`]), never more than it was given.
    pub charged: u64,
    /// Its events and those of the calls it made that succeeded (kept only if it succeeded).
    pub logs: Vec<Log>,
}

/// The most steps a run with `sierra_gas` may take.
pub fn max_steps(sierra_gas: u64) -> u64 {
    (sierra_gas / SIERRA_GAS_PER_GAS / GAS_PER_STEP).min(MAX_STEPS)
}

/// The compiled class of contract `address`, or why there is none to call.
pub fn class_of(
    classes: &Classes,
    host: &mut dyn Host,
    address: &Felt252,
) -> Result<Result<Arc<Compiled>, &'static str>, ExecError> {
    let Some(hash) = host.get(&contract_key(&address.to_bytes_be()))? else {
        return Ok(Err("cairo: no contract"));
    };
    let hash: [u8; 32] = hash
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("a contract record"))?;
    if let Some(compiled) = classes.get(&hash) {
        return Ok(Ok(compiled));
    }
    let json = host
        .get(&class_key(&hash))?
        .ok_or_else(|| corrupt("a contract's class"))?;
    // It compiled when it was deployed, under the same rules: failing now is the node's.
    // Staged, not kept: the state read may be a deploy earlier in this block (or in a
    // simulation) that never commits.
    classes
        .get_or_compile(hash, &json)
        .map(Ok)
        .map_err(|r| ExecError::Adapter {
            vm: VmKind::Cairo,
            message: format!("stored class {}: {r}", hex::encode(hash)),
        })
}

fn corrupt(what: &str) -> ExecError {
    ExecError::State(format!("cairo: {what} is missing or malformed"))
}

/// Run `call`; `Ok(Err(reason))` when there is nothing to run (no contract, no such entry
/// point).
pub fn invoke(
    classes: &Classes,
    host: &mut dyn Host,
    call: Invocation,
) -> Result<Result<Invoked, &'static str>, ExecError> {
    let class = match class_of(classes, host, &call.address)? {
        Ok(class) => class,
        Err(why) => return Ok(Err(why)),
    };
    let Some(entry) = class.external.get(&call.selector).cloned() else {
        return Ok(Err("cairo: no such entry point"));
    };
    invoke_entry(classes, host, &class, &entry, call).map(Ok)
}

/// Run `entry` of `class` for `call`.
pub fn invoke_entry(
    classes: &Classes,
    host: &mut dyn Host,
    class: &Arc<Compiled>,
    entry: &EntryPoint,
    call: Invocation,
) -> Result<Invoked, ExecError> {
    // Loading and entering the class are paid first; the run gets what is left, plus the
    // entry cost its compiled code counts on (see `limits::ENTRY_POINT_SIERRA_GAS`).
    let upfront = class.load_gas.saturating_mul(SIERRA_GAS_PER_GAS);
    let Some(budget) = call.sierra_gas.checked_sub(upfront) else {
        return Ok(Invoked {
            ran: Ran {
                ended: Ended::Panicked(vec![short_string_felt(b"Out of gas")]),
                sierra_used: 0,
                steps: 0,
            },
            charged: call.sierra_gas,
            logs: Vec::new(),
        });
    };
    let steps_bound = max_steps(budget.saturating_sub(ENTRY_POINT_SIERRA_GAS));
    let mut sys = Syscalls::new(classes, host, &call);
    let ran = run(class, entry, &call.calldata, budget, steps_bound, &mut sys)?;
    let by_steps = ran
        .steps
        .saturating_mul(GAS_PER_STEP)
        .saturating_mul(SIERRA_GAS_PER_GAS);
    let charged = match ran.ended {
        // Stopped by the VM: everything it was given is gone.
        Ended::OutOfSteps | Ended::Failed(_) => call.sierra_gas,
        _ => upfront
            .saturating_add(ran.sierra_used.max(by_steps))
            .min(call.sierra_gas),
    };
    Ok(Invoked {
        ran,
        charged,
        logs: sys.into_logs(),
    })
}
