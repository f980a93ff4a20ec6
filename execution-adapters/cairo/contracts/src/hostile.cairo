//! Entry points that try to exhaust the host: gas, recursion depth, call depth, storage writes,
//! event size and answers copied between frames. None of them bounds itself.

#[starknet::interface]
pub trait IHostile<TContractState> {
    /// Loops forever.
    fn spin(ref self: TContractState);
    /// Plain (not tail) recursion `n` deep; returns `n`.
    fn recurse(self: @TContractState, n: felt252) -> felt252;
    /// Calls its own `self_call(depth + 1)` through `call_contract_syscall`, forever.
    fn self_call(ref self: TContractState, depth: felt252);
    /// Writes `n` storage slots (`slots[i] = i + 1` for i in 0..n).
    fn write_many(ref self: TContractState, n: u64);
    /// Emits one event with key `selector!("Flood")` and exactly `n` data felts (0..n).
    fn emit_many(ref self: TContractState, n: u64);
    /// Answers `n` felts (0..n).
    fn answer_many(self: @TContractState, n: u64) -> Array<felt252>;
    /// Calls its own `answer_many(n)` `times` times, dropping the answers.
    fn call_answer_many(self: @TContractState, n: u64, times: u64);
}

#[starknet::contract]
pub mod Hostile {
    use starknet::storage::{Map, StoragePathEntry, StoragePointerWriteAccess};
    use starknet::syscalls::{call_contract_syscall, emit_event_syscall};
    use starknet::{SyscallResultTrait, get_contract_address};

    #[storage]
    struct Storage {
        slots: Map<u64, u64>,
    }

    #[abi(embed_v0)]
    impl HostileImpl of super::IHostile<ContractState> {
        fn spin(ref self: ContractState) {
            loop {}
        }

        fn recurse(self: @ContractState, n: felt252) -> felt252 {
            depth(n)
        }

        fn self_call(ref self: ContractState, depth: felt252) {
            call_contract_syscall(
                get_contract_address(), selector!("self_call"), array![depth + 1].span(),
            )
                .unwrap_syscall();
        }

        fn write_many(ref self: ContractState, n: u64) {
            for i in 0..n {
                self.slots.entry(i).write(i + 1);
            }
        }

        fn emit_many(ref self: ContractState, n: u64) {
            let mut data: Array<felt252> = array![];
            for i in 0..n {
                data.append(i.into());
            }
            emit_event_syscall(array![selector!("Flood")].span(), data.span()).unwrap_syscall();
        }

        fn answer_many(self: @ContractState, n: u64) -> Array<felt252> {
            let mut out: Array<felt252> = array![];
            for i in 0..n {
                out.append(i.into());
            }
            out
        }

        fn call_answer_many(self: @ContractState, n: u64, times: u64) {
            for _ in 0..times {
                call_contract_syscall(
                    get_contract_address(), selector!("answer_many"), array![n.into()].span(),
                )
                    .unwrap_syscall();
            }
        }
    }

    fn depth(n: felt252) -> felt252 {
        if n == 0 {
            0
        } else {
            depth(n - 1) + 1
        }
    }
}
