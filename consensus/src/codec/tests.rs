use babel_proto::test_utils::{field_mutants, mutate_with};
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

/// One valid value of every type the codec carries (several for the enums), encoded: the
/// seeds that mutated inputs start from.
fn valid_encodings() -> Vec<Bytes> {
    fn enc<T>(value: T) -> Bytes
    where
        ProtoCodec: Codec<T, Error = ConsensusError>,
        T: PartialEq + std::fmt::Debug,
    {
        let bytes = ProtoCodec.encode(&value).unwrap();
        assert_eq!(
            Codec::<T>::decode(&ProtoCodec, bytes.clone()).unwrap(),
            value
        );
        bytes
    }
    let cert = CommitCertificate {
        height: Height(3),
        round: Round::new(1),
        value_id: BlockHash([8; 32]),
        commit_signatures: (0..3u8)
            .map(|i| CommitSignature {
                address: Address([i; 20]),
                signature: sig(i),
            })
            .collect(),
    };
    let polka = PolkaCertificate {
        height: Height(3),
        round: Round::new(0),
        value_id: BlockHash([1; 32]),
        polka_signatures: vec![PolkaSignature {
            address: Address([2; 20]),
            signature: sig(3),
        }],
    };
    let round_cert = RoundCertificate {
        height: Height(3),
        round: Round::new(4),
        cert_type: RoundCertificateType::Precommit,
        round_signatures: vec![RoundSignature {
            vote_type: VoteType::Precommit,
            value_id: NilOrVal::Val(BlockHash([5; 32])),
            address: Address([2; 20]),
            signature: sig(4),
        }],
    };
    let proposal = Proposal {
        height: Height(7),
        round: Round::new(1),
        value: BlockHash([4; 32]),
        pol_round: Round::new(0),
        proposer: Address([5; 20]),
    };
    let init = ProposalPart::Init {
        height: Height(1),
        round: Round::new(2),
        pol_round: Round::Nil,
        proposer: Address([1; 20]),
    };
    let id = crate::PartStreams::stream_id(Height(1), Round::new(2));
    let mut peer = vec![0x12, 0x20];
    peer.extend_from_slice(&[7; 32]);
    let peer_id = PeerId::from_bytes(&peer).unwrap();
    vec![
        enc(init.clone()),
        enc(ProposalPart::Data(Bytes::from_static(
            b"a chunk of a block",
        ))),
        enc(ProposalPart::Fin(sig(7))),
        enc(StreamMessage::new(id.clone(), 0, StreamContent::Data(init))),
        enc(StreamMessage::<ProposalPart>::new(
            id,
            3,
            StreamContent::Fin,
        )),
        enc(SignedConsensusMsg::Vote(SignedMessage::new(
            vote(NilOrVal::Val(BlockHash([9; 32]))),
            sig(1),
        ))),
        enc(SignedConsensusMsg::Proposal(SignedMessage::new(
            proposal,
            sig(2),
        ))),
        enc(LivenessMsg::Vote(SignedMessage::new(
            vote(NilOrVal::Nil),
            sig(5),
        ))),
        enc(LivenessMsg::PolkaCertificate(polka.clone())),
        enc(LivenessMsg::SkipRoundCertificate(round_cert)),
        enc(ValidatorProof::<BabelContext>::new(
            vec![6; 32],
            peer.clone(),
            sig(8),
        )),
        enc(Status::<BabelContext> {
            peer_id,
            tip_height: Height(40),
            history_min_height: Height(1),
        }),
        enc(Request::<BabelContext>::ValueRequest(ValueRequest::new(
            Height(3)..=Height(9),
        ))),
        enc(Response::<BabelContext>::ValueResponse(ValueResponse::new(
            Height(3),
            vec![RawDecidedValue::new(
                Bytes::from_static(b"block"),
                extended(cert),
            )],
        ))),
        enc(ProposedValue {
            height: Height(5),
            round: Round::new(1),
            valid_round: Round::new(0),
            proposer: Address([1; 20]),
            value: BlockHash([2; 32]),
            validity: Validity::Valid,
        }),
        enc(polka),
    ]
}

