//! The bytes validators sign, and validator addresses: shared with the consensus engine so that
//! what it signs and what a light client checks can never drift apart.

use sha2::{Digest, Sha256};

/// A validator's address: the first 20 bytes of `sha256(public key)`.
pub fn address(public_key: &[u8; 32]) -> [u8; 20] {
    let digest = Sha256::digest(public_key);
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

/// The start of every signed consensus message: its domain (kind and version), the chain id
/// (length-prefixed), the height, the round, and the value (`0`, or `1 || block hash`). The
/// caller appends what is specific to the kind.
pub fn message_prefix(
    domain: &[u8],
    chain_id: &str,
    height: u64,
    round: i64,
    value: Option<&[u8; 32]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(domain.len() + chain_id.len() + 60);
    out.extend_from_slice(domain);
    out.extend_from_slice(&(chain_id.len() as u32).to_be_bytes());
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&round.to_be_bytes());
    match value {
        None => out.push(0),
        Some(hash) => {
            out.push(1);
            out.extend_from_slice(hash);
        }
    }
    out
}

/// Domain of a prevote.
pub const PREVOTE: &[u8] = b"babel/prevote/v1";
/// Domain of a precommit.
pub const PRECOMMIT: &[u8] = b"babel/precommit/v1";

/// The bytes `validator` signs to vote (a [`PREVOTE`] or a [`PRECOMMIT`]) for `value` (or
/// nil) at `height` and `round` of `chain_id`.
pub fn vote_bytes(
    domain: &[u8],
    chain_id: &str,
    height: u64,
    round: i64,
    value: Option<&[u8; 32]>,
    validator: &[u8; 20],
) -> Vec<u8> {
    let mut out = message_prefix(domain, chain_id, height, round, value);
    out.extend_from_slice(validator);
    out
}
