//! Where a WASM rollup keeps things in its state, and how deployed contracts are named.
//!
//! | key | value |
//! |---|---|
//! | `c/` ‖ id | the contract: code hash (32 bytes) ‖ load gas (8 bytes, big-endian: what every call pays to load and instantiate it, [`crate::limits::load_gas`]) |
//! | `m/` ‖ code hash | the module's bytes (stored once, whoever deploys the same code) |
//! | `n/` ‖ deployer | how many contracts the deployer has created (8 bytes, big-endian) |
//! | `s/` ‖ id length (1 byte) ‖ id ‖ key | the contract's storage |
//! | `b/` ‖ signer | a signer's native balance, for fees (16 bytes, big-endian) |

use sha2::{Digest, Sha256};

use crate::limits::CONTRACT_ID_LEN;

/// Key of contract `id`'s record.
pub fn contract_key(id: &[u8]) -> Vec<u8> {
    [b"c/".as_slice(), id].concat()
}

/// Prefix of the modules' keys.
pub const MODULE_PREFIX: &[u8] = b"m/";

/// Key of the module with code hash `hash`.
pub fn module_key(hash: &[u8; 32]) -> Vec<u8> {
    [MODULE_PREFIX, hash].concat()
}

/// The code hash a module key names (`None` for other keys).
pub fn module_hash(key: &[u8]) -> Option<[u8; 32]> {
    key.strip_prefix(MODULE_PREFIX)?.try_into().ok()
}

/// Key of `deployer`'s count of created contracts.
pub fn deploys_key(deployer: &[u8; 32]) -> Vec<u8> {
    [b"n/".as_slice(), deployer].concat()
}

/// Prefix of contract `id`'s storage keys (the length keeps ids from overlapping).
pub fn storage_prefix(id: &[u8]) -> Vec<u8> {
    let len = u8::try_from(id.len()).unwrap_or(u8::MAX);
    [b"s/".as_slice(), &[len], id].concat()
}

/// Key of `signer`'s native balance.
pub fn balance_key(signer: &[u8; 32]) -> Vec<u8> {
    [b"b/".as_slice(), signer].concat()
}

/// The code hash of `code`.
pub fn code_hash(code: &[u8]) -> [u8; 32] {
    Sha256::digest(code).into()
}

/// The id of the `count`-th contract (from 0) `deployer` creates on `rollup`:
/// `sha256("babel/wasm/contract/v1" ‖ rollup ‖ deployer ‖ count)[..20]`.
pub fn contract_id(rollup: u64, deployer: &[u8; 32], count: u64) -> [u8; CONTRACT_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(b"babel/wasm/contract/v1")
        .chain_update(rollup.to_be_bytes())
        .chain_update(deployer)
        .chain_update(count.to_be_bytes())
        .finalize();
    let mut id = [0; CONTRACT_ID_LEN];
    id.copy_from_slice(&digest[..CONTRACT_ID_LEN]);
    id
}

/// A contract record: code hash and load gas.
pub fn encode_contract(hash: &[u8; 32], load_gas: u64) -> Vec<u8> {
    [hash.as_slice(), &load_gas.to_be_bytes()].concat()
}

/// Read a contract record.
pub fn decode_contract(record: &[u8]) -> Option<([u8; 32], u64)> {
    let (hash, gas) = record.split_first_chunk::<32>()?;
    Some((*hash, u64::from_be_bytes(gas.try_into().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_per_deployer_count_and_rollup_and_keys_do_not_overlap() {
        let a = [1; 32];
        let b = [2; 32];
        let ids = [
            contract_id(5, &a, 0),
            contract_id(5, &a, 1),
            contract_id(5, &b, 0),
            contract_id(6, &a, 0),
        ];
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                assert_ne!(ids[i], ids[j]);
            }
        }
        // Two ids where one is a prefix of the other have disjoint storage.
        assert!(!storage_prefix(b"ab").starts_with(&storage_prefix(b"a")));
        let record = encode_contract(&[7; 32], 1234);
        assert_eq!(decode_contract(&record), Some(([7; 32], 1234)));
        assert_eq!(decode_contract(&record[..35]), None);
    }
}
