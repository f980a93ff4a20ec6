//! The interpreter the mixed-VM property test runs random cross-rollup call trees with. It reads
//! the byte format of `Script.sol` (EVM fixtures) and of the WAT twin, with the same semantics:
//!
//! - `01 k v`: set storage slot `k` to `v` (0 deletes it); the storage address is `k` itself;
//! - `02`: fail with the 4 bytes "fail";
//! - `03`: stop and answer the 2 bytes "ok";
//! - `04 r c target(20) len(2, big-endian) script(len)`: run `script` in the contract `target`
//!   of rollup `r` through `xcall`; if it fails and `c` is 0, fail with its revert data as it is;
//! - `05 d`: emit an event with no keys and the one data felt `d`.
//!
//! Running off the end answers nothing; any other op byte panics `'bad op'`, and an op cut
//! short by the end of the script panics (an index out of bounds).

#[starknet::interface]
pub trait IScript<TContractState> {
    /// Runs the script `input`; answers "ok" after `03`, else nothing.
    fn call(ref self: TContractState, input: ByteArray) -> ByteArray;
}

#[starknet::contract]
pub mod Script {
    use core::panic_with_felt252;
    use starknet::SyscallResultTrait;
    use starknet::storage_access::StorageAddress;
    use starknet::syscalls::{emit_event_syscall, storage_write_syscall};
    use crate::babel::{revert, xcall};

    #[storage]
    struct Storage {}

    #[abi(embed_v0)]
    impl ScriptImpl of super::IScript<ContractState> {
        fn call(ref self: ContractState, input: ByteArray) -> ByteArray {
            let end = input.len();
            let mut i: usize = 0;
            while i < end {
                let op = input[i];
                if op == 1 {
                    let key: felt252 = input[i + 1].into();
                    let value: felt252 = input[i + 2].into();
                    let address: StorageAddress = key.try_into().unwrap();
                    // Writing 0 deletes the slot: the host keeps no zero values.
                    storage_write_syscall(0, address, value).unwrap_syscall();
                    i += 3;
                } else if op == 2 {
                    revert(@"fail");
                } else if op == 3 {
                    return "ok";
                } else if op == 4 {
                    let rollup: u64 = input[i + 1].into();
                    let catch = input[i + 2] != 0;
                    let target = slice(@input, i + 3, i + 23);
                    let len: usize = input[i + 23].into() * 0x100 + input[i + 24].into();
                    let inner = slice(@input, i + 25, i + 25 + len);
                    i += 25 + len;
                    if let Err(data) = xcall(rollup, @target, @inner) {
                        if !catch {
                            revert(@data);
                        }
                    }
                } else if op == 5 {
                    let data: felt252 = input[i + 1].into();
                    emit_event_syscall(array![].span(), array![data].span()).unwrap_syscall();
                    i += 2;
                } else {
                    panic_with_felt252('bad op');
                }
            }
            ""
        }
    }

    /// Bytes `start..end` of `input`; panics if `input` is shorter.
    fn slice(input: @ByteArray, start: usize, end: usize) -> ByteArray {
        let mut out: ByteArray = "";
        for j in start..end {
            out.append_byte(input[j]);
        }
        out
    }
}
