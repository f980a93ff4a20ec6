//! Hashes that identify transactions and blocks.

use prost::Message;
use sha2::{Digest, Sha256};

use crate::v1;

/// Transaction hash: `sha256(body || signature)` over the bytes exactly as submitted, so a
/// client can compute it before sending.
pub fn tx_hash(tx: &v1::SignedTransaction) -> [u8; 32] {
    Sha256::new()
        .chain_update(&tx.body)
        .chain_update(&tx.signature)
        .finalize()
        .into()
}

/// Block hash: `sha256` of the protobuf-encoded header. prost encodes fields in field-number
/// order with no maps, so the encoding (and the hash) is the same on every node.
pub fn block_hash(header: &v1::Header) -> [u8; 32] {
    Sha256::digest(header.encode_to_vec()).into()
}

/// Commitment to a block's transactions: `sha256("babel/tx-root/v1" || n as u64 BE || tx_hash_1
/// || ... || tx_hash_n)`.
pub fn tx_root(txs: &[v1::SignedTransaction]) -> [u8; 32] {
    let mut hasher = Sha256::new().chain_update(b"babel/tx-root/v1");
    hasher.update((txs.len() as u64).to_be_bytes());
    for tx in txs {
        hasher.update(tx_hash(tx));
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_hash_covers_body_and_signature() {
        let a = v1::SignedTransaction {
            body: vec![1, 2].into(),
            signature: vec![3].into(),
        };
        let b = v1::SignedTransaction {
            body: vec![1].into(),
            signature: vec![2, 3].into(),
        };
        // Same concatenation, same hash: the boundary is fixed by the 64-byte signature length
        // that admission enforces.
        assert_eq!(tx_hash(&a), tx_hash(&b));
        let c = v1::SignedTransaction {
            body: vec![1, 2].into(),
            signature: vec![4].into(),
        };
        assert_ne!(tx_hash(&a), tx_hash(&c));
        assert_eq!(
            hex::encode(tx_hash(&a)),
            "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81"
        );
    }

    #[test]
    fn block_hash_depends_on_every_header_field() {
        let h = v1::Header {
            chain_id: "c".into(),
            height: 5,
            ..Default::default()
        };
        let mut h2 = h.clone();
        h2.time_ms = 1;
        assert_ne!(block_hash(&h), block_hash(&h2));
        assert_eq!(block_hash(&h), block_hash(&h.clone()));
    }
}
