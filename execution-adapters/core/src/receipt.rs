//! How large receipts may grow: per transaction and per block.
//!
//! A receipt records one frame per cross-rollup call, refused ones included, with its target,
//! output and logs. Receipts are hashed into the results root, stored by every validator and
//! served over RPC, so what one transaction can make every node hold must be bounded. Gas
//! bounds most of it (targets are at most
//! [`MAX_XCALL_TARGET_LEN`](crate::gas::MAX_XCALL_TARGET_LEN) bytes; call input, target and
//! output bytes are charged per byte, log bytes by the VM), but a refused call can cost its
//! caller as little as the gas it offered, possibly none. So the receipt is bounded
//! outright as well:
//!
//! - A transaction records at most [`MAX_RECEIPT_FRAMES`] frames (its own included) and
//!   [`MAX_RECEIPT_BYTES`] bytes. Bytes are counted as frames are recorded, at their encoded
//!   size (target, output, logs' address, topics and data, and their protobuf framing), and
//!   stay counted if a later revert drops the logs: the count is an upper bound of the encoded
//!   receipt. A transaction that goes over fails as if it had halted exceptionally: all its
//!   gas is used, all its changes are undone (nonce and fee stay), and its receipt holds only
//!   the reason. Once over, its further cross-rollup calls are refused at once, record
//!   nothing, and use all the gas they were offered, so that it ends soon.
//! - A block's receipts add up to at most [`MAX_BLOCK_RECEIPT_BYTES`] encoded bytes (see
//!   [`Executor::execute_block`](crate::Executor::execute_block) and
//!   [`Executor::build_block`](crate::Executor::build_block)).

use babel_proto::v1;
use bytes::Bytes;
use prost::Message;

use crate::abi;

/// Most call frames one transaction's receipt may record, its own top-level frame included.
/// A cross-rollup call costs at least [`XCALL_BASE_GAS`](crate::gas::XCALL_BASE_GAS) when it
/// runs, so 30 000 000 gas pays for about 11 500 of them; this bound is what limits calls that
/// are refused for (almost) nothing.
pub const MAX_RECEIPT_FRAMES: usize = 1_024;
/// Most bytes one transaction's receipt may record (its encoded size is never larger).
pub const MAX_RECEIPT_BYTES: usize = 1 << 20;
/// Most bytes a block's receipts may add up to, encoded.
pub const MAX_BLOCK_RECEIPT_BYTES: usize = 16 << 20;

// A transaction alone always fits an empty block, so a proposer can always make progress.
const _: () = assert!(MAX_RECEIPT_BYTES <= MAX_BLOCK_RECEIPT_BYTES);

/// Framing a frame adds to what holds it: a one-byte field key and a length of at most five
/// bytes (lengths below 2^35).
const FRAMING: usize = 6;
/// The receipt's fields beside its output and root: `success` (2 bytes), `gas_used` and
/// `fee_paid` (11 each at most) and the output's framing.
const RECEIPT_FIELDS: usize = 2 + 11 + 11 + FRAMING;

/// Which of a transaction's receipt bounds it went over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// [`MAX_RECEIPT_FRAMES`].
    Frames,
    /// [`MAX_RECEIPT_BYTES`].
    Bytes,
}

impl Overflow {
    /// Why the transaction failed, as revert data (`Error(string)`).
    pub(crate) fn message(self) -> Bytes {
        abi::error_message(&match self {
            Self::Frames => {
                format!("babel: receipt would record more than {MAX_RECEIPT_FRAMES} call frames")
            }
            Self::Bytes => {
                format!("babel: receipt would record more than {MAX_RECEIPT_BYTES} bytes")
            }
        })
    }
}

