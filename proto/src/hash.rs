//! Hashes that identify transactions and blocks, and the Merkle roots a header commits to.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::v1;

/// Transaction hash: `sha256(body || signature)` over the bytes exactly as submitted, so a
/// client can compute it before sending. An Ethereum transaction's (`ethereum` set, `body` and
/// `signature` empty) is `keccak256` of its EIP-2718 bytes, the hash Ethereum clients know it
/// by. A transaction carrying both forms is malformed and never valid, but its hash still
/// covers every byte of it (`sha256("babel/both" || len(body) || body || len(signature) ||
/// signature || ethereum)`), so that no one can pad a committed transaction and keep its hash.
pub fn tx_hash(tx: &v1::SignedTransaction) -> [u8; 32] {
    if !tx.ethereum.is_empty() {
        if tx.body.is_empty() && tx.signature.is_empty() {
            return alloy_primitives::keccak256(&tx.ethereum).0;
        }
        return Sha256::new()
            .chain_update(b"babel/both")
            .chain_update((tx.body.len() as u64).to_be_bytes())
            .chain_update(&tx.body)
            .chain_update((tx.signature.len() as u64).to_be_bytes())
            .chain_update(&tx.signature)
            .chain_update(&tx.ethereum)
            .finalize()
            .into();
    }
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

/// Commitment to a block's `last_certificate`: `sha256` of its protobuf encoding, or empty
/// when the block has none (height 1).
pub fn certificate_hash(certificate: Option<&v1::CommitCertificate>) -> prost::bytes::Bytes {
    certificate.map_or_else(prost::bytes::Bytes::new, |c| {
        prost::bytes::Bytes::copy_from_slice(&Sha256::digest(c.encode_to_vec()))
    })
}

/// Commitment to a block's transactions: the RFC 6962 Merkle root (see [`merkle_root`]) over
/// their hashes, in block order.
pub fn tx_root(txs: &[v1::SignedTransaction]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = txs.iter().map(tx_hash).collect();
    merkle_root(&leaves)
}

/// Whether `txs` are the transactions `header` commits to (root and count).
pub fn txs_match_header(header: &v1::Header, txs: &[v1::SignedTransaction]) -> bool {
    header.tx_count == txs.len() as u64 && header.tx_root.as_ref() == tx_root(txs)
}

/// Whether a block's body is the one its header commits to: its transactions (root and count)
/// and its parent's certificate. The block hash covers only the header, so two blocks with one
/// hash may differ in body; only the one this holds for is the block.
pub fn body_matches_header(block: &v1::Block) -> bool {
    block.header.as_ref().is_some_and(|h| {
        txs_match_header(h, &block.txs)
            && h.last_certificate_hash == certificate_hash(block.last_certificate.as_ref())
    })
}

/// The leaf a receipt contributes to a block's `results_root`: `sha256(tx_hash || encoded
/// receipt)`, so a receipt proof also names the transaction it belongs to.
pub fn receipt_leaf(tx_hash: &[u8; 32], receipt: &v1::Receipt) -> [u8; 32] {
    Sha256::new()
        .chain_update(tx_hash)
        .chain_update(receipt.encode_to_vec())
        .finalize()
        .into()
}

/// Commitment to a block's results: the RFC 6962 Merkle root over [`receipt_leaf`] of each
/// transaction, in block order.
pub fn results_root(txs: &[v1::SignedTransaction], receipts: &[v1::Receipt]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = txs
        .iter()
        .zip(receipts)
        .map(|(tx, receipt)| receipt_leaf(&tx_hash(tx), receipt))
        .collect();
    merkle_root(&leaves)
}

fn merkle_tree(leaves: &[[u8; 32]]) -> MemoryBackedTree<Sha256, [u8; 32]> {
    let mut tree = MemoryBackedTree::new();
    for leaf in leaves {
        tree.push(*leaf);
    }
    tree
}

/// The Merkle Tree Hash of RFC 6962 (section 2.1) over `leaves`, with SHA-256: a leaf hashes
/// as `sha256(0x00 || leaf)`, an inner node as `sha256(0x01 || left || right)`, and no leaves
/// as `sha256("")`. Any Certificate Transparency library checks its proofs.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    merkle_tree(leaves)
        .root()
        .as_bytes()
        .as_slice()
        .try_into()
        .unwrap_or([0; 32])
}

