//! One gas budget across VMs, and the rules a cross-rollup call is charged by.
//!
//! EVM gas counts 1:1. A cross-rollup call costs the caller, before the callee runs,
//! [`XCALL_BASE_GAS`] plus [`XCALL_GAS_PER_BYTE`] per byte of input and per byte of target
//! address ([`xcall_overhead`]); the callee then gets at most all but one 64th of what the call
//! has left (the EVM's 63/64 rule, applied again at the rollup boundary), so a chain of calls can
//! never spend more than the transaction's budget. When the callee returns, the caller pays
//! [`XCALL_OUTPUT_GAS_PER_BYTE`] per byte of its output, return or revert data alike
//! ([`xcall_output_cost`]): the receipt records those bytes and the caller receives a copy.
//!
//! Every byte a call makes the receipt record is paid for this way, so that a transaction's
//! receipt grows only with the gas it pays (and [`crate::receipt`] bounds it outright). A call
//! never costs more than the gas it was offered: a call offered less than its overhead is
//! refused and costs what it was offered, and one whose caller cannot pay for the callee's
//! output fails out of gas (see [`xcall_output_cost`]).
//!
//! Other VMs convert their own metering at documented rates in their adapters.

/// Gas a cross-rollup call costs the caller before the callee runs.
pub const XCALL_BASE_GAS: u64 = 2_600;
/// Gas per byte of a cross-rollup call's input and of its target address (as the EVM charges
/// a non-zero byte of calldata).
pub const XCALL_GAS_PER_BYTE: u64 = 16;
/// Gas the caller pays per byte of the callee's output (return or revert data), which the
/// receipt records and the caller receives: as much as the EVM charges per byte of log data,
/// the other bytes a receipt records.
pub const XCALL_OUTPUT_GAS_PER_BYTE: u64 = 8;
/// Deepest cross-rollup call stack (the top-level frame is depth 0).
pub const MAX_XCALL_DEPTH: u32 = 64;
/// Longest target address of any cross-rollup call, in bytes, whatever the target rollup: no
/// VM's addresses are longer (EVM 20 bytes, WASM contract ids at most 32, a Cairo felt 32).
/// Each VM may take less
/// ([`ExecutionAdapter::max_target_len`](crate::ExecutionAdapter::max_target_len)); this bound
/// is checked first, so that even a call to an unknown rollup cannot make the receipt record a
/// long target.
pub const MAX_XCALL_TARGET_LEN: usize = 32;

/// Gas of emitting an outgoing message ([`Host::emit_message`](crate::Host::emit_message)),
/// besides its bytes: two state writes (the message and the rollup's count), as the EVM
/// charges a new storage slot and an update.
pub const MESSAGE_BASE_GAS: u64 = 25_000;
/// Gas per byte of an outgoing message's payload and sender: the bytes stay in the rollup's
/// state for good and can never be deleted, so they cost what storage does (the EVM's new
/// slot, 20 000 for 32 bytes; WASM's 625 per byte stored).
pub const MESSAGE_GAS_PER_BYTE: u64 = 625;
// Never cheaper per byte than a new EVM storage slot (a build that lowers it fails here).
const _: () = assert!(MESSAGE_GAS_PER_BYTE * 32 >= 20_000);
/// Longest payload of an outgoing message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4_096;

/// What emitting a message of `payload_len` bytes from a `sender_len`-byte address costs, or
/// `None` if the payload is longer than [`MAX_MESSAGE_BYTES`] (the frame fails).
pub fn message_cost(sender_len: usize, payload_len: usize) -> Option<u64> {
    (payload_len <= MAX_MESSAGE_BYTES).then(|| {
        let bytes = (payload_len as u64).saturating_add(sender_len as u64);
        MESSAGE_BASE_GAS.saturating_add(MESSAGE_GAS_PER_BYTE.saturating_mul(bytes))
    })
}

/// The most gas a caller with `available` gas left can forward: all but one 64th.
pub fn forwardable(available: u64) -> u64 {
    available - available / 64
}

/// What a cross-rollup call with `input_len` bytes of input and a `target_len`-byte target
/// costs before the callee runs.
pub fn xcall_overhead(input_len: usize, target_len: usize) -> u64 {
    let bytes = (input_len as u64).saturating_add(target_len as u64);
    XCALL_BASE_GAS.saturating_add(XCALL_GAS_PER_BYTE.saturating_mul(bytes))
}

/// What the caller pays for a callee's `output_len` bytes of output, on top of the overhead
/// and the callee's own gas. If the three add up to more than the gas the call was offered,
/// the call fails out of gas: it costs all it was offered, the callee's changes are undone and
/// the caller gets an out-of-gas error instead of the output.
pub fn xcall_output_cost(output_len: usize) -> u64 {
    XCALL_OUTPUT_GAS_PER_BYTE.saturating_mul(output_len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_keeps_a_64th() {
        assert_eq!(forwardable(64_000), 63_000);
        assert_eq!(forwardable(63), 63);
        assert_eq!(forwardable(0), 0);
    }

    #[test]
    fn input_target_and_output_bytes_are_charged() {
        assert_eq!(xcall_overhead(10, 0), 2_760);
        assert_eq!(xcall_overhead(10, 20), 2_600 + 16 * 30);
        assert_eq!(xcall_overhead(usize::MAX, usize::MAX), u64::MAX);
        assert_eq!(xcall_output_cost(1_000), 8_000);
        assert_eq!(xcall_output_cost(usize::MAX), u64::MAX);
    }

    #[test]
    fn a_message_pays_for_its_bytes_and_has_a_bound() {
        assert_eq!(message_cost(20, 100), Some(25_000 + 625 * 120));
        assert!(message_cost(32, MAX_MESSAGE_BYTES).is_some());
        assert_eq!(message_cost(32, MAX_MESSAGE_BYTES + 1), None);
    }
}
