//! A DA block's data square, as Celestia lays it out: blob shares in namespace order, row by
//! row, padded to a power-of-two width, extended with Reed-Solomon (leopard). Its row and
//! column roots are the block's data root; its row trees give namespace proofs.

use celestia_types::{
    Blob, ExtendedDataSquare, InfoByte,
    consts::appconsts::SHARE_SIZE,
    nmt::{Namespace, NamespaceProof},
};

use crate::DaError;

/// Widest original square a local DA block may have (Celestia's before app version 6): at most
/// 128 × 128 shares of 512 bytes, about 7.5 MiB of blob data.
pub const MAX_SQUARE_WIDTH: usize = 128;

/// Lay `blobs` out (stable in namespace order) and extend the square. Returns it and the blobs
/// in square order, each with its index (first share's position in the extended square,
/// `row * 2k + col`, as celestia-node reports it).
pub(crate) fn build(mut blobs: Vec<Blob>) -> Result<(ExtendedDataSquare, Vec<Blob>), DaError> {
    blobs.sort_by_key(|b| b.namespace);
    let mut ods: Vec<Vec<u8>> = Vec::new();
    let mut starts = Vec::with_capacity(blobs.len());
    for blob in &blobs {
        starts.push(ods.len());
        ods.extend(blob.to_shares()?.iter().map(|s| s.as_ref().to_vec()));
    }
    let width = width_for(ods.len()).ok_or_else(|| {
        DaError::Refused(format!(
            "blobs need {} shares; a square holds at most {}",
            ods.len(),
            MAX_SQUARE_WIDTH * MAX_SQUARE_WIDTH
        ))
    })?;
    let mut tail = Vec::with_capacity(SHARE_SIZE);
    tail.extend_from_slice(Namespace::TAIL_PADDING.as_bytes());
    tail.push(InfoByte::new(0, true)?.as_u8());
    tail.resize(SHARE_SIZE, 0);
    ods.resize(width * width, tail);
    let eds = ExtendedDataSquare::from_ods(ods)?;
    for (blob, start) in blobs.iter_mut().zip(starts) {
        blob.index = Some(((start / width) * 2 * width + start % width) as u64);
    }
    Ok((eds, blobs))
}

/// Smallest power-of-two width whose square holds `shares` (at least 1), if any may.
fn width_for(shares: usize) -> Option<usize> {
    let mut width = 1;
    while width * width < shares {
        width *= 2;
    }
    (width <= MAX_SQUARE_WIDTH).then_some(width)
}

/// Namespace proofs of `blob` in `eds`: one per original row it spans, proving the whole
/// namespace's shares of that row against the row root (what celestia-node's `blob.GetProof`
/// returns).
pub(crate) fn proofs(
    eds: &ExtendedDataSquare,
    blob: &Blob,
) -> Result<Vec<NamespaceProof>, DaError> {
    let width = eds.square_width() as u64;
    let k = width / 2;
    let index = blob
        .index
        .ok_or_else(|| DaError::Inconsistent("a stored blob has no index".into()))?;
    let (row, col) = (index / width, index % width);
    let shares = blob.shares_len() as u64;
    let last = (row * k + col + shares.max(1) - 1) / k;
    (row..=last)
        .map(|r| {
            let r = u16::try_from(r).map_err(|_| DaError::Inconsistent("row beyond u16".into()))?;
            let mut nmt = eds.row_nmt(r)?;
            Ok(nmt.get_namespace_proof(*blob.namespace).into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use celestia_types::DataAvailabilityHeader;

    #[test]
    fn widths_are_powers_of_two_up_to_the_limit() {
        assert_eq!(width_for(0), Some(1));
        assert_eq!(width_for(1), Some(1));
        assert_eq!(width_for(2), Some(2));
        assert_eq!(width_for(5), Some(4));
        assert_eq!(width_for(128 * 128), Some(128));
        assert_eq!(width_for(128 * 128 + 1), None);
    }

    #[test]
    fn proofs_verify_against_the_row_roots() {
        let a = Blob::new(Namespace::new_v0(b"aaaa").unwrap(), vec![1; 3000], None).unwrap();
        let b = Blob::new(Namespace::new_v0(b"bbbb").unwrap(), vec![2; 100], None).unwrap();
        let (eds, blobs) = build(vec![b, a.clone()]).unwrap();
        assert_eq!(blobs[0].namespace, a.namespace, "namespace order");
        let dah = DataAvailabilityHeader::from_eds(&eds);
        let placed = &blobs[0];
        let proofs = proofs(&eds, placed).unwrap();
        let shares = a.to_shares().unwrap();
        let k = eds.square_width() as usize / 2;
        let start = placed.index.unwrap() as usize;
        let (row0, col0) = (start / (2 * k), start % (2 * k));
        let mut used = 0;
        for (i, proof) in proofs.iter().enumerate() {
            let first = if i == 0 { col0 } else { 0 };
            let n = (k - first).min(shares.len() - used);
            let root = dah.row_root((row0 + i) as u16).unwrap();
            proof
                .verify_complete_namespace(&root, &shares[used..used + n], *a.namespace)
                .unwrap();
            used += n;
        }
        assert_eq!(used, shares.len());
    }
}