/// What one transaction's receipt has recorded so far.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// Frames recorded, counting the top-level frame from the start (it is always recorded).
    frames: usize,
    bytes: usize,
    overflow: Option<Overflow>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            frames: 1,
            bytes: 0,
            overflow: None,
        }
    }

    /// Whether another frame may still be recorded; if not, the transaction has gone over.
    pub(crate) fn room(&mut self) -> Result<(), Overflow> {
        if let Some(overflow) = self.overflow {
            return Err(overflow);
        }
        if self.frames >= MAX_RECEIPT_FRAMES {
            self.overflow = Some(Overflow::Frames);
            return Err(Overflow::Frames);
        }
        Ok(())
    }

    /// Count the cross-rollup call frame `frame` (its children were counted when they were
    /// recorded). `Err` if it does not fit: the transaction has gone over and `frame` must not
    /// be kept.
    pub(crate) fn record(&mut self, frame: &mut v1::CallFrame) -> Result<(), Overflow> {
        self.room()?;
        self.add(own_bytes(frame))?;
        self.frames += 1;
        Ok(())
    }

    /// Count the top-level frame `root` and the receipt's own fields around an output of
    /// `output_len` bytes: `Err` if the transaction went over at any point.
    pub(crate) fn finish(
        &mut self,
        root: &mut v1::CallFrame,
        output_len: usize,
    ) -> Result<(), Overflow> {
        if let Some(overflow) = self.overflow {
            return Err(overflow);
        }
        self.add(
            own_bytes(root)
                .saturating_add(RECEIPT_FIELDS)
                .saturating_add(output_len),
        )
    }

    fn add(&mut self, bytes: usize) -> Result<(), Overflow> {
        let total = self.bytes.saturating_add(bytes);
        if total > MAX_RECEIPT_BYTES {
            self.overflow = Some(Overflow::Bytes);
            return Err(Overflow::Bytes);
        }
        self.bytes = total;
        Ok(())
    }
}

/// The encoded size of `frame` without its children, framing included: children are counted
/// on their own, so that counting a tree costs time in its size, not its size times its depth.
fn own_bytes(frame: &mut v1::CallFrame) -> usize {
    let children = std::mem::take(&mut frame.children);
    let len = frame.encoded_len();
    frame.children = children;
    len + FRAMING
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(
        target: usize,
        output: usize,
        logs: usize,
        children: Vec<v1::CallFrame>,
    ) -> v1::CallFrame {
        v1::CallFrame {
            rollup_id: u64::MAX,
            target: vec![1; target].into(),
            gas_used: u64::MAX,
            success: true,
            output: vec![2; output].into(),
            logs: (0..logs)
                .map(|i| v1::Log {
                    address: vec![3; 20].into(),
                    topics: vec![vec![4; 32].into(); i % 5],
                    data: vec![5; i * 100].into(),
                })
                .collect(),
            children,
        }
    }

    /// Record `frame`'s children depth first, then `frame` itself, as the executor does.
    fn record_tree(recorder: &mut Recorder, frame: &mut v1::CallFrame) {
        for child in &mut frame.children {
            record_tree(recorder, child);
            recorder.record(&mut child.clone()).unwrap();
        }
    }

    #[test]
    fn the_count_bounds_the_encoded_receipt() {
        let leaf = |n: usize| frame(n % 33, n * 37, n % 4, Vec::new());
        let middle = frame(20, 300, 2, (0..40).map(leaf).collect());
        let mut root = frame(0, 5_000, 3, vec![middle.clone(), leaf(7), middle]);
        let mut recorder = Recorder::new();
        record_tree(&mut recorder, &mut root);
        let output = vec![6u8; 5_000];
        recorder.finish(&mut root, output.len()).unwrap();
        let receipt = v1::Receipt {
            success: true,
            gas_used: u64::MAX,
            fee_paid: u64::MAX,
            output: output.into(),
            root: Some(root),
        };
        assert!(receipt.encoded_len() <= recorder.bytes);
        assert!(
            recorder.bytes - receipt.encoded_len() < recorder.frames * FRAMING,
            "the count is close: at most each frame's framing is over-counted"
        );
        assert_eq!(recorder.frames, 84);
    }

    #[test]
    fn going_over_is_sticky() {
        let mut recorder = Recorder::new();
        for _ in 1..MAX_RECEIPT_FRAMES {
            recorder.record(&mut v1::CallFrame::default()).unwrap();
        }
        assert_eq!(recorder.room(), Err(Overflow::Frames));
        assert_eq!(
            recorder.finish(&mut v1::CallFrame::default(), 0),
            Err(Overflow::Frames)
        );

        let mut recorder = Recorder::new();
        let mut big = frame(0, MAX_RECEIPT_BYTES, 0, Vec::new());
        assert_eq!(recorder.record(&mut big), Err(Overflow::Bytes));
        assert_eq!(
            recorder.record(&mut v1::CallFrame::default()),
            Err(Overflow::Bytes)
        );
    }
}
