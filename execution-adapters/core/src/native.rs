//! Native balances kept as a `u128`, big-endian, under one key of a rollup's state: how a VM
//! without an account model of its own (WASM, the test script VM) holds the fees its signers
//! pay. An absent or malformed value reads as 0.

use crate::{ExecError, Host};

/// The balance under `key`.
pub fn balance(host: &mut dyn Host, key: &[u8]) -> Result<u128, ExecError> {
    Ok(host
        .get(key)?
        .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
        .map_or(0, u128::from_be_bytes))
}

/// Take `amount` from the balance under `key`; `false`, and no change, if it holds less.
pub fn debit(host: &mut dyn Host, key: &[u8], amount: u128) -> Result<bool, ExecError> {
    let held = balance(host, key)?;
    if held < amount {
        return Ok(false);
    }
    host.set(key, Some((held - amount).to_be_bytes().to_vec()));
    Ok(true)
}

/// Add `amount` to the balance under `key` (saturating).
pub fn credit(host: &mut dyn Host, key: &[u8], amount: u128) -> Result<(), ExecError> {
    let held = balance(host, key)?.saturating_add(amount);
    host.set(key, Some(held.to_be_bytes().to_vec()));
    Ok(())
}