/// The RFC 6962 audit path of leaf `index` among `leaves` (the sibling hashes from the leaf up,
/// 32 bytes each), or `None` when there is no such leaf.
pub fn merkle_proof(leaves: &[[u8; 32]], index: usize) -> Option<Vec<u8>> {
    (index < leaves.len()).then(|| {
        merkle_tree(leaves)
            .prove_inclusion(index)
            .as_bytes()
            .to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u8) -> [u8; 32] {
        [i; 32]
    }

    /// The tree hash written out from RFC 6962 section 2.1, independently of the crate.
    fn rfc6962(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => Sha256::new()
                .chain_update([0])
                .chain_update(leaves[0])
                .finalize()
                .into(),
            n => {
                let k = n.next_power_of_two() / 2;
                Sha256::new()
                    .chain_update([1])
                    .chain_update(rfc6962(&leaves[..k]))
                    .chain_update(rfc6962(&leaves[k..]))
                    .finalize()
                    .into()
            }
        }
    }

    #[test]
    fn merkle_root_is_the_rfc6962_tree_hash() {
        for n in 0..40u8 {
            let leaves: Vec<[u8; 32]> = (0..n).map(leaf).collect();
            assert_eq!(merkle_root(&leaves), rfc6962(&leaves), "{n} leaves");
        }
    }

    #[test]
    fn every_leaf_has_a_proof_that_verifies_and_only_for_its_index() {
        for n in 1..20u8 {
            let leaves: Vec<[u8; 32]> = (0..n).map(leaf).collect();
            let root = ct_merkle::RootHash::<Sha256>::new(merkle_root(&leaves).into(), n.into());
            for i in 0..n {
                let proof = ct_merkle::InclusionProof::<Sha256>::try_from_bytes(
                    merkle_proof(&leaves, i.into()).unwrap(),
                )
                .unwrap();
                assert!(root.verify_inclusion(&leaf(i), i.into(), &proof).is_ok());
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(
                        root.verify_inclusion(&leaf(i), other.into(), &proof)
                            .is_err()
                    );
                }
            }
            assert!(merkle_proof(&leaves, n.into()).is_none());
        }
    }

    #[test]
    fn tx_hash_covers_body_and_signature() {
        let a = v1::SignedTransaction {
            body: vec![1, 2].into(),
            signature: vec![3].into(),
            ..Default::default()
        };
        let b = v1::SignedTransaction {
            body: vec![1].into(),
            signature: vec![2, 3].into(),
            ..Default::default()
        };
        // Same concatenation, same hash: the boundary is fixed by the 64-byte signature length
        // that admission enforces.
        assert_eq!(tx_hash(&a), tx_hash(&b));
        let c = v1::SignedTransaction {
            body: vec![1, 2].into(),
            signature: vec![4].into(),
            ..Default::default()
        };
        assert_ne!(tx_hash(&a), tx_hash(&c));
        assert_eq!(
            hex::encode(tx_hash(&a)),
            "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81"
        );
    }

    #[test]
    fn an_ethereum_hash_covers_every_field() {
        let eth = v1::SignedTransaction {
            ethereum: vec![2, 3, 4].into(),
            ..Default::default()
        };
        assert_eq!(tx_hash(&eth), alloy_primitives::keccak256([2, 3, 4]).0);
        let padded_body = v1::SignedTransaction {
            body: vec![1].into(),
            ..eth.clone()
        };
        let padded_signature = v1::SignedTransaction {
            signature: vec![1].into(),
            ..eth.clone()
        };
        let hashes = [
            tx_hash(&eth),
            tx_hash(&padded_body),
            tx_hash(&padded_signature),
        ];
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[0], hashes[2]);
        assert_ne!(hashes[1], hashes[2]);
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

    #[test]
    fn the_header_commits_to_its_last_certificate() {
        assert!(certificate_hash(None).is_empty());
        let cert = v1::CommitCertificate {
            height: 4,
            round: 0,
            block_hash: vec![7; 32].into(),
            signatures: vec![v1::CommitSignature {
                validator: vec![1; 20].into(),
                signature: vec![2; 64].into(),
            }],
        };
        let mut other = cert.clone();
        other.signatures[0].signature = vec![3; 64].into();
        assert_eq!(certificate_hash(Some(&cert)).len(), 32);
        assert_ne!(
            certificate_hash(Some(&cert)),
            certificate_hash(Some(&other))
        );
        let h = v1::Header {
            chain_id: "c".into(),
            height: 5,
            last_certificate_hash: certificate_hash(Some(&cert)),
            ..Default::default()
        };
        let mut h2 = h.clone();
        h2.last_certificate_hash = certificate_hash(Some(&other));
        assert_ne!(block_hash(&h), block_hash(&h2));
    }
}