/// Decode `bytes` as a `T`; what decodes must encode and decode back to the same value (the
/// bytes themselves need not come back: protobuf has many encodings of one message).
fn decodes_soundly<T>(bytes: &Bytes) -> std::result::Result<(), TestCaseError>
where
    ProtoCodec: Codec<T, Error = ConsensusError>,
    T: PartialEq + std::fmt::Debug,
{
    let Ok(value) = Codec::<T>::decode(&ProtoCodec, bytes.clone()) else {
        return Ok(());
    };
    let again = Codec::<T>::encode(&ProtoCodec, &value)
        .map_err(|e| TestCaseError::fail(format!("a decoded {value:?} does not encode: {e}")))?;
    let back = Codec::<T>::decode(&ProtoCodec, again)
        .map_err(|e| TestCaseError::fail(format!("re-encoded {value:?} does not decode: {e}")))?;
    prop_assert_eq!(back, value);
    Ok(())
}

/// Every decoder Malachite calls (network, WAL, sync) on the same bytes.
fn every_decoder(b: &Bytes) -> std::result::Result<(), TestCaseError> {
    decodes_soundly::<ProposalPart>(b)?;
    decodes_soundly::<SignedConsensusMsg<BabelContext>>(b)?;
    decodes_soundly::<LivenessMsg<BabelContext>>(b)?;
    decodes_soundly::<StreamMessage<ProposalPart>>(b)?;
    decodes_soundly::<ValidatorProof<BabelContext>>(b)?;
    decodes_soundly::<Status<BabelContext>>(b)?;
    decodes_soundly::<Request<BabelContext>>(b)?;
    decodes_soundly::<Response<BabelContext>>(b)?;
    decodes_soundly::<ProposedValue<BabelContext>>(b)?;
    decodes_soundly::<PolkaCertificate<BabelContext>>(b)?;
    if let Ok(response) = Codec::<Response<BabelContext>>::decode(&ProtoCodec, b.clone()) {
        // Malachite sizes sync responses with `encoded_len` before sending them.
        let len = ProtoCodec
            .encoded_len(&response)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let encoded = ProtoCodec
            .encode(&response)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(len, encoded.len());
    }
    Ok(())
}

#[test]
fn every_seed_decodes_as_its_own_type() {
    // The mutation test is only as good as its seeds: `valid_encodings` checks that each
    // decodes back to the value it encodes.
    for seed in valid_encodings() {
        every_decoder(&seed).unwrap();
    }
}

#[test]
fn every_one_field_change_of_every_message_decodes_soundly() {
    // Deterministic: each field check behind the parser meets a wrong length, number or tag.
    for seed in valid_encodings() {
        for mutant in field_mutants(&seed) {
            if let Err(e) = every_decoder(&Bytes::from(mutant.clone())) {
                panic!("{e} for {}", hex::encode(&mutant));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    /// Arbitrary bytes from a peer or a corrupt WAL never panic a decoder, and what decodes
    /// round-trips.
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        every_decoder(&Bytes::from(bytes))?;
    }

    /// Valid messages with a few bytes flipped, overwritten, inserted, deleted or cut off, or
    /// with fields dropped, repeated, renumbered, set to edge values or resized (keeping the
    /// protobuf framing, so that the field checks behind the parser are reached), never panic
    /// any decoder, and what decodes round-trips.
    #[test]
    fn mutated_messages_never_panic_a_decoder(
        seed in any::<prop::sample::Index>(),
        structured in any::<bool>(),
        mutations in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u64>()), 1..6),
    ) {
        let seeds = valid_encodings();
        let seed = &seeds[seed.index(seeds.len())];
        every_decoder(&Bytes::from(mutate_with(structured, seed, &mutations)))?;
    }
}
