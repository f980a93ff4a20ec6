//! Reassembly of proposal-part streams from peers, with bounded memory.
//!
//! Parts of one stream may arrive out of order and through different neighbours; a stream is
//! keyed by (original publisher, stream id). It is complete when its `Init`, every sequence
//! number up to the stream-level `Fin`, and a `Fin` part are present. Limits: at most
//! [`MAX_STREAMS_PER_PEER`] open streams per publisher (the oldest is dropped) and at most
//! `max_stream_bytes` of data per stream (the stream is dropped).

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::{Bytes, BytesMut};
use malachitebft_app_channel::app::{
    streaming::{StreamContent, StreamId, StreamMessage},
    types::{PeerId, core::Round},
};
use malachitebft_signing_ed25519::Signature;

use crate::{Address, Height, ProposalPart};

/// Open streams kept per publisher.
pub(crate) const MAX_STREAMS_PER_PEER: usize = 8;

/// Most parts one stream may have; a block of `max_block_bytes` needs far fewer.
const MAX_PARTS_PER_STREAM: u64 = 4096;

/// A complete, not yet verified, proposal received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledProposal {
    /// Height from `Init`.
    pub height: Height,
    /// Round from `Init`.
    pub round: Round,
    /// Proof-of-lock round from `Init`.
    pub pol_round: Round,
    /// Claimed proposer from `Init`.
    pub proposer: Address,
    /// The concatenated data chunks: the encoded block.
    pub block_bytes: Bytes,
    /// Signature from `Fin`.
    pub signature: Signature,
}

#[derive(Default)]
struct Stream {
    parts: BTreeMap<u64, ProposalPart>,
    fin_sequence: Option<u64>,
    data_bytes: usize,
}

impl Stream {
    fn is_complete(&self) -> bool {
        match self.fin_sequence {
            // Sequences 0..fin are parts; `fin` itself is the stream-level Fin.
            Some(fin) => {
                self.parts.len() as u64 == fin
                    && self.parts.keys().next_back() == fin.checked_sub(1).as_ref()
            }
            None => false,
        }
    }

    fn assemble(self) -> Option<AssembledProposal> {
        let mut iter = self.parts.into_values();
        let ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        } = iter.next()?
        else {
            return None;
        };
        let mut data = BytesMut::new();
        let mut signature = None;
        for part in iter {
            match part {
                ProposalPart::Data(chunk) if signature.is_none() => data.extend_from_slice(&chunk),
                ProposalPart::Fin(sig) if signature.is_none() => signature = Some(sig),
                // A second Init, data after Fin or a second Fin: malformed stream.
                _ => return None,
            }
        }
        Some(AssembledProposal {
            height,
            round,
            pol_round,
            proposer,
            block_bytes: data.freeze(),
            signature: signature?,
        })
    }
}

/// Open streams, per publisher.
pub struct PartStreams {
    streams: HashMap<PeerId, VecDeque<(StreamId, Stream)>>,
    max_stream_bytes: usize,
}

impl std::fmt::Debug for PartStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartStreams")
            .field("peers", &self.streams.len())
            .finish()
    }
}

/// What adding a message to a stream led to.
#[derive(Debug, PartialEq, Eq)]
pub enum PartOutcome {
    /// The stream needs more parts.
    Pending,
    /// The stream is complete.
    Complete(AssembledProposal),
    /// The stream broke a rule and was dropped.
    Dropped(&'static str),
}

impl PartStreams {
    /// Streams whose data may reach `max_stream_bytes` (the block size limit).
    pub fn new(max_stream_bytes: usize) -> Self {
        Self {
            streams: HashMap::new(),
            max_stream_bytes,
        }
    }

    /// Add one stream message from `publisher`.
    pub fn insert(&mut self, publisher: PeerId, msg: StreamMessage<ProposalPart>) -> PartOutcome {
        let streams = self.streams.entry(publisher).or_default();
        let index = match streams.iter().position(|(id, _)| *id == msg.stream_id) {
            Some(i) => i,
            None => {
                if streams.len() >= MAX_STREAMS_PER_PEER {
                    streams.pop_front();
                }
                streams.push_back((msg.stream_id.clone(), Stream::default()));
                streams.len() - 1
            }
        };
        let stream = &mut streams[index].1;
        if msg.sequence >= MAX_PARTS_PER_STREAM {
            streams.remove(index);
            return PartOutcome::Dropped("too many parts");
        }
        match msg.content {
            StreamContent::Fin => stream.fin_sequence = Some(msg.sequence),
            StreamContent::Data(part) => {
                if let ProposalPart::Data(chunk) = &part {
                    stream.data_bytes += chunk.len();
                }
                stream.parts.entry(msg.sequence).or_insert(part);
            }
        }
        if stream.data_bytes > self.max_stream_bytes {
            streams.remove(index);
            return PartOutcome::Dropped("stream larger than the block size limit");
        }
        if !stream.is_complete() {
            return PartOutcome::Pending;
        }
        let Some((_, stream)) = streams.remove(index) else {
            return PartOutcome::Pending;
        };
        match stream.assemble() {
            Some(p) => PartOutcome::Complete(p),
            None => PartOutcome::Dropped("malformed stream"),
        }
    }

