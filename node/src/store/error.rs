//! Storage errors. All are fatal to the node except [`StoreError::GenesisMismatch`] at start-up,
//! which is an operator mistake (wrong home directory).

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed (disk full, I/O error, corruption it detected).
    #[error("database error: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A column family the node creates on open is missing.
    #[error("database lacks column family {0}")]
    MissingColumnFamily(&'static str),
    /// A stored record does not decode.
    #[error("corrupt {what} record (height {height})")]
    Corrupt {
        /// What kind of record.
        what: &'static str,
        /// Height, where known (0 otherwise).
        height: u64,
    },
    /// The database was created for a different genesis.
    #[error("database belongs to genesis {stored}, not {expected}: wrong home directory?")]
    GenesisMismatch {
        /// Genesis hash recorded in the database.
        stored: String,
        /// Genesis hash of the loaded genesis file.
        expected: String,
    },
    /// A commit skipped a height.
    #[error("commit of height {got} but the next height is {expected}")]
    HeightGap {
        /// The next height the store expects.
        expected: u64,
        /// The height offered.
        got: u64,
    },
    /// A different block was offered for an already committed height: a fork, never expected.
    #[error("a different block is already committed at height {height}")]
    ConflictingCommit {
        /// The height.
        height: u64,
    },
    /// A block carries a certificate that is not for its parent: the application let through
    /// a block it should have refused, never expected.
    #[error("block {height} carries a certificate that is not its parent's")]
    ForeignCertificate {
        /// Height of the block.
        height: u64,
    },
    /// The store was written by a build with another layout: the node cannot read it. Fatal;
    /// the way out is a fresh `data/` directory, synced from peers.
    #[error(
        "the store has layout {found}, this build reads layout {}: remove the home's data/ \
         directory (the node syncs the chain again from its peers)",
        super::FORMAT
    )]
    Format {
        /// The layout the store records (1: before layouts were recorded).
        found: u32,
    },
    /// A height is recorded as decided but its block is not among the stored proposals (it
    /// was stored, synced, before the vote): the store is damaged. Fatal.
    #[error("height {height} is decided but its block is not among the stored proposals")]
    DecidedWithoutProposal {
        /// The decided height.
        height: u64,
    },
    /// More than `u32::MAX` transactions in a block.
    #[error("too many transactions in one block")]
    TooManyTransactions,
}
