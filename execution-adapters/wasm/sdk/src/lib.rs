//! Write Babel WASM contracts in Rust.
//!
//! - [`host`]: safe wrappers over the host functions a contract imports from module `babel`
//!   (`docs/WASM_ABI.md`): call data, caller and signer, storage, logs, return and revert
//!   data, cross-rollup calls, gas and block.
//! - [`abi`]: Solidity-ABI helpers on [`alloy_sol_types`], the lingua franca of calls between
//!   VMs: decode a Solidity call, answer in ABI, revert with a reason an EVM caller reads, call
//!   an EVM contract on another rollup.
//! - [`entry!`]: export a function as an entry point.
//!
//! On `wasm32` the crate is `no_std` (with `alloc`) and the host functions are the node's
//! imports; the `contract` feature adds a global allocator and a panic handler that traps
//! (a panic fails the frame with `wasm: unreachable`). On any other target the same API runs
//! against an in-memory host ([`testing`]), so a contract's logic is unit-tested natively.
//!
//! ```ignore
//! use babel_wasm_sdk::{entry, host};
//!
//! entry!(increment => || {
//!     let n = host::storage_get(b"n").map_or(0, |v| u64::from_le_bytes(v.try_into().unwrap_or_default()));
//!     host::storage_set(b"n", &(n + 1).to_le_bytes());
//! });
//! ```

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod abi;
pub mod host;
mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use alloy_primitives::{self, Address, U256};
pub use alloy_sol_types::{self, sol};

/// Export `name` as an entry point (a function with no parameters and no results, as the
/// node calls it) running `body`, a closure or function of no arguments.
#[macro_export]
macro_rules! entry {
    ($name:ident => $body:expr) => {
        /// A contract entry point.
        // Exported under its own name: the node looks entry points up by export name.
        // "C-unwind": the in-memory test host ends a reverted frame by unwinding through it
        // (on wasm32 a panic traps, and the ABI is the same).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C-unwind" fn $name() {
            ($body)()
        }
    };
}

#[cfg(all(target_arch = "wasm32", feature = "contract"))]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(all(target_arch = "wasm32", feature = "contract"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
