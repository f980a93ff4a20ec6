//! Running one export of one instance: the host functions, and the loop that lends them the
//! frame's [`Host`].
//!
//! wasmtime keeps a store's data for `'static`, and the frame's [`Host`] (the transaction's
//! journal) is only borrowed. So the guest runs as a future (on a fiber of its own), and a host
//! function that needs the journal leaves a [`Request`] in a mailbox and waits; the loop in
//! [`run`], which holds the [`Host`], serves the request and polls the guest again. No thread
//! is involved and no reference outlives the frame.

use std::{
    future::Future,
    pin::pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
};

use babel_execution::{
    ExecError, Host, Log, RollupId, XCall, XResult,
    gas::{MAX_MESSAGE_BYTES, message_cost},
};
use bytes::Bytes;
use wasmtime::{Caller, Engine, Linker, Memory, Store, StoreLimits, StoreLimitsBuilder, Trap};

use crate::{
    WasmError, abi,
    limits::{
        BYTE_GAS, FUEL_PER_GAS, HOST_CALL_GAS, LOG_BYTE_GAS, LOG_GAS, MAX_KEY_BYTES, MAX_LOG_BYTES,
        MAX_MEMORY_PAGES, MAX_RETURN_BYTES, MAX_TABLE_ELEMENTS, MAX_TOPICS, MAX_VALUE_BYTES,
        READ_GAS, STORE_BYTE_GAS, TOPIC_GAS, WRITE_GAS,
    },
    stack,
};

/// What a host function asks of the frame's [`Host`].
#[derive(Debug)]
pub(crate) enum Request {
    Get(Vec<u8>),
    Set(Vec<u8>, Option<Vec<u8>>),
    XCall(Bytes, XCall),
    /// An outgoing message from this contract.
    Message(Bytes, Vec<u8>),
}

/// The answer.
#[derive(Debug)]
pub(crate) enum Response {
    Value(Option<Vec<u8>>),
    Done,
    XResult(XResult),
    /// An outgoing message's index.
    Index(u64),
    /// The host failed (a fatal error, kept by [`run`]): the guest stops.
    Failed,
}

#[derive(Debug, Default)]
struct Mailbox {
    request: Option<Request>,
    response: Option<Response>,
}

/// Who runs, on whose behalf, with what: fixed for the frame.
#[derive(Clone, Debug)]
pub(crate) struct FrameInfo {
    pub(crate) input: Bytes,
    pub(crate) caller: Bytes,
    pub(crate) caller_rollup: RollupId,
    pub(crate) contract: Bytes,
    pub(crate) origin_rollup: RollupId,
    pub(crate) signer: [u8; 32],
    pub(crate) height: u64,
    pub(crate) time_ms: u64,
    /// Prefix of the contract's storage keys.
    pub(crate) storage_prefix: Vec<u8>,
}

/// A store's data: the frame, what the guest has produced, and the mailbox.
pub(crate) struct Guest {
    info: FrameInfo,
    mailbox: Arc<Mutex<Mailbox>>,
    limits: StoreLimits,
    return_data: Bytes,
    output: Bytes,
    logs: Vec<Log>,
}

/// How a guest stopped other than by returning. Carried in wasmtime's error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Exit {
    /// `revert` with this data.
    #[error("revert")]
    Revert(Bytes),
    /// A host function found the gas exhausted.
    #[error("out of gas")]
    OutOfGas,
    /// The guest broke an ABI rule: the stable reason.
    #[error("{0}")]
    Fault(&'static str),
    /// The host failed; the error is kept by [`run`].
    #[error("host failure")]
    Host,
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Ran {
    /// `Ok` if the export returned; else how it stopped.
    pub(crate) result: Result<(), Stop>,
    /// Fuel left.
    pub(crate) fuel_left: u64,
    /// `set_return` data, or `revert` data.
    pub(crate) output: Bytes,
    pub(crate) logs: Vec<Log>,
}

/// How a run stopped early, with a stable reason where it is not a revert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Revert,
    OutOfGas,
    Failed(&'static str),
}

fn charge(caller: &mut Caller<'_, Guest>, gas: u64) -> wasmtime::Result<()> {
    let fuel = caller.get_fuel()?;
    match fuel.checked_sub(gas.saturating_mul(FUEL_PER_GAS)) {
        Some(left) => caller.set_fuel(left),
        None => {
            caller.set_fuel(0)?;
            Err(Exit::OutOfGas.into())
        }
    }
}

fn memory(caller: &mut Caller<'_, Guest>) -> wasmtime::Result<Memory> {
    caller
        .get_export(abi::MEMORY)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Exit::Fault("wasm: no exported memory").into())
}

