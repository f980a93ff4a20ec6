//! Reassembly of proposal-part streams from peers, with bounded memory.
//!
//! Parts of one stream may arrive out of order and through different neighbours; a stream is
//! keyed by (original publisher, stream id). The stream id names the (height, round) whose
//! proposal it carries ([`PartStreams::stream_id`]), so every part, not only `Init`, says where
//! it belongs: the driver admits a part only from the proposer of that (height, round), and
//! only for a small window of heights and rounds (see the driver). This module bounds what is
//! admitted:
//! - a stream's data may not exceed `max_stream_bytes` (the block size limit);
//! - all open streams together may not exceed `max_total_bytes`, counting each part's data plus
//!   [`PART_OVERHEAD`]: a part for the current height at the current round or later evicts
//!   streams of later heights (newest first), then of earlier rounds (earliest first), to make
//!   room; any other part that would exceed the cap is dropped with its stream;
//! - a repeated part (same sequence number) is ignored and counted once;
//! - at most [`MAX_STREAMS_PER_PEER`] streams per publisher are open (the oldest goes);
//! - streams of heights below the current one are dropped ([`PartStreams::prune_below`]).
//!
//! A stream is complete when its `Init`, every sequence number up to the stream-level `Fin`,
//! and a `Fin` part are present, and its `Init` names the same (height, round) as its id.

use std::collections::{BTreeMap, HashMap};

use bytes::{Bytes, BytesMut};
use malachitebft_app_channel::app::{
    streaming::{StreamContent, StreamId, StreamMessage},
    types::{PeerId, core::Round},
};
use malachitebft_signing_ed25519::Signature;

use crate::{Address, Height, ProposalPart};

/// Open streams kept per publisher.
pub(crate) const MAX_STREAMS_PER_PEER: usize = 8;

/// Why a complete stream is dropped when its parts do not make a proposal.
pub(crate) const MALFORMED: &str = "malformed stream";

/// What holding one part costs against the global cap beyond its data (map entry, framing).
pub(crate) const PART_OVERHEAD: usize = 64;

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

struct Stream {
    height: Height,
    round: Round,
    /// Insertion order among all streams (for eviction, newest first).
    opened: u64,
    parts: BTreeMap<u64, ProposalPart>,
    fin_sequence: Option<u64>,
    data_bytes: usize,
    /// What the stream counts against the global cap: its data plus a fixed cost per part.
    cost: usize,
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
        if (height, round) != (self.height, self.round) {
            // Admission checked the id's (height, round); the content must be the same.
            return None;
        }
        let mut data = BytesMut::with_capacity(self.data_bytes);
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

/// Open streams, keyed by (publisher, stream id).
pub struct PartStreams {
    streams: HashMap<(PeerId, StreamId), Stream>,
    max_stream_bytes: usize,
    max_total_bytes: usize,
    total_bytes: usize,
    opened: u64,
}

impl std::fmt::Debug for PartStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartStreams")
            .field("streams", &self.streams.len())
            .field("bytes", &self.total_bytes)
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
    /// Streams whose data may reach `max_stream_bytes` each (the block size limit) and
    /// `max_total_bytes` together.
    pub fn new(max_stream_bytes: usize, max_total_bytes: usize) -> Self {
        Self {
            streams: HashMap::new(),
            max_stream_bytes,
            max_total_bytes,
            total_bytes: 0,
            opened: 0,
        }
    }

    /// Data bytes held in open streams.
    pub fn buffered_bytes(&self) -> usize {
        self.total_bytes
    }

