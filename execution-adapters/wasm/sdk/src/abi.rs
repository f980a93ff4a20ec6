//! Solidity-ABI helpers: how a WASM contract speaks with contracts on other VMs.
//!
//! A call from an EVM contract arrives as Solidity call data (a 4-byte selector, then the
//! ABI-encoded arguments); an answer is ABI-encoded return values; a failure is revert data,
//! by convention Solidity's `Error(string)`, which an EVM caller's `try`/`catch` and the client
//! both decode. Declare the calls with [`alloy_sol_types::sol!`].

use alloc::vec::Vec;

use alloy_sol_types::{Revert, SolCall, SolError, SolValue};

use crate::host;

/// The call data as the Solidity call `C`, if its selector and arguments match.
pub fn decode_call<C: SolCall>(input: &[u8]) -> Option<C> {
    C::abi_decode(input).ok()
}

/// Revert data for `Error(message)`, as Solidity's `revert("message")` makes it.
pub fn error(message: &str) -> Vec<u8> {
    Revert::from(message).abi_encode()
}

/// Fails the frame with `Error(message)`.
pub fn revert_with(message: &str) -> ! {
    host::revert(&error(message))
}

/// Sets the frame's output to `value`, ABI-encoded as a Solidity function returns it.
pub fn return_value<T: SolValue>(value: T) {
    host::set_return(&value.abi_encode())
}

/// Calls the contract at `target` on `rollup` (an EVM contract, or any contract that speaks
/// the ABI) with the Solidity call `call`, offering at most `gas`: its decoded return values,
/// or its revert data (also when the answer does not decode).
pub fn call_contract<C: SolCall>(
    rollup: u64,
    target: &[u8],
    call: &C,
    gas: u64,
) -> Result<C::Return, Vec<u8>> {
    let output = host::xcall(rollup, target, &call.abi_encode(), gas)?;
    C::abi_decode_returns(&output).map_err(|_| output)
}

/// The `Error(string)` message of revert data, if it is one.
pub fn error_message(data: &[u8]) -> Option<alloc::string::String> {
    Revert::abi_decode(data).ok().map(|r| r.reason)
}

/// `value` ABI-encoded, as `abi.encode(value)` makes it.
pub fn encode_value<T: SolValue>(value: T) -> Vec<u8> {
    value.abi_encode()
}

/// `data` as one ABI-encoded value of type `T` (`abi.decode(data, (T))`), if it is one.
pub fn decode_value<T: SolValue + From<<T::SolType as alloy_sol_types::SolType>::RustType>>(
    data: &[u8],
) -> Option<T> {
    T::abi_decode(data).ok()
}
