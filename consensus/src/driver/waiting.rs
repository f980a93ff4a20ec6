//! A proposer that waits for transactions: genesis `empty_block_wait_ms` lets a round-0
//! proposer with nothing to include hold its `GetValue` answer until the application has
//! transactions or the wait is over, so an idle chain does not decide empty heights as fast as
//! consensus goes (each costs every validator votes, two synced writes and a DA post).
//!
//! The wait is at most half the round's propose timeout, which leaves the rest for building
//! and streaming the block before the other validators give up on it. Later rounds do not
//! wait: they follow a failed round, and the chain should recover from it at once.

use std::time::Duration;

use malachitebft_app_channel::app::types::{LocallyProposedValue, core::Round};
use tokio::sync::oneshot;

use crate::{BabelContext, Height, TransactionsReady};

/// A `GetValue` held back until transactions arrive or its deadline passes.
pub(super) struct WaitingProposal {
    pub(super) height: Height,
    pub(super) round: Round,
    pub(super) reply: oneshot::Sender<LocallyProposedValue<BabelContext>>,
    pub(super) ready: TransactionsReady,
    pub(super) deadline: tokio::time::Instant,
}

/// How long a proposer asked for `round`'s value, to be answered within `timeout`, waits for
/// transactions when `configured` to (`None`: it proposes at once).
pub(super) fn wait_for(configured: Duration, round: Round, timeout: Duration) -> Option<Duration> {
    let wait = configured.min(timeout / 2);
    (round == Round::new(0) && !wait.is_zero()).then_some(wait)
}

/// Resolves when the waiting proposal (if any) is due: its transactions are ready or its
/// deadline passed. Never resolves without one.
pub(super) async fn proposal_due(waiting: &mut Option<WaitingProposal>) {
    match waiting {
        Some(w) => {
            tokio::select! {
                () = &mut w.ready => {}
                () = tokio::time::sleep_until(w.deadline) => {}
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use malachitebft_app_channel::{AppMsg, app::consensus::Role};
    use prost::Message;

    use super::*;
    use crate::{
        Application,
        driver::test_net::{Net, net},
    };

    const TIMEOUT: Duration = Duration::from_secs(60);

    /// Ask the driver for its value of (height 1, `round`); the answer's receiver.
    async fn get_value(
        net: &mut Net,
        round: u32,
    ) -> oneshot::Receiver<LocallyProposedValue<BabelContext>> {
        let (reply, answer) = oneshot::channel();
        net.driver
            .handle(AppMsg::GetValue {
                height: Height(1),
                round: Round::new(round),
                timeout: TIMEOUT,
                reply,
            })
            .await
            .unwrap();
        answer
    }

    /// Run the driver's loop step for a due proposal.
    async fn propose_when_due(net: &mut Net) {
        proposal_due(&mut net.driver.waiting).await;
        let w = net.driver.waiting.take().unwrap();
        net.driver
            .propose(w.height, w.round, w.reply)
            .await
            .unwrap();
    }

    /// The block this node stored for (height 1, `round`).
    fn stored_block(net: &Net, round: u32) -> babel_proto::v1::Block {
        let (_, bytes) = net.app.proposals(Height(1), round).unwrap().pop().unwrap();
        babel_proto::v1::StoredProposal::decode(bytes.as_slice())
            .unwrap()
            .block
            .unwrap()
    }

    fn tx(nonce: u64) -> babel_proto::v1::SignedTransaction {
        babel_proto::v1::SignedTransaction {
            signature: vec![nonce as u8; 64].into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_proposer_with_nothing_to_include_answers_once_a_transaction_arrives() {
        let mut net = net();
        net.driver.empty_block_wait = Duration::from_secs(20);
        let mut answer = get_value(&mut net, 0).await;
        assert!(
            answer.try_recv().is_err(),
            "nothing to include: no answer yet"
        );
        assert!(net.app.proposals(Height(1), 0).unwrap().is_empty());

        net.app.submit(tx(1));
        // Well before the 20 s deadline: the arrival is what makes the proposal due.
        tokio::time::timeout(Duration::from_secs(10), propose_when_due(&mut net))
            .await
            .expect("the arrival wakes the proposer");
        let value = answer.await.unwrap();
        assert_eq!((value.height, value.round), (Height(1), Round::new(0)));
        assert_eq!(stored_block(&net, 0).txs, vec![tx(1)]);
    }

    #[tokio::test]
    async fn with_nothing_arriving_the_proposer_answers_with_an_empty_block_at_its_deadline() {
        let mut net = net();
        let wait = Duration::from_millis(50);
        net.driver.empty_block_wait = wait;
        let started = tokio::time::Instant::now();
        let answer = get_value(&mut net, 0).await;
        propose_when_due(&mut net).await;
        assert!(started.elapsed() >= wait, "answered before its deadline");
        assert_eq!(answer.await.unwrap().round, Round::new(0));
        assert!(stored_block(&net, 0).txs.is_empty());
    }

    #[tokio::test]
    async fn later_rounds_and_proposals_already_built_are_answered_at_once() {
        let mut net = net();
        net.driver.empty_block_wait = Duration::from_secs(20);
        let mut answer = get_value(&mut net, 1).await;
        assert!(answer.try_recv().is_ok(), "round 1 follows a failed round");
        assert!(net.driver.waiting.is_none());

        // Round 0's block built (say before a restart): proposed again as it was, at once.
        net.driver.own_proposal(Height(1), Round::new(0)).unwrap();
        let mut answer = get_value(&mut net, 0).await;
        assert!(answer.try_recv().is_ok());
        assert!(net.driver.waiting.is_none());
    }

    #[tokio::test]
    async fn a_new_round_drops_the_proposal_waiting_in_the_old_one() {
        let mut net = net();
        net.driver.empty_block_wait = Duration::from_secs(20);
        let answer = get_value(&mut net, 0).await;
        assert!(net.driver.waiting.is_some());
        let (reply_value, _values) = oneshot::channel();
        net.driver
            .handle(AppMsg::StartedRound {
                height: Height(1),
                round: Round::new(1),
                proposer: net.signers[1].address(),
                role: Role::Validator,
                reply_value,
            })
            .await
            .unwrap();
        assert!(net.driver.waiting.is_none());
        assert!(
            answer.await.is_err(),
            "the old round's request is dropped unanswered"
        );
        assert!(net.app.stored_log().is_empty(), "nothing was built for it");
    }

    #[test]
    fn the_wait_is_at_most_half_the_propose_timeout_and_only_in_round_0() {
        let (second, r0) = (Duration::from_secs(1), Round::new(0));
        assert_eq!(wait_for(second, r0, 3 * second), Some(second));
        assert_eq!(wait_for(second, r0, second), Some(second / 2));
        assert_eq!(wait_for(second, Round::new(1), 3 * second), None);
        assert_eq!(wait_for(Duration::ZERO, r0, 3 * second), None);
    }
}
