//! Babel's WASM execution adapter: WASM rollups on wasmtime.
//!
//! - [`engine`]: the deterministic engine (fuel, NaN canonicalisation, only the features
//!   Rust's `wasm32` target emits).
//! - [`module`]: what a module must be to be deployed (size, imports, declared sizes).
//! - [`abi`]: the host functions a contract may import (module `babel`; `docs/WASM_ABI.md`).
//! - [`stack`] and [`bulk`]: the rewrite every module gets before it is compiled (a
//!   deterministic call-stack bound; fuel for bulk memory and table operators and grows).
//! - [`limits`]: the limits and the gas schedule (fuel per gas, deploy and host-call costs).
//! - [`state`]: where contracts, modules and storage live in the rollup's state.
//! - [`WasmAdapter`]: deploys and calls, from transactions and from other rollups, each frame
//!   in a fresh instance of a module compiled once and cached by code hash, in memory and
//!   (on a node) in a [`CodeDir`] on disk.
//!
//! Everything a contract does wrong ends its frame with a failed receipt and a stable reason;
//! only a failure of the node itself (its state, its engine) is an error.

pub mod abi;
mod adapter;
pub mod bulk;
mod cache;
pub mod engine;
mod error;
pub mod limits;
pub mod module;
mod runtime;
pub mod stack;
pub mod state;

pub use adapter::WasmAdapter;
pub use cache::{CodeDir, CodeStats, MAX_CACHED_BYTES, MAX_CACHED_MODULES};
pub use error::WasmError;
