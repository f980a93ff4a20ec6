//! Babel consensus: Malachite (Tendermint) BFT ordering of Babel blocks.
//!
//! - [`BabelContext`] tells Malachite which types it runs on: [`Height`], validator
//!   [`Address`]es, the block hash as the consensus value, [`Proposal`]s, [`Vote`]s and
//!   streamed [`ProposalPart`]s, ed25519 signatures.
//! - [`ProtoCodec`] encodes all of them as `babel.v1` protobuf for the network, the WAL and sync.
//! - [`start`] launches the engine (libp2p networking, WAL, sync) and a driver that answers the
//!   engine through the [`Application`] trait, which the node implements over its store and
//!   executor. This crate knows nothing of virtual machines or DA.

mod app;
mod codec;
mod context;
mod driver;
mod error;
mod metrics;
mod parts;
mod signing;
mod streaming;
mod types;

#[cfg(feature = "test-utils")]
pub mod test_utils;

pub use app::{
    Application, BlockOrigin, MAX_REASON_BYTES, Refusal, StoredProposals, TransactionsReady,
    Verdict, ready_when,
};
pub use codec::{ProtoCodec, certificate_from_proto, certificate_to_proto};
pub use context::{BabelContext, Proposal, Vote};
pub use driver::{ConsensusHandle, EngineConfig, PeerCount, Peers, start, verify_certificate};
pub use error::ConsensusError;
pub use metrics::{ConsensusMetrics, engine_metrics};
pub use parts::{CHUNK_BYTES, ProposalPart, parts_sign_bytes};
pub use signing::{BabelSigner, BabelVerifier, proposal_sign_bytes, vote_sign_bytes};
pub use streaming::{AssembledProposal, PartOutcome, PartStreams, stream_messages};
pub use types::{Address, BlockHash, Height, Validator, ValidatorSet};
