//! The contract between the core and a VM: [`ExecutionAdapter`] (implemented by each VM crate)
//! and [`Host`] (implemented by the core, handed to the adapter for one frame).

use std::fmt;

use babel_genesis::RollupGenesis;
use babel_proto::{
    message::{MESSAGE_COUNT_KEY, decode_message_count, encode_message, message_key},
    v1::{self, transaction::Payload},
};

use crate::{
    BlockEnv, Checkpoint, ExecError, Frame, FrameOutcome, RollupId, VmKind, XCall, XResult,
    state::KeyValues,
};

/// What a frame may do to the world: read and write its own rollup's state (through the
/// transaction-wide journal), take checkpoints, and call other rollups synchronously.
pub trait Host {
    /// The block being executed.
    fn env(&self) -> &BlockEnv;
    /// The rollup this frame runs on.
    fn rollup(&self) -> RollupId;
    /// Cross-rollup depth of this frame.
    fn depth(&self) -> u32;
    /// The transaction's origin rollup and its signer (ed25519 public key), whichever frame
    /// asks.
    fn origin(&self) -> (RollupId, [u8; 32]);
    /// Read `key` of this rollup. An error is fatal for the block (see [`ExecError`]).
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError>;
    /// Write (`Some`) or delete (`None`) `key` of this rollup.
    fn set(&mut self, key: &[u8], value: Option<Vec<u8>>);
    /// The current journal point (for VM-internal sub-frames that may fail on their own).
    fn checkpoint(&mut self) -> Checkpoint;
    /// Undo every write since `checkpoint`, on every rollup (including ones written by
    /// cross-rollup calls made since).
    fn revert_to(&mut self, checkpoint: Checkpoint);
    /// Call another rollup synchronously on behalf of contract `caller` (this rollup's
    /// address format). `call.gas_limit` is the most the call may cost this frame, overhead and
    /// the charge for the callee's output included (see [`crate::gas`]). A failed or refused
    /// callee is a normal result (`success = false`, its changes reverted); `Err` is fatal.
    fn xcall(&mut self, caller: &[u8], call: XCall) -> Result<XResult, ExecError>;

    /// Append a message from contract `sender` (this rollup's address format) to this
    /// rollup's outgoing-message log, in its state (`babel_proto::message`), and return its
    /// index. The adapter charges [`message_cost`](crate::gas::message_cost) first and never
    /// passes a payload longer than [`MAX_MESSAGE_BYTES`](crate::gas::MAX_MESSAGE_BYTES).
    /// Undone with the frame's other writes if it fails. `Err` is fatal (a malformed count in
    /// state).
    fn emit_message(&mut self, sender: &[u8], payload: &[u8]) -> Result<u64, ExecError> {
        let stored = self.get(MESSAGE_COUNT_KEY)?;
        let index = decode_message_count(stored.as_deref())
            .ok_or_else(|| ExecError::State("the outgoing-message count is malformed".into()))?;
        let message = v1::OutgoingMessage {
            index,
            height: self.env().height,
            sender: sender.to_vec().into(),
            payload: payload.to_vec().into(),
        };
        self.set(&message_key(index), Some(encode_message(&message)));
        self.set(
            MESSAGE_COUNT_KEY,
            Some(index.saturating_add(1).to_be_bytes().to_vec()),
        );
        Ok(index)
    }
}

/// A virtual machine that runs one rollup's frames over the journal.
pub trait ExecutionAdapter: Send + Sync + fmt::Debug {
    /// The VM this adapter runs.
    fn vm(&self) -> VmKind;

    /// Stateless admission check of a transaction payload: is it for this VM and well formed?
    fn check_payload(&self, payload: &Payload) -> Result<(), String>;

    /// The least gas a transaction with `payload` can run with (its intrinsic cost): one
    /// asking for less would fail before running and is refused at admission.
    fn min_gas(&self, payload: &Payload) -> u64 {
        let _ = payload;
        0
    }

    /// The longest target address a cross-rollup call into this VM may name, in bytes: the
    /// EVM's addresses are 20 bytes; WASM contract ids will be at most 32 and a Cairo address
    /// is one felt, 32 bytes. A call naming a longer target is refused before the callee runs
    /// (and the receipt records it with an empty target). Values above
    /// [`MAX_XCALL_TARGET_LEN`](crate::gas::MAX_XCALL_TARGET_LEN) have no effect: the core
    /// refuses longer targets first, whatever the rollup.
    fn max_target_len(&self) -> usize;

    /// The rollup's state at genesis, as key-value pairs in this adapter's layout.
    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError>;

    /// Take `amount` (fees) from the native balance of transaction signer `account`; `false`
    /// (and no change) if it holds less.
    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError>;

    /// Give `amount` back to transaction signer `account` (unused fee).
    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError>;

    /// Run one frame. A failing contract is `Ok` with `success = false`; `Err` only for faults
    /// that are not the transaction's (they stop the block).
    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError>;

    /// The rollup's state changes of a block (or of genesis) that is now committed, in key
    /// order (`None`: deleted). An adapter that keeps derived data outside the state (the WASM
    /// adapter's compiled code) keeps it only for what commits, so that an execution that
    /// never commits (a refused proposal, a reverted deploy) leaves nothing behind. Must not
    /// fail: what it keeps is the node's own, never consensus.
    fn committed(&self, changes: &[(&[u8], Option<&Vec<u8>>)]) {
        let _ = changes;
    }

    /// The state keys (by prefix) whose committed values [`ExecutionAdapter::committed`]
    /// keeps something for. At startup, before any block executes, the node hands the adapter
    /// every committed one again, so that what was lost since (a crash before the data was
    /// kept, an upgrade that invalidated it, an operator who deleted it) is made again then,
    /// never in the middle of a block.
    fn kept_prefix(&self) -> Option<&'static [u8]> {
        None
    }
}
