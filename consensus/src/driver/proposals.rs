//! Receiving proposals: which parts are admitted, reassembly, and the checks a block passes
//! before the application executes it.
//!
//! Every step is bounded before it costs anything:
//! - A part is admitted only if its stream id names a height from the current one to
//!   `MAX_HEIGHTS_AHEAD` ahead and a round from the current one (round 0 for a later height) to
//!   `MAX_ROUNDS_AHEAD` ahead, and its publisher is that round's proposer. Gossip messages are
//!   signed by their publisher, so nobody else can open a stream there.
//! - Reassembly caps each stream and all of them together ([`PartStreams`]).
//! - A complete stream must carry the proposer's signature over (height, round, proof-of-lock
//!   round, block) before anything else happens to it.
//! - Of each (height, round) only the first complete stream is reassembled and checked: later
//!   parts for that round are not admitted. So a proposer that equivocates gets one block
//!   decoded, executed and stored per validator, not one per copy. The store is checked too
//!   (the first block of the proposer for the round wins), so this holds across restarts.
//!   Proposals for later heights wait in memory, one per (height, round), until their height
//!   starts.

use bytes::Bytes;
use malachitebft_app_channel::app::{
    streaming::StreamMessage,
    types::{
        PeerId, ProposedValue,
        core::{Context as _, Height as _, Round, Validity},
    },
};
use prost::Message;
use tracing::{debug, warn};

use babel_proto::v1;

use super::{Driver, MAX_HEIGHTS_AHEAD, MAX_ROUNDS_AHEAD, decode_stored, round_u32};
use crate::{
    Address, Application, BabelContext, BlockHash, BlockOrigin, ConsensusError, Height,
    ProposalPart, Refusal, ValidatorSet, Verdict,
    parts::parts_sign_bytes,
    streaming::{AssembledProposal, MALFORMED, PartOutcome, PartStreams},
};

/// The libp2p peer id of every validator (derived from its ed25519 key, as libp2p does).
pub(super) fn validator_peers(
    vset: &ValidatorSet,
) -> Result<std::collections::HashMap<Address, PeerId>, ConsensusError> {
    vset.validators()
        .iter()
        .map(|v| {
            let key = libp2p_identity::ed25519::PublicKey::try_from_bytes(v.public_key.as_bytes())
                .map_err(|e| {
                    ConsensusError::InvalidValidatorSet(format!("key of {}: {e}", v.address))
                })?;
            let id = libp2p_identity::PublicKey::from(key).to_peer_id();
            let peer = PeerId::from_bytes(&id.to_bytes()).map_err(|e| {
                ConsensusError::InvalidValidatorSet(format!("peer id of {}: {e}", v.address))
            })?;
            Ok((v.address, peer))
        })
        .collect()
}

