//! Solidity-ABI helpers: the data lingua franca of cross-rollup calls.

use alloy_sol_types::{Revert, SolError};
use bytes::Bytes;

/// Revert data `Error(string)` carrying `message`, as Solidity's `revert("...")` produces, so
/// that any VM's caller can decode why a call failed.
pub fn error_message(message: &str) -> Bytes {
    Bytes::from(Revert::from(message).abi_encode())
}

/// The message of `Error(string)` revert data, if that is what `data` is.
pub fn decode_error_message(data: &[u8]) -> Option<String> {
    Revert::abi_decode(data).ok().map(|r| r.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_string_round_trips_and_has_the_solidity_selector() {
        let data = error_message("babel: reentrant xcall into rollup 1");
        assert_eq!(&data[..4], &[0x08, 0xc3, 0x79, 0xa0]);
        assert_eq!(
            decode_error_message(&data).as_deref(),
            Some("babel: reentrant xcall into rollup 1")
        );
        assert_eq!(decode_error_message(b"junk"), None);
    }
}
