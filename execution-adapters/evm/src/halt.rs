//! Stable texts for EVM frames that end without running to completion.
//!
//! A failed frame's text becomes its revert data (`Error(string)`), and receipts are hashed into
//! the block's results root. So the text is Babel's, fixed here, and never revm's `Debug` or
//! `Display` output, which may change between revm versions without any change in behaviour.

use revm::context::result::{HaltReason, InvalidTransaction, OutOfGasError};

/// Why the EVM halted (all the frame's gas is used).
pub(crate) fn halt_text(reason: &HaltReason) -> &'static str {
    // Exhaustive on purpose: a new revm halt must be given a name here before it can reach a
    // receipt.
    match reason {
        HaltReason::OutOfGas(kind) => match kind {
            OutOfGasError::Basic => "out of gas",
            OutOfGasError::MemoryLimit => "out of gas: memory limit",
            OutOfGasError::Memory => "out of gas: memory expansion",
            OutOfGasError::Precompile => "out of gas: precompile",
            OutOfGasError::InvalidOperand => "out of gas: invalid operand",
            OutOfGasError::ReentrancySentry => "out of gas: reentrancy sentry",
        },
        HaltReason::OpcodeNotFound => "opcode not found",
        HaltReason::InvalidFEOpcode => "invalid opcode 0xFE",
        HaltReason::InvalidJump => "invalid jump destination",
        HaltReason::NotActivated => "opcode not activated",
        HaltReason::StackUnderflow => "stack underflow",
        HaltReason::StackOverflow => "stack overflow",
        HaltReason::OutOfOffset => "out of offset",
        HaltReason::CreateCollision => "create collision",
        HaltReason::PrecompileError | HaltReason::PrecompileErrorWithContext(_) => {
            "precompile error"
        }
        HaltReason::NonceOverflow => "nonce overflow",
        HaltReason::CreateContractSizeLimit => "contract size limit",
        HaltReason::CreateContractStartingWithEF => "contract starts with 0xEF",
        HaltReason::CreateInitCodeSizeLimit => "init code size limit",
        HaltReason::OverflowPayment => "payment overflow",
        HaltReason::StateChangeDuringStaticCall => "state change during static call",
        HaltReason::CallNotAllowedInsideStatic => "call not allowed inside static call",
        HaltReason::OutOfFunds => "out of funds",
        HaltReason::CallTooDeep => "call too deep",
    }
}

/// Why revm refused to start the frame (no gas is used).
pub(crate) fn invalid_text(invalid: &InvalidTransaction) -> &'static str {
    // Only the refusals a Babel frame can meet are named (fees, chain id and nonces are
    // Babel's, checked before the EVM runs); anything else gets one generic text.
    match invalid {
        InvalidTransaction::LackOfFundForMaxFee { .. } => "value above balance",
        InvalidTransaction::CallGasCostMoreThanGasLimit { .. }
        | InvalidTransaction::GasFloorMoreThanGasLimit { .. } => "gas below intrinsic cost",
        InvalidTransaction::CreateInitCodeSizeLimit => "init code size limit",
        InvalidTransaction::NonceOverflowInTransaction => "nonce overflow",
        InvalidTransaction::RejectCallerWithCode => "caller has code",
        InvalidTransaction::OverflowPaymentInTransaction => "payment overflow",
        _ => "invalid EVM message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_do_not_depend_on_revm_formatting() {
        assert_eq!(
            halt_text(&HaltReason::OutOfGas(OutOfGasError::Basic)),
            "out of gas"
        );
        assert_eq!(
            halt_text(&HaltReason::PrecompileErrorWithContext("detail".into())),
            halt_text(&HaltReason::PrecompileError)
        );
        assert_eq!(
            invalid_text(&InvalidTransaction::LackOfFundForMaxFee {
                fee: Box::default(),
                balance: Box::default(),
            }),
            "value above balance"
        );
        assert_eq!(
            invalid_text(&InvalidTransaction::InvalidChainId),
            "invalid EVM message"
        );
    }
}
