//! Protobuf codec for everything Malachite puts on the network, in its WAL and in sync.
//!
//! Messages are the `babel.v1` consensus messages (`proto/babel/v1/consensus.proto`). Decoding
//! checks every length and range, since the bytes come from peers or from disk.

use bytes::Bytes;
use malachitebft_app_channel::app::{
    consensus::LivenessMsg,
    streaming::{StreamContent, StreamId, StreamMessage},
    types::{
        PeerId, ProposedValue, SignedConsensusMsg,
        codec::{Codec, HasEncodedLen},
        core::{
            CommitCertificate, CommitSignature, ExtendedCommitCertificate, ExtendedCommitSignature,
            NilOrVal, PolkaCertificate, PolkaSignature, Round, RoundCertificate,
            RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof, Validity,
            VoteType,
        },
        sync::{RawDecidedValue, Request, Response, Status},
    },
};
use malachitebft_signing_ed25519::Signature;
use malachitebft_sync::{ValueRequest, ValueResponse};
use prost::Message;

use babel_proto::v1;

use crate::{
    Address, BabelContext, BlockHash, ConsensusError, Height, Proposal, ProposalPart, Vote,
};

/// The one codec Babel gives Malachite for network, WAL and sync.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProtoCodec;

type Result<T> = std::result::Result<T, ConsensusError>;

fn err(msg: impl Into<String>) -> ConsensusError {
    ConsensusError::Decode(msg.into())
}

fn decode_proto<M: Message + Default>(bytes: Bytes) -> Result<M> {
    M::decode(bytes).map_err(|e| err(e.to_string()))
}

pub(crate) fn round_from_i64(r: i64) -> Result<Round> {
    match r {
        -1 => Ok(Round::Nil),
        0..=0xFFFF_FFFF => Ok(Round::new(r as u32)),
        _ => Err(err(format!("round {r} out of range"))),
    }
}

fn signature(bytes: &[u8]) -> Result<Signature> {
    Signature::try_from(bytes).map_err(|_| err("signature must be 64 bytes"))
}

fn value_to_bytes(value: &NilOrVal<BlockHash>) -> Bytes {
    match value {
        NilOrVal::Nil => Bytes::new(),
        NilOrVal::Val(h) => Bytes::copy_from_slice(&h.0),
    }
}

fn value_from_bytes(bytes: &[u8]) -> Result<NilOrVal<BlockHash>> {
    if bytes.is_empty() {
        Ok(NilOrVal::Nil)
    } else {
        BlockHash::from_slice(bytes).map(NilOrVal::Val)
    }
}

fn vote_type_to_u32(t: VoteType) -> u32 {
    match t {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    }
}

fn vote_type_from_u32(t: u32) -> Result<VoteType> {
    match t {
        1 => Ok(VoteType::Prevote),
        2 => Ok(VoteType::Precommit),
        _ => Err(err(format!("unknown vote type {t}"))),
    }
}

fn vote_to_proto(vote: &Vote) -> v1::ConsensusVote {
    v1::ConsensusVote {
        vote_type: vote_type_to_u32(vote.vote_type),
        height: vote.height.0,
        round: vote.round.as_u32().unwrap_or(0),
        block_hash: value_to_bytes(&vote.value),
        validator: Bytes::copy_from_slice(&vote.validator.0),
    }
}

fn vote_from_proto(v: v1::ConsensusVote) -> Result<Vote> {
    Ok(Vote {
        vote_type: vote_type_from_u32(v.vote_type)?,
        height: Height(v.height),
        round: Round::new(v.round),
        value: value_from_bytes(&v.block_hash)?,
        validator: Address::from_slice(&v.validator)?,
        extension: None,
    })
}

fn signed_vote_to_proto(vote: &SignedMessage<BabelContext, Vote>) -> v1::SignedVote {
    v1::SignedVote {
        vote: Some(vote_to_proto(&vote.message)),
        signature: Bytes::copy_from_slice(&vote.signature.to_bytes()),
    }
}

