//! Why a proof or a certificate is refused.

/// A verification failure. None is transient: the same input is refused again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The validator set given as trusted is unusable.
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(String),
    /// The response lacks a part (header, certificate, ...).
    #[error("missing {0}")]
    Missing(&'static str),
    /// The header is for another chain.
    #[error("header is for chain {found:?}, not {expected:?}")]
    WrongChain {
        /// The trusted chain id.
        expected: String,
        /// The header's.
        found: String,
    },
    /// The certificate certifies another height than the header's.
    #[error("certificate is for height {certificate}, header for {header}")]
    HeightMismatch {
        /// The header's height.
        header: u64,
        /// The certificate's height.
        certificate: u64,
    },
    /// The certificate certifies another block than this header.
    #[error("certificate signs block {certified}, the header hashes to {header}")]
    BlockHashMismatch {
        /// Hex of the header's hash.
        header: String,
        /// Hex of the hash the certificate signs.
        certified: String,
    },
    /// A signature comes from a key outside the validator set.
    #[error("signature by unknown validator {0}")]
    UnknownValidator(String),
    /// A validator signed twice.
    #[error("validator {0} signed twice")]
    DuplicateSignature(String),
    /// A signature does not verify.
    #[error("bad signature by validator {0}")]
    BadSignature(String),
    /// The signers hold two thirds of the power or less.
    #[error("signers hold {signed} of {total} voting power, more than two thirds needed")]
    InsufficientPower {
        /// Power of the valid signatures.
        signed: u64,
        /// Power of the whole set.
        total: u64,
    },
    /// The header has no root for this rollup.
    #[error("header has no state root for rollup {0}")]
    UnknownRollup(u64),
    /// The proof bytes do not decode.
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// The proof does not lead from the value to the header's root.
    #[error("proof does not match the header's {0}")]
    RootMismatch(&'static str),
    /// A proven outgoing message does not decode, or is not the one asked for.
    #[error("malformed message: {0}")]
    MalformedMessage(String),
    /// The index is not in the block.
    #[error("index {index} is outside the block's {count} transactions")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// Transactions in the block.
        count: u64,
    },
}
