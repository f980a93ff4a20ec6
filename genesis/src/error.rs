//! Genesis errors. All are fatal for the node that loads the file: it cannot start on it.

use std::path::PathBuf;

/// Why a genesis file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`crate::Genesis::MAX_FILE_BYTES`].
    #[error("genesis file is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Size of the input.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not valid genesis JSON (syntax, unknown field, wrong type).
    #[error("malformed genesis at line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde reported.
        message: String,
    },
    /// The file parsed but breaks a rule; `field` is a path such as `validators[2].voting_power`.
    #[error("invalid genesis: {field}: {reason}")]
    Invalid {
        /// Path of the offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An EVM account's code starts with the byte 0xEF, which EIP-3541 reserves: no deployed
    /// contract may start with it, and an EVM cannot load such code as a contract (it reads
    /// `0xEF01…` as an EIP-7702 delegation and cannot decode a malformed one).
    #[error("invalid genesis: {field}: code of {address} starts with 0xEF (EIP-3541)")]
    EvmCodeReserved {
        /// Path of the code field, such as `rollups[0].initial_state.alloc[3].code`.
        field: String,
        /// The account.
        address: alloy_primitives::Address,
    },
}

impl GenesisError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
