//! Memory bounds for the gRPC server streams (`StreamBlocks`, `StreamRollupBatches`).
//!
//! A client that opens a stream and never reads it makes the server keep what it produced for
//! it. Two limits bound that memory:
//!
//! - [`StreamSlots`]: a node-wide cap on open streams; beyond it a new stream is refused with
//!   `RESOURCE_EXHAUSTED` (waiting instead would let the same client pile up requests).
//! - [`buffer`]: each stream's buffer is bounded in bytes, not only in items: its producer waits
//!   while the client has a byte budget of responses unread. A response larger than the budget
//!   is sent alone, once the buffer is empty, so a full block always gets through.
//!
//! A stream's slot is held by the response stream itself, so it is freed as soon as the server
//! drops the response (the client went away), not when the producer next wakes up.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Most responses buffered per stream, however small: bounds the per-item overhead that the
/// byte budget does not see.
const BUFFER_ITEMS: usize = 64;

/// The node-wide cap on open server streams; cheap to clone (clones share the cap).
#[derive(Clone, Debug)]
pub(crate) struct StreamSlots {
    slots: Arc<Semaphore>,
    limit: usize,
}

/// One open stream's place under the cap; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl StreamSlots {
    /// At most `limit` streams open at once (0 refuses every stream).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A slot for a new stream, or `RESOURCE_EXHAUSTED` if `limit` streams are open.
    pub(crate) fn open(&self) -> Result<Slot, tonic::Status> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map(|permit| Slot { _permit: permit })
            .map_err(|_| {
                tonic::Status::resource_exhausted(format!(
                    "this node already serves its limit of {} block and rollup-batch streams \
                     ([grpc] max_block_streams); close one or retry later",
                    self.limit
                ))
            })
    }

    /// Streams open now.
    #[cfg(test)]
    pub(crate) fn open_now(&self) -> usize {
        self.limit - self.slots.available_permits()
    }
}

/// The client has gone: nothing sent will be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the stream's client has gone")]
pub(crate) struct Closed;

/// The producing end of a stream buffer.
#[derive(Debug)]
pub(crate) struct BufferSender<T> {
    tx: mpsc::Sender<(T, OwnedSemaphorePermit)>,
    bytes: Arc<Semaphore>,
    budget: u32,
}

/// The consuming end of a stream buffer: the response stream handed to tonic. It holds the
/// stream's [`Slot`].
#[derive(Debug)]
pub(crate) struct BufferedStream<T> {
    rx: mpsc::Receiver<(T, OwnedSemaphorePermit)>,
    _slot: Slot,
}

/// Largest byte budget of one stream buffer (a semaphore counts at most
/// `Semaphore::MAX_PERMITS`, which is smaller than `u32::MAX` on 32-bit targets).
const MAX_BUDGET: u32 = 1 << 28;

/// A stream buffer holding at most `budget` bytes (1 to 256 MiB) of unread items (or one larger
/// item) and at most [`BUFFER_ITEMS`] items, for the stream that holds `slot`.
pub(crate) fn buffer<T>(slot: Slot, budget: u32) -> (BufferSender<T>, BufferedStream<T>) {
    let budget = budget.clamp(1, MAX_BUDGET);
    let (tx, rx) = mpsc::channel(BUFFER_ITEMS);
    let sender = BufferSender {
        tx,
        bytes: Arc::new(Semaphore::new(budget as usize)),
        budget,
    };
    (sender, BufferedStream { rx, _slot: slot })
}

impl<T> BufferSender<T> {
    /// Queue `item`, which takes `bytes` of memory, waiting while the buffer is full. An item
    /// larger than the budget waits until the buffer is empty. Fails as soon as the client is
    /// gone, even while waiting.
    pub(crate) async fn send(&self, item: T, bytes: usize) -> Result<(), Closed> {
        let cost = u32::try_from(bytes)
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget);
        let room = tokio::select! {
            permit = self.bytes.clone().acquire_many_owned(cost) => permit.map_err(|_| Closed)?,
            () = self.tx.closed() => return Err(Closed),
        };
        self.tx.send((item, room)).await.map_err(|_| Closed)
    }

    /// Resolves when the client has gone.
    pub(crate) async fn closed(&self) {
        self.tx.closed().await;
    }
}

