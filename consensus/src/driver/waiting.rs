//! Waiting for transactions between heights: with genesis `empty_block_wait_ms` set, a node
//! that has finalized a height and holds nothing a block could take waits, up to that long,
//! for the application to have transactions before it starts the next height. An idle chain
//! then decides an empty height per wait instead of as fast as consensus goes (each costs
//! every validator votes, two synced writes and a DA post).
//!
//! The wait comes before the height starts, as CometBFT's `create_empty_blocks = false` does,
//! not inside the proposer's `GetValue`: there it would eat into the propose timeout that the
//! other validators are already running, and a block built late would be refused for lateness
//! (each failed round then makes the next block larger and slower). Every validator waits on
//! its own mempool; peers forward what clients submit, so their mempools fill together, and a
//! validator that started later than the others only runs its timeouts later. A node that
//! decides heights through sync is behind, and does not wait between them.
//!
//! The driver answers Malachite's messages one at a time (and Malachite's connector waits for
//! most replies), so what else comes for the application waits too: sync requests from peers,
//! this node's own sync status and proposal parts of the next height. Hence genesis caps the
//! wait at 5 s, below Malachite's 10 s sync request timeout. A waiting node is woken by its own
//! mempool only, not by the next height's proposal: if a third of the voting power has an
//! empty mempool while the proposer does not, that height starts up to one wait late.

use std::time::Duration;

use crate::TransactionsReady;

/// Wait until `ready` resolves or `wait` passes; whether transactions arrived in time.
pub(super) async fn until_ready(ready: TransactionsReady, wait: Duration) -> bool {
    tokio::time::timeout(wait, ready).await.is_ok()
}

#[cfg(test)]
mod tests {
    use malachitebft_app_channel::app::engine::host::Next;

    use super::*;
    use crate::{
        BabelContext, Height,
        driver::test_net::{Net, net},
    };

    /// Far longer than any of these tests may take: reaching it means the wait did not end
    /// when it should have.
    const LONG_WAIT: Duration = Duration::from_secs(20);

    /// The height the driver starts after the (committed) genesis height 0.
    async fn next(net: &mut Net) -> Next<BabelContext> {
        net.driver.next_height(Height(0)).await.unwrap()
    }

    /// [`next`], failing the test if it takes anywhere near [`LONG_WAIT`].
    async fn next_soon(net: &mut Net) -> Next<BabelContext> {
        tokio::time::timeout(LONG_WAIT / 2, next(net))
            .await
            .expect("started before the wait's deadline")
    }

    fn started(next: &Next<BabelContext>) -> Option<Height> {
        match next {
            Next::Start(height, _) => Some(*height),
            Next::Restart(..) => None,
        }
    }

    fn tx(n: u8) -> babel_proto::v1::SignedTransaction {
        babel_proto::v1::SignedTransaction {
            signature: vec![n; 64].into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn with_nothing_to_include_the_next_height_starts_once_a_transaction_arrives() {
        let mut net = net();
        net.driver.empty_block_wait = LONG_WAIT;
        let app = net.app.clone();
        let waited = tokio::time::Instant::now();
        // The transaction comes after the driver has begun to wait.
        let arrives = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            app.submit(tx(1));
        };
        let (next, ()) = tokio::join!(next_soon(&mut net), arrives);
        assert_eq!(started(&next), Some(Height(1)));
        assert!(
            waited.elapsed() >= Duration::from_millis(50),
            "did not wait"
        );
    }

    #[tokio::test]
    async fn with_nothing_arriving_the_next_height_starts_when_the_wait_is_over() {
        let mut net = net();
        let wait = Duration::from_millis(50);
        net.driver.empty_block_wait = wait;
        let waited = tokio::time::Instant::now();
        assert_eq!(started(&next(&mut net).await), Some(Height(1)));
        assert!(waited.elapsed() >= wait, "started before the wait was over");
    }

    #[tokio::test]
    async fn with_transactions_waiting_or_no_wait_configured_the_next_height_starts_at_once() {
        let mut net = net();
        assert_eq!(started(&next_soon(&mut net).await), Some(Height(1)));
        net.driver.empty_block_wait = LONG_WAIT;
        net.app.submit(tx(1));
        assert_eq!(started(&next_soon(&mut net).await), Some(Height(1)));
    }

    #[tokio::test]
    async fn a_node_catching_up_by_sync_does_not_wait_between_heights() {
        let mut net = net();
        net.driver.empty_block_wait = LONG_WAIT;
        net.driver.synced_up_to = Some(Height(0));
        assert_eq!(started(&next_soon(&mut net).await), Some(Height(1)));
    }

    #[tokio::test]
    async fn a_height_whose_block_is_missing_restarts_without_waiting() {
        let mut net = net();
        net.driver.empty_block_wait = LONG_WAIT;
        let next = tokio::time::timeout(LONG_WAIT / 2, net.driver.next_height(Height(1)))
            .await
            .expect("no wait")
            .unwrap();
        assert!(matches!(next, Next::Restart(h, _) if h == Height(1)));
    }
}
