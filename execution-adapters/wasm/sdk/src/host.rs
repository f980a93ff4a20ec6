//! What a contract can ask of the node: one safe function per host import
//! (`docs/WASM_ABI.md`, "Host functions"), with the same costs and failures.

use alloc::vec::Vec;

use crate::sys;

/// The call data of this frame: the transaction's `WasmCall.input`, or a caller's xcall input.
pub fn input() -> Vec<u8> {
    sys::input()
}

/// Who called: the signer's ed25519 key (32 bytes) for a transaction, else the calling
/// contract's address in its own rollup's format (20 bytes for an EVM contract).
pub fn caller() -> Vec<u8> {
    sys::caller()
}

/// The caller's rollup (this rollup when a transaction calls).
pub fn caller_rollup() -> u64 {
    sys::caller_rollup()
}

/// This contract's id.
pub fn self_id() -> Vec<u8> {
    sys::self_id()
}

/// The rollup the transaction was sent to.
pub fn origin_rollup() -> u64 {
    sys::origin_rollup()
}

/// The transaction's signer (an ed25519 public key), whichever frame asks.
pub fn signer() -> [u8; 32] {
    sys::signer()
}

/// How many bytes [`storage_get`] reads at first: most values fit, and a longer one costs one
/// more read (the host charges every read for the whole value).
const FIRST_READ: usize = 256;

/// The value under `key` in this contract's storage, if any.
pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
    let mut buf = alloc::vec![0u8; FIRST_READ];
    let len = sys::storage_read(key, &mut buf)?;
    if len > buf.len() {
        buf.resize(len, 0);
        sys::storage_read(key, &mut buf)?;
    }
    buf.truncate(len);
    Some(buf)
}

/// Reads the value under `key` into `out`: its full length (which may exceed `out`, of which
/// only the first bytes are then filled), or `None` if absent.
pub fn storage_read(key: &[u8], out: &mut [u8]) -> Option<usize> {
    sys::storage_read(key, out)
}

/// Writes `value` under `key` (keys at most 256 bytes, values at most 64 KiB). Undone if this
/// frame fails.
pub fn storage_set(key: &[u8], value: &[u8]) {
    sys::storage_write(key, value)
}

/// Deletes `key`.
pub fn storage_remove(key: &[u8]) {
    sys::storage_delete(key)
}

/// Emits a log with at most 4 topics.
pub fn log(topics: &[[u8; 32]], data: &[u8]) {
    sys::log(topics, data)
}

/// Sets this frame's output, returned when it ends without failing.
pub fn set_return(data: &[u8]) {
    sys::set_return(data)
}

/// Ends the frame as failed with `data` as revert data; its changes are undone.
pub fn revert(data: &[u8]) -> ! {
    sys::revert(data)
}

/// Calls `target` on `rollup` with `input`, offering at most `gas` (and at most what is left):
/// its output, or its revert data if it failed (its changes then undone, this frame's kept).
pub fn xcall(rollup: u64, target: &[u8], input: &[u8], gas: u64) -> Result<Vec<u8>, Vec<u8>> {
    sys::xcall(rollup, target, input, gas)
}

/// Appends `payload` (at most 4 096 bytes) from this contract to the rollup's outgoing-message
/// log, for consumers outside the chain, who prove it with a state proof; its index in the
/// log. Undone if this frame fails.
pub fn send_message(payload: &[u8]) -> u64 {
    sys::send_message(payload)
}

/// Gas left to this frame.
pub fn gas_left() -> u64 {
    sys::gas_left()
}

/// The block's height.
pub fn block_height() -> u64 {
    sys::block_height()
}

/// The block's time, in milliseconds since the Unix epoch (the header's, agreed by consensus).
pub fn block_time_ms() -> u64 {
    sys::block_time_ms()
}
