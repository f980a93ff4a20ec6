//! A relay: cross-rollup calls that fail the whole frame or are caught, a Solidity-ABI
//! `forward` so EVM and WASM callers can reach a third rollup through Cairo, and an ordinary
//! call to a Counter on the same rollup.

use starknet::ContractAddress;

#[starknet::interface]
pub trait IRelay<TContractState> {
    /// Calls `target` on `rollup` and returns its answer; the callee's failure panics with its
    /// revert bytes, so this frame fails too.
    fn relay(
        ref self: TContractState, rollup: u64, target: ByteArray, input: ByteArray,
    ) -> ByteArray;
    /// Counts an attempt, then calls: `(true, answer)` or `(false, revert bytes)`. The count
    /// is kept either way.
    fn try_relay(
        ref self: TContractState, rollup: u64, target: ByteArray, input: ByteArray,
    ) -> (bool, ByteArray);
    /// Solidity ABI entry for other rollups: `forward(uint64 rollup, bytes target, bytes data)`
    /// answers with the callee's answer bytes as they came (not re-encoded).
    fn call(ref self: TContractState, input: ByteArray) -> ByteArray;
    /// `Counter::increment(by)` on a Counter of this rollup.
    fn bump_counter(ref self: TContractState, counter: ContractAddress, by: u128) -> u128;
    fn attempts(self: @TContractState) -> u64;
}

#[starknet::contract]
pub mod Relay {
    use core::panic_with_felt252;
    use starknet::ContractAddress;
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use crate::babel::{abi_bytes, abi_selector, abi_word, revert, xcall};
    use crate::counter::{ICounterDispatcher, ICounterDispatcherTrait};

    /// Solidity `forward(uint64,bytes,bytes)`: keccak256 of the signature starts 0xa233fb5a.
    const FORWARD: u32 = 0xa233fb5a;

    #[storage]
    struct Storage {
        attempts: u64,
    }

    #[abi(embed_v0)]
    impl RelayImpl of super::IRelay<ContractState> {
        fn relay(
            ref self: ContractState, rollup: u64, target: ByteArray, input: ByteArray,
        ) -> ByteArray {
            relay_or_fail(rollup, @target, @input)
        }

        fn try_relay(
            ref self: ContractState, rollup: u64, target: ByteArray, input: ByteArray,
        ) -> (bool, ByteArray) {
            self.attempts.write(self.attempts.read() + 1);
            match xcall(rollup, @target, @input) {
                Ok(answer) => (true, answer),
                Err(revert) => (false, revert),
            }
        }

        fn call(ref self: ContractState, input: ByteArray) -> ByteArray {
            if abi_selector(@input) != FORWARD {
                panic_with_felt252('unknown selector');
            }
            let rollup: u64 = abi_word(@input, 0).try_into().expect('rollup above u64');
            let target = abi_bytes(@input, 1);
            let data = abi_bytes(@input, 2);
            relay_or_fail(rollup, @target, @data)
        }

        fn bump_counter(ref self: ContractState, counter: ContractAddress, by: u128) -> u128 {
            ICounterDispatcher { contract_address: counter }.increment(by)
        }

        fn attempts(self: @ContractState) -> u64 {
            self.attempts.read()
        }
    }

    /// The callee's answer, or a failure with its revert data as it is.
    fn relay_or_fail(rollup: u64, target: @ByteArray, input: @ByteArray) -> ByteArray {
        match xcall(rollup, target, input) {
            Ok(answer) => answer,
            Err(data) => revert(@data),
        }
    }
}