impl<A: Application> Driver<A> {
    /// Why a part for (`height`, `round`) from `publisher` is not admitted, if it is not.
    fn refuse_part(&self, publisher: PeerId, height: Height, round: Round) -> Option<&'static str> {
        if height < self.height || height.0 > self.height.0.saturating_add(MAX_HEIGHTS_AHEAD) {
            return Some("height outside the window");
        }
        if self.settled.contains(&(height, round_u32(round))) {
            // One complete stream per round is all a proposer gets reassembled, signature
            // checked and hashed: the first (see the module docs).
            return Some("a stream of this round already completed");
        }
        let first = if height == self.height {
            self.round.as_u32().unwrap_or(0)
        } else {
            0
        };
        if round
            .as_u32()
            .is_none_or(|r| r > first.saturating_add(MAX_ROUNDS_AHEAD))
        {
            return Some("round outside the window");
        }
        let proposer = BabelContext.select_proposer(&self.vset, height, round);
        if self.peers.get(&proposer.address) != Some(&publisher) {
            return Some("publisher is not the round's proposer");
        }
        None
    }

    /// Take one part from `publisher`; the value when it completes a valid proposal for the
    /// current height.
    pub(super) fn on_part(
        &mut self,
        publisher: PeerId,
        part: StreamMessage<ProposalPart>,
    ) -> Result<Option<ProposedValue<BabelContext>>, ConsensusError> {
        let Some((height, round)) = PartStreams::parse_stream_id(&part.stream_id) else {
            debug!(%publisher, "proposal part with a foreign stream id");
            return Ok(None);
        };
        if let Some(why) = self.refuse_part(publisher, height, round) {
            debug!(%publisher, %height, %round, why, "proposal part not admitted");
            return Ok(None);
        }
        match self
            .streams
            .insert(publisher, (height, round), (self.height, self.round), part)
        {
            PartOutcome::Pending => Ok(None),
            PartOutcome::Dropped(why) => {
                if why == MALFORMED {
                    // The proposer's own doing: it gets no second chance this round.
                    self.settled.insert((height, round_u32(round)));
                }
                warn!(%publisher, %height, %round, why, "dropped proposal stream");
                Ok(None)
            }
            PartOutcome::Complete(p) => {
                self.settled.insert((height, round_u32(round)));
                self.on_assembled(p)
            }
        }
    }

    /// Whether `p` is signed by the proposer of its (height, round).
    fn signed_by_proposer(&self, p: &AssembledProposal) -> bool {
        let expected = BabelContext.select_proposer(&self.vset, p.height, p.round);
        if expected.address != p.proposer {
            warn!(height = %p.height, round = %p.round, claimed = %p.proposer, "proposal from a validator that is not the round's proposer");
            return false;
        }
        let sign_bytes = parts_sign_bytes(p.height, p.round, p.pol_round, &p.block_bytes);
        if expected
            .public_key
            .verify(&sign_bytes, &p.signature)
            .is_err()
        {
            warn!(height = %p.height, round = %p.round, "proposal stream with a bad signature");
            return false;
        }
        true
    }

    fn on_assembled(
        &mut self,
        p: AssembledProposal,
    ) -> Result<Option<ProposedValue<BabelContext>>, ConsensusError> {
        if p.height < self.height || p.height <= self.app.committed_height()? {
            return Ok(None);
        }
        if !self.signed_by_proposer(&p) {
            self.metrics.judged(Some(Refusal::Signature));
            return Ok(None);
        }
        if p.height > self.height {
            self.pending
                .entry((p.height, round_u32(p.round)))
                .or_insert(p);
            return Ok(None);
        }
        self.verify_and_store(p)
    }

    /// Check the proposals kept for `height`, now that it has started; drop those of earlier
    /// heights. (They were admitted within the window of round 0, so within the current one.)
    pub(super) fn verify_pending(&mut self, height: Height) -> Result<(), ConsensusError> {
        let later = self.pending.split_off(&(height.increment(), 0));
        let ready = std::mem::replace(&mut self.pending, later);
        for ((h, _), p) in ready {
            if h == height {
                self.verify_and_store(p)?;
            }
        }
        Ok(())
    }

    /// Check a complete, signed proposal of the current height; store and return its value.
    /// A block that is well-formed but fails the application's checks is stored as invalid, so
    /// consensus prevotes nil for it. Only the first block per (height, round) is considered.
    fn verify_and_store(
        &mut self,
        p: AssembledProposal,
    ) -> Result<Option<ProposedValue<BabelContext>>, ConsensusError> {
        let Ok(block) = v1::Block::decode(p.block_bytes.clone()) else {
            warn!(height = %p.height, "proposed block does not decode");
            self.metrics.judged(Some(Refusal::Malformed));
            return Ok(None);
        };
        let Some(header) = block.header.as_ref() else {
            self.metrics.judged(Some(Refusal::Malformed));
            return Ok(None);
        };
        if header.height != p.height.0 {
            warn!(height = %p.height, header = header.height, "proposed block for another height");
            self.metrics.judged(Some(Refusal::Malformed));
            return Ok(None);
        }
        let hash = babel_proto::block_hash(header);
        for (seen, bytes) in self.app.proposals(p.height, round_u32(p.round))? {
            if decode_stored(&bytes)?.proposer.as_ref() == p.proposer.0 {
                if seen != hash {
                    // Once per round: the log must not be what an equivocator floods.
                    if self.equivocation_logged != Some((p.height, p.round)) {
                        self.equivocation_logged = Some((p.height, p.round));
                        warn!(height = %p.height, round = %p.round, proposer = %p.proposer, "proposer equivocates: ignoring its other blocks for the round");
                    }
                }
                return Ok(None);
            }
        }
        // A fresh block is built by the round's proposer; a re-proposal (with a proof-of-lock
        // round) carries the value of an earlier round, built by that round's proposer.
        let built_by_proposer = match p.pol_round {
            Round::Nil => header.proposer.as_ref() == p.proposer.0,
            pol => self.proposer_up_to(p.height, pol, &header.proposer),
        };
        let verdict = if !built_by_proposer {
            Verdict::invalid(
                Refusal::Proposer,
                "header names another proposer than the one that built it",
            )
        } else {
            // A re-proposal's value was prevoted by a quorum in its proof-of-lock round (Malachite
            // checks that polka): it must be valid, but need not look recent any more.
            let origin = match p.pol_round {
                Round::Nil => BlockOrigin::Proposal,
                _ => BlockOrigin::Reproposal,
            };
            self.app.validate_block(&block, origin)?
        };
        self.metrics.judged(verdict.refusal());
        if !verdict.is_valid() {
            warn!(height = %p.height, round = %p.round, reason = %verdict.reason(), "rejecting proposed block");
        }
        let stored = v1::StoredProposal {
            block: Some(block),
            valid: verdict.is_valid(),
            valid_round: p.pol_round.as_i64(),
            proposer: Bytes::copy_from_slice(&p.proposer.0),
        };
        self.app
            .store_proposal(p.height, round_u32(p.round), hash, &stored.encode_to_vec())?;
        Ok(Some(ProposedValue {
            height: p.height,
            round: p.round,
            valid_round: p.pol_round,
            proposer: p.proposer,
            value: BlockHash(hash),
            validity: Validity::from_bool(verdict.is_valid()),
        }))
    }
}

