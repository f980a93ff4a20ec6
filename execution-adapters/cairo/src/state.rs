//! Where a Cairo rollup keeps things in its state, and how deployed contracts are named.
//!
//! | key | value |
//! |---|---|
//! | `c/` ‖ address (32 bytes) | the contract's class hash (32 bytes) |
//! | `k/` ‖ class hash | the class as deployed (Sierra JSON), stored once whoever deploys it |
//! | `n/` ‖ deployer | how many contracts the deployer has created (8 bytes, big-endian) |
//! | `s/` ‖ address ‖ storage key (32 bytes each) | a storage value, a felt (32 bytes, big-endian; zero is absent) |
//! | `b/` ‖ signer | a signer's native balance, for fees (16 bytes, big-endian) |

use sha2::{Digest, Sha256};

/// Prefix of the classes' keys.
pub const CLASS_PREFIX: &[u8] = b"k/";

/// Key of contract `address`'s record.
pub fn contract_key(address: &[u8; 32]) -> Vec<u8> {
    [b"c/".as_slice(), address].concat()
}

/// Key of the class with hash `hash`.
pub fn class_key(hash: &[u8; 32]) -> Vec<u8> {
    [CLASS_PREFIX, hash].concat()
}

/// The class hash a class key names (`None` for other keys).
pub fn class_hash_of_key(key: &[u8]) -> Option<[u8; 32]> {
    key.strip_prefix(CLASS_PREFIX)?.try_into().ok()
}

/// Key of `deployer`'s count of created contracts.
pub fn deploys_key(deployer: &[u8; 32]) -> Vec<u8> {
    [b"n/".as_slice(), deployer].concat()
}

/// Key of storage slot `key` of contract `address`.
pub fn storage_key(address: &[u8; 32], key: &[u8; 32]) -> Vec<u8> {
    [b"s/".as_slice(), address, key].concat()
}

/// Key of `signer`'s native balance.
pub fn balance_key(signer: &[u8; 32]) -> Vec<u8> {
    [b"b/".as_slice(), signer].concat()
}

/// The hash a class is stored and cached under: sha256 of its JSON as deployed.
pub fn class_hash(class: &[u8]) -> [u8; 32] {
    Sha256::digest(class).into()
}
