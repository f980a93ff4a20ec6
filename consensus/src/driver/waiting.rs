//! A proposer that waits for transactions: genesis `empty_block_wait_ms` lets a round-0
//! proposer with nothing to include hold its `GetValue` answer until the application has
//! transactions or the wait is over, so an idle chain does not decide empty heights as fast as
//! consensus goes (each costs every validator votes, two synced writes and a DA post).
//!
//! Malachite's app-channel connector hands the application one message at a time and waits
//! for each reply, so nothing else reaches the driver while it waits, and the driver simply
//! waits in line. Queued behind the wait: sync requests from peers, this node's own synced
//! values, proposal parts for later heights and, should the round change meanwhile, the
//! engine's `StartedRound` call. Hence the bounds: only round 0 waits (a later round follows a
//! failed one, and the chain should recover at once); a wait is at most half the round's
//! propose timeout, leaving the other half for building and streaming the block before the
//! other validators give up on it; and genesis caps it absolutely, below Malachite's sync
//! request timeout.

use std::time::Duration;

use malachitebft_app_channel::app::types::core::Round;

use crate::TransactionsReady;

/// How long a proposer asked for `round`'s value, to be answered within `timeout`, waits for
/// transactions when `configured` to (`None`: it proposes at once).
pub(super) fn wait_for(configured: Duration, round: Round, timeout: Duration) -> Option<Duration> {
    let wait = configured.min(timeout / 2);
    (round == Round::new(0) && !wait.is_zero()).then_some(wait)
}

/// Wait until `ready` resolves or `wait` passes; whether transactions arrived in time.
pub(super) async fn until_ready(ready: TransactionsReady, wait: Duration) -> bool {
    tokio::time::timeout(wait, ready).await.is_ok()
}

#[cfg(test)]
mod tests {
    use malachitebft_app_channel::{AppMsg, app::types::LocallyProposedValue};
    use prost::Message;
    use tokio::sync::oneshot;

    use super::*;
    use crate::{
        Application, BabelContext, Height,
        driver::test_net::{Net, net},
    };

    const TIMEOUT: Duration = Duration::from_secs(60);
    /// Far longer than any of these tests may take: reaching it means the wait did not end
    /// when it should have.
    const LONG_WAIT: Duration = Duration::from_secs(20);

    /// Ask the driver for its value of (height 1, `round`) and return the answer.
    async fn get_value(net: &mut Net, round: u32) -> LocallyProposedValue<BabelContext> {
        let (reply, mut answer) = oneshot::channel();
        net.driver
            .handle(AppMsg::GetValue {
                height: Height(1),
                round: Round::new(round),
                timeout: TIMEOUT,
                reply,
            })
            .await
            .unwrap();
        answer.try_recv().expect("GetValue answered")
    }

    /// [`get_value`], failing the test if it takes anywhere near [`LONG_WAIT`].
    async fn get_value_soon(net: &mut Net, round: u32) -> LocallyProposedValue<BabelContext> {
        tokio::time::timeout(LONG_WAIT / 2, get_value(net, round))
            .await
            .expect("answered before the wait's deadline")
    }

    /// The block this node stored for (height 1, `round`).
    fn stored_block(net: &Net, round: u32) -> babel_proto::v1::Block {
        let (_, bytes) = net.app.proposals(Height(1), round).unwrap().pop().unwrap();
        babel_proto::v1::StoredProposal::decode(bytes.as_slice())
            .unwrap()
            .block
            .unwrap()
    }

    fn tx(n: u8) -> babel_proto::v1::SignedTransaction {
        babel_proto::v1::SignedTransaction {
            signature: vec![n; 64].into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_proposer_with_nothing_to_include_answers_once_a_transaction_arrives() {
        let mut net = net();
        net.driver.empty_block_wait = LONG_WAIT;
        let app = net.app.clone();
        // The transaction comes after the proposer has begun to wait.
        let arrives = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            app.submit(tx(1));
        };
        let (value, ()) = tokio::join!(get_value_soon(&mut net, 0), arrives);
        assert_eq!((value.height, value.round), (Height(1), Round::new(0)));
        assert_eq!(
            stored_block(&net, 0).txs,
            vec![tx(1)],
            "built after the arrival"
        );
    }

    #[tokio::test]
    async fn with_nothing_arriving_the_proposer_answers_with_an_empty_block_at_its_deadline() {
        let mut net = net();
        let wait = Duration::from_millis(50);
        net.driver.empty_block_wait = wait;
        let started = tokio::time::Instant::now();
        let value = get_value(&mut net, 0).await;
        assert!(started.elapsed() >= wait, "answered before its deadline");
        assert_eq!(value.round, Round::new(0));
        assert!(stored_block(&net, 0).txs.is_empty());
    }

    #[tokio::test]
    async fn later_rounds_and_proposals_already_built_are_answered_at_once() {
        let mut net = net();
        net.driver.empty_block_wait = LONG_WAIT;
        // Round 1 follows a failed round.
        assert_eq!(get_value_soon(&mut net, 1).await.round, Round::new(1));
        // Round 0's block built (say before a restart) is proposed again as it was.
        let (hash, _) = net.driver.own_proposal(Height(1), Round::new(0)).unwrap();
        assert_eq!(get_value_soon(&mut net, 0).await.value, hash);
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
