//! What the `babel` subcommands do beyond parsing their arguments (which `main.rs` does):
//! [`devnet`] runs a local network, [`tx`] signs and submits, [`bench`] loads a network and
//! measures it, [`status`] summarises a running node, [`replay`] rebuilds state from the DA, [`da`] serves
//! the embedded DA to several validators, [`verify`] checks proofs as a light client.

pub mod bench;
pub mod da;
pub mod devnet;
pub mod replay;
pub mod status;
pub mod tx;
pub mod verify;
