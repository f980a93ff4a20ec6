//! Node integration tests: the `babel` CLI and multi-process validator networks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod cross_vm;
mod da;
mod e2e;
mod ethereum;
mod execution;
mod grpc;
mod mixed_atomicity;
mod ops;
mod python;
mod registry;
mod settlement;
mod setup;
mod support;
mod three_vm;
mod world;
