//! What the consensus driver needs from the node: the [`Application`] trait.
//!
//! The driver owns the Malachite protocol (streaming, re-asks, sync, restarts); the application
//! owns blocks and state. Methods are synchronous and called from the driver's task one at a
//! time, in consensus order. An `Err` is fatal: the driver stops and the node exits, to be
//! restarted from its store and WAL.

use std::{future::Future, pin::Pin, sync::Arc};

use tokio::sync::Notify;

use babel_proto::v1;

use crate::{Address, ConsensusError, Height};

/// Stored undecided proposals of one (height, round): (block hash, opaque bytes).
pub type StoredProposals = Vec<([u8; 32], Vec<u8>)>;

/// Resolves once a block built now would hold transactions (see
/// [`Application::transactions_ready`]).
pub type TransactionsReady = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A [`TransactionsReady`] that resolves once `check` holds, checked at once and again each
/// time `arrivals` is notified. Notifiers must use `notify_one`, which keeps a wake-up for a
/// waiter yet to come, so an arrival between a check and the wait is not missed.
pub fn ready_when(
    arrivals: Arc<Notify>,
    check: impl Fn() -> bool + Send + 'static,
) -> TransactionsReady {
    Box::pin(async move {
        loop {
            let arrived = arrivals.notified();
            if check() {
                return;
            }
            arrived.await;
        }
    })
}

/// Why a block was refused: a small closed set, so that operators can count refusals by
/// kind (the metric label) while the log keeps the precise reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// The header does not extend the committed chain: chain id, height, parent, time, or a
    /// proposer outside the validator set.
    Header,
    /// The block's time is too far ahead of this node's clock.
    Clock,
    /// The header names a validator that did not build the block in any round so far.
    Proposer,
    /// The proposal stream is not signed by the round's proposer.
    Signature,
    /// The block or its stream does not decode, or is for another height.
    Malformed,
    /// A transaction breaks the admission rules, or the block's limits.
    Transactions,
    /// The transaction root does not commit to the transactions.
    TxRoot,
    /// Re-executing the block gives other roots than its header claims.
    Execution,
    /// The block's certificate of its parent is missing, not committed to by its header, or
    /// does not hold.
    Certificate,
}

impl Refusal {
    /// Every kind, in label order.
    pub const ALL: [Refusal; 9] = [
        Refusal::Header,
        Refusal::Clock,
        Refusal::Proposer,
        Refusal::Signature,
        Refusal::Malformed,
        Refusal::Transactions,
        Refusal::TxRoot,
        Refusal::Execution,
        Refusal::Certificate,
    ];

    /// The kind as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Header => "header",
            Refusal::Clock => "clock",
            Refusal::Proposer => "proposer",
            Refusal::Signature => "signature",
            Refusal::Malformed => "malformed",
            Refusal::Transactions => "transactions",
            Refusal::TxRoot => "tx_root",
            Refusal::Execution => "execution",
            Refusal::Certificate => "certificate",
        }
    }
}

/// Most bytes of a refusal's reason: a reason may quote a proposer's bytes, and is logged.
pub const MAX_REASON_BYTES: usize = 256;

/// Whether a block may be decided and, when not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The block may be decided.
    Valid,
    /// The block may not be decided: the kind of refusal, and the precise reason for logs.
    Invalid(Refusal, String),
}

impl Verdict {
    /// A valid block.
    pub fn valid() -> Self {
        Self::Valid
    }

    /// An invalid block, the kind of refusal and why.
    /// Reasons are logged and may quote what a proposer sent: cut to at most
    /// [`MAX_REASON_BYTES`].
    pub fn invalid(kind: Refusal, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON_BYTES {
            reason.truncate(reason.floor_char_boundary(MAX_REASON_BYTES));
            reason.push('…');
        }
        Self::Invalid(kind, reason)
    }

    /// Whether the block may be decided.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }

