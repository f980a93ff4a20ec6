//! Checking one post: a header blob and the rollup blobs it lists, read back from the DA.
//!
//! Anyone can post in any namespace, so what the DA returns is untrusted: a header blob stands
//! only if its header is a block of this chain (the committed one at its height, or one with a
//! valid commit certificate), every blob it lists is in the same DA block, and the
//! transactions they hold make up the header's transaction root.

use std::collections::BTreeSet;

use babel_da::{
    Blob, DaError, Namespace,
    layout::{self, HeaderBlob},
};
use babel_proto::v1;

use super::DaLink;

/// Why a post could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The DA could not be read; try again later.
    #[error("DA: {0}")]
    Da(#[from] DaError),
    /// The post is not a valid post of this chain's block.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(why: impl Into<String>) -> PostError {
    PostError::Invalid(why.into())
}

/// A header blob whose fields name this chain and a header: the header, its hash and the
/// certificate.
pub fn header_of<'a>(
    link: &DaLink,
    blob: &'a HeaderBlob,
) -> Result<(&'a v1::Header, [u8; 32], &'a v1::CommitCertificate), PostError> {
    let header = blob
        .message
        .header
        .as_ref()
        .ok_or_else(|| invalid("header blob without a header"))?;
    if header.chain_id != link.chain_id {
        return Err(invalid(format!("header of chain {:?}", header.chain_id)));
    }
    let certificate = blob
        .message
        .certificate
        .as_ref()
        .ok_or_else(|| invalid("header blob without a certificate"))?;
    // The rule validators apply: a block past the first carries its parent's certificate.
    let carried = blob.message.last_certificate.as_ref();
    if carried.is_some() != (header.height > 1)
        || header.last_certificate_hash != babel_proto::certificate_hash(carried)
    {
        return Err(invalid(
            "the header does not commit to the blob's certificate of its parent",
        ));
    }
    Ok((header, babel_proto::block_hash(header), certificate))
}

/// Whether a header blob's certificate holds: for its header, at its height, signed by more
/// than 2/3 of the validators' power. The certificate does not cover the blob list, so a
/// certified header blob may still list the wrong blobs ([`block_txs`] finds out).
pub async fn certified(link: &DaLink, blob: &HeaderBlob) -> bool {
    let Ok((header, hash, certificate)) = header_of(link, blob) else {
        return false;
    };
    certificate.height == header.height
        && certificate.block_hash.as_ref() == hash
        && babel_consensus::verify_certificate(&link.chain_id, certificate, &link.validators)
            .await
            .is_ok()
}

/// Read the rollup blobs that `blob` (found at `da_height`) lists and put the block's
/// transactions back together; they must make up the header's transaction root.
pub async fn block_txs(
    link: &DaLink,
    da_height: u64,
    blob: &HeaderBlob,
) -> Result<Vec<v1::SignedTransaction>, PostError> {
    let (header, hash, _) = header_of(link, blob)?;
    // Only the chain's rollup namespaces can hold its batches: a header listing others would
    // make a reader fetch whatever it names.
    let chain = link.namespaces();
    let mut wanted = BTreeSet::new();
    for r in &blob.message.blobs {
        let ns = Namespace::from_raw(&r.namespace)
            .map_err(|_| invalid("a listed blob has a malformed namespace"))?;
        if !chain.rollups.values().any(|n| *n == ns) {
            return Err(invalid(
                "a listed blob is outside the chain's rollup namespaces",
            ));
        }
        wanted.insert(ns.as_bytes().to_vec());
    }
    let namespaces: Vec<Namespace> = chain
        .rollups
        .values()
        .filter(|n| wanted.contains(n.as_bytes()))
        .copied()
        .collect();
    let found: Vec<Blob> = if namespaces.is_empty() {
        Vec::new()
    } else {
        link.da.get_all(da_height, &namespaces).await?
    };
    let txs = layout::assemble(&blob.message, &found, &link.chain_id, &hash, link.max_txs)
        .map_err(|e| invalid(e.to_string()))?;
    if !babel_proto::txs_match_header(header, &txs) {
        return Err(invalid(format!(
            "block {}: the posted transactions do not make up the header's tx root",
            header.height
        )));
    }
    Ok(txs)
}

/// Check the header blob of `commitment` at `da_height` as the post of the committed block at
/// `block_height` whose hash is `block_hash`.
pub async fn check_reference(
    link: &DaLink,
    block_height: u64,
    block_hash: [u8; 32],
    da_height: u64,
    commitment: [u8; 32],
) -> Result<(), PostError> {
    let blob = link
        .da
        .get(
            da_height,
            link.namespaces().sequencer,
            babel_da::Commitment::new(commitment),
        )
        .await?
        .ok_or_else(|| invalid(format!("no such header blob at DA height {da_height}")))?;
    let blob = layout::read_header(&blob).map_err(|e| invalid(e.to_string()))?;
    let (header, hash, _) = header_of(link, &blob)?;
    if header.height != block_height || hash != block_hash {
        return Err(invalid(format!(
            "the blob holds another block than {block_height}"
        )));
    }
    if !certified(link, &blob).await {
        return Err(invalid("the header blob's certificate does not hold"));
    }
    block_txs(link, da_height, &blob).await.map(|_| ())
}