fn read(
    caller: &mut Caller<'_, Guest>,
    ptr: i32,
    len: i32,
    max: usize,
) -> wasmtime::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| Exit::Fault("wasm: negative length"))?;
    if len > max {
        return Err(Exit::Fault("wasm: argument too long").into());
    }
    charge(caller, BYTE_GAS.saturating_mul(len as u64))?;
    let mut buf = vec![0; len];
    let ptr = usize::try_from(ptr as u32).unwrap_or(usize::MAX);
    memory(caller)?
        .read(&*caller, ptr, &mut buf)
        .map_err(|_| Exit::Fault("wasm: host access out of bounds"))?;
    Ok(buf)
}

fn write(caller: &mut Caller<'_, Guest>, ptr: i32, data: &[u8]) -> wasmtime::Result<()> {
    charge(caller, BYTE_GAS.saturating_mul(data.len() as u64))?;
    let ptr = usize::try_from(ptr as u32).unwrap_or(usize::MAX);
    memory(caller)?
        .write(&mut *caller, ptr, data)
        .map_err(|_| Exit::Fault("wasm: host access out of bounds").into())
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Leave `request` in the mailbox and wait for the answer.
async fn ask(mailbox: Arc<Mutex<Mailbox>>, request: Request) -> wasmtime::Result<Response> {
    mailbox.lock().unwrap_or_else(|e| e.into_inner()).request = Some(request);
    let response = std::future::poll_fn(|_| {
        match mailbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .response
            .take()
        {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    })
    .await;
    match response {
        Response::Failed => Err(Exit::Host.into()),
        r => Ok(r),
    }
}

fn storage_key(caller: &Caller<'_, Guest>, key: &[u8]) -> Vec<u8> {
    [caller.data().info.storage_prefix.as_slice(), key].concat()
}

/// The linker with every host function of the ABI.
pub(crate) fn linker(engine: &Engine) -> Result<Linker<Guest>, WasmError> {
    let mut l = Linker::new(engine);
    let err = |e: wasmtime::Error| WasmError::Linker(format!("{e:#}"));
    let m = abi::MODULE;
    l.func_wrap(m, "input_len", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(len_i32(c.data().info.input.len()))
    })
    .map_err(err)?;
    l.func_wrap(m, "input_copy", |mut c: Caller<'_, Guest>, ptr: i32| {
        charge(&mut c, HOST_CALL_GAS)?;
        let data = c.data().info.input.clone();
        write(&mut c, ptr, &data)
    })
    .map_err(err)?;
    l.func_wrap(m, "caller_len", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(len_i32(c.data().info.caller.len()))
    })
    .map_err(err)?;
    l.func_wrap(m, "caller_copy", |mut c: Caller<'_, Guest>, ptr: i32| {
        charge(&mut c, HOST_CALL_GAS)?;
        let data = c.data().info.caller.clone();
        write(&mut c, ptr, &data)
    })
    .map_err(err)?;
    l.func_wrap(m, "caller_rollup", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(c.data().info.caller_rollup as i64)
    })
    .map_err(err)?;
    l.func_wrap(m, "self_len", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(len_i32(c.data().info.contract.len()))
    })
    .map_err(err)?;
    l.func_wrap(m, "self_copy", |mut c: Caller<'_, Guest>, ptr: i32| {
        charge(&mut c, HOST_CALL_GAS)?;
        let data = c.data().info.contract.clone();
        write(&mut c, ptr, &data)
    })
    .map_err(err)?;
    l.func_wrap(m, "origin_rollup", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(c.data().info.origin_rollup as i64)
    })
    .map_err(err)?;
    l.func_wrap(m, "signer_copy", |mut c: Caller<'_, Guest>, ptr: i32| {
        charge(&mut c, HOST_CALL_GAS)?;
        let signer = c.data().info.signer;
        write(&mut c, ptr, &signer)
    })
    .map_err(err)?;
    l.func_wrap_async(
        m,
        "storage_read",
        |mut c: Caller<'_, Guest>, (kp, kl, op, cap): (i32, i32, i32, i32)| {
            Box::new(async move {
                charge(&mut c, READ_GAS)?;
                let key = read(&mut c, kp, kl, MAX_KEY_BYTES)?;
                let key = storage_key(&c, &key);
                let mailbox = c.data().mailbox.clone();
                let Response::Value(value) = ask(mailbox, Request::Get(key)).await? else {
                    return Err(Exit::Host.into());
                };
                let Some(value) = value else {
                    return Ok(-1);
                };
                // The whole value was fetched, whatever part of it is copied out.
                charge(&mut c, BYTE_GAS.saturating_mul(value.len() as u64))?;
                let cap = usize::try_from(cap).unwrap_or(0);
                write(&mut c, op, &value[..value.len().min(cap)])?;
                Ok(len_i32(value.len()))
            })
        },
    )
    .map_err(err)?;
    l.func_wrap_async(
        m,
        "storage_write",
        |mut c: Caller<'_, Guest>, (kp, kl, vp, vl): (i32, i32, i32, i32)| {
            Box::new(async move {
                charge(&mut c, WRITE_GAS)?;
                let key = read(&mut c, kp, kl, MAX_KEY_BYTES)?;
                let value = read(&mut c, vp, vl, MAX_VALUE_BYTES)?;
                let key = storage_key(&c, &key);
                // Stored by every node for good, the key with its prefix: priced as the EVM
                // prices a new slot.
                let stored = (key.len() + value.len()) as u64;
                charge(&mut c, STORE_BYTE_GAS.saturating_mul(stored))?;
                let mailbox = c.data().mailbox.clone();
                ask(mailbox, Request::Set(key, Some(value))).await?;
                Ok(())
            })
        },
    )
    .map_err(err)?;
    l.func_wrap_async(
        m,
        "storage_delete",
        |mut c: Caller<'_, Guest>, (kp, kl): (i32, i32)| {
            Box::new(async move {
                charge(&mut c, WRITE_GAS)?;
                let key = read(&mut c, kp, kl, MAX_KEY_BYTES)?;
                let key = storage_key(&c, &key);
                let mailbox = c.data().mailbox.clone();
                ask(mailbox, Request::Set(key, None)).await?;
                Ok(())
            })
        },
    )
    .map_err(err)?;
    l.func_wrap(
        m,
        "log",
        |mut c: Caller<'_, Guest>, tp: i32, tn: i32, dp: i32, dl: i32| {
            let topics = usize::try_from(tn).unwrap_or(usize::MAX);
            if topics > MAX_TOPICS {
                return Err(Exit::Fault("wasm: too many log topics").into());
            }
            charge(&mut c, LOG_GAS.saturating_add(TOPIC_GAS * topics as u64))?;
            let raw = read(&mut c, tp, len_i32(topics * 32), MAX_TOPICS * 32)?;
            let data = read(&mut c, dp, dl, MAX_LOG_BYTES)?;
            charge(&mut c, LOG_BYTE_GAS.saturating_mul(data.len() as u64))?;
            let address = c.data().info.contract.clone();
            c.data_mut().logs.push(Log {
                address,
                topics: raw.chunks(32).map(Bytes::copy_from_slice).collect(),
                data: data.into(),
            });
            Ok(())
        },
    )
    .map_err(err)?;
    l.func_wrap(
        m,
        "set_return",
        |mut c: Caller<'_, Guest>, p: i32, n: i32| {
            charge(&mut c, HOST_CALL_GAS)?;
            let data = read(&mut c, p, n, MAX_RETURN_BYTES)?;
            c.data_mut().output = data.into();
            Ok(())
        },
    )
    .map_err(err)?;
    l.func_wrap(m, "revert", |mut c: Caller<'_, Guest>, p: i32, n: i32| {
        charge(&mut c, HOST_CALL_GAS)?;
        let data = read(&mut c, p, n, MAX_RETURN_BYTES)?;
        Err::<(), _>(Exit::Revert(data.into()).into())
    })
    .map_err(err)?;
    l.func_wrap_async(
        m,
        "xcall",
        |mut c: Caller<'_, Guest>,
         (rollup, tp, tl, ip, il, gas): (i64, i32, i32, i32, i32, i64)| {
            Box::new(async move {
                charge(&mut c, HOST_CALL_GAS)?;
                let target = read(&mut c, tp, tl, crate::limits::MAX_CONTRACT_ID_LEN.max(64))?;
                let input = read(&mut c, ip, il, MAX_RETURN_BYTES)?;
                let left = c.get_fuel()? / FUEL_PER_GAS;
                let call = XCall {
                    target_rollup: rollup as u64,
                    target: target.into(),
                    input: input.into(),
                    gas_limit: (gas as u64).min(left),
                };
                let me = c.data().info.contract.clone();
                let mailbox = c.data().mailbox.clone();
                let Response::XResult(result) = ask(mailbox, Request::XCall(me, call)).await?
                else {
                    return Err(Exit::Host.into());
                };
                charge(&mut c, result.gas_used)?;
                c.data_mut().return_data = result.output;
                Ok(i32::from(result.success))
            })
        },
    )
    .map_err(err)?;
    l.func_wrap_async(
        m,
        "send_message",
        |mut c: Caller<'_, Guest>, (p, n): (i32, i32)| {
            Box::new(async move {
                charge(&mut c, HOST_CALL_GAS)?;
                // Paid for by its length before a byte is read.
                let me = c.data().info.contract.clone();
                let len = usize::try_from(n).unwrap_or(usize::MAX);
                let Some(cost) = message_cost(me.len(), len) else {
                    return Err(Exit::Fault("wasm: message longer than 4096 bytes").into());
                };
                charge(&mut c, cost)?;
                let payload = read(&mut c, p, n, MAX_MESSAGE_BYTES)?;
                let mailbox = c.data().mailbox.clone();
                let Response::Index(index) = ask(mailbox, Request::Message(me, payload)).await?
                else {
                    return Err(Exit::Host.into());
                };
                Ok(index as i64)
            })
        },
    )
    .map_err(err)?;
    l.func_wrap(m, "return_data_len", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(len_i32(c.data().return_data.len()))
    })
    .map_err(err)?;
    l.func_wrap(
        m,
        "return_data_copy",
        |mut c: Caller<'_, Guest>, ptr: i32| {
            charge(&mut c, HOST_CALL_GAS)?;
            let data = c.data().return_data.clone();
            write(&mut c, ptr, &data)
        },
    )
    .map_err(err)?;
    l.func_wrap(m, "gas_left", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok((c.get_fuel()? / FUEL_PER_GAS) as i64)
    })
    .map_err(err)?;
    l.func_wrap(m, "block_height", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(c.data().info.height as i64)
    })
    .map_err(err)?;
    l.func_wrap(m, "block_time_ms", |mut c: Caller<'_, Guest>| {
        charge(&mut c, HOST_CALL_GAS)?;
        Ok(c.data().info.time_ms as i64)
    })
    .map_err(err)?;
    Ok(l)
}

