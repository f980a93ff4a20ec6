//! Errors of the consensus crate.

/// A consensus-layer failure.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// Bytes from a peer, the WAL or the store do not decode. Not fatal: the message is dropped
    /// (a peer may be penalised).
    #[error("decode error: {0}")]
    Decode(String),
    /// A validator set is unusable. Fatal at start-up.
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(String),
    /// The Malachite engine failed to start or stopped. Fatal: the node exits and is restarted.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// The application failed (storage, execution). Fatal: consensus cannot continue safely.
    #[error("application: {0}")]
    Application(String),
}
