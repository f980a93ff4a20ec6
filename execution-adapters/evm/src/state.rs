//! How an EVM rollup's state lies in its key-value space.
//!
//! - `a/<address>` → account: balance (32 bytes, big-endian) ‖ nonce (8) ‖ code hash (32);
//! - `c/<code hash>` → runtime bytecode;
//! - `s/<address><slot>` → a non-zero storage word (32 bytes); zero words are absent.

use revm::primitives::{Address, B256, KECCAK_EMPTY, U256, keccak256};

/// Length of an [`account_key`].
pub const ACCOUNT_KEY_LEN: usize = 22;
/// Length of a [`code_key`].
pub const CODE_KEY_LEN: usize = 34;
/// Length of a [`storage_key`].
pub const STORAGE_KEY_LEN: usize = 54;

/// `prefix ‖ parts…` as a fixed-size key: keys are built on the stack, since every state
/// access builds one.
fn key<const N: usize>(prefix: &[u8; 2], parts: [&[u8]; 2]) -> [u8; N] {
    let mut key = [0u8; N];
    key[..2].copy_from_slice(prefix);
    let mut at = 2;
    for part in parts {
        key[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    key
}

/// Key of an account record.
pub fn account_key(address: &Address) -> [u8; ACCOUNT_KEY_LEN] {
    key(b"a/", [address.as_slice(), &[]])
}

/// Key of a contract's code.
pub fn code_key(hash: &B256) -> [u8; CODE_KEY_LEN] {
    key(b"c/", [hash.as_slice(), &[]])
}

/// Key of a storage slot.
pub fn storage_key(address: &Address, slot: &U256) -> [u8; STORAGE_KEY_LEN] {
    key(b"s/", [address.as_slice(), &slot.to_be_bytes::<32>()])
}

/// The first byte no contract code may start with: EIP-3541 reserves it (revm refuses to
/// deploy such code, and reads `0xEF01…` as an EIP-7702 delegation, which Babel has no
/// transactions to set). Code in an EVM rollup's state never starts with it.
pub const RESERVED_CODE_PREFIX: u8 = 0xEF;

/// An account record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// Balance in wei.
    pub balance: U256,
    /// EVM nonce (transactions sent and contracts created, as in Ethereum).
    pub nonce: u64,
    /// keccak256 of the runtime code ([`KECCAK_EMPTY`] without code).
    pub code_hash: B256,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            balance: U256::ZERO,
            nonce: 0,
            code_hash: KECCAK_EMPTY,
        }
    }
}

impl Account {
    /// Encoded record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(72);
        out.extend_from_slice(&self.balance.to_be_bytes::<32>());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(self.code_hash.as_slice());
        out
    }

    /// Decode a record (`None` if it is not 72 bytes).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 72 {
            return None;
        }
        Some(Self {
            balance: U256::from_be_slice(&bytes[..32]),
            nonce: u64::from_be_bytes(bytes[32..40].try_into().ok()?),
            code_hash: B256::from_slice(&bytes[40..]),
        })
    }
}

/// The EVM address of a transaction signer: the address itself for an Ethereum signer (see
/// [`babel_execution::ethereum::account_id`]), else the last 20 bytes of
/// `keccak256(ed25519 key)`.
pub fn sender_address(account: &[u8; 32]) -> Address {
    if let Some(address) = babel_execution::ethereum::address_of(account) {
        return Address::from(address);
    }
    Address::from_slice(&keccak256(account)[12..])
}

/// The address a contract on another rollup appears as (`msg.sender`) in a cross-rollup call:
/// the last 20 bytes of `keccak256("babel.xcall" ‖ rollup id (8 bytes, big-endian) ‖ address)`.
pub fn xcaller_address(rollup: u64, address: &[u8]) -> Address {
    let mut preimage = b"babel.xcall".to_vec();
    preimage.extend_from_slice(&rollup.to_be_bytes());
    preimage.extend_from_slice(address);
    Address::from_slice(&keccak256(preimage)[12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefix_then_parts() {
        let address = Address::repeat_byte(7);
        assert_eq!(account_key(&address)[..2], *b"a/");
        assert_eq!(account_key(&address)[2..], address[..]);
        let hash = keccak256(b"code");
        assert_eq!(code_key(&hash)[..2], *b"c/");
        assert_eq!(code_key(&hash)[2..], hash[..]);
        let slot = U256::from(0x0102u64);
        let key = storage_key(&address, &slot);
        assert_eq!(key[..2], *b"s/");
        assert_eq!(key[2..22], address[..]);
        assert_eq!(key[22..], slot.to_be_bytes::<32>());
    }

    #[test]
    fn account_records_round_trip() {
        let a = Account {
            balance: U256::from(123_456_789u64),
            nonce: 7,
            code_hash: keccak256(b"code"),
        };
        assert_eq!(Account::decode(&a.encode()), Some(a));
        assert_eq!(Account::decode(&[0; 71]), None);
    }

    #[test]
    fn caller_addresses_are_distinct_per_rollup() {
        let x = [9u8; 20];
        assert_ne!(xcaller_address(1, &x), xcaller_address(2, &x));
        assert_ne!(sender_address(&[1; 32]), sender_address(&[2; 32]));
    }
}
