//! ed25519 signing and verification of consensus messages.
//!
//! Every signed message is domain-separated by kind and bound to the chain id, so a vote from
//! one Babel chain can never count on another. The bytes depend only on the message fields
//! (never on the vote extension), because Malachite re-derives votes from certificates and
//! checks their signatures.

use std::sync::Arc;

use async_trait::async_trait;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error, Signer, VerificationResult, Verifier};
use malachitebft_signing_ed25519::{PrivateKey, PublicKey, Signature};

use babel_settlement::signing;

use crate::{Address, BabelContext, BlockHash, Proposal, Vote};

fn value_hash(value: &NilOrVal<BlockHash>) -> Option<&[u8; 32]> {
    match value {
        NilOrVal::Nil => None,
        NilOrVal::Val(hash) => Some(&hash.0),
    }
}

/// Bytes a validator signs for a vote (the layout light clients check, see `babel-settlement`).
pub fn vote_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    let domain = match vote.vote_type {
        VoteType::Prevote => signing::PREVOTE,
        VoteType::Precommit => signing::PRECOMMIT,
    };
    signing::vote_bytes(
        domain,
        chain_id,
        vote.height.0,
        vote.round.as_i64(),
        value_hash(&vote.value),
        &vote.validator.0,
    )
}

/// Bytes a proposer signs for a proposal.
pub fn proposal_sign_bytes(chain_id: &str, proposal: &Proposal) -> Vec<u8> {
    let mut out = signing::message_prefix(
        b"babel/proposal/v1",
        chain_id,
        proposal.height.0,
        proposal.round.as_i64(),
        Some(&proposal.value.0),
    );
    out.extend_from_slice(&proposal.pol_round.as_i64().to_be_bytes());
    out.extend_from_slice(&proposal.proposer.0);
    out
}

fn extension_sign_bytes(chain_id: &str, scope: &VoteExtensionScope<BabelContext>) -> Vec<u8> {
    let mut out = signing::message_prefix(
        b"babel/vote-extension/v1",
        chain_id,
        scope.height.0,
        scope.round.as_i64(),
        Some(&scope.value_id.0),
    );
    out.extend_from_slice(&scope.validator_address.0);
    out
}

/// Signs consensus messages with the validator's key.
#[derive(Clone)]
pub struct BabelSigner {
    key: PrivateKey,
    chain_id: Arc<str>,
}

impl std::fmt::Debug for BabelSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BabelSigner")
            .field("address", &self.address())
            .finish()
    }
}

impl BabelSigner {
    /// A signer for `chain_id` from a 32-byte ed25519 secret seed.
    pub fn new(chain_id: &str, secret: [u8; 32]) -> Self {
        Self {
            key: PrivateKey::from(secret),
            chain_id: chain_id.into(),
        }
    }

    /// The signer's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The signer's validator address.
    pub fn address(&self) -> Address {
        Address::from_public_key(&self.public_key())
    }

    /// Sign raw bytes (proposal-part streams).
    pub fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        self.key.sign(bytes)
    }
}

#[async_trait]
impl Signer<BabelContext> for BabelSigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<BabelContext, Vote>, Error> {
        let signature = self.key.sign(&vote_sign_bytes(&self.chain_id, &vote));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<BabelContext, Proposal>, Error> {
        let signature = self
            .key
            .sign(&proposal_sign_bytes(&self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<BabelContext>,
        extension: (),
    ) -> Result<SignedMessage<BabelContext, ()>, Error> {
        let signature = self.key.sign(&extension_sign_bytes(&self.chain_id, &scope));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<BabelContext>, Error> {
        let signature = self
            .key
            .sign(&ValidatorProof::<BabelContext>::signing_bytes(
                &public_key,
                &peer_id,
            ));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Verifies consensus signatures for one chain.
#[derive(Clone, Debug)]
pub struct BabelVerifier {
    chain_id: Arc<str>,
}

impl BabelVerifier {
    /// A verifier for `chain_id`.
    pub fn new(chain_id: &str) -> Self {
        Self {
            chain_id: chain_id.into(),
        }
    }
}

fn check(key: &PublicKey, bytes: &[u8], signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(key.verify(bytes, signature).is_ok())
}

#[async_trait]
impl Verifier<BabelContext> for BabelVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            public_key,
            &vote_sign_bytes(&self.chain_id, vote),
            signature,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            public_key,
            &proposal_sign_bytes(&self.chain_id, proposal),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<BabelContext>,
        _extension: &(),
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(check(
            public_key,
            &extension_sign_bytes(&self.chain_id, scope),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<BabelContext>,
    ) -> Result<VerificationResult, Error> {
        let Ok(key) = proof.decoded_public_key() else {
            return Ok(VerificationResult::Invalid);
        };
        Ok(check(&key, &proof.preimage(), &proof.signature))
    }
}