#[cfg(all(test, feature = "test-utils"))]
#[allow(clippy::unwrap_used)] // Tests; clippy sees only a plain `cfg(test)` as one.
mod tests {
    use malachitebft_app_channel::app::{
        streaming::StreamMessage,
        types::{Keypair, core::Round},
    };
    use prost::Message;

    use super::*;
    use crate::driver::test_net::{N, net};

    #[test]
    fn a_proposer_streaming_many_blocks_in_one_round_gets_one_executed_and_stored() {
        let mut net = net();
        let (h, r) = (Height(1), Round::new(0));
        let p = net.proposer(h, r);
        let mut values = Vec::new();
        for salt in 0..50 {
            let block = net.block(h, p, salt);
            let msgs = net.stream(h, r, p, &block);
            values.extend(net.feed(p, msgs));
        }
        assert_eq!(values.len(), 1, "one value per (height, round, proposer)");
        assert_eq!(net.app.validations(), 1, "one block executed");
        assert_eq!(net.app.stored_log().len(), 1, "one block stored");

        // After a restart nothing is in memory, but the store holds the first block.
        net.driver.settled.clear();
        let other = net.block(h, p, 99);
        let msgs = net.stream(h, r, p, &other);
        assert!(net.feed(p, msgs).is_empty());
        assert_eq!(net.app.validations(), 1);
        assert_eq!(net.app.stored_log().len(), 1);
    }