fn signed_vote_from_proto(v: v1::SignedVote) -> Result<SignedMessage<BabelContext, Vote>> {
    let vote = vote_from_proto(v.vote.ok_or_else(|| err("signed vote without vote"))?)?;
    Ok(SignedMessage::new(vote, signature(&v.signature)?))
}

fn proposal_to_proto(p: &Proposal) -> v1::ConsensusProposal {
    v1::ConsensusProposal {
        height: p.height.0,
        round: p.round.as_u32().unwrap_or(0),
        block_hash: Bytes::copy_from_slice(&p.value.0),
        pol_round: p.pol_round.as_i64(),
        proposer: Bytes::copy_from_slice(&p.proposer.0),
    }
}

fn proposal_from_proto(p: v1::ConsensusProposal) -> Result<Proposal> {
    Ok(Proposal {
        height: Height(p.height),
        round: Round::new(p.round),
        value: BlockHash::from_slice(&p.block_hash)?,
        pol_round: round_from_i64(p.pol_round)?,
        proposer: Address::from_slice(&p.proposer)?,
    })
}

fn commit_sig_to_proto(address: &Address, sig: &Signature) -> v1::CommitSignature {
    v1::CommitSignature {
        validator: Bytes::copy_from_slice(&address.0),
        signature: Bytes::copy_from_slice(&sig.to_bytes()),
    }
}

/// A commit certificate in its wire and storage form.
pub fn certificate_to_proto(cert: &CommitCertificate<BabelContext>) -> v1::CommitCertificate {
    v1::CommitCertificate {
        height: cert.height.0,
        round: cert.round.as_u32().unwrap_or(0),
        block_hash: Bytes::copy_from_slice(&cert.value_id.0),
        signatures: cert
            .commit_signatures
            .iter()
            .map(|s| commit_sig_to_proto(&s.address, &s.signature))
            .collect(),
    }
}

/// (validator, signature) pairs of a commit or polka certificate.
fn signatures_from_proto(sigs: &[v1::CommitSignature]) -> Result<Vec<(Address, Signature)>> {
    sigs.iter()
        .map(|s| Ok((Address::from_slice(&s.validator)?, signature(&s.signature)?)))
        .collect()
}

/// Parse a commit certificate from its wire and storage form.
pub fn certificate_from_proto(
    c: &v1::CommitCertificate,
) -> Result<CommitCertificate<BabelContext>> {
    let commit_signatures = signatures_from_proto(&c.signatures)?
        .into_iter()
        .map(|(address, signature)| CommitSignature { address, signature })
        .collect();
    Ok(CommitCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        value_id: BlockHash::from_slice(&c.block_hash)?,
        commit_signatures,
    })
}

fn polka_to_proto(c: &PolkaCertificate<BabelContext>) -> v1::PolkaCertificate {
    v1::PolkaCertificate {
        height: c.height.0,
        round: c.round.as_u32().unwrap_or(0),
        block_hash: Bytes::copy_from_slice(&c.value_id.0),
        signatures: c
            .polka_signatures
            .iter()
            .map(|s| commit_sig_to_proto(&s.address, &s.signature))
            .collect(),
    }
}

fn polka_from_proto(c: v1::PolkaCertificate) -> Result<PolkaCertificate<BabelContext>> {
    let polka_signatures = signatures_from_proto(&c.signatures)?
        .into_iter()
        .map(|(address, signature)| PolkaSignature { address, signature })
        .collect();
    Ok(PolkaCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        value_id: BlockHash::from_slice(&c.block_hash)?,
        polka_signatures,
    })
}

fn round_cert_to_proto(c: &RoundCertificate<BabelContext>) -> v1::RoundCertificate {
    v1::RoundCertificate {
        height: c.height.0,
        round: c.round.as_u32().unwrap_or(0),
        cert_type: match c.cert_type {
            RoundCertificateType::Skip => 1,
            RoundCertificateType::Precommit => 2,
        },
        signatures: c
            .round_signatures
            .iter()
            .map(|s| v1::RoundSignature {
                vote_type: vote_type_to_u32(s.vote_type),
                block_hash: value_to_bytes(&s.value_id),
                validator: Bytes::copy_from_slice(&s.address.0),
                signature: Bytes::copy_from_slice(&s.signature.to_bytes()),
            })
            .collect(),
    }
}

