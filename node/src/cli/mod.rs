//! What the `babel` subcommands do beyond parsing their arguments (which `main.rs` does):
//! [`devnet`] runs a local network, [`tx`] signs and submits, [`bench`] loads a network and
//! measures it, [`status`] summarises a running node, [`replay`] rebuilds state from the DA, [`da`] serves
//! the embedded DA to several validators, [`verify`] checks proofs as a light client, [`rollup`]
//! changes and lists the rollups of a running chain.

pub mod bench;
pub mod da;
pub mod devnet;
pub mod replay;
pub mod rollup;
pub mod status;
pub mod tx;
pub mod verify;

/// A gRPC client of the node at `endpoint` (`http://host:port`); connecting and every call
/// give up after `timeout`.
pub async fn node_client(
    endpoint: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<babel_proto::v1::node_client::NodeClient<tonic::transport::Channel>> {
    use anyhow::Context as _;
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| format!("bad endpoint {endpoint:?}"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("connecting to {endpoint}"))?;
    Ok(babel_proto::v1::node_client::NodeClient::new(channel))
}
