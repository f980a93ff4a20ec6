use malachitebft_app_channel::app::types::core::VoteType;
use proptest::prelude::*;

use super::*;

fn sig(n: u8) -> Signature {
    Signature::from_bytes([n; 64])
}

fn vote(value: NilOrVal<BlockHash>) -> Vote {
    Vote {
        vote_type: VoteType::Precommit,
        height: Height(7),
        round: Round::new(2),
        value,
        validator: Address([3; 20]),
        extension: None,
    }
}

fn round_trip<T>(value: T) -> T
where
    ProtoCodec: Codec<T, Error = ConsensusError>,
{
    let bytes = ProtoCodec.encode(&value).unwrap();
    ProtoCodec.decode(bytes).unwrap()
}

#[test]
fn consensus_messages_round_trip() {
    for value in [NilOrVal::Nil, NilOrVal::Val(BlockHash([9; 32]))] {
        let msg = SignedConsensusMsg::Vote(SignedMessage::new(vote(value), sig(1)));
        assert_eq!(round_trip(msg.clone()), msg);
    }
    let proposal = Proposal {
        height: Height(7),
        round: Round::new(1),
        value: BlockHash([4; 32]),
        pol_round: Round::Nil,
        proposer: Address([5; 20]),
    };
    let msg = SignedConsensusMsg::Proposal(SignedMessage::new(proposal, sig(2)));
    assert_eq!(round_trip(msg.clone()), msg);
}

#[test]
fn liveness_and_certificates_round_trip() {
    let polka = PolkaCertificate {
        height: Height(3),
        round: Round::new(0),
        value_id: BlockHash([1; 32]),
        polka_signatures: vec![PolkaSignature {
            address: Address([2; 20]),
            signature: sig(3),
        }],
    };
    assert_eq!(round_trip(polka.clone()), polka);
    let round_cert = RoundCertificate {
        height: Height(3),
        round: Round::new(4),
        cert_type: RoundCertificateType::Skip,
        round_signatures: vec![RoundSignature {
            vote_type: VoteType::Prevote,
            value_id: NilOrVal::Nil,
            address: Address([2; 20]),
            signature: sig(4),
        }],
    };
    for msg in [
        LivenessMsg::Vote(SignedMessage::new(vote(NilOrVal::Nil), sig(5))),
        LivenessMsg::PolkaCertificate(polka),
        LivenessMsg::SkipRoundCertificate(round_cert),
    ] {
        assert_eq!(round_trip(msg.clone()), msg);
    }
    let cert = CommitCertificate {
        height: Height(9),
        round: Round::new(1),
        value_id: BlockHash([8; 32]),
        commit_signatures: vec![CommitSignature {
            address: Address([6; 20]),
            signature: sig(6),
        }],
    };
    assert_eq!(
        certificate_from_proto(&certificate_to_proto(&cert)).unwrap(),
        cert
    );
}

#[test]
fn parts_streams_and_wal_values_round_trip() {
    for part in [
        ProposalPart::Init {
            height: Height(1),
            round: Round::new(0),
            pol_round: Round::new(3),
            proposer: Address([1; 20]),
        },
        ProposalPart::Data(Bytes::from_static(b"chunk")),
        ProposalPart::Fin(sig(7)),
    ] {
        assert_eq!(round_trip(part.clone()), part);
        let id = crate::PartStreams::stream_id(Height(1), Round::new(0));
        let msg = StreamMessage::new(id.clone(), 3, StreamContent::Data(part));
        assert_eq!(round_trip(msg.clone()), msg);
        let fin = StreamMessage::<ProposalPart>::new(id, 4, StreamContent::Fin);
        assert_eq!(round_trip(fin.clone()), fin);
    }
    let value = ProposedValue {
        height: Height(5),
        round: Round::new(1),
        valid_round: Round::Nil,
        proposer: Address([1; 20]),
        value: BlockHash([2; 32]),
        validity: Validity::Invalid,
    };
    assert_eq!(round_trip(value.clone()), value);
}

#[test]
fn sync_messages_round_trip() {
    let req = Request::ValueRequest(ValueRequest::new(Height(3)..=Height(9)));
    assert_eq!(round_trip(req.clone()), req);
    let cert = CommitCertificate {
        height: Height(3),
        round: Round::new(0),
        value_id: BlockHash([8; 32]),
        commit_signatures: vec![CommitSignature {
            address: Address([6; 20]),
            signature: sig(6),
        }],
    };
    let resp = Response::ValueResponse(ValueResponse::new(
        Height(3),
        vec![RawDecidedValue::new(
            Bytes::from_static(b"block"),
            extended(cert),
        )],
    ));
    let bytes = ProtoCodec.encode(&resp).unwrap();
    assert_eq!(ProtoCodec.encoded_len(&resp).unwrap(), bytes.len());
    assert_eq!(
        Codec::<Response<BabelContext>>::decode(&ProtoCodec, bytes).unwrap(),
        resp
    );
}

#[test]
fn out_of_range_and_malformed_fields_are_refused() {
    let bad_round = v1::WalProposedValue {
        valid_round: i64::from(u32::MAX) + 1,
        proposer: vec![0; 20].into(),
        block_hash: vec![0; 32].into(),
        ..Default::default()
    };
    assert!(
        Codec::<ProposedValue<BabelContext>>::decode(&ProtoCodec, bad_round.encode_to_vec().into())
            .is_err()
    );
    let short_hash = v1::ConsensusVote {
        vote_type: 1,
        block_hash: vec![1; 31].into(),
        validator: vec![0; 20].into(),
        ..Default::default()
    };
    let msg = v1::SignedConsensusMessage {
        message: Some(v1::signed_consensus_message::Message::Vote(short_hash)),
        signature: vec![0; 64].into(),
    };
    assert!(
        Codec::<SignedConsensusMsg<BabelContext>>::decode(&ProtoCodec, msg.encode_to_vec().into())
            .is_err()
    );
    let inverted = v1::SyncRequest {
        from_height: 5,
        to_height: 4,
    };
    assert!(
        Codec::<Request<BabelContext>>::decode(&ProtoCodec, inverted.encode_to_vec().into())
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    /// Arbitrary bytes from a peer or a corrupt WAL never panic a decoder.
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let b = Bytes::from(bytes);
        let _ = Codec::<ProposalPart>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<SignedConsensusMsg<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<LivenessMsg<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<StreamMessage<ProposalPart>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<ValidatorProof<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<Status<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<Request<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<Response<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<ProposedValue<BabelContext>>::decode(&ProtoCodec, b.clone());
        let _ = Codec::<PolkaCertificate<BabelContext>>::decode(&ProtoCodec, b);
    }
}