fn round_cert_from_proto(c: v1::RoundCertificate) -> Result<RoundCertificate<BabelContext>> {
    let cert_type = match c.cert_type {
        1 => RoundCertificateType::Skip,
        2 => RoundCertificateType::Precommit,
        t => return Err(err(format!("unknown round certificate type {t}"))),
    };
    let round_signatures = c
        .signatures
        .iter()
        .map(|s| {
            Ok(RoundSignature {
                vote_type: vote_type_from_u32(s.vote_type)?,
                value_id: value_from_bytes(&s.block_hash)?,
                address: Address::from_slice(&s.validator)?,
                signature: signature(&s.signature)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RoundCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        cert_type,
        round_signatures,
    })
}

fn part_to_proto(part: &ProposalPart) -> v1::ProposalPart {
    use v1::proposal_part::Part;
    let part = match part {
        ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        } => Part::Init(v1::ProposalInit {
            height: height.0,
            round: round.as_u32().unwrap_or(0),
            pol_round: pol_round.as_i64(),
            proposer: Bytes::copy_from_slice(&proposer.0),
        }),
        ProposalPart::Data(chunk) => Part::Data(v1::ProposalData {
            chunk: chunk.clone(),
        }),
        ProposalPart::Fin(sig) => Part::Fin(v1::ProposalFin {
            signature: Bytes::copy_from_slice(&sig.to_bytes()),
        }),
    };
    v1::ProposalPart { part: Some(part) }
}

fn part_from_proto(p: v1::ProposalPart) -> Result<ProposalPart> {
    use v1::proposal_part::Part;
    match p.part.ok_or_else(|| err("empty proposal part"))? {
        Part::Init(i) => Ok(ProposalPart::Init {
            height: Height(i.height),
            round: Round::new(i.round),
            pol_round: round_from_i64(i.pol_round)?,
            proposer: Address::from_slice(&i.proposer)?,
        }),
        Part::Data(d) => Ok(ProposalPart::Data(d.chunk)),
        Part::Fin(f) => Ok(ProposalPart::Fin(signature(&f.signature)?)),
    }
}

impl Codec<ProposalPart> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<ProposalPart> {
        part_from_proto(decode_proto(bytes)?)
    }

    fn encode(&self, msg: &ProposalPart) -> Result<Bytes> {
        Ok(part_to_proto(msg).encode_to_vec().into())
    }
}

impl Codec<SignedConsensusMsg<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<BabelContext>> {
        use v1::signed_consensus_message::Message as M;
        let msg: v1::SignedConsensusMessage = decode_proto(bytes)?;
        let sig = signature(&msg.signature)?;
        match msg.message.ok_or_else(|| err("empty consensus message"))? {
            M::Vote(v) => Ok(SignedConsensusMsg::Vote(SignedMessage::new(
                vote_from_proto(v)?,
                sig,
            ))),
            M::Proposal(p) => Ok(SignedConsensusMsg::Proposal(SignedMessage::new(
                proposal_from_proto(p)?,
                sig,
            ))),
        }
    }

    fn encode(&self, msg: &SignedConsensusMsg<BabelContext>) -> Result<Bytes> {
        use v1::signed_consensus_message::Message as M;
        let (message, sig) = match msg {
            SignedConsensusMsg::Vote(v) => (M::Vote(vote_to_proto(&v.message)), v.signature),
            SignedConsensusMsg::Proposal(p) => {
                (M::Proposal(proposal_to_proto(&p.message)), p.signature)
            }
        };
        let out = v1::SignedConsensusMessage {
            message: Some(message),
            signature: Bytes::copy_from_slice(&sig.to_bytes()),
        };
        Ok(out.encode_to_vec().into())
    }
}

