//! Babel execution core: everything about running transactions that does not depend on a VM.
//!
//! - [`ExecutionAdapter`]: what a VM crate implements (EVM, WASM, Cairo); [`Host`]: what the
//!   core gives an adapter for one frame (its rollup's state, checkpoints, cross-rollup calls).
//! - [`Journal`]: one transaction's writes on every rollup it touches, with nested checkpoints;
//!   the single mechanism behind all-or-nothing cross-rollup calls.
//! - [`Executor`]: nonces and fees on the origin rollup, the top-level frame, the cross-rollup
//!   call router ([`XCall`] → target adapter → [`XResult`]) with one gas budget, a depth bound and
//!   a re-entrancy rule, and call-tree receipts.
//! - [`native`]: native balances as a `u128` under one key, for VMs without accounts of their
//!   own.
//! - [`receipt`]: how large a transaction's call-tree receipt and a block's receipts may grow.
//! - [`commitment`]: per-rollup Jellyfish Merkle trees, state roots and proofs.
//! - [`ethereum`]: signed Ethereum transactions, the second envelope of EVM rollups, opened
//!   into native ones by [`Executor::open`].
//! - [`memo`]: answers about signed transactions (signers, signature checks) remembered by
//!   hash.
//! - [`registry`]: the rollups a chain runs, in the state of rollup 0, and the governance-approved
//!   transactions that register and update them on a running chain.
//!
//! Everything here is a pure function of state and input: no I/O, clock or randomness, so the
//! same block gives the same changes, receipts and roots on every node.
//!
//! Re-entrancy: a cross-rollup call into a rollup that already has a frame running in the same
//! transaction (A → B → A) fails with revert data `Error("babel: reentrant xcall into rollup
//! A ...")`; the caller sees a failed call and may handle it. Calls within one rollup are the
//! VM's business (the EVM allows its own re-entrancy as usual).

pub mod abi;
mod adapter;
pub mod commitment;
mod envelope;
mod error;
pub mod ethereum;
mod executor;
pub mod gas;
mod journal;
pub mod memo;
pub mod native;
pub mod receipt;
pub mod registry;
mod rollups;
pub mod state;
#[cfg(feature = "test-utils")]
pub mod test_utils;
mod types;

pub use adapter::{ExecutionAdapter, Host};
pub use envelope::{OpenError, Opened, rollup_of};
pub use error::ExecError;
pub use executor::{BlockExecution, BuiltBlock, Executor, TxExecution};
pub use journal::{Checkpoint, Journal};
pub use types::{
    BlockEnv, Caller, Frame, FrameInput, FrameOutcome, Log, RollupId, VmKind, XCall, XResult,
};
