//! How a block is laid out on the DA layer, and how it is put back together.
//!
//! A decided block becomes, in one DA submission:
//! - per rollup with transactions in the block, one [`DaRollupBatch`] blob in the rollup's
//!   namespace (several, when they exceed [`MAX_BATCH_BYTES`]), holding its transactions and
//!   their positions in the block;
//! - one [`DaBlockHeader`] blob in the sequencer namespace: the header, the commit certificate
//!   and the namespace and commitment of every rollup blob.
//!
//! Reading back starts from the header blob: it names exactly which blobs belong to the block,
//! so anything else posted in a rollup's namespace (anyone can post there) is ignored.

use std::collections::BTreeMap;

use babel_proto::v1::{
    CommitCertificate, DaBlobRef, DaBlockHeader, DaRollupBatch, Header, SignedTransaction,
};
use celestia_types::{Blob, Commitment, nmt::Namespace};
use prost::Message;

use crate::{
    DaError,
    frame::{self, Payload},
};

/// Most transaction bytes in one rollup blob (before compression). Larger batches are split:
/// Celestia bounds a blob by its square, and a small blob is cheap to fetch and check alone.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Most payload bytes (before compression) the rollup blobs of one block may declare, all
/// together: twice the largest block a genesis may allow.
pub const MAX_BLOCK_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// A decided block, as the layout needs it.
#[derive(Clone, Copy, Debug)]
pub struct BlockRef<'a> {
    /// The block's header.
    pub header: &'a Header,
    /// Its commit certificate.
    pub certificate: &'a CommitCertificate,
    /// The certificate of its parent it carries (none at height 1).
    pub last_certificate: Option<&'a CommitCertificate>,
    /// sha256 of the encoded header.
    pub block_hash: &'a [u8],
    /// The block's transactions in order, each with its rollup id.
    pub txs: &'a [(u64, SignedTransaction)],
}

/// The namespaces of a chain: its sequencer namespace and each rollup's.
#[derive(Clone, Debug)]
pub struct Namespaces {
    /// Where header blobs go.
    pub sequencer: Namespace,
    /// Where each rollup's transactions go.
    pub rollups: BTreeMap<u64, Namespace>,
}

/// The blobs of one block, ready to submit: the header blob first.
#[derive(Clone, Debug)]
pub struct Posting {
    /// Every blob of the block; `blobs[0]` is the header blob.
    pub blobs: Vec<Blob>,
}

impl Posting {
    /// Commitment of the header blob: what a `DaReference` names.
    pub fn header_commitment(&self) -> Option<Commitment> {
        self.blobs.first().map(|b| b.commitment)
    }

    /// Bytes of blob data (compressed) in the posting.
    pub fn data_bytes(&self) -> usize {
        self.blobs.iter().map(|b| b.data.len()).sum()
    }
}

/// A version-0 Celestia namespace from its 10 user bytes.
pub fn namespace(id: &[u8]) -> Result<Namespace, DaError> {
    Ok(Namespace::new_v0(id)?)
}

/// Lay `block` out as blobs.
pub fn post_block(
    chain_id: &str,
    block: BlockRef<'_>,
    namespaces: &Namespaces,
) -> Result<Posting, DaError> {
    let mut by_rollup: BTreeMap<u64, Vec<(u32, &SignedTransaction)>> = BTreeMap::new();
    for (position, (rollup, tx)) in block.txs.iter().enumerate() {
        let position = u32::try_from(position)
            .map_err(|_| DaError::Inconsistent("more than 2^32 transactions".into()))?;
        by_rollup.entry(*rollup).or_default().push((position, tx));
    }
    let mut blobs = Vec::new();
    let mut refs = Vec::new();
    for (rollup, txs) in by_rollup {
        let ns = *namespaces
            .rollups
            .get(&rollup)
            .ok_or_else(|| DaError::Inconsistent(format!("no namespace for rollup {rollup}")))?;
        let parts = split(&txs);
        let count = u32::try_from(parts.len())
            .map_err(|_| DaError::Inconsistent("too many parts".into()))?;
        for (part, chunk) in (0..count).zip(parts) {
            let batch = DaRollupBatch {
                chain_id: chain_id.to_owned(),
                height: block.header.height,
                rollup_id: rollup,
                block_hash: block.block_hash.to_vec().into(),
                part,
                parts: count,
                positions: chunk.iter().map(|(p, _)| *p).collect(),
                txs: chunk.iter().map(|(_, tx)| (*tx).clone()).collect(),
            };
            let blob = Blob::new(ns, frame::encode(&Payload::RollupBatch(batch))?, None)?;
            refs.push(DaBlobRef {
                namespace: ns.as_bytes().to_vec().into(),
                commitment: blob.commitment.hash().to_vec().into(),
            });
            blobs.push(blob);
        }
    }
    let header = DaBlockHeader {
        header: Some(block.header.clone()),
        certificate: Some(block.certificate.clone()),
        tx_count: u32::try_from(block.txs.len())
            .map_err(|_| DaError::Inconsistent("more than 2^32 transactions".into()))?,
        blobs: refs,
        last_certificate: block.last_certificate.cloned(),
    };
    let head = Blob::new(
        namespaces.sequencer,
        frame::encode(&Payload::BlockHeader(header))?,
        None,
    )?;
    blobs.insert(0, head);
    Ok(Posting { blobs })
}

