//! Blob framing: a fixed 12-byte head, then the zstd-compressed protobuf payload.
//!
//! ```text
//! "BABL" | version u8 (1) | kind u8 | codec u8 (1 = zstd) | 0 u8 | payload length u32 BE | zstd frame
//! ```
//!
//! The length is that of the payload before compression. A decoder refuses anything it does
//! not know before it allocates: the length is bounded by [`MAX_PAYLOAD_BYTES`], decompression
//! writes into a buffer of exactly that length and fails if the frame holds more, and the
//! protobuf decoder allocates no more than its input. Blobs come from anyone who can pay to
//! post in a namespace, so every byte of them is untrusted.

use babel_proto::v1::{DaBlockHeader, DaRollupBatch};
use prost::Message;

use crate::DaError;

/// First bytes of every Babel blob.
pub const MAGIC: [u8; 4] = *b"BABL";
/// Format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Codec byte for zstd.
pub const CODEC_ZSTD: u8 = 1;
/// Bytes of the frame head.
pub const HEAD_LEN: usize = 12;
/// Largest payload (before compression) a decoder accepts: above the largest block a genesis
/// may allow, so that no honest blob is refused.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Largest header-blob payload: a header, a certificate and the list of a block's rollup
/// blobs are far smaller, and a header blob is decoded before anything about it is checked.
pub const MAX_HEADER_PAYLOAD_BYTES: usize = 1024 * 1024;
/// zstd level: 3 (zstd's default) compresses transactions within a few percent of level 19 at
/// a tenth of the time; the poster must keep up with block production.
const ZSTD_LEVEL: i32 = 3;
/// Largest zstd window a decoder will set up (8 MiB, the largest payload).
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A [`DaRollupBatch`], in a rollup's namespace.
    RollupBatch = 1,
    /// A [`DaBlockHeader`], in the sequencer namespace.
    BlockHeader = 2,
}

/// A decoded blob.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A rollup's transactions of one block (or a part of them).
    RollupBatch(DaRollupBatch),
    /// A block's header, certificate and the list of its rollup blobs.
    BlockHeader(DaBlockHeader),
}

impl Payload {
    fn kind(&self) -> Kind {
        match self {
            Payload::RollupBatch(_) => Kind::RollupBatch,
            Payload::BlockHeader(_) => Kind::BlockHeader,
        }
    }
}