    #[test]
    fn fake_streams_for_a_later_height_do_not_displace_the_real_one() {
        let mut net = net();
        let (h, r) = (Height(2), Round::new(0));
        let p = net.proposer(h, r);
        // Sixteen fakes naming the proposer, published and signed by other validators.
        for i in 0..16 {
            let block = net.block(h, p, i + 1);
            let other = (p + 1 + i as usize % (N - 1)) % N;
            let msgs = net.stream(h, r, other, &block);
            assert!(net.feed(other, msgs).is_empty());
        }
        assert!(net.driver.pending.is_empty(), "no fake was queued");
        assert_eq!(net.driver.streams.open_streams(), 0);
        let real = net.block(h, p, 0);
        let msgs = net.stream(h, r, p, &real);
        assert!(net.feed(p, msgs).is_empty(), "a later height waits");
        assert_eq!(net.driver.pending.len(), 1);

        // Height 1 is decided; height 2 starts: the real proposal is checked and stored.
        let parent = net.block(Height(1), 0, 0);
        let cert = v1::CommitCertificate {
            height: 1,
            ..Default::default()
        };
        net.app
            .commit(v1::Block::decode(parent).unwrap(), cert)
            .unwrap();
        net.driver.height = h;
        net.driver.verify_pending(h).unwrap();
        let log = net.app.stored_log();
        assert_eq!(log.len(), 1);
        let header = v1::Block::decode(real).unwrap().header.unwrap();
        assert_eq!(log[0].hash, babel_proto::block_hash(&header));
    }

    #[test]
    fn parts_outside_the_window_or_from_strangers_are_not_buffered() {
        let mut net = net();
        let chunk = |h: u64, r: u32| {
            StreamMessage::new(
                PartStreams::stream_id(Height(h), Round::new(r)),
                1,
                malachitebft_app_channel::app::streaming::StreamContent::Data(ProposalPart::Data(
                    vec![0; 1000].into(),
                )),
            )
        };
        let cases = [
            (0, 0),                         // a past height
            (1 + MAX_HEIGHTS_AHEAD + 1, 0), // too far ahead
            (1, MAX_ROUNDS_AHEAD + 1),      // a round too far ahead
        ];
        for (h, r) in cases {
            for from in 0..N {
                net.feed(from, vec![chunk(h, r)]);
            }
        }
        let stranger = PeerId::from_bytes(
            &Keypair::ed25519_from_bytes([99; 32])
                .unwrap()
                .public()
                .to_peer_id()
                .to_bytes(),
        )
        .unwrap();
        assert!(net.driver.on_part(stranger, chunk(1, 0)).unwrap().is_none());
        assert_eq!(net.driver.streams.open_streams(), 0);

        // Inside the window, from the round's proposer: buffered.
        let p = net.proposer(Height(1), Round::new(MAX_ROUNDS_AHEAD));
        net.feed(p, vec![chunk(1, MAX_ROUNDS_AHEAD)]);
        assert_eq!(net.driver.streams.open_streams(), 1);
    }

    #[test]
    fn a_fresh_block_must_name_its_proposer_and_the_lock_round_is_signed() {
        let mut net = net();
        let (h, r) = (Height(1), Round::new(0));
        let p = net.proposer(h, r);
        // Built as if by another validator, streamed and signed by the round's proposer.
        let block = net.block(h, (p + 1) % N, 0);
        let values = net.feed(p, net.stream(h, r, p, &block));
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].validity, Validity::Invalid);
        assert_eq!(net.driver.metrics.refused(Refusal::Proposer), 1);

        // A relay rewriting the proof-of-lock round breaks the signature.
        let (h1, r1) = (Height(1), Round::new(1));
        let p1 = net.proposer(h1, r1);
        let block = net.block(h1, p1, 0);
        let mut msgs = net.stream(h1, r1, p1, &block);
        if let malachitebft_app_channel::app::streaming::StreamContent::Data(ProposalPart::Init {
            pol_round,
            ..
        }) = &mut msgs[0].content
        {
            *pol_round = Round::new(0);
        }
        assert!(net.feed(p1, msgs).is_empty());
        // Only the proposer can publish under its name, so the bad stream was its own: it
        // gets no second one reassembled for that round.
        let msgs = net.stream(h1, r1, p1, &block);
        assert!(net.feed(p1, msgs).is_empty());
        assert_eq!(net.app.validations(), 0);
        assert_eq!(net.driver.metrics.refused(Refusal::Signature), 1);
        assert_eq!(net.driver.metrics.refused(Refusal::Execution), 0);
    }
}
