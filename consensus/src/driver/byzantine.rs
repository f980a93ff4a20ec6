//! A byzantine proposer, for tests of this and downstream crates: it equivocates, repeats its
//! parts, floods junk streams and withholds its proposals, as [`Byzantine`] configures.

use bytes::Bytes;
use malachitebft_app_channel::app::{
    streaming::{StreamContent, StreamMessage},
    types::core::Round,
};
use malachitebft_signing_ed25519::Signature;
use prost::Message;

use babel_proto::v1;

use super::{Driver, MAX_HEIGHTS_AHEAD, MAX_ROUNDS_AHEAD};
use crate::{
    Application, CHUNK_BYTES, ConsensusError, Height, ProposalPart,
    streaming::{PartStreams, stream_messages},
    test_utils::Byzantine,
};

impl<A: Application> Driver<A> {
    /// Publish (or not) our proposal for (`height`, `round`) the way `b` says.
    pub(super) async fn misbehave(
        &mut self,
        b: &Byzantine,
        height: Height,
        round: Round,
        block_bytes: Bytes,
    ) -> Result<(), ConsensusError> {
        if b.withhold_every > 0 && height.0.is_multiple_of(b.withhold_every) {
            return Ok(());
        }
        let mut blocks = vec![block_bytes.clone()];
        if b.equivocations > 0 {
            let block = v1::Block::decode(block_bytes)
                .map_err(|e| ConsensusError::Decode(format!("own block: {e}")))?;
            for i in 0..b.equivocations {
                let mut other = block.clone();
                if let Some(h) = other.header.as_mut() {
                    h.time_ms += i as u64 + 1;
                }
                blocks.push(other.encode_to_vec().into());
            }
        }
        for bytes in &blocks {
            for _ in 0..=b.repeats {
                self.publish(height, round, Round::Nil, bytes).await?;
            }
        }
        for j in 0..b.junk_streams {
            // Spread over the admission window and beyond it.
            let h = Height(height.0 + (j as u64 % (MAX_HEIGHTS_AHEAD + 2)));
            let r =
                Round::new(round.as_u32().unwrap_or(0) + (j as u32 / 6) % (MAX_ROUNDS_AHEAD + 2));
            let id = PartStreams::stream_id(h, r);
            // Data that never completes: no Init, no Fin.
            for seq in 1..=8 {
                let chunk = Bytes::from(vec![j as u8; CHUNK_BYTES]);
                self.send_part(StreamMessage::new(
                    id.clone(),
                    seq,
                    StreamContent::Data(ProposalPart::Data(chunk)),
                ))
                .await?;
            }
            // A complete stream whose signature is garbage.
            let junk = Bytes::from(vec![0xEE; 1000 + j]);
            for msg in stream_messages(
                h,
                r,
                Round::Nil,
                self.address,
                &junk,
                Signature::from_bytes([j as u8; 64]),
            ) {
                self.send_part(msg).await?;
            }
        }
        Ok(())
    }
}