/// The stable reason of a trap.
fn trap_reason(trap: Trap) -> &'static str {
    match trap {
        Trap::StackOverflow => "wasm: stack overflow",
        Trap::MemoryOutOfBounds => "wasm: memory access out of bounds",
        Trap::TableOutOfBounds => "wasm: table access out of bounds",
        Trap::IndirectCallToNull => "wasm: call to a null table entry",
        Trap::BadSignature => "wasm: indirect call type mismatch",
        Trap::IntegerOverflow => "wasm: integer overflow",
        Trap::IntegerDivisionByZero => "wasm: integer division by zero",
        Trap::BadConversionToInteger => "wasm: invalid conversion to integer",
        Trap::UnreachableCodeReached => "wasm: unreachable",
        _ => "wasm: trap",
    }
}

/// Serve `request` from `host`; a host failure is kept in `fatal`.
fn serve(host: &mut dyn Host, request: Request, fatal: &mut Option<ExecError>) -> Response {
    let result = match request {
        Request::Get(key) => host.get(&key).map(Response::Value),
        Request::Set(key, value) => {
            host.set(&key, value);
            Ok(Response::Done)
        }
        Request::XCall(me, call) => host.xcall(&me, call).map(Response::XResult),
        Request::Message(me, payload) => host.emit_message(&me, &payload).map(Response::Index),
    };
    result.unwrap_or_else(|e| {
        *fatal = Some(e);
        Response::Failed
    })
}

