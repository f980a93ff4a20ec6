//! The VM-agnostic vocabulary: rollups, frames, cross-rollup calls and their results.

use bytes::Bytes;

pub use babel_genesis::VmKind;

/// A rollup's id.
pub type RollupId = u64;

/// Block context every frame of a block sees (no wall clock: these come from the header).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEnv {
    /// Block height.
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch (the proposer's, agreed by consensus).
    pub time_ms: u64,
    /// Most gas one transaction may ask for.
    pub max_tx_gas: u64,
}

/// Who calls a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The transaction's signer (ed25519 public key), calling on its origin rollup.
    Account([u8; 32]),
    /// A contract on another rollup, through a cross-rollup call.
    Contract {
        /// The calling contract's rollup.
        rollup: RollupId,
        /// Its address in that rollup's own format.
        address: Bytes,
    },
}

/// What a frame is asked to run.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameInput<'a> {
    /// The top-level call of a transaction, in its origin VM's payload format (borrowed from
    /// the transaction).
    Transaction(&'a babel_proto::v1::transaction::Payload),
    /// A synchronous call from another rollup.
    XCall {
        /// Callee in the target rollup's address format.
        target: Bytes,
        /// Call data (canonically Solidity ABI).
        input: Bytes,
    },
}

/// One call frame on one rollup.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame<'a> {
    /// The rollup the frame runs on.
    pub rollup: RollupId,
    /// Who calls.
    pub caller: Caller,
    /// What to run.
    pub input: FrameInput<'a>,
    /// Gas the frame may use.
    pub gas_limit: u64,
    /// Cross-rollup depth: 0 for a transaction's top-level frame.
    pub depth: u32,
    /// The transaction's nonce in its top-level frame (0 in a cross-rollup call): the EVM
    /// derives an Ethereum sender's contract addresses from it, as Ethereum does.
    pub nonce: u64,
}

/// An event emitted by a frame, in the VM's own shape (EVM: address, topics, data).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// Emitting contract.
    pub address: Bytes,
    /// Indexed topics.
    pub topics: Vec<Bytes>,
    /// Payload.
    pub data: Bytes,
}

/// How a frame ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameOutcome {
    /// Whether the frame succeeded; a failed frame's state changes are discarded.
    pub success: bool,
    /// Return data, or revert data on failure.
    pub output: Bytes,
    /// Gas used, at most the frame's limit.
    pub gas_used: u64,
    /// Events, in order (only kept when the frame and all its callers succeed).
    pub logs: Vec<Log>,
    /// Address of a contract the frame created, if any.
    pub created: Option<Bytes>,
}

impl FrameOutcome {
    /// A failed frame with this revert data.
    pub fn failed(output: Bytes, gas_used: u64) -> Self {
        Self {
            success: false,
            output,
            gas_used,
            ..Self::default()
        }
    }
}

/// A synchronous call into another rollup: the one message shape every VM speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XCall {
    /// Rollup to call.
    pub target_rollup: RollupId,
    /// Callee in the target rollup's address format.
    pub target: Bytes,
    /// Call data.
    pub input: Bytes,
    /// Gas offered to the callee (capped by the forwarding rule).
    pub gas_limit: u64,
}

/// The answer to an [`XCall`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XResult {
    /// Whether the callee succeeded (its changes are kept, subject to the caller's fate).
    pub success: bool,
    /// Return data, or revert data.
    pub output: Bytes,
    /// Gas the call cost the caller: the overhead, the callee's gas and the charge for its
    /// output (see [`crate::gas`]); never more than the call's `gas_limit`.
    pub gas_used: u64,
}
