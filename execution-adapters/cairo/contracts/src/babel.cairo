//! The Babel host conventions shared by the contracts.
//!
//! Bytes cross the VM boundary as a core `ByteArray` (its Serde: the number of full 31-byte
//! words, the words big-endian, the pending word, its length).
//!
//! A cross-rollup call is a `call_contract_syscall` to the address `'babel'` (0x626162656c),
//! entry point `selector!("xcall")`, calldata
//! `[rollup] ++ Serde(target: ByteArray) ++ Serde(input: ByteArray)`. Its answer is the Serde of
//! the callee's output `ByteArray`; on failure the error felts are the Serde of a `ByteArray`
//! holding the callee's revert bytes. Inputs and answers are Solidity-ABI bytes.

use starknet::ContractAddress;
use starknet::syscalls::call_contract_syscall;

/// The host's cross-rollup call address: the short string 'babel' (0x626162656c).
pub const XCALL: ContractAddress = 'babel'.try_into().unwrap();

/// Calls `target` (the callee's address bytes on its rollup) on rollup `rollup` with ABI `input`.
///
/// `Ok` holds the callee's answer bytes, `Err` its revert bytes. Error data that is not a
/// `ByteArray` (the host did not produce it from a callee's revert) is re-raised as it came.
pub fn xcall(rollup: u64, target: @ByteArray, input: @ByteArray) -> Result<ByteArray, ByteArray> {
    let mut calldata: Array<felt252> = array![rollup.into()];
    target.serialize(ref calldata);
    input.serialize(ref calldata);
    match call_contract_syscall(XCALL, selector!("xcall"), calldata.span()) {
        Ok(answer) => {
            let mut answer = answer;
            Ok(Serde::<ByteArray>::deserialize(ref answer).expect('xcall: bad answer'))
        },
        Err(revert) => {
            let mut data = revert.span();
            match Serde::<ByteArray>::deserialize(ref data) {
                Some(bytes) => Err(bytes),
                None => panic(revert),
            }
        },
    }
}

/// Fails with `data` as the revert data, exactly as it is (a callee's revert data passed on):
/// the panic data is the short string 'babel: revert' and the Serde of `data`. Any other panic
/// reaches callers as a Solidity `Error(string)` of its message.
pub fn revert(data: @ByteArray) -> core::never {
    let mut felts: Array<felt252> = array!['babel: revert'];
    data.serialize(ref felts);
    panic(felts)
}

/// The 4-byte function selector at the start of ABI `input`, big-endian.
pub fn abi_selector(input: @ByteArray) -> u32 {
    assert(input.len() >= 4, 'abi: short input');
    let mut selector: u32 = 0;
    for i in 0..4_usize {
        selector = selector * 0x100 + input[i].into();
    }
    selector
}

/// The 32-byte head word number `index` of ABI `input` (at byte 4 + 32 * index).
pub fn abi_word(input: @ByteArray, index: usize) -> u256 {
    word_at(input, 4 + 32 * index)
}

/// The dynamic `bytes` argument whose head word (its offset) is number `index` of ABI `input`.
pub fn abi_bytes(input: @ByteArray, index: usize) -> ByteArray {
    // The offset counts from the end of the selector; the length word is there, then the bytes.
    let offset = abi_word(input, index);
    let start: usize = (4 + offset).try_into().expect('abi: short input');
    let len: usize = word_at(input, start).try_into().expect('abi: short input');
    let data = start + 32;
    assert(data + len <= input.len(), 'abi: short input');
    let mut out: ByteArray = "";
    for i in data..data + len {
        out.append_byte(input[i]);
    }
    out
}

/// The start of an ABI call: its 4-byte selector.
pub fn abi_call(selector: u32) -> ByteArray {
    let mut out: ByteArray = "";
    out.append_word(selector.into(), 4);
    out
}

/// Appends one 32-byte big-endian word to an ABI call or answer.
pub fn abi_append_word(ref out: ByteArray, word: u256) {
    out.append_word(word.high.into(), 16);
    out.append_word(word.low.into(), 16);
}

/// An ABI answer of one word.
pub fn abi_word_bytes(word: u256) -> ByteArray {
    let mut out: ByteArray = "";
    abi_append_word(ref out, word);
    out
}

/// The big-endian 32-byte word at byte `start` of `input`.
fn word_at(input: @ByteArray, start: usize) -> u256 {
    assert(start + 32 <= input.len(), 'abi: short input');
    u256 { high: u128_at(input, start), low: u128_at(input, start + 16) }
}

fn u128_at(input: @ByteArray, start: usize) -> u128 {
    let mut value: u128 = 0;
    for i in start..start + 16 {
        value = value * 0x100 + input[i].into();
    }
    value
}