    /// The kind of refusal, for an invalid block.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Valid => None,
            Self::Invalid(kind, _) => Some(*kind),
        }
    }

    /// Why the block is invalid (empty for a valid one).
    pub fn reason(&self) -> &str {
        match self {
            Self::Valid => "",
            Self::Invalid(_, reason) => reason,
        }
    }
}

/// Where a block to validate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOrigin {
    /// A proposal for the height being decided: it must also look recent by this node's
    /// clock, because voting for it would let a proposer push the chain's time ahead.
    Proposal,
    /// A proposal re-proposing the value a quorum prevoted in an earlier round (it carries a
    /// proof-of-lock round): it must be valid, but need not look recent, or validators locked
    /// on it could never decide it after slow rounds.
    Reproposal,
    /// A block already decided by a quorum (sync hands it over with its certificate): it must
    /// be valid, but not recent, since a node catching up may see it long after, or with a
    /// clock that is behind.
    Decided,
}

/// The node side of consensus.
pub trait Application: Send + 'static {
    /// Highest committed height (0 before the first block).
    fn committed_height(&self) -> Result<Height, ConsensusError>;

    /// Build a new block for `height`, proposed by `proposer` (this node). The driver stores it
    /// and re-uses it if the same height and round are asked for again, so this is called at
    /// most once per (height, round).
    fn build_block(
        &mut self,
        height: Height,
        proposer: Address,
    ) -> Result<v1::Block, ConsensusError>;

    /// A future that resolves once a block built now would hold transactions, at once if it
    /// already would. On a chain whose genesis sets `empty_block_wait_ms`, the driver awaits
    /// it, up to that long, after each finalized height before it starts the next; it may
    /// resolve early (the height then starts with what there is). The default resolves at
    /// once: never wait.
    fn transactions_ready(&self) -> TransactionsReady {
        Box::pin(std::future::ready(()))
    }

    /// Check a block proposed by a peer or fetched by sync, at the next height to commit: its
    /// header links to the committed chain and re-executing it gives the same roots. The
    /// driver has already checked that the header's proposer is the round's proposer.
    fn validate_block(
        &mut self,
        block: &v1::Block,
        origin: BlockOrigin,
    ) -> Result<Verdict, ConsensusError>;

    /// Durably store an undecided proposal (opaque bytes) before it is acknowledged.
    fn store_proposal(
        &mut self,
        height: Height,
        round: u32,
        block_hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<(), ConsensusError>;

    /// Undecided proposals stored for (height, round), as (block hash, bytes).
    fn proposals(&self, height: Height, round: u32) -> Result<StoredProposals, ConsensusError>;

    /// A stored undecided proposal of `height` (any round) with this block hash.
    fn proposal_by_hash(
        &self,
        height: Height,
        block_hash: [u8; 32],
    ) -> Result<Option<Vec<u8>>, ConsensusError>;

    /// Commit a decided block with its certificate, atomically and durably. Committing the same
    /// block twice is a no-op.
    fn commit(
        &mut self,
        block: v1::Block,
        certificate: v1::CommitCertificate,
    ) -> Result<(), ConsensusError>;

    /// The committed block and certificate at `height`, for peers that sync.
    fn decided(
        &self,
        height: Height,
    ) -> Result<Option<(v1::Block, v1::CommitCertificate)>, ConsensusError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_quoting_a_proposer_is_cut_at_a_char_boundary() {
        let long = format!("chain id {:?}", "é".repeat(10_000));
        let v = Verdict::invalid(Refusal::Header, long);
        let reason = v.reason();
        assert!(
            reason.len() <= MAX_REASON_BYTES + '…'.len_utf8(),
            "{}",
            reason.len()
        );
        assert!(reason.starts_with("chain id \"éé") && reason.ends_with('…'));
        assert_eq!(Verdict::invalid(Refusal::Clock, "short").reason(), "short");
    }
}
