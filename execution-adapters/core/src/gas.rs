//! One gas budget across VMs.
//!
//! EVM gas counts 1:1. A cross-rollup call costs [`XCALL_BASE_GAS`] plus
//! [`XCALL_GAS_PER_BYTE`] per input byte to the caller, and the callee gets at most all but one
//! 64th of what the caller has left (the EVM's 63/64 rule, applied again at the rollup
//! boundary), so a chain of calls can never spend more than the transaction's budget. Other VMs
//! convert their own metering at documented rates in their adapters.

/// Gas a cross-rollup call costs the caller before the callee runs.
pub const XCALL_BASE_GAS: u64 = 2_600;
/// Gas per byte of cross-rollup call input.
pub const XCALL_GAS_PER_BYTE: u64 = 16;
/// Deepest cross-rollup call stack (the top-level frame is depth 0).
pub const MAX_XCALL_DEPTH: u32 = 64;

/// The most gas a caller with `available` gas left can forward: all but one 64th.
pub fn forwardable(available: u64) -> u64 {
    available - available / 64
}

/// What a cross-rollup call with `input_len` bytes costs before the callee runs.
pub fn xcall_overhead(input_len: usize) -> u64 {
    XCALL_BASE_GAS.saturating_add(XCALL_GAS_PER_BYTE.saturating_mul(input_len as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_keeps_a_64th() {
        assert_eq!(forwardable(64_000), 63_000);
        assert_eq!(forwardable(63), 63);
        assert_eq!(forwardable(0), 0);
        assert_eq!(xcall_overhead(10), 2_760);
    }
}
