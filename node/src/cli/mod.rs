//! What the `babel` subcommands do beyond parsing their arguments (which `main.rs` does):
//! [`devnet`] runs a local network, [`tx`] signs and submits, [`bench`] loads a network and
//! measures it, [`status`] summarises a running node.

pub mod bench;
pub mod devnet;
pub mod status;
pub mod tx;