/// Instantiate `ready` and run its export `entry` (no parameters, no results) with `fuel`,
/// lending it `host`. `Err` only when the host failed (fatal for the block); everything the
/// guest does wrong is in [`Ran::result`].
pub(crate) fn run(
    engine: &Engine,
    ready: &wasmtime::InstancePre<Guest>,
    entry: &str,
    info: FrameInfo,
    fuel: u64,
    host: &mut dyn Host,
) -> Result<Ran, ExecError> {
    let mailbox = Arc::new(Mutex::new(Mailbox::default()));
    let limits = StoreLimitsBuilder::new()
        .memory_size(usize::try_from(MAX_MEMORY_PAGES * 65_536).unwrap_or(usize::MAX))
        .table_elements(usize::try_from(MAX_TABLE_ELEMENTS).unwrap_or(usize::MAX))
        .instances(1)
        .tables(1)
        .memories(1)
        .build();
    let mut store = Store::new(
        engine,
        Guest {
            info,
            mailbox: mailbox.clone(),
            limits,
            return_data: Bytes::new(),
            output: Bytes::new(),
            logs: Vec::new(),
        },
    );
    store.limiter(|g| &mut g.limits);
    let adapter_err = |e: wasmtime::Error| ExecError::Adapter {
        vm: babel_execution::VmKind::Wasm,
        message: format!("{e:#}"),
    };
    store.set_fuel(fuel).map_err(adapter_err)?;
    let mut fatal = None;
    let outcome = {
        let guest = async {
            let instance = match ready.instantiate_async(&mut store).await {
                Ok(instance) => instance,
                Err(e) => return (None, Err(e)),
            };
            let Ok(func) = instance.get_typed_func::<(), ()>(&mut store, entry) else {
                return (None, Err(Exit::Fault("wasm: no such export").into()));
            };
            (Some(instance), func.call_async(&mut store, ()).await)
        };
        let mut guest = pin!(guest);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            match guest.as_mut().poll(&mut cx) {
                Poll::Ready(result) => break result,
                Poll::Pending => {
                    let request = mailbox
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .request
                        .take();
                    let Some(request) = request else {
                        // Nothing else suspends a guest: fuel yields and epochs are off.
                        return Err(ExecError::Adapter {
                            vm: babel_execution::VmKind::Wasm,
                            message: "guest suspended without a request".into(),
                        });
                    };
                    let response = serve(host, request, &mut fatal);
                    mailbox.lock().unwrap_or_else(|e| e.into_inner()).response = Some(response);
                }
            }
        }
    };
    if let Some(e) = fatal {
        return Err(e);
    }
    let (instance, outcome) = outcome;
    // An `unreachable` with the stack counter past its bound is the bound, not the guest's.
    // Read only then: a lookup by name on every frame is measurable.
    let unreachable = matches!(
        &outcome,
        Err(e) if e.downcast_ref::<Trap>() == Some(&Trap::UnreachableCodeReached)
    );
    let stack_exhausted = unreachable
        && instance
            .and_then(|i| i.get_global(&mut store, stack::COUNTER_EXPORT))
            .and_then(|g| g.get(&mut store).i32())
            .is_some_and(stack::exhausted);
    let fuel_left = store.get_fuel().map_err(adapter_err)?;
    let guest = store.into_data();
    let (result, output) = match outcome {
        Ok(()) => (Ok(()), guest.output),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                match exit {
                    Exit::Revert(data) => (Err(Stop::Revert), data.clone()),
                    Exit::OutOfGas => (Err(Stop::OutOfGas), Bytes::new()),
                    Exit::Fault(reason) => (Err(Stop::Failed(reason)), Bytes::new()),
                    Exit::Host => {
                        return Err(ExecError::Adapter {
                            vm: babel_execution::VmKind::Wasm,
                            message: "host failure without an error".into(),
                        });
                    }
                }
            } else if let Some(trap) = e.downcast_ref::<Trap>() {
                match trap {
                    Trap::OutOfFuel => (Err(Stop::OutOfGas), Bytes::new()),
                    Trap::UnreachableCodeReached if stack_exhausted => {
                        (Err(Stop::Failed("wasm: call stack limit")), Bytes::new())
                    }
                    trap => (Err(Stop::Failed(trap_reason(*trap))), Bytes::new()),
                }
            } else {
                // Not the guest's doing: what it declares fits the limits (checked at deploy),
                // so this is the node failing to allocate, which must not become a receipt.
                return Err(ExecError::Adapter {
                    vm: babel_execution::VmKind::Wasm,
                    message: format!("running a frame: {e:#}"),
                });
            }
        }
    };
    Ok(Ran {
        result,
        fuel_left,
        output,
        logs: guest.logs,
    })
}
