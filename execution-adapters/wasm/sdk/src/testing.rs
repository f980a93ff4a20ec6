//! An in-memory host for running a contract's code natively in tests (on every target but
//! `wasm32`): storage, call data, caller, block, logs and cross-rollup calls answered by a
//! closure. [`call`] runs an entry point as a frame would: a revert ends it and undoes its
//! storage writes and logs.
//!
//! It follows the node's semantics, not its costs: gas is whatever the test sets.

#![allow(unsafe_code)]

use std::{cell::RefCell, collections::BTreeMap, panic};

/// Answers a contract's xcall: `(rollup, target, input, gas)` to output or revert data.
pub type XcallHandler = Box<dyn FnMut(u64, &[u8], &[u8], u64) -> Result<Vec<u8>, Vec<u8>>>;

/// The state a contract sees through the host functions.
pub struct TestHost {
    /// The contract's storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Call data.
    pub input: Vec<u8>,
    /// The caller (the signer's key for a transaction).
    pub caller: Vec<u8>,
    /// The caller's rollup.
    pub caller_rollup: u64,
    /// This contract's id.
    pub self_id: Vec<u8>,
    /// The rollup the transaction was sent to.
    pub origin_rollup: u64,
    /// The transaction's signer.
    pub signer: [u8; 32],
    /// Logs emitted so far: topics and data.
    pub logs: Vec<(Vec<[u8; 32]>, Vec<u8>)>,
    /// Outgoing messages sent so far (their index is their place here).
    pub messages: Vec<Vec<u8>>,
    /// Gas the contract is told is left.
    pub gas_left: u64,
    /// Block height.
    pub block_height: u64,
    /// Block time in milliseconds.
    pub block_time_ms: u64,
    /// Answers xcalls; without one, every xcall fails with empty revert data.
    pub xcall: Option<XcallHandler>,
    output: Vec<u8>,
    return_data: Vec<u8>,
}

impl Default for TestHost {
    fn default() -> Self {
        Self {
            storage: BTreeMap::new(),
            input: Vec::new(),
            caller: vec![0x11; 32],
            caller_rollup: 1,
            self_id: vec![0xC0; 20],
            origin_rollup: 1,
            signer: [0x11; 32],
            logs: Vec::new(),
            messages: Vec::new(),
            gas_left: 10_000_000,
            block_height: 1,
            block_time_ms: 1_700_000_000_000,
            xcall: None,
            output: Vec::new(),
            return_data: Vec::new(),
        }
    }
}

thread_local! {
    static HOST: RefCell<TestHost> = RefCell::new(TestHost::default());
}

/// Reads or changes this thread's host.
pub fn with_host<R>(f: impl FnOnce(&mut TestHost) -> R) -> R {
    HOST.with(|host| f(&mut host.borrow_mut()))
}

/// Replaces this thread's host with a fresh one.
pub fn reset() {
    with_host(|host| *host = TestHost::default());
}

/// The payload of the unwind that ends a reverted frame.
struct Reverted(Vec<u8>);

/// Runs `entry` with `input` as call data, as the node runs a frame: its output, or its revert
/// data, in which case its storage writes, logs and messages are undone. A panic is a trap, as on the
/// node (`Error("wasm: unreachable")`).
pub fn call(input: &[u8], entry: impl FnOnce()) -> Result<Vec<u8>, Vec<u8>> {
    let (storage, logs, messages) = with_host(|host| {
        host.input = input.to_vec();
        host.output.clear();
        (host.storage.clone(), host.logs.len(), host.messages.len())
    });
    let outcome = panic::catch_unwind(panic::AssertUnwindSafe(entry));
    with_host(|host| match outcome {
        Ok(()) => Ok(std::mem::take(&mut host.output)),
        Err(payload) => {
            host.storage = storage;
            host.logs.truncate(logs);
            host.messages.truncate(messages);
            Err(match payload.downcast::<Reverted>() {
                Ok(reverted) => reverted.0,
                Err(_) => crate::abi::error("wasm: unreachable"),
            })
        }
    })
}

