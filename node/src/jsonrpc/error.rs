//! JSON-RPC errors in the shape Ethereum clients parse: code -32000 with geth's wording for a
//! refused transaction, 3 with revert data for a reverted call, -32602 for bad parameters.

use babel_proto::v1::RejectReason;
use jsonrpsee::types::ErrorObjectOwned;

/// geth's code for a transaction or state error.
const SERVER_ERROR: i32 = -32000;
/// The code of a reverted call, with the revert data as `data`.
const EXECUTION_REVERTED: i32 = 3;
/// Invalid method parameters.
const INVALID_PARAMS: i32 = -32602;
/// Internal error.
const INTERNAL: i32 = -32603;

/// A transaction or state error (`-32000`).
pub(super) fn server(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message.into(), None::<()>)
}

/// Bad parameters (`-32602`).
pub(super) fn invalid(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, message.into(), None::<()>)
}

/// The node failed (`-32603`), not the caller.
pub(super) fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INTERNAL, e.to_string(), None::<()>)
}

/// A reverted call: code 3, "execution reverted" (with the reason when the data is an
/// `Error(string)`), and the revert data as hex, which clients decode into custom errors.
pub(super) fn reverted(data: &[u8]) -> ErrorObjectOwned {
    use alloy_sol_types::SolError as _;
    let message = match alloy_sol_types::Revert::abi_decode(data) {
        Ok(revert) => format!("execution reverted: {}", revert.reason),
        Err(_) => "execution reverted".to_owned(),
    };
    ErrorObjectOwned::owned(
        EXECUTION_REVERTED,
        message,
        Some(format!("0x{}", hex::encode(data))),
    )
}

/// Admission's refusal of `eth_sendRawTransaction`, in geth's words where Ethereum has them.
pub(super) fn refused(reason: RejectReason, message: &str) -> ErrorObjectOwned {
    let text = match reason {
        RejectReason::NonceTooLow => "nonce too low".to_owned(),
        RejectReason::NonceTooHigh => format!("nonce too high: {message}"),
        RejectReason::Duplicate => "already known".to_owned(),
        RejectReason::WrongChain => format!("invalid chain id: {message}"),
        RejectReason::GasLimitTooLow => format!("intrinsic gas too low: {message}"),
        RejectReason::GasLimitTooHigh => format!("exceeds block gas limit: {message}"),
        RejectReason::FeeTooLow if message.contains("balance") => {
            "insufficient funds for gas * price + value".to_owned()
        }
        RejectReason::FeeTooLow => {
            format!("max fee per gas less than the rollup's gas price: {message}")
        }
        RejectReason::MempoolFull => "txpool is full".to_owned(),
        RejectReason::BadSignature => "invalid sender".to_owned(),
        _ => message.to_owned(),
    };
    server(text)
}
