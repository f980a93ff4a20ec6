//! The Babel node: the `babel` binary's library.
//!
//! It wires the lower crates together. From the bottom up:
//! - [`params`] (gas limits, block environment, the executor of a genesis), [`config`],
//!   [`home`], [`keys`] and [`store`] (RocksDB) import no other module of the node;
//! - [`metrics`] and [`health`] are what every layer reports to and what operators read;
//! - [`txpath`]: admission, signature checks and the mempool;
//! - [`da`]: posting decided blocks to the DA layer, following it, and checking headers'
//!   references to it;
//! - [`app`]: the consensus application that builds, checks and commits blocks;
//! - the servers: [`grpc`] (the client API) and [`ops`] (metrics and health over HTTP);
//! - [`run`] starts a validator from a home, and [`cli`] holds the other commands; `main.rs`
//!   is a thin shell over them.

pub mod app;
pub mod cli;
pub mod config;
pub mod da;
pub mod grpc;
pub mod health;
pub mod home;
pub mod jsonrpc;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod params;
pub mod query;
pub mod run;
pub mod store;
pub mod txpath;
