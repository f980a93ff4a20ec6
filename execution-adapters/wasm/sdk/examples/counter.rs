//! A counter contract: `increment`, `get` (the value as a u64, little-endian), and `call`, the
//! entry other rollups reach, which increments and returns the new value ABI-encoded as a
//! `uint256`, so an EVM caller decodes it with `abi.decode(ret, (uint256))`.
//!
//! Build for a node: `cargo build -p babel-wasm-sdk --example counter --release
//! --target wasm32-unknown-unknown --features contract`.

#![cfg_attr(target_arch = "wasm32", no_std)]

use babel_wasm_sdk::{U256, abi, entry, host};

const KEY: &[u8] = b"n";

fn load() -> u64 {
    host::storage_get(KEY)
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(0, u64::from_le_bytes)
}

fn bump() -> u64 {
    let n = load().saturating_add(1);
    host::storage_set(KEY, &n.to_le_bytes());
    n
}

entry!(increment => || {
    bump();
});

entry!(get => || host::set_return(&load().to_le_bytes()));

entry!(call => || abi::return_value(U256::from(bump())));

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use babel_wasm_sdk::alloy_sol_types::SolValue;
    use babel_wasm_sdk::testing;

    #[test]
    fn counts_and_answers_in_abi() {
        testing::reset();
        assert_eq!(testing::call(b"", || get()).unwrap(), 0u64.to_le_bytes());
        testing::call(b"", || increment()).unwrap();
        let out = testing::call(b"", || call()).unwrap();
        assert_eq!(U256::abi_decode(&out).unwrap(), U256::from(2));
        assert_eq!(testing::call(b"", || get()).unwrap(), 2u64.to_le_bytes());
    }
}