    /// Number of open streams.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Add one stream message from `publisher`, whose stream id names (`height`, `round`)
    /// (the caller parsed it with [`PartStreams::parse_stream_id`] and admitted it);
    /// `current` is the (height, round) consensus is in.
    pub fn insert(
        &mut self,
        publisher: PeerId,
        (height, round): (Height, Round),
        current: (Height, Round),
        msg: StreamMessage<ProposalPart>,
    ) -> PartOutcome {
        let key = (publisher, msg.stream_id.clone());
        if msg.sequence >= MAX_PARTS_PER_STREAM {
            self.remove(&key);
            return PartOutcome::Dropped("too many parts");
        }
        if !self.streams.contains_key(&key) {
            self.open(publisher, key.1.clone(), height, round);
        }
        let chunk_len = match &msg.content {
            StreamContent::Data(ProposalPart::Data(chunk)) => chunk.len(),
            _ => 0,
        };
        // What the part costs the global cap: its data and what holding any part costs, so
        // that many empty parts are not free.
        let cost = chunk_len + PART_OVERHEAD;
        let Some(stream) = self.streams.get(&key) else {
            return PartOutcome::Pending;
        };
        let fresh = match msg.content {
            StreamContent::Fin => stream.fin_sequence.is_none(),
            StreamContent::Data(_) => !stream.parts.contains_key(&msg.sequence),
        };
        if !fresh {
            // A rebroadcast of a part already held: nothing changes, nothing is counted twice.
            return PartOutcome::Pending;
        }
        if stream.data_bytes + chunk_len > self.max_stream_bytes {
            self.remove(&key);
            return PartOutcome::Dropped("stream larger than the block size limit");
        }
        if self.total_bytes + cost > self.max_total_bytes
            && !self.make_room(cost, (height, round), current, &key)
        {
            self.remove(&key);
            return PartOutcome::Dropped("proposal buffers full");
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return PartOutcome::Pending;
        };
        match msg.content {
            StreamContent::Fin => stream.fin_sequence = Some(msg.sequence),
            StreamContent::Data(part) => {
                stream.parts.insert(msg.sequence, part);
                stream.data_bytes += chunk_len;
                stream.cost += cost;
                self.total_bytes += cost;
            }
        }
        if !stream.is_complete() {
            return PartOutcome::Pending;
        }
        let Some(stream) = self.remove(&key) else {
            return PartOutcome::Pending;
        };
        match stream.assemble() {
            Some(p) => PartOutcome::Complete(p),
            None => PartOutcome::Dropped(MALFORMED),
        }
    }

    fn open(&mut self, publisher: PeerId, id: StreamId, height: Height, round: Round) {
        let mine: Vec<_> = self
            .streams
            .iter()
            .filter(|((p, _), _)| *p == publisher)
            .map(|(k, s)| (s.opened, k.clone()))
            .collect();
        if mine.len() >= MAX_STREAMS_PER_PEER
            && let Some((_, oldest)) = mine.into_iter().min_by_key(|(opened, _)| *opened)
        {
            self.remove(&oldest);
        }
        self.opened += 1;
        self.streams.insert(
            (publisher, id),
            Stream {
                height,
                round,
                opened: self.opened,
                parts: BTreeMap::new(),
                fin_sequence: None,
                data_bytes: 0,
                cost: 0,
            },
        );
    }

    /// Free room for `needed` bytes of a part for (`height`, `round`): only a part for the
    /// current height, at the current round or later, may evict; it evicts streams of later
    /// heights (newest first), then of earlier rounds of the current height (earliest first),
    /// never `keep`. So neither a flood for later heights nor streams left unfinished in
    /// earlier rounds can keep the round being decided from being heard.
    fn make_room(
        &mut self,
        needed: usize,
        (height, round): (Height, Round),
        (current, current_round): (Height, Round),
        keep: &(PeerId, StreamId),
    ) -> bool {
        if height != current || round < current_round {
            return false;
        }
        let mut victims: Vec<_> = self
            .streams
            .iter()
            .filter(|(k, s)| {
                *k != keep && (s.height > current || (s.height == current && s.round < round))
            })
            .map(|(k, s)| {
                // Later heights first (newest first), then earlier rounds (earliest first).
                let rank = if s.height > current {
                    (0, u64::MAX - s.opened)
                } else {
                    (1, u64::from(s.round.as_u32().unwrap_or(0)))
                };
                (rank, k.clone())
            })
            .collect();
        victims.sort_by_key(|(rank, _)| *rank);
        for (_, key) in victims {
            if self.total_bytes + needed <= self.max_total_bytes {
                break;
            }
            self.remove(&key);
        }
        self.total_bytes + needed <= self.max_total_bytes
    }