impl Codec<LivenessMsg<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<BabelContext>> {
        use v1::liveness_message::Message as M;
        let msg: v1::LivenessMessage = decode_proto(bytes)?;
        match msg.message.ok_or_else(|| err("empty liveness message"))? {
            M::Vote(v) => Ok(LivenessMsg::Vote(signed_vote_from_proto(v)?)),
            M::PolkaCertificate(c) => Ok(LivenessMsg::PolkaCertificate(polka_from_proto(c)?)),
            M::SkipRoundCertificate(c) => {
                Ok(LivenessMsg::SkipRoundCertificate(round_cert_from_proto(c)?))
            }
        }
    }

    fn encode(&self, msg: &LivenessMsg<BabelContext>) -> Result<Bytes> {
        use v1::liveness_message::Message as M;
        let message = match msg {
            LivenessMsg::Vote(v) => M::Vote(signed_vote_to_proto(v)),
            LivenessMsg::PolkaCertificate(c) => M::PolkaCertificate(polka_to_proto(c)),
            LivenessMsg::SkipRoundCertificate(c) => M::SkipRoundCertificate(round_cert_to_proto(c)),
        };
        Ok(v1::LivenessMessage {
            message: Some(message),
        }
        .encode_to_vec()
        .into())
    }
}

impl Codec<StreamMessage<ProposalPart>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<StreamMessage<ProposalPart>> {
        use v1::stream_message::Content;
        let msg: v1::StreamMessage = decode_proto(bytes)?;
        let content = match msg.content.ok_or_else(|| err("empty stream message"))? {
            Content::Data(part) => StreamContent::Data(part_from_proto(part)?),
            Content::Fin(_) => StreamContent::Fin,
        };
        Ok(StreamMessage::new(
            StreamId::new(msg.stream_id),
            msg.sequence,
            content,
        ))
    }

    fn encode(&self, msg: &StreamMessage<ProposalPart>) -> Result<Bytes> {
        use v1::stream_message::Content;
        let content = match &msg.content {
            StreamContent::Data(part) => Content::Data(part_to_proto(part)),
            StreamContent::Fin => Content::Fin(true),
        };
        let out = v1::StreamMessage {
            stream_id: msg.stream_id.to_bytes(),
            sequence: msg.sequence,
            content: Some(content),
        };
        Ok(out.encode_to_vec().into())
    }
}

impl Codec<ValidatorProof<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<BabelContext>> {
        let p: v1::ValidatorProof = decode_proto(bytes)?;
        Ok(ValidatorProof::new(
            p.public_key.to_vec(),
            p.peer_id.to_vec(),
            signature(&p.signature)?,
        ))
    }

    fn encode(&self, msg: &ValidatorProof<BabelContext>) -> Result<Bytes> {
        let out = v1::ValidatorProof {
            public_key: msg.public_key.clone().into(),
            peer_id: msg.peer_id.clone().into(),
            signature: Bytes::copy_from_slice(&msg.signature.to_bytes()),
        };
        Ok(out.encode_to_vec().into())
    }
}

impl Codec<Status<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<Status<BabelContext>> {
        let s: v1::SyncStatus = decode_proto(bytes)?;
        Ok(Status {
            peer_id: PeerId::from_bytes(&s.peer_id).map_err(|e| err(e.to_string()))?,
            tip_height: Height(s.tip_height),
            history_min_height: Height(s.history_min_height),
        })
    }

    fn encode(&self, msg: &Status<BabelContext>) -> Result<Bytes> {
        let out = v1::SyncStatus {
            peer_id: msg.peer_id.to_bytes().into(),
            tip_height: msg.tip_height.0,
            history_min_height: msg.history_min_height.0,
        };
        Ok(out.encode_to_vec().into())
    }
}

