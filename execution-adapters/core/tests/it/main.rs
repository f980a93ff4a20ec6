//! Execution core integration tests: atomicity of cross-rollup call trees, fees, gas, receipts
//! and determinism, with the in-memory script adapter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod atomicity;
mod limits;
mod messages;
mod model;
mod registry;
mod support;