    fn remove(&mut self, key: &(PeerId, StreamId)) -> Option<Stream> {
        let stream = self.streams.remove(key)?;
        self.total_bytes -= stream.cost;
        Some(stream)
    }

    /// Drop every stream of a height below `height` (decided or abandoned).
    pub fn prune_below(&mut self, height: Height) {
        let stale: Vec<_> = self
            .streams
            .iter()
            .filter(|(_, s)| s.height < height)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.remove(&key);
        }
    }

    /// Stream id of the proposal for (height, round): 8-byte height ‖ 4-byte round.
    pub fn stream_id(height: Height, round: Round) -> StreamId {
        let mut id = height.0.to_be_bytes().to_vec();
        id.extend_from_slice(&round.as_u32().unwrap_or(0).to_be_bytes());
        StreamId::new(id.into())
    }

    /// The (height, round) a stream id names, if it is one [`PartStreams::stream_id`] makes.
    pub fn parse_stream_id(id: &StreamId) -> Option<(Height, Round)> {
        let bytes = id.to_bytes();
        let (height, round) = bytes.split_first_chunk::<8>()?;
        let round: [u8; 4] = round.try_into().ok()?;
        Some((
            Height(u64::from_be_bytes(*height)),
            Round::new(u32::from_be_bytes(round)),
        ))
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

    const H: Height = Height(3);

    fn peer(n: u8) -> PeerId {
        let key =
            malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes([n; 32]).unwrap();
        PeerId::from_bytes(&key.public().to_peer_id().to_bytes()).unwrap()
    }

    fn messages_at(height: Height, len: usize) -> (Bytes, Vec<StreamMessage<ProposalPart>>) {
        let bytes: Bytes = (0..len).map(|i| i as u8).collect::<Vec<_>>().into();
        let sig = Signature::from_bytes([7; 64]);
        let msgs = stream_messages(
            height,
            Round::new(1),
            Round::Nil,
            Address([1; 20]),
            &bytes,
            sig,
        );
        (bytes, msgs)
    }

    fn messages(len: usize) -> (Bytes, Vec<StreamMessage<ProposalPart>>) {
        messages_at(H, len)
    }

    /// Insert as the driver does: the stream id gives (height, round).
    fn put(
        streams: &mut PartStreams,
        from: PeerId,
        current: Height,
        m: StreamMessage<ProposalPart>,
    ) -> PartOutcome {
        let at = PartStreams::parse_stream_id(&m.stream_id).expect("our stream id");
        streams.insert(from, at, (current, Round::new(0)), m)
    }

    fn data(height: Height, round: u32, seq: u64, len: usize) -> StreamMessage<ProposalPart> {
        StreamMessage::new(
            PartStreams::stream_id(height, Round::new(round)),
            seq,
            StreamContent::Data(ProposalPart::Data(vec![0u8; len].into())),
        )
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
            let mut streams = PartStreams::new(1 << 20, 4 << 20);
            let mut done = None;
            for (i, m) in order.into_iter().enumerate() {
                match put(&mut streams, peer(1), H, m) {
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
                (H, Round::new(1), Address([1; 20]))
            );
            assert_eq!(
                streams.buffered_bytes(),
                0,
                "a completed stream frees its bytes"
            );
        }
    }

    #[test]
    fn duplicates_are_ignored_and_streams_from_two_publishers_stay_apart() {
        let (bytes, msgs) = messages(10);
        let mut streams = PartStreams::new(1 << 20, 4 << 20);
        for (from, i) in [(1, 0), (1, 0), (2, 1), (1, 1), (1, 2)] {
            assert_eq!(
                put(&mut streams, peer(from), H, msgs[i].clone()),
                PartOutcome::Pending
            );
        }
        match put(&mut streams, peer(1), H, msgs[3].clone()) {
            PartOutcome::Complete(p) => assert_eq!(p.block_bytes, bytes),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_rebroadcast_part_is_counted_once() {
        // A block of 60% of the limit, every part sent twice: it must still assemble.
        let limit = 10 * crate::parts::CHUNK_BYTES;
        let (bytes, msgs) = messages(6 * crate::parts::CHUNK_BYTES);
        let mut streams = PartStreams::new(limit, limit);
        let last = msgs.len() - 1;
        for m in &msgs[..last] {
            assert_eq!(
                put(&mut streams, peer(1), H, m.clone()),
                PartOutcome::Pending
            );
            assert_eq!(
                put(&mut streams, peer(1), H, m.clone()),
                PartOutcome::Pending
            );
        }
        assert_eq!(streams.buffered_bytes(), bytes.len() + last * PART_OVERHEAD);
        match put(&mut streams, peer(1), H, msgs[last].clone()) {
            PartOutcome::Complete(p) => assert_eq!(p.block_bytes, bytes),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_stream_is_dropped() {
        let (_, msgs) = messages(1000);
        let mut streams = PartStreams::new(999, 4 << 20);
        assert_eq!(
            put(&mut streams, peer(1), H, msgs[0].clone()),
            PartOutcome::Pending
        );
        assert!(matches!(
            put(&mut streams, peer(1), H, msgs[1].clone()),
            PartOutcome::Dropped(_)
        ));
        assert_eq!(streams.buffered_bytes(), 0);
        assert_eq!(streams.open_streams(), 0);
    }

    #[test]
    fn stream_without_init_or_with_two_fins_is_malformed() {
        let (_, msgs) = messages(10);
        let mut streams = PartStreams::new(1 << 20, 4 << 20);
        // Replace Init by a Data part.
        let mut bad = msgs.clone();
        bad[0] = StreamMessage::new(
            bad[0].stream_id.clone(),
            0,
            StreamContent::Data(ProposalPart::Data(Bytes::new())),
        );
        let outcomes: Vec<_> = bad
            .into_iter()
            .map(|m| put(&mut streams, peer(1), H, m))
            .collect();
        assert_eq!(
            outcomes.last(),
            Some(&PartOutcome::Dropped("malformed stream"))
        );
    }

    #[test]
    fn init_for_another_height_than_the_stream_id_is_malformed() {
        // Parts admitted under the id of height 3 must not assemble a proposal for height 4.
        let (_, msgs) = messages_at(Height(4), 10);
        let mut streams = PartStreams::new(1 << 20, 4 << 20);
        let outcomes: Vec<_> = msgs
            .into_iter()
            .map(|m| streams.insert(peer(1), (H, Round::new(1)), (H, Round::new(0)), m))
            .collect();
        assert_eq!(
            outcomes.last(),
            Some(&PartOutcome::Dropped("malformed stream"))
        );
    }

    #[test]
    fn open_streams_per_peer_are_bounded() {
        let mut streams = PartStreams::new(1 << 20, 64 << 20);
        for round in 0..(MAX_STREAMS_PER_PEER as u32 + 3) {
            put(&mut streams, peer(1), H, data(H, round, 1, 0));
        }
        assert_eq!(streams.open_streams(), MAX_STREAMS_PER_PEER);
    }

    #[test]
    fn many_publishers_with_one_large_part_each_stay_under_the_total_cap() {
        let per_stream = 1 << 20;
        let total = 4 * per_stream;
        let mut streams = PartStreams::new(per_stream, total);
        for n in 0..200u8 {
            for h in 0..3 {
                put(
                    &mut streams,
                    peer(n),
                    H,
                    data(Height(H.0 + h), 0, 1, per_stream / 2),
                );
                assert!(streams.buffered_bytes() <= total);
            }
        }
        assert!(streams.buffered_bytes() <= total);
        assert!(streams.open_streams() <= total / (per_stream / 2));
    }

    #[test]
    fn the_current_height_evicts_later_heights_but_not_the_reverse() {
        let chunk = 1000;
        let cap = 2 * (chunk + PART_OVERHEAD);
        let mut streams = PartStreams::new(10 * chunk, cap);
        let next = Height(H.0 + 1);
        assert_eq!(
            put(&mut streams, peer(1), H, data(next, 0, 1, chunk)),
            PartOutcome::Pending
        );
        assert_eq!(
            put(&mut streams, peer(2), H, data(next, 0, 1, chunk)),
            PartOutcome::Pending
        );
        // Full: another later-height stream is refused...
        assert!(matches!(
            put(&mut streams, peer(3), H, data(next, 0, 1, chunk)),
            PartOutcome::Dropped(_)
        ));
        // ...but the current height's proposal gets room.
        let (bytes, msgs) = messages(chunk);
        let mut done = None;
        for m in msgs {
            if let PartOutcome::Complete(p) = put(&mut streams, peer(4), H, m) {
                done = Some(p);
            }
        }
        assert_eq!(done.expect("current height completes").block_bytes, bytes);
        assert!(streams.buffered_bytes() <= cap);
    }

    #[test]
    fn past_heights_are_pruned() {
        let mut streams = PartStreams::new(1 << 20, 4 << 20);
        put(&mut streams, peer(1), H, data(H, 0, 1, 100));
        put(&mut streams, peer(1), H, data(Height(H.0 + 1), 0, 1, 50));
        streams.prune_below(Height(H.0 + 1));
        assert_eq!(streams.open_streams(), 1);
        assert_eq!(streams.buffered_bytes(), 50 + PART_OVERHEAD);
    }

    #[test]
    fn the_current_round_evicts_streams_left_unfinished_in_earlier_rounds() {
        let chunk = 1000;
        let cap = 2 * (chunk + PART_OVERHEAD);
        let mut streams = PartStreams::new(10 * chunk, cap);
        let now = (H, Round::new(2));
        for (from, round) in [(1, 0), (2, 1)] {
            let m = data(H, round, 1, chunk);
            let at = (H, Round::new(round));
            assert_eq!(streams.insert(peer(from), at, now, m), PartOutcome::Pending);
        }
        // An earlier round cannot make room for itself...
        assert!(matches!(
            streams.insert(peer(3), (H, Round::new(1)), now, data(H, 1, 2, chunk)),
            PartOutcome::Dropped(_)
        ));
        // ...the current round can.
        let m = data(H, 2, 1, chunk);
        assert_eq!(
            streams.insert(peer(4), (H, Round::new(2)), now, m),
            PartOutcome::Pending
        );
        assert!(streams.buffered_bytes() <= cap);
        assert_eq!(streams.open_streams(), 2, "round 0's stream went first");
    }

    #[test]
    fn empty_parts_count_against_the_cap() {
        let mut streams = PartStreams::new(1 << 20, 100 * PART_OVERHEAD);
        for seq in 1..=200 {
            put(&mut streams, peer(1), H, data(H, 0, seq, 0));
        }
        assert!(streams.buffered_bytes() <= 100 * PART_OVERHEAD);
    }

    #[test]
    fn stream_ids_round_trip_and_foreign_ids_do_not_parse() {
        let id = PartStreams::stream_id(Height(u64::MAX), Round::new(7));
        assert_eq!(
            PartStreams::parse_stream_id(&id),
            Some((Height(u64::MAX), Round::new(7)))
        );
        for len in [0, 11, 13, 64] {
            assert_eq!(
                PartStreams::parse_stream_id(&StreamId::new(vec![0; len].into())),
                None
            );
        }
    }
}