/// Frame and compress `payload`.
pub fn encode(payload: &Payload) -> Result<Vec<u8>, DaError> {
    let (raw, max) = match payload {
        Payload::RollupBatch(m) => (m.encode_to_vec(), MAX_PAYLOAD_BYTES),
        Payload::BlockHeader(m) => (m.encode_to_vec(), MAX_HEADER_PAYLOAD_BYTES),
    };
    if raw.len() > max {
        return Err(DaError::TooLarge {
            len: raw.len(),
            max,
        });
    }
    let compressed = zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(DaError::Compress)?;
    let mut out = Vec::with_capacity(HEAD_LEN + compressed.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[VERSION, payload.kind() as u8, CODEC_ZSTD, 0]);
    // Bounded by MAX_PAYLOAD_BYTES above, so it fits.
    out.extend_from_slice(&u32::try_from(raw.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&compressed);
    Ok(out)
}

/// Decode a blob, refusing anything malformed with the reason.
pub fn decode(bytes: &[u8]) -> Result<Payload, DaError> {
    let (kind, len) = head(bytes)?;
    let raw = decompress(&bytes[HEAD_LEN..], len)?;
    match kind {
        Kind::RollupBatch => DaRollupBatch::decode(raw.as_slice())
            .map(Payload::RollupBatch)
            .map_err(|e| DaError::Protobuf(e.to_string())),
        Kind::BlockHeader => DaBlockHeader::decode(raw.as_slice())
            .map(Payload::BlockHeader)
            .map_err(|e| DaError::Protobuf(e.to_string())),
    }
}

/// The payload length a blob declares (before decompression), after checking its head.
pub fn declared_len(bytes: &[u8]) -> Result<usize, DaError> {
    head(bytes).map(|(_, len)| len)
}

/// Check a frame's head: its kind and declared payload length.
fn head(bytes: &[u8]) -> Result<(Kind, usize), DaError> {
    let head = bytes.get(..HEAD_LEN).ok_or(DaError::Truncated)?;
    if head[..4] != MAGIC {
        return Err(DaError::NotBabel);
    }
    if head[4] != VERSION {
        return Err(DaError::Version(head[4]));
    }
    let kind = match head[5] {
        1 => Kind::RollupBatch,
        2 => Kind::BlockHeader,
        other => return Err(DaError::Kind(other)),
    };
    if head[6] != CODEC_ZSTD {
        return Err(DaError::Codec(head[6]));
    }
    if head[7] != 0 {
        return Err(DaError::Reserved);
    }
    let len = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
    let max = match kind {
        Kind::RollupBatch => MAX_PAYLOAD_BYTES,
        Kind::BlockHeader => MAX_HEADER_PAYLOAD_BYTES,
    };
    if len > max {
        return Err(DaError::TooLarge { len, max });
    }
    Ok((kind, len))
}

/// Decompress exactly `len` bytes: the buffer is allocated once at the declared length (at
/// most [`MAX_PAYLOAD_BYTES`]), and a frame that holds more or less is refused.
fn decompress(frame: &[u8], len: usize) -> Result<Vec<u8>, DaError> {
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(DaError::Decompress)?;
    decompressor
        .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(
            ZSTD_WINDOW_LOG_MAX,
        ))
        .map_err(DaError::Decompress)?;
    let mut raw = Vec::with_capacity(len);
    let written = decompressor
        .decompress_to_buffer(frame, &mut raw)
        .map_err(DaError::Decompress)?;
    if written != len {
        return Err(DaError::Length {
            declared: len,
            actual: written,
        });
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use babel_proto::v1::SignedTransaction;

    fn batch() -> Payload {
        Payload::RollupBatch(DaRollupBatch {
            chain_id: "babel-test".into(),
            height: 7,
            rollup_id: 1,
            block_hash: vec![0xAB; 32].into(),
            part: 0,
            parts: 1,
            positions: vec![0, 2],
            txs: vec![
                SignedTransaction {
                    body: vec![1; 100].into(),
                    signature: vec![2; 64].into(),
                    ..Default::default()
                };
                2
            ],
        })
    }

    #[test]
    fn round_trips_and_compresses() {
        let bytes = encode(&batch()).unwrap();
        assert_eq!(&bytes[..4], b"BABL");
        assert_eq!(decode(&bytes).unwrap(), batch());
        let raw = match batch() {
            Payload::RollupBatch(m) => m.encoded_len(),
            Payload::BlockHeader(_) => unreachable!(),
        };
        assert!(bytes.len() < raw, "{} >= {raw}", bytes.len());
    }

    #[test]
    fn refuses_every_malformed_head() {
        let good = encode(&batch()).unwrap();
        let with = |i: usize, b: u8| {
            let mut v = good.clone();
            v[i] = b;
            decode(&v).unwrap_err()
        };
        assert_eq!(decode(&good[..5]).unwrap_err(), DaError::Truncated);
        assert_eq!(with(0, b'X'), DaError::NotBabel);
        assert_eq!(with(4, 2), DaError::Version(2));
        assert_eq!(with(5, 9), DaError::Kind(9));
        assert_eq!(with(6, 0), DaError::Codec(0));
        assert_eq!(with(7, 1), DaError::Reserved);
        // A declared length beyond the limit is refused before anything is allocated.
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode(&huge).unwrap_err(),
            DaError::TooLarge { .. }
        ));
        // A header blob may declare far less than a rollup batch.
        let mut header = encode(&Payload::BlockHeader(DaBlockHeader::default())).unwrap();
        let over = u32::try_from(MAX_HEADER_PAYLOAD_BYTES + 1).unwrap();
        header[8..12].copy_from_slice(&over.to_be_bytes());
        assert!(matches!(
            decode(&header).unwrap_err(),
            DaError::TooLarge {
                max: MAX_HEADER_PAYLOAD_BYTES,
                ..
            }
        ));
        // A frame holding more or fewer bytes than declared is refused.
        let mut short = good.clone();
        let declared = u32::from_be_bytes(good[8..12].try_into().unwrap());
        short[8..12].copy_from_slice(&(declared - 1).to_be_bytes());
        assert!(matches!(
            decode(&short).unwrap_err(),
            DaError::Decompress(_)
        ));
        let mut long = good;
        long[8..12].copy_from_slice(&(declared + 1).to_be_bytes());
        assert!(matches!(decode(&long).unwrap_err(), DaError::Length { .. }));
    }
}
