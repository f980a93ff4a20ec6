//! EVM adapter integration tests: real Solidity contracts (compiled by `tests/fixtures`) on two
//! EVM rollups calling each other through the `xcall` precompile, run by the execution core.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod frames;
mod genesis;
mod limits;
mod messages;
mod support;
mod xcall;
