//! Babel's Cairo execution adapter: Cairo 1 contract classes on `cairo-vm`.
//!
//! Rollups deploy Sierra classes; the node checks each ([`sierra`]), compiles it to CASM once
//! ([`class`]) and keeps it by class hash once it is committed ([`cache`]). A call runs an entry point on a fresh cairo-vm runner ([`run`])
//! whose hint processor handles Starknet-style system calls over the transaction's journal
//! ([`syscall`]): storage, events, calls to contracts on the same rollup, and synchronous calls
//! to any rollup through the reserved address `'babel'`. Bytes cross the VM boundary as a
//! Cairo `ByteArray` ([`felt`]), so Cairo contracts take and answer Solidity ABI like the other
//! VMs. Metering is Sierra gas and steps, converted at the rates in [`limits`].

pub mod adapter;
pub mod cache;
pub mod class;
pub mod felt;
pub mod frame;
pub mod limits;
pub mod run;
pub mod sierra;
pub mod state;
pub mod syscall;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use adapter::{CairoAdapter, XCALL_ENTRY};
pub use cache::Committed;
pub use cairo_vm::Felt252;
pub use class::ClassRefusal;
