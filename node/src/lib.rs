//! The Babel node: the `babel` binary's library.
//!
//! It wires the lower crates together: genesis and config loading, the validator key, RocksDB
//! storage, Malachite consensus through `babel-consensus`, and (in later milestones) the
//! mempool, execution, DA posting and the gRPC API. The CLI in `main.rs` is a thin shell over
//! these modules.

pub mod admission;
pub mod app;
pub mod bench;
pub mod config;
pub mod devnet;
pub mod home;
pub mod keys;
pub mod mempool;
pub mod rpc;
pub mod run;
pub mod sigverify;
pub mod store;
pub mod streams;
pub mod tx_cli;
pub mod txpool;
