//! Proposal parts: how a proposed block travels from the proposer to the other validators.
//!
//! The proposer encodes the block, cuts it into chunks of at most [`CHUNK_BYTES`], and streams
//! `Init`, the `Data` chunks and a `Fin` carrying its signature over
//! `sha256("babel/parts/v2" || height || round || pol_round || sha256(block bytes))`. A receiver
//! accepts the stream only if the signer is the round's proposer and the signature verifies.
//! The proof-of-lock round is signed too: it tells validators which earlier round's polka the
//! proposal re-proposes, so a relay must not be able to rewrite it.

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{self as mc, Round};
use malachitebft_signing_ed25519::Signature;
use sha2::{Digest, Sha256};

use crate::{Address, BabelContext, Height};

/// Largest data chunk of a streamed block.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// One part of a streamed proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    /// Opens the stream.
    Init {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// Proof-of-lock round.
        pol_round: Round,
        /// The proposer.
        proposer: Address,
    },
    /// A chunk of the encoded block.
    Data(Bytes),
    /// Closes the stream with the proposer's signature.
    Fin(Signature),
}

impl mc::ProposalPart<BabelContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init { .. })
    }

    fn is_last(&self) -> bool {
        matches!(self, Self::Fin(_))
    }
}

/// The bytes the proposer signs in `Fin`.
pub fn parts_sign_bytes(
    height: Height,
    round: Round,
    pol_round: Round,
    block_bytes: &[u8],
) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"babel/parts/v2")
        .chain_update(height.0.to_be_bytes())
        .chain_update(round.as_i64().to_be_bytes())
        .chain_update(pol_round.as_i64().to_be_bytes())
        .chain_update(Sha256::digest(block_bytes))
        .finalize()
        .into()
}
