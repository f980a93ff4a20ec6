//! A counter: storage, an event, a view, a failing write, and Solidity-ABI calls from other
//! rollups.

#[starknet::interface]
pub trait ICounter<TContractState> {
    /// Adds `by` (not zero) and returns the new value; emits `Incremented`.
    fn increment(ref self: TContractState, by: u128) -> u128;
    fn get(self: @TContractState) -> u128;
    /// Writes the incremented value, then panics with 'after write'.
    fn increment_then_fail(ref self: TContractState, by: u128);
    /// Solidity ABI entry for other rollups: `increment(uint256)` and `get()`, each answering
    /// one `uint256`.
    fn call(ref self: TContractState, input: ByteArray) -> ByteArray;
}

#[starknet::contract]
pub mod Counter {
    use core::panic_with_felt252;
    use starknet::storage::{StoragePointerReadAccess, StoragePointerWriteAccess};
    use crate::babel::{abi_selector, abi_word, abi_word_bytes};

    /// Solidity `increment(uint256)`.
    const INCREMENT: u32 = 0x7cf5dab0;
    /// Solidity `get()`.
    const GET: u32 = 0x6d4ce63c;

    #[storage]
    struct Storage {
        value: u128,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Incremented: Incremented,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Incremented {
        pub by: u128,
        pub value: u128,
    }

    #[constructor]
    fn constructor(ref self: ContractState, initial: u128) {
        self.value.write(initial);
    }

    #[abi(embed_v0)]
    impl CounterImpl of super::ICounter<ContractState> {
        fn increment(ref self: ContractState, by: u128) -> u128 {
            self.add(by)
        }

        fn get(self: @ContractState) -> u128 {
            self.value.read()
        }

        fn increment_then_fail(ref self: ContractState, by: u128) {
            self.value.write(self.value.read() + by);
            panic_with_felt252('after write')
        }

        fn call(ref self: ContractState, input: ByteArray) -> ByteArray {
            let selector = abi_selector(@input);
            if selector == INCREMENT {
                let by: u128 = abi_word(@input, 0).try_into().expect('value above u128');
                abi_word_bytes(self.add(by).into())
            } else if selector == GET {
                abi_word_bytes(self.value.read().into())
            } else {
                panic_with_felt252('unknown selector')
            }
        }
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        fn add(ref self: ContractState, by: u128) -> u128 {
            assert(by != 0, 'zero increment');
            let value = self.value.read() + by;
            self.value.write(value);
            self.emit(Incremented { by, value });
            value
        }
    }
}