fn slice<'a>(ptr: *const u8, len: i32) -> &'a [u8] {
    let len = usize::try_from(len).unwrap_or_default();
    if len == 0 {
        return &[];
    }
    // SAFETY: the SDK passes pointers and lengths of live Rust slices.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

fn copy_out(ptr: *mut u8, data: &[u8]) {
    // SAFETY: the SDK passes a buffer of at least the length it was told.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) }
}

fn len(data: &[u8]) -> i32 {
    i32::try_from(data.len()).unwrap_or(i32::MAX)
}

/// The host functions with the imports' signatures, so the SDK's own code (pointers and
/// lengths) is what runs.
pub(crate) mod raw {
    use super::{Reverted, copy_out, len, slice, with_host};

    pub(crate) unsafe fn input_len() -> i32 {
        with_host(|h| len(&h.input))
    }
    pub(crate) unsafe fn input_copy(ptr: *mut u8) {
        with_host(|h| copy_out(ptr, &h.input))
    }
    pub(crate) unsafe fn caller_len() -> i32 {
        with_host(|h| len(&h.caller))
    }
    pub(crate) unsafe fn caller_copy(ptr: *mut u8) {
        with_host(|h| copy_out(ptr, &h.caller))
    }
    pub(crate) unsafe fn caller_rollup() -> i64 {
        with_host(|h| h.caller_rollup as i64)
    }
    pub(crate) unsafe fn self_len() -> i32 {
        with_host(|h| len(&h.self_id))
    }
    pub(crate) unsafe fn self_copy(ptr: *mut u8) {
        with_host(|h| copy_out(ptr, &h.self_id))
    }
    pub(crate) unsafe fn origin_rollup() -> i64 {
        with_host(|h| h.origin_rollup as i64)
    }
    pub(crate) unsafe fn signer_copy(ptr: *mut u8) {
        with_host(|h| copy_out(ptr, &h.signer))
    }
    pub(crate) unsafe fn storage_read(key: *const u8, key_len: i32, out: *mut u8, cap: i32) -> i32 {
        with_host(|h| match h.storage.get(slice(key, key_len)) {
            Some(value) => {
                let n = value.len().min(usize::try_from(cap).unwrap_or_default());
                copy_out(out, &value[..n]);
                len(value)
            }
            None => -1,
        })
    }
    pub(crate) unsafe fn storage_write(key: *const u8, key_len: i32, val: *const u8, val_len: i32) {
        with_host(|h| {
            h.storage
                .insert(slice(key, key_len).to_vec(), slice(val, val_len).to_vec())
        });
    }
    pub(crate) unsafe fn storage_delete(key: *const u8, key_len: i32) {
        with_host(|h| h.storage.remove(slice(key, key_len)));
    }
    pub(crate) unsafe fn log(topics: *const u8, count: i32, data: *const u8, n: i32) {
        let topics = slice(topics, count.saturating_mul(32))
            .chunks_exact(32)
            .map(|t| <[u8; 32]>::try_from(t).unwrap_or_default())
            .collect();
        let data = slice(data, n).to_vec();
        with_host(|h| h.logs.push((topics, data)));
    }
    pub(crate) unsafe fn set_return(ptr: *const u8, n: i32) {
        let data = slice(ptr, n).to_vec();
        with_host(|h| h.output = data);
    }
    pub(crate) unsafe fn revert(ptr: *const u8, n: i32) {
        std::panic::panic_any(Reverted(slice(ptr, n).to_vec()))
    }
    pub(crate) unsafe fn xcall(
        rollup: i64,
        target: *const u8,
        target_len: i32,
        input: *const u8,
        input_len: i32,
        gas: i64,
    ) -> i32 {
        let (target, input) = (slice(target, target_len), slice(input, input_len));
        // The handler runs outside the borrow: it may itself use the host.
        let handler = with_host(|h| h.xcall.take());
        let (ok, data, handler) = match handler {
            Some(mut handler) => {
                let answer = handler(rollup as u64, target, input, gas as u64);
                (answer.is_ok(), answer.unwrap_or_else(|e| e), Some(handler))
            }
            None => (false, Vec::new(), None),
        };
        with_host(|h| {
            h.xcall = handler;
            h.return_data = data;
        });
        i32::from(ok)
    }
    pub(crate) unsafe fn send_message(ptr: *const u8, n: i32) -> i64 {
        let payload = slice(ptr, n).to_vec();
        with_host(|h| {
            h.messages.push(payload);
            h.messages.len() as i64 - 1
        })
    }
    pub(crate) unsafe fn return_data_len() -> i32 {
        with_host(|h| len(&h.return_data))
    }
    pub(crate) unsafe fn return_data_copy(ptr: *mut u8) {
        with_host(|h| copy_out(ptr, &h.return_data))
    }
    pub(crate) unsafe fn gas_left() -> i64 {
        with_host(|h| h.gas_left as i64)
    }
    pub(crate) unsafe fn block_height() -> i64 {
        with_host(|h| h.block_height as i64)
    }
    pub(crate) unsafe fn block_time_ms() -> i64 {
        with_host(|h| h.block_time_ms as i64)
    }
}
