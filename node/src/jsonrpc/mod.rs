//! Ethereum JSON-RPC for EVM rollups, so that wallets and libraries (web3.py, ethers, viem,
//! Foundry) work unchanged: one HTTP endpoint per EVM rollup (`[[jsonrpc.endpoints]]` in
//! `config.toml`), served by jsonrpsee and spoken in alloy's RPC types.
//!
//! A rollup's "block" is its slice of a Babel block: block numbers are Babel heights, a block's
//! hash is the Babel block's, and it lists the rollup's Ethereum transactions (native ones are
//! served by gRPC). Babel blocks are final once committed, so `latest`, `safe`, `finalized`
//! and `pending` name the same block. `docs/JSON_RPC.md` lists the methods.

mod convert;
mod error;
mod eth;

use std::net::SocketAddr;

use anyhow::Context as _;
use babel_execution::registry::Registry;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};

use eth::EthApiServer as _;

use crate::{config::JsonRpcConfig, grpc::NodeService};

/// A running endpoint.
#[derive(Debug)]
pub struct Endpoint {
    /// The rollup it serves.
    pub rollup_id: u64,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops it.
    pub handle: ServerHandle,
}

/// Start every endpoint of `config`, serving through `service`. An endpoint whose rollup is not
/// an EVM rollup of the chain is an error: the operator named the wrong one.
pub async fn serve(config: &JsonRpcConfig, service: &NodeService) -> anyhow::Result<Vec<Endpoint>> {
    let mut endpoints = Vec::with_capacity(config.endpoints.len());
    for endpoint in &config.endpoints {
        let registry: &Registry = service.txpool().executor().registry();
        let record = registry.get(endpoint.rollup_id).with_context(|| {
            format!(
                "JSON-RPC endpoint for rollup {}: no such rollup",
                endpoint.rollup_id
            )
        })?;
        if record.vm != babel_genesis::VmKind::Evm.to_string() {
            anyhow::bail!(
                "JSON-RPC endpoint for rollup {}: it runs {}, not the EVM",
                endpoint.rollup_id,
                record.vm
            );
        }
        let api = eth::EthApi::new(
            endpoint.rollup_id,
            record.evm_chain_id,
            service.clone(),
            service.queries(),
        );
        let server_config = ServerConfig::builder()
            .max_request_body_size(config.max_request_bytes)
            .max_connections(config.max_connections)
            .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
            .build();
        let server = Server::builder()
            .set_config(server_config)
            .build(endpoint.listen_addr)
            .await
            .with_context(|| format!("JSON-RPC: cannot listen on {}", endpoint.listen_addr))?;
        let addr = server.local_addr()?;
        let handle = server.start(api.into_rpc());
        tracing::info!(rollup = endpoint.rollup_id, %addr, "serving Ethereum JSON-RPC");
        endpoints.push(Endpoint {
            rollup_id: endpoint.rollup_id,
            addr,
            handle,
        });
    }
    Ok(endpoints)
}