/// Split one rollup's transactions into parts of at most [`MAX_BATCH_BYTES`] (a transaction
/// larger than that goes alone: the block limits bound it).
fn split<'a>(txs: &'a [(u32, &'a SignedTransaction)]) -> Vec<&'a [(u32, &'a SignedTransaction)]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, tx)) in txs.iter().enumerate() {
        let len = tx.encoded_len() + 8;
        if i > start && bytes + len > MAX_BATCH_BYTES {
            parts.push(&txs[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    parts.push(&txs[start..]);
    parts
}

/// A header blob read back: the decoded message and the blob's commitment.
#[derive(Clone, Debug)]
pub struct HeaderBlob {
    /// The decoded header blob.
    pub message: DaBlockHeader,
    /// Its commitment on the DA layer.
    pub commitment: Commitment,
}

/// Decode a blob of the sequencer namespace. Anyone may post in a namespace, so callers skip a
/// blob that fails here rather than stop.
pub fn read_header(blob: &Blob) -> Result<HeaderBlob, DaError> {
    blob.validate()?;
    match frame::decode(&blob.data)? {
        Payload::BlockHeader(message) => Ok(HeaderBlob {
            message,
            commitment: blob.commitment,
        }),
        Payload::RollupBatch(_) => Err(DaError::Inconsistent(
            "a rollup batch in the sequencer namespace".into(),
        )),
    }
}

/// Put a block's transactions back together from its header blob and the blobs found in the
/// same DA block (`found` may hold others: only those the header lists are read). At most
/// `max_txs` transactions are accepted, whatever the header claims.
pub fn assemble(
    header: &DaBlockHeader,
    found: &[Blob],
    chain_id: &str,
    block_hash: &[u8],
    max_txs: usize,
) -> Result<Vec<SignedTransaction>, DaError> {
    let height = header.header.as_ref().map_or(0, |h| h.height);
    let count = header.tx_count as usize;
    if count > max_txs {
        return Err(DaError::Inconsistent(format!(
            "header blob claims {count} transactions, the limit is {max_txs}"
        )));
    }
    // Every listed blob holds at least one transaction, is listed once, and all of them
    // together declare at most MAX_BLOCK_PAYLOAD_BYTES: a header blob (which anyone can make,
    // copying a real header and certificate) cannot make a reader decompress more than a
    // block's worth, however it lists blobs.
    if header.blobs.len() > count {
        return Err(DaError::Inconsistent(format!(
            "block {height}: {} blobs listed for {count} transactions",
            header.blobs.len()
        )));
    }
    let by_ref: std::collections::HashMap<(&[u8], &[u8]), &Blob> = found
        .iter()
        .map(|b| ((b.namespace.as_bytes(), b.commitment.hash().as_slice()), b))
        .collect();
    let mut listed: Vec<&Blob> = Vec::with_capacity(header.blobs.len());
    let mut seen = std::collections::HashSet::with_capacity(header.blobs.len());
    let mut declared = 0usize;
    for r in &header.blobs {
        let blob = *by_ref
            .get(&(r.namespace.as_ref(), r.commitment.as_ref()))
            .ok_or_else(|| {
                DaError::Inconsistent(format!(
                    "block {height}: blob {} missing",
                    hex::encode(&r.commitment)
                ))
            })?;
        if !seen.insert(std::ptr::from_ref(blob)) {
            return Err(DaError::Inconsistent(format!(
                "block {height}: a blob listed twice"
            )));
        }
        declared = declared.saturating_add(frame::declared_len(&blob.data)?);
        if declared > MAX_BLOCK_PAYLOAD_BYTES {
            return Err(DaError::Inconsistent(format!(
                "block {height}: listed blobs hold more than {MAX_BLOCK_PAYLOAD_BYTES} bytes"
            )));
        }
        listed.push(blob);
    }
    let mut slots: Vec<Option<SignedTransaction>> = vec![None; count];
    for blob in listed {
        blob.validate()?;
        let Payload::RollupBatch(batch) = frame::decode(&blob.data)? else {
            return Err(DaError::Inconsistent(format!(
                "block {height}: a listed blob is not a rollup batch"
            )));
        };
        if batch.chain_id != chain_id
            || batch.height != height
            || batch.block_hash.as_ref() != block_hash
            || batch.part >= batch.parts
            || batch.positions.is_empty()
            || batch.positions.len() != batch.txs.len()
            || batch.positions.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(DaError::Inconsistent(format!(
                "block {height}: a rollup batch names another block or is malformed"
            )));
        }
        for (position, tx) in batch.positions.iter().zip(batch.txs) {
            let slot = slots.get_mut(*position as usize).ok_or_else(|| {
                DaError::Inconsistent(format!(
                    "block {height}: position {position} beyond {count} transactions"
                ))
            })?;
            if slot.replace(tx).is_some() {
                return Err(DaError::Inconsistent(format!(
                    "block {height}: position {position} filled twice"
                )));
            }
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, tx)| {
            tx.ok_or_else(|| {
                DaError::Inconsistent(format!("block {height}: transaction {i} missing"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8, len: usize) -> SignedTransaction {
        SignedTransaction {
            body: vec![n; len].into(),
            signature: vec![n; 64].into(),
            ..Default::default()
        }
    }

    fn namespaces() -> Namespaces {
        Namespaces {
            sequencer: namespace(b"seq-ns-abc").unwrap(),
            rollups: [
                (1, namespace(b"rollup-one").unwrap()),
                (2, namespace(b"rollup-two").unwrap()),
            ]
            .into(),
        }
    }

    fn header(height: u64) -> Header {
        Header {
            chain_id: "c".into(),
            height,
            ..Default::default()
        }
    }

    #[test]
    fn a_block_round_trips_through_its_blobs_in_order() {
        let txs: Vec<(u64, SignedTransaction)> = (0..10u8)
            .map(|i| (u64::from(i % 2) + 1, tx(i, 50)))
            .collect();
        let (h, cert, hash) = (header(5), CommitCertificate::default(), [7u8; 32]);
        let block = BlockRef {
            header: &h,
            certificate: &cert,
            last_certificate: None,
            block_hash: &hash,
            txs: &txs,
        };
        let posting = post_block("c", block, &namespaces()).unwrap();
        assert_eq!(posting.blobs.len(), 3);
        assert_eq!(posting.blobs[0].namespace, namespaces().sequencer);
        let head = read_header(&posting.blobs[0]).unwrap();
        assert_eq!(head.message.tx_count, 10);
        let back = assemble(&head.message, &posting.blobs, "c", &hash, 100).unwrap();
        let want: Vec<SignedTransaction> = txs.into_iter().map(|(_, t)| t).collect();
        assert_eq!(back, want);
        // The limit on transactions binds whatever the header says.
        assert!(assemble(&head.message, &posting.blobs, "c", &hash, 9).is_err());
        // Another block hash or chain is refused.
        assert!(assemble(&head.message, &posting.blobs, "c", &[0; 32], 100).is_err());
        assert!(assemble(&head.message, &posting.blobs, "d", &hash, 100).is_err());
        // A missing blob is named.
        let err = assemble(&head.message, &posting.blobs[..2], "c", &hash, 100).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn large_batches_split_into_parts_under_the_limit() {
        let txs: Vec<(u64, SignedTransaction)> =
            (0..40u8).map(|i| (1, tx(i, 100 * 1024))).collect();
        let (h, cert, hash) = (header(1), CommitCertificate::default(), [1u8; 32]);
        let block = BlockRef {
            header: &h,
            certificate: &cert,
            last_certificate: None,
            block_hash: &hash,
            txs: &txs,
        };
        let posting = post_block("c", block, &namespaces()).unwrap();
        // 4 MiB of transactions in parts of at most 1 MiB, plus the header blob.
        assert_eq!(posting.blobs.len(), 1 + 4);
        let head = read_header(&posting.blobs[0]).unwrap();
        assert_eq!(head.message.blobs.len(), 4);
        let back = assemble(&head.message, &posting.blobs, "c", &hash, 100).unwrap();
        assert_eq!(back.len(), 40);
    }

    #[test]
    fn an_empty_block_is_a_header_blob_alone() {
        let (h, cert, hash) = (header(2), CommitCertificate::default(), [2u8; 32]);
        let block = BlockRef {
            header: &h,
            certificate: &cert,
            last_certificate: None,
            block_hash: &hash,
            txs: &[],
        };
        let posting = post_block("c", block, &namespaces()).unwrap();
        assert_eq!(posting.blobs.len(), 1);
        let head = read_header(&posting.blobs[0]).unwrap();
        assert!(
            assemble(&head.message, &[], "c", &hash, 10)
                .unwrap()
                .is_empty()
        );
    }

    /// A header blob anyone can make from a real header: it may list blobs as it likes.
    fn forged(listed: Vec<DaBlobRef>, tx_count: u32) -> DaBlockHeader {
        DaBlockHeader {
            header: Some(header(3)),
            certificate: None,
            tx_count,
            blobs: listed,
            last_certificate: None,
        }
    }

    fn batch_blob(positions: Vec<u32>, txs: Vec<SignedTransaction>) -> (Blob, DaBlobRef) {
        let batch = DaRollupBatch {
            chain_id: "c".into(),
            height: 3,
            rollup_id: 1,
            block_hash: vec![3; 32].into(),
            part: 0,
            parts: 1,
            positions,
            txs,
        };
        let ns = namespaces().rollups[&1];
        let blob = Blob::new(
            ns,
            frame::encode(&Payload::RollupBatch(batch)).unwrap(),
            None,
        )
        .unwrap();
        let r = DaBlobRef {
            namespace: ns.as_bytes().to_vec().into(),
            commitment: blob.commitment.hash().to_vec().into(),
        };
        (blob, r)
    }

    #[test]
    fn forged_header_blobs_cannot_make_a_reader_decode_a_blob_twice_or_an_empty_batch() {
        let (blob, r) = batch_blob(vec![0], vec![tx(1, 10)]);
        let found = vec![blob];
        // Listed twice.
        let err = assemble(
            &forged(vec![r.clone(), r.clone()], 2),
            &found,
            "c",
            &[3; 32],
            10,
        );
        assert!(err.unwrap_err().to_string().contains("listed twice"));
        // More blobs listed than transactions.
        let err = assemble(&forged(vec![r.clone()], 0), &found, "c", &[3; 32], 10);
        assert!(err.unwrap_err().to_string().contains("blobs listed"));
        // A batch of no transactions, or positions out of order.
        for (positions, txs) in [(vec![], vec![]), (vec![1, 0], vec![tx(1, 1), tx(2, 1)])] {
            let (blob, r) = batch_blob(positions, txs);
            let err = assemble(&forged(vec![r], 2), &[blob], "c", &[3; 32], 10).unwrap_err();
            assert!(err.to_string().contains("malformed"), "{err}");
        }
        // The honest listing still assembles.
        assert_eq!(
            assemble(&forged(vec![r], 1), &found, "c", &[3; 32], 10).unwrap(),
            vec![tx(1, 10)]
        );
    }

    #[test]
    fn the_listed_blobs_may_declare_at_most_a_blocks_worth_of_bytes() {
        // Nine batches of one transaction of a little under 1 MiB: more than the budget.
        let pieces: Vec<(Blob, DaBlobRef)> = (0..9u8)
            .map(|i| batch_blob(vec![u32::from(i)], vec![tx(i, 1000 * 1024)]))
            .collect();
        let found: Vec<Blob> = pieces.iter().map(|(b, _)| b.clone()).collect();
        let refs: Vec<DaBlobRef> = pieces.into_iter().map(|(_, r)| r).collect();
        let err = assemble(&forged(refs, 9), &found, "c", &[3; 32], 10).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
