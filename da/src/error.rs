//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in babel-da. [`DaError::is_transient`] says whether retrying
/// the same call later can succeed (the DA layer is down or slow) or whether the input itself
/// is wrong.
#[derive(Debug, Error)]
pub enum DaError {
    // --- blob format: an untrusted blob is malformed (never transient) ---
    /// Shorter than the frame head.
    #[error("blob: truncated frame head")]
    Truncated,
    /// Does not start with `BABL`.
    #[error("blob: not a Babel blob")]
    NotBabel,
    /// A format version this node does not read.
    #[error("blob: unknown format version {0}")]
    Version(u8),
    /// A payload kind this node does not know.
    #[error("blob: unknown payload kind {0}")]
    Kind(u8),
    /// A compression codec this node does not know.
    #[error("blob: unknown codec {0}")]
    Codec(u8),
    /// The reserved head byte is not zero.
    #[error("blob: reserved head byte is not zero")]
    Reserved,
    /// A payload larger than the format allows.
    #[error("blob: payload of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Declared or actual length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The compressed frame decompresses to another length than declared.
    #[error("blob: payload is {actual} bytes, the head says {declared}")]
    Length {
        /// Length in the head.
        declared: usize,
        /// Length decompressed.
        actual: usize,
    },
    /// zstd refused the frame.
    #[error("blob: cannot decompress: {0}")]
    Decompress(std::io::Error),
    /// zstd failed to compress (out of memory).
    #[error("blob: cannot compress: {0}")]
    Compress(std::io::Error),
    /// The payload is not the protobuf message its kind says.
    #[error("blob: bad payload: {0}")]
    Protobuf(String),
    /// A blob's contents contradict the block it claims to belong to.
    #[error("blob: {0}")]
    Inconsistent(String),

    // --- the DA layer ---
    /// The DA layer could not be reached or did not answer in time (transient).
    #[error("DA unavailable: {0}")]
    Unavailable(String),
    /// The DA layer refused the credentials (fatal until the configuration changes).
    #[error("DA refused the auth token")]
    Unauthorized,
    /// The DA layer refused the request itself (a blob too large, a reserved namespace...).
    #[error("DA refused the request: {0}")]
    Refused(String),
    /// The DA layer does not have this height yet (transient).
    #[error("DA height {requested} is beyond its head {head}")]
    FutureHeight {
        /// Height asked for.
        requested: u64,
        /// The DA's head.
        head: u64,
    },
    /// The local DA's storage failed (fatal for that backend).
    #[error("local DA storage: {0}")]
    Storage(String),
    /// Celestia types refused a value (a namespace, a blob, a header).
    #[error("celestia: {0}")]
    Celestia(String),
}

impl DaError {
    /// Whether the same call may succeed later: the DA layer is down, slow or behind.
    pub fn is_transient(&self) -> bool {
        matches!(self, DaError::Unavailable(_) | DaError::FutureHeight { .. })
    }
}

impl PartialEq for DaError {
    /// Errors compare by variant and message, so tests can say which one they expect.
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.to_string() == other.to_string()
    }
}

impl From<celestia_types::Error> for DaError {
    fn from(e: celestia_types::Error) -> Self {
        DaError::Celestia(e.to_string())
    }
}
