//! The host ABI: the functions a contract may import, all under the module `babel`.
//! `docs/WASM_ABI.md` documents each; this table is what deploys are checked against and what
//! the linker defines.

/// A value type of the ABI (pointers and lengths are `i32`, amounts and ids `i64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    I32,
    I64,
}

use Ty::{I32, I64};

/// The import module every host function lives in.
pub const MODULE: &str = "babel";

/// Every host function: name, parameters, results.
pub(crate) const FUNCTIONS: &[(&str, &[Ty], &[Ty])] = &[
    ("input_len", &[], &[I32]),
    ("input_copy", &[I32], &[]),
    ("caller_len", &[], &[I32]),
    ("caller_copy", &[I32], &[]),
    ("caller_rollup", &[], &[I64]),
    ("self_len", &[], &[I32]),
    ("self_copy", &[I32], &[]),
    ("origin_rollup", &[], &[I64]),
    ("signer_copy", &[I32], &[]),
    ("storage_read", &[I32, I32, I32, I32], &[I32]),
    ("storage_write", &[I32, I32, I32, I32], &[]),
    ("storage_delete", &[I32, I32], &[]),
    ("log", &[I32, I32, I32, I32], &[]),
    ("set_return", &[I32, I32], &[]),
    ("revert", &[I32, I32], &[]),
    ("xcall", &[I64, I32, I32, I32, I32, I64], &[I32]),
    ("send_message", &[I32, I32], &[I64]),
    ("return_data_len", &[], &[I32]),
    ("return_data_copy", &[I32], &[]),
    ("gas_left", &[], &[I64]),
    ("block_height", &[], &[I64]),
    ("block_time_ms", &[], &[I64]),
];

/// The export a cross-rollup call runs (its input is the call data).
pub const XCALL_ENTRY: &str = "call";
/// The memory every contract exports, through which host functions read and write.
pub const MEMORY: &str = "memory";

/// The signature of host function `name`, if there is one.
pub(crate) fn signature(name: &str) -> Option<(&'static [Ty], &'static [Ty])> {
    FUNCTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, params, results)| (*params, *results))
}
