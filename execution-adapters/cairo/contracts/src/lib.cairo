//! Test contracts for Babel's Cairo rollup.
//!
//! `babel` holds the host conventions every contract shares (the cross-rollup call and the
//! Solidity-ABI helpers); each other module is one contract, compiled on its own.

pub mod asset;
pub mod babel;
pub mod counter;
pub mod hostile;
pub mod relay;
pub mod script;
