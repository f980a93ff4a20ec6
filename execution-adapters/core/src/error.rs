//! Errors of the execution core.

/// Why execution could not proceed. Every variant is *fatal* for the block being executed: it
/// says nothing about the transaction (a transaction that fails is a failed receipt, not an
/// error), so the node must stop rather than commit a result other nodes may not share.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Reading committed state failed (disk, corruption).
    #[error("state read failed: {0}")]
    State(String),
    /// The state commitment could not be computed or read.
    #[error("state commitment: {0}")]
    Commitment(String),
    /// A transaction names a rollup that has no adapter (admission should have refused it).
    #[error("no execution adapter for rollup {0}")]
    UnknownRollup(u64),
    /// A committed transaction does not decode (admission should have refused it).
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// An adapter failed internally in a way that is not the transaction's fault.
    #[error("{vm} adapter: {message}")]
    Adapter {
        /// The VM whose adapter failed.
        vm: babel_genesis::VmKind,
        /// What went wrong.
        message: String,
    },
    /// Genesis state could not be loaded.
    #[error("genesis state of rollup {rollup}: {message}")]
    Genesis {
        /// The rollup.
        rollup: u64,
        /// What is wrong.
        message: String,
    },
}
