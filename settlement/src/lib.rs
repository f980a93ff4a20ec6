//! Babel's light-client verifier: everything a bridge, another chain's light client or an
//! auditor needs to check what a Babel network committed, with no database, no async runtime
//! and no networking.
//!
//! Trust starts from the genesis validator set (public keys and voting powers) and the chain
//! id. [`verify_commit`] accepts a header only when precommits of validators holding more than
//! two thirds of the voting power sign its hash at its height on that chain. Against an accepted
//! header,
//!
//! - [`verify_state`] checks a rollup's state key holds a value, or is absent (a Jellyfish
//!   Merkle proof under the rollup's root in `state_roots`);
//! - [`verify_transaction`] checks a transaction is at index `i` of the block (an RFC 6962
//!   inclusion proof under `tx_root`);
//! - [`verify_receipt`] checks a transaction's receipt (an RFC 6962 proof under
//!   `results_root`);
//! - [`verify_message`] checks a message a contract emitted for consumers outside the chain
//!   (an L1 bridge, say): rollups keep their outgoing-message log in their state, so this is a
//!   state proof of the message's key, decoded.
//!
//! Every refusal is a [`VerifyError`] saying exactly what did not hold.

mod commit;
mod error;
mod proof;
pub mod signing;
#[cfg(feature = "test-utils")]
pub mod test_utils;

pub use commit::{Finality, Validator, ValidatorSet, verify_commit};
pub use error::VerifyError;
pub use proof::{verify_message, verify_receipt, verify_state, verify_transaction};