    /// Stream id of the proposal for (height, round): 8-byte height ‖ 4-byte round.
    pub fn stream_id(height: Height, round: Round) -> StreamId {
        let mut id = height.0.to_be_bytes().to_vec();
        id.extend_from_slice(&round.as_u32().unwrap_or(0).to_be_bytes());
        StreamId::new(id.into())
    }
}

/// Split a proposal into the stream messages that carry it.
pub fn stream_messages(
    height: Height,
    round: Round,
    pol_round: Round,
    proposer: Address,
    block_bytes: &Bytes,
    signature: Signature,
) -> Vec<StreamMessage<ProposalPart>> {
    let id = PartStreams::stream_id(height, round);
    let mut parts = vec![ProposalPart::Init {
        height,
        round,
        pol_round,
        proposer,
    }];
    let mut offset = 0;
    while offset < block_bytes.len() {
        let end = (offset + crate::parts::CHUNK_BYTES).min(block_bytes.len());
        parts.push(ProposalPart::Data(block_bytes.slice(offset..end)));
        offset = end;
    }
    parts.push(ProposalPart::Fin(signature));
    let fin_seq = parts.len() as u64;
    let mut out: Vec<_> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| StreamMessage::new(id.clone(), i as u64, StreamContent::Data(p)))
        .collect();
    out.push(StreamMessage::new(id, fin_seq, StreamContent::Fin));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerId {
        let key =
            malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes([n; 32]).unwrap();
        PeerId::from_bytes(&key.public().to_peer_id().to_bytes()).unwrap()
    }

    fn messages(len: usize) -> (Bytes, Vec<StreamMessage<ProposalPart>>) {
        let bytes: Bytes = (0..len).map(|i| i as u8).collect::<Vec<_>>().into();
        let sig = Signature::from_bytes([7; 64]);
        let msgs = stream_messages(
            Height(3),
            Round::new(1),
            Round::Nil,
            Address([1; 20]),
            &bytes,
            sig,
        );
        (bytes, msgs)
    }

    #[test]
    fn in_order_and_shuffled_streams_assemble_to_the_same_block() {
        let (bytes, msgs) = messages(3 * crate::parts::CHUNK_BYTES + 17);
        assert_eq!(msgs.len(), 1 + 4 + 1 + 1);
        let mut orders = vec![msgs.clone()];
        let mut reversed = msgs.clone();
        reversed.reverse();
        orders.push(reversed);
        for order in orders {
            let mut streams = PartStreams::new(1 << 20);
            let mut done = None;
            for (i, m) in order.into_iter().enumerate() {
                match streams.insert(peer(1), m) {
                    PartOutcome::Complete(p) => done = Some((i, p)),
                    PartOutcome::Pending => {}
                    PartOutcome::Dropped(why) => panic!("dropped: {why}"),
                }
            }
            let (at, p) = done.expect("complete");
            assert_eq!(at, 6, "completes on the last message only");
            assert_eq!(p.block_bytes, bytes);
            assert_eq!(
                (p.height, p.round, p.proposer),
                (Height(3), Round::new(1), Address([1; 20]))
            );
        }
    }

    #[test]
    fn duplicates_are_ignored_and_streams_from_two_publishers_stay_apart() {
        let (bytes, msgs) = messages(10);
        let mut streams = PartStreams::new(1 << 20);
        assert_eq!(
            streams.insert(peer(1), msgs[0].clone()),
            PartOutcome::Pending
        );
        assert_eq!(
            streams.insert(peer(1), msgs[0].clone()),
            PartOutcome::Pending
        );
        assert_eq!(
            streams.insert(peer(2), msgs[1].clone()),
            PartOutcome::Pending
        );
        assert_eq!(
            streams.insert(peer(1), msgs[1].clone()),
            PartOutcome::Pending
        );
        assert_eq!(
            streams.insert(peer(1), msgs[2].clone()),
            PartOutcome::Pending
        );
        match streams.insert(peer(1), msgs[3].clone()) {
            PartOutcome::Complete(p) => assert_eq!(p.block_bytes, bytes),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_stream_is_dropped() {
        let (_, msgs) = messages(1000);
        let mut streams = PartStreams::new(999);
        assert_eq!(
            streams.insert(peer(1), msgs[0].clone()),
            PartOutcome::Pending
        );
        assert!(matches!(
            streams.insert(peer(1), msgs[1].clone()),
            PartOutcome::Dropped(_)
        ));
    }

    #[test]
    fn stream_without_init_or_with_two_fins_is_malformed() {
        let (_, msgs) = messages(10);
        let mut streams = PartStreams::new(1 << 20);
        // Replace Init by a Data part.
        let mut bad = msgs.clone();
        bad[0] = StreamMessage::new(
            bad[0].stream_id.clone(),
            0,
            StreamContent::Data(ProposalPart::Data(Bytes::new())),
        );
        let outcomes: Vec<_> = bad
            .into_iter()
            .map(|m| streams.insert(peer(1), m))
            .collect();
        assert_eq!(
            outcomes.last(),
            Some(&PartOutcome::Dropped("malformed stream"))
        );
    }

    #[test]
    fn open_streams_per_peer_are_bounded() {
        let mut streams = PartStreams::new(1 << 20);
        for round in 0..(MAX_STREAMS_PER_PEER as u32 + 3) {
            let id = PartStreams::stream_id(Height(1), Round::new(round));
            streams.insert(
                peer(1),
                StreamMessage::new(id, 1, StreamContent::Data(ProposalPart::Data(Bytes::new()))),
            );
        }
        assert_eq!(streams.streams[&peer(1)].len(), MAX_STREAMS_PER_PEER);
    }
}
