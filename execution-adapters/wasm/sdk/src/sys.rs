//! The host functions, in safe form. On `wasm32` they are the node's imports from module
//! `babel`; elsewhere, functions of the same signatures over the in-memory test host, so that
//! this code (the pointer and length handling) is the same that runs in a contract.

// The one place this workspace calls foreign functions: the host's imports, which read and
// write only the ranges passed (the host checks them against the instance's memory).
#![allow(unsafe_code)]

use alloc::vec::Vec;

#[cfg(not(target_arch = "wasm32"))]
use crate::testing::raw;

#[cfg(target_arch = "wasm32")]
mod raw {
    #[link(wasm_import_module = "babel")]
    unsafe extern "C" {
        pub(super) fn input_len() -> i32;
        pub(super) fn input_copy(ptr: *mut u8);
        pub(super) fn caller_len() -> i32;
        pub(super) fn caller_copy(ptr: *mut u8);
        pub(super) fn caller_rollup() -> i64;
        pub(super) fn self_len() -> i32;
        pub(super) fn self_copy(ptr: *mut u8);
        pub(super) fn origin_rollup() -> i64;
        pub(super) fn signer_copy(ptr: *mut u8);
        pub(super) fn storage_read(key: *const u8, key_len: i32, out: *mut u8, cap: i32) -> i32;
        pub(super) fn storage_write(key: *const u8, key_len: i32, val: *const u8, val_len: i32);
        pub(super) fn storage_delete(key: *const u8, key_len: i32);
        pub(super) fn log(topics: *const u8, count: i32, data: *const u8, data_len: i32);
        pub(super) fn set_return(ptr: *const u8, len: i32);
        pub(super) fn revert(ptr: *const u8, len: i32);
        pub(super) fn xcall(
            rollup: i64,
            target: *const u8,
            target_len: i32,
            input: *const u8,
            input_len: i32,
            gas: i64,
        ) -> i32;
        pub(super) fn send_message(ptr: *const u8, len: i32) -> i64;
        pub(super) fn return_data_len() -> i32;
        pub(super) fn return_data_copy(ptr: *mut u8);
        pub(super) fn gas_left() -> i64;
        pub(super) fn block_height() -> i64;
        pub(super) fn block_time_ms() -> i64;
    }
}

/// A buffer of `len` bytes filled by `copy`, which the host makes write exactly that many.
fn filled(len: i32, copy: impl FnOnce(*mut u8)) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; usize::try_from(len).unwrap_or_default()];
    copy(buf.as_mut_ptr());
    buf
}

pub(crate) fn input() -> Vec<u8> {
    filled(unsafe { raw::input_len() }, |p| unsafe {
        raw::input_copy(p)
    })
}

pub(crate) fn caller() -> Vec<u8> {
    filled(unsafe { raw::caller_len() }, |p| unsafe {
        raw::caller_copy(p)
    })
}

pub(crate) fn caller_rollup() -> u64 {
    unsafe { raw::caller_rollup() as u64 }
}

pub(crate) fn self_id() -> Vec<u8> {
    filled(unsafe { raw::self_len() }, |p| unsafe { raw::self_copy(p) })
}

pub(crate) fn origin_rollup() -> u64 {
    unsafe { raw::origin_rollup() as u64 }
}

pub(crate) fn signer() -> [u8; 32] {
    let mut out = [0u8; 32];
    unsafe { raw::signer_copy(out.as_mut_ptr()) };
    out
}

pub(crate) fn storage_read(key: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = unsafe {
        raw::storage_read(
            key.as_ptr(),
            key.len() as i32,
            out.as_mut_ptr(),
            out.len() as i32,
        )
    };
    usize::try_from(n).ok()
}

pub(crate) fn storage_write(key: &[u8], value: &[u8]) {
    unsafe {
        raw::storage_write(
            key.as_ptr(),
            key.len() as i32,
            value.as_ptr(),
            value.len() as i32,
        )
    }
}

pub(crate) fn storage_delete(key: &[u8]) {
    unsafe { raw::storage_delete(key.as_ptr(), key.len() as i32) }
}

pub(crate) fn log(topics: &[[u8; 32]], data: &[u8]) {
    unsafe {
        raw::log(
            topics.as_ptr().cast(),
            topics.len() as i32,
            data.as_ptr(),
            data.len() as i32,
        )
    }
}

pub(crate) fn set_return(data: &[u8]) {
    unsafe { raw::set_return(data.as_ptr(), data.len() as i32) }
}

pub(crate) fn revert(data: &[u8]) -> ! {
    unsafe { raw::revert(data.as_ptr(), data.len() as i32) };
    // The host ends the frame at `revert`; this is never reached.
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    unreachable!("the test host unwinds at revert")
}

pub(crate) fn xcall(
    rollup: u64,
    target: &[u8],
    input: &[u8],
    gas: u64,
) -> Result<Vec<u8>, Vec<u8>> {
    let ok = unsafe {
        raw::xcall(
            rollup as i64,
            target.as_ptr(),
            target.len() as i32,
            input.as_ptr(),
            input.len() as i32,
            gas as i64,
        )
    };
    let data = filled(unsafe { raw::return_data_len() }, |p| unsafe {
        raw::return_data_copy(p)
    });
    if ok == 1 { Ok(data) } else { Err(data) }
}

pub(crate) fn send_message(payload: &[u8]) -> u64 {
    unsafe { raw::send_message(payload.as_ptr(), payload.len() as i32) as u64 }
}

pub(crate) fn gas_left() -> u64 {
    unsafe { raw::gas_left() as u64 }
}

pub(crate) fn block_height() -> u64 {
    unsafe { raw::block_height() as u64 }
}

pub(crate) fn block_time_ms() -> u64 {
    unsafe { raw::block_time_ms() as u64 }
}
