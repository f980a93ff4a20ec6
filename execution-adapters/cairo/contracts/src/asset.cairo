//! A token minted on the Cairo rollup when tokens are locked on an EVM rollup: the EVM contract
//! that holds the locked tokens (the minter) calls `mint(bytes32 to, uint256 amount)` here.
//!
//! Accounts are `felt252` keys. The recipient `to` is the key's 32-byte big-endian encoding, so
//! it must be below the field prime: a larger word panics with 'to: not a felt' (never reduced,
//! so no two words name one account).

#[starknet::interface]
pub trait IAsset<TContractState> {
    /// Solidity ABI entry for other rollups: `mint(bytes32,uint256)` (minter only; answers the
    /// new total supply), `totalSupply()` and `balanceOf(bytes32)`, each answering one `uint256`.
    fn call(ref self: TContractState, input: ByteArray) -> ByteArray;
    fn balance_of(self: @TContractState, account: felt252) -> u256;
    fn total_supply(self: @TContractState) -> u256;
}

#[starknet::contract]
pub mod Asset {
    use core::panic_with_felt252;
    use starknet::get_caller_address;
    use starknet::storage::{
        Map, StoragePathEntry, StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use crate::babel::{abi_selector, abi_word, abi_word_bytes};

    /// Solidity `mint(bytes32,uint256)`: keccak256 of the signature starts 0xe1856ff4.
    const MINT: u32 = 0xe1856ff4;
    /// Solidity `totalSupply()`.
    const TOTAL_SUPPLY: u32 = 0x18160ddd;
    /// Solidity `balanceOf(bytes32)`.
    const BALANCE_OF: u32 = 0x6c7f1542;

    #[storage]
    struct Storage {
        balances: Map<felt252, u256>,
        total_supply: u256,
        /// The caller felt allowed to mint.
        minter: felt252,
        cap: u256,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Minted: Minted,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Minted {
        #[key]
        pub to: felt252,
        pub amount: u256,
        pub total_supply: u256,
    }

    #[constructor]
    fn constructor(ref self: ContractState, minter: felt252, cap: u256) {
        self.minter.write(minter);
        self.cap.write(cap);
    }

    #[abi(embed_v0)]
    impl AssetImpl of super::IAsset<ContractState> {
        fn call(ref self: ContractState, input: ByteArray) -> ByteArray {
            let selector = abi_selector(@input);
            if selector == MINT {
                let to = account(abi_word(@input, 0));
                let amount = abi_word(@input, 1);
                abi_word_bytes(self.mint(to, amount))
            } else if selector == TOTAL_SUPPLY {
                abi_word_bytes(self.total_supply.read())
            } else if selector == BALANCE_OF {
                abi_word_bytes(self.balances.entry(account(abi_word(@input, 0))).read())
            } else {
                panic_with_felt252('unknown selector')
            }
        }

        fn balance_of(self: @ContractState, account: felt252) -> u256 {
            self.balances.entry(account).read()
        }

        fn total_supply(self: @ContractState) -> u256 {
            self.total_supply.read()
        }
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        /// Mints `amount` to `to` and returns the new total supply.
        fn mint(ref self: ContractState, to: felt252, amount: u256) -> u256 {
            let caller: felt252 = get_caller_address().into();
            assert(caller == self.minter.read(), 'not minter');
            let supply = self.total_supply.read();
            // The supply never exceeds the cap, so this neither underflows nor overflows.
            assert(amount <= self.cap.read() - supply, 'over cap');
            let supply = supply + amount;
            self.total_supply.write(supply);
            let balance = self.balances.entry(to);
            balance.write(balance.read() + amount);
            self.emit(Minted { to, amount, total_supply: supply });
            supply
        }
    }

    /// The account key of a `bytes32`: the word itself, which must be below the field prime.
    fn account(word: u256) -> felt252 {
        word.try_into().expect('to: not a felt')
    }
}
