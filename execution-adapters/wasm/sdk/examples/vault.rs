//! A vault EVM contracts deposit into, written with the SDK: the Rust twin of
//! `contracts/vault.wat`, with amounts as full `uint256`s.
//!
//! - `init` (constructor): the cap, ABI-encoded as a `uint256`.
//! - `call`, the entry other rollups reach: the Solidity call
//!   `credit(address account, uint256 amount) returns (uint256)`; credits the account, refuses
//!   to pass the cap with `Error("vault cap reached")`, returns the account's credits.
//! - `total`: the total credited, as an ABI `uint256`.
//!
//! Build for a node: `cargo build -p babel-wasm-sdk --example vault --release
//! --target wasm32-unknown-unknown --features contract`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use babel_wasm_sdk::{Address, U256, abi, entry, host, sol};

sol! {
    function credit(address account, uint256 amount) external returns (uint256);
}

const CAP: &[u8] = b"p";
const TOTAL: &[u8] = b"t";

fn credits_key(account: &Address) -> alloc::vec::Vec<u8> {
    [b"c".as_slice(), account.as_slice()].concat()
}

fn load(key: &[u8]) -> U256 {
    host::storage_get(key).map_or(U256::ZERO, |v| U256::from_be_slice(&v))
}

fn store(key: &[u8], value: U256) {
    host::storage_set(key, &value.to_be_bytes::<32>());
}

entry!(init => || {
    let Some(cap) = abi::decode_value::<U256>(&host::input()) else {
        abi::revert_with("vault: bad cap");
    };
    store(CAP, cap);
});

entry!(call => || {
    let Some(call) = abi::decode_call::<creditCall>(&host::input()) else {
        abi::revert_with("vault: bad call");
    };
    let total = load(TOTAL).saturating_add(call.amount);
    if total > load(CAP) {
        abi::revert_with("vault cap reached");
    }
    store(TOTAL, total);
    let key = credits_key(&call.account);
    let credits = load(&key).saturating_add(call.amount);
    store(&key, credits);
    abi::return_value(credits);
});

entry!(total => || abi::return_value(load(TOTAL)));

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use babel_wasm_sdk::{alloy_sol_types::SolCall, testing};

    fn credit_call(account: Address, amount: u64) -> alloc::vec::Vec<u8> {
        creditCall {
            account,
            amount: U256::from(amount),
        }
        .abi_encode()
    }

    #[test]
    fn credits_up_to_the_cap_and_a_refusal_undoes_everything() {
        testing::reset();
        let cap = abi::encode_value(U256::from(500));
        testing::call(&cap, || init()).unwrap();
        let alice = Address::repeat_byte(0xA1);

        let out = testing::call(&credit_call(alice, 300), || call()).unwrap();
        assert_eq!(
            creditCall::abi_decode_returns(&out).unwrap(),
            U256::from(300)
        );

        let refused = testing::call(&credit_call(alice, 201), || call()).unwrap_err();
        assert_eq!(
            abi::error_message(&refused).as_deref(),
            Some("vault cap reached")
        );
        let out = testing::call(b"", || total()).unwrap();
        assert_eq!(abi::decode_value::<U256>(&out), Some(U256::from(300)));
        assert_eq!(load(&credits_key(&alice)), U256::from(300));

        let garbage = testing::call(b"\x01\x02", || call()).unwrap_err();
        assert_eq!(
            abi::error_message(&garbage).as_deref(),
            Some("vault: bad call")
        );
    }
}