impl Codec<Request<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<Request<BabelContext>> {
        let r: v1::SyncRequest = decode_proto(bytes)?;
        if r.from_height > r.to_height {
            return Err(err("sync request with from_height > to_height"));
        }
        Ok(Request::ValueRequest(ValueRequest::new(
            Height(r.from_height)..=Height(r.to_height),
        )))
    }

    fn encode(&self, msg: &Request<BabelContext>) -> Result<Bytes> {
        let Request::ValueRequest(r) = msg;
        let out = v1::SyncRequest {
            from_height: r.range.start().0,
            to_height: r.range.end().0,
        };
        Ok(out.encode_to_vec().into())
    }
}

fn response_to_proto(msg: &Response<BabelContext>) -> Result<v1::SyncResponse> {
    let Response::ValueResponse(r) = msg;
    let values = r
        .values
        .iter()
        .map(|v| {
            if v.certificate
                .commit_signatures
                .iter()
                .any(|s| s.extension.is_some())
            {
                return Err(err("vote extensions are disabled on Babel chains"));
            }
            let cert = v.certificate.clone().trim_vote_extensions();
            Ok(v1::SyncedValue {
                block: v.value_bytes.clone(),
                certificate: Some(certificate_to_proto(&cert)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(v1::SyncResponse {
        start_height: r.start_height.0,
        values,
    })
}

impl Codec<Response<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<Response<BabelContext>> {
        let r: v1::SyncResponse = decode_proto(bytes)?;
        let values = r
            .values
            .into_iter()
            .map(|v| {
                let cert = v
                    .certificate
                    .ok_or_else(|| err("synced value without certificate"))?;
                let cert = certificate_from_proto(&cert)?;
                Ok(RawDecidedValue::new(v.block, extended(cert)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Response::ValueResponse(ValueResponse::new(
            Height(r.start_height),
            values,
        )))
    }

    fn encode(&self, msg: &Response<BabelContext>) -> Result<Bytes> {
        Ok(response_to_proto(msg)?.encode_to_vec().into())
    }
}

impl HasEncodedLen<Response<BabelContext>> for ProtoCodec {
    fn encoded_len(&self, msg: &Response<BabelContext>) -> Result<usize> {
        Ok(response_to_proto(msg)?.encoded_len())
    }
}

/// A plain certificate as the extended form sync uses (no extensions: they are disabled).
pub(crate) fn extended(
    cert: CommitCertificate<BabelContext>,
) -> ExtendedCommitCertificate<BabelContext> {
    ExtendedCommitCertificate {
        height: cert.height,
        round: cert.round,
        value_id: cert.value_id,
        commit_signatures: cert
            .commit_signatures
            .into_iter()
            .map(|s| ExtendedCommitSignature {
                address: s.address,
                signature: s.signature,
                extension: None,
            })
            .collect(),
    }
}

impl Codec<ProposedValue<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<BabelContext>> {
        let v: v1::WalProposedValue = decode_proto(bytes)?;
        Ok(ProposedValue {
            height: Height(v.height),
            round: Round::new(v.round),
            valid_round: round_from_i64(v.valid_round)?,
            proposer: Address::from_slice(&v.proposer)?,
            value: BlockHash::from_slice(&v.block_hash)?,
            validity: Validity::from_bool(v.valid),
        })
    }

    fn encode(&self, msg: &ProposedValue<BabelContext>) -> Result<Bytes> {
        let out = v1::WalProposedValue {
            height: msg.height.0,
            round: msg.round.as_u32().unwrap_or(0),
            valid_round: msg.valid_round.as_i64(),
            proposer: Bytes::copy_from_slice(&msg.proposer.0),
            block_hash: Bytes::copy_from_slice(&msg.value.0),
            valid: msg.validity.is_valid(),
        };
        Ok(out.encode_to_vec().into())
    }
}

impl Codec<PolkaCertificate<BabelContext>> for ProtoCodec {
    type Error = ConsensusError;

    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<BabelContext>> {
        polka_from_proto(decode_proto(bytes)?)
    }

    fn encode(&self, msg: &PolkaCertificate<BabelContext>) -> Result<Bytes> {
        Ok(polka_to_proto(msg).encode_to_vec().into())
    }
}

#[cfg(test)]
mod tests;
