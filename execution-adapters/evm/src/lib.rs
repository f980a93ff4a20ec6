//! Babel's EVM execution adapter: revm over the transaction-wide journal, with synchronous
//! calls to other rollups through the `xcall` precompile.
//!
//! - [`EvmAdapter`] implements [`babel_execution::ExecutionAdapter`]: a frame is one revm
//!   message (a transaction's call or create, or an incoming cross-rollup call) run without
//!   committing; a successful frame's state diff is written into the journal.
//! - The precompile at [`XCALL_ADDRESS`] speaks `xcall(uint64 rollup, bytes target, bytes
//!   input) returns (bytes)`; a failed callee makes it revert with the callee's revert data.
//! - The precompile at [`MESSAGE_ADDRESS`] speaks `sendMessage(bytes payload) returns (uint64
//!   index)`: it appends to the rollup's outgoing-message log (settlement's messages).
//! - An inspector keeps the journal's checkpoints in step with EVM call frames, so an xcall
//!   or a message made inside a sub-call that reverts is undone with it.
//! - Addresses: a transaction signer (ed25519 key) is `keccak256(key)[12..]`; a contract on
//!   another rollup calling in appears as [`xcaller_address`]. State layout: [`state`].
//!
//! Fees are charged by the core in wei from the signer's account; revm runs with gas price 0.
//! An incoming xcall runs as an EVM message and pays the EVM's intrinsic cost (21 000 plus
//! calldata) out of the gas forwarded to it. `BLOCKHASH` returns zero.

mod adapter;
mod db;
mod halt;
mod host;
mod inspector;
mod instructions;
mod precompile;
pub mod state;

pub use adapter::{EvmAdapter, SPEC};
pub use precompile::{MESSAGE_ADDRESS, XCALL_ADDRESS, sendMessageCall, xcallCall};
pub use state::{sender_address, xcaller_address};