impl<T> Stream for BufferedStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // The item's room in the budget is given back as it leaves the buffer.
        self.rx
            .poll_recv(cx)
            .map(|next| next.map(|(item, _room)| item))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_stream::StreamExt as _;

    use super::*;

    /// Whether `send` completes within a short wait (the negative case cannot flake: a send
    /// that should block never completes).
    async fn completes(send: impl Future<Output = Result<(), Closed>>) -> bool {
        tokio::time::timeout(Duration::from_millis(100), send)
            .await
            .is_ok_and(|sent| sent.is_ok())
    }

    #[test]
    fn the_cap_refuses_extra_streams_until_one_closes() {
        let slots = StreamSlots::new(2);
        let a = slots.open().unwrap();
        let _b = slots.clone().open().unwrap();
        assert_eq!(slots.open_now(), 2);
        let refused = slots.open().unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("limit of 2"), "{refused}");
        drop(a);
        assert!(slots.open().is_ok(), "a closed stream frees its slot");
        assert!(StreamSlots::new(0).open().is_err());
    }

    #[tokio::test]
    async fn an_unread_stream_holds_at_most_its_byte_budget() {
        let slots = StreamSlots::new(1);
        let (tx, mut rx) = buffer::<u32>(slots.open().unwrap(), 1_000);
        assert!(completes(tx.send(1, 400)).await);
        assert!(completes(tx.send(2, 400)).await);
        // 800 bytes unread: another 400 would exceed the budget.
        let third = tx.send(3, 400);
        tokio::pin!(third);
        assert!(!completes(&mut third).await);
        assert_eq!(rx.next().await, Some(1));
        assert!(completes(third).await, "reading one makes room");
        assert_eq!(rx.next().await, Some(2));
        assert_eq!(rx.next().await, Some(3));
    }

    #[tokio::test]
    async fn an_item_larger_than_the_budget_goes_alone() {
        let (tx, mut rx) = buffer::<u32>(StreamSlots::new(1).open().unwrap(), 1_000);
        assert!(completes(tx.send(1, 10)).await);
        let big = tx.send(2, 5_000_000);
        tokio::pin!(big);
        assert!(!completes(&mut big).await);
        assert_eq!(rx.next().await, Some(1));
        assert!(completes(big).await, "an empty buffer takes it");
        assert!(!completes(tx.send(3, 1)).await, "nothing joins it");
        assert_eq!(rx.next().await, Some(2));
    }

    #[tokio::test]
    async fn many_small_items_are_bounded_in_count() {
        let (tx, _rx) = buffer::<u32>(StreamSlots::new(1).open().unwrap(), 1_000_000);
        for i in 0..BUFFER_ITEMS as u32 {
            assert!(completes(tx.send(i, 0)).await);
        }
        assert!(!completes(tx.send(0, 0)).await);
    }

    #[tokio::test]
    async fn a_gone_client_stops_the_producer_and_frees_its_slot() {
        let slots = StreamSlots::new(1);
        let (tx, rx) = buffer::<u32>(slots.open().unwrap(), 100);
        assert!(completes(tx.send(1, 100)).await);
        let blocked = tx.send(2, 100);
        tokio::pin!(blocked);
        assert!(!completes(&mut blocked).await);
        drop(rx);
        assert_eq!(blocked.await, Err(Closed), "a waiting send gives up");
        assert_eq!(tx.send(3, 1).await, Err(Closed));
        tx.closed().await;
        assert_eq!(slots.open_now(), 0);
    }
}
