//! `babel tx send`: sign a transaction with the home's key and submit it over gRPC.

use std::time::Duration;

use anyhow::{Context as _, bail};
use babel_proto::v1::{self, node_client::NodeClient};

use crate::{config::Config, home::Home, keys, txpath::admission::sign};

/// What to send.
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// Home whose validator key signs.
    pub home: Home,
    /// gRPC endpoint; the home's own server when `None`.
    pub node: Option<String>,
    /// Origin rollup.
    pub rollup: u64,
    /// Sender nonce on that rollup.
    pub nonce: u64,
    /// EVM callee (20 bytes); empty creates a contract.
    pub to: Vec<u8>,
    /// Calldata.
    pub data: Vec<u8>,
    /// Gas budget.
    pub gas_limit: u64,
    /// Highest fee accepted.
    pub max_fee: u64,
    /// Wait until the transaction is in a committed block.
    pub wait: bool,
}

/// Sign, submit, and optionally wait; prints the hash and outcome.
#[allow(clippy::print_stdout)]
pub async fn send(opts: SendOptions) -> anyhow::Result<()> {
    let config = Config::load(&opts.home.config())?;
    let genesis = babel_genesis::Genesis::load(&opts.home.genesis())?;
    let key = keys::read_key(&opts.home.validator_key())?;
    if !opts.to.is_empty() && opts.to.len() != 20 {
        bail!("--to must be 20 bytes, got {}", opts.to.len());
    }
    let tx = v1::Transaction {
        chain_id: genesis.chain_id.clone(),
        rollup_id: opts.rollup,
        sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
        nonce: opts.nonce,
        gas_limit: opts.gas_limit,
        max_fee: opts.max_fee,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: opts.to.into(),
            value: Default::default(),
            data: opts.data.into(),
        })),
    };
    let signed = sign(&tx, &key);
    let endpoint = opts
        .node
        .unwrap_or_else(|| format!("http://{}", config.grpc.listen_addr));
    let mut client = NodeClient::connect(endpoint.clone())
        .await
        .with_context(|| format!("connecting to {endpoint}"))?;
    let response = client
        .submit_transaction(v1::SubmitTransactionRequest {
            transaction: Some(signed),
        })
        .await?
        .into_inner();
    if !response.accepted {
        let reason = v1::RejectReason::try_from(response.reason)
            .map(|r| r.as_str_name())
            .unwrap_or("UNKNOWN");
        bail!("rejected ({reason}): {}", response.message);
    }
    println!("accepted {}", hex::encode(&response.hash));
    if opts.wait {
        for _ in 0..600 {
            let status = client
                .get_transaction(v1::GetTransactionRequest {
                    hash: response.hash.clone(),
                })
                .await?
                .into_inner();
            // Final once in a block; POSTED once that block is also on the DA layer.
            if matches!(
                status.status(),
                v1::TxStatus::Finalized | v1::TxStatus::Posted
            ) {
                println!(
                    "finalized at height {} index {}",
                    status.height, status.index
                );
                if let Some(da) = status.da {
                    println!(
                        "posted at DA height {} (header blob {})",
                        da.da_height,
                        hex::encode(&da.commitment)
                    );
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("not finalized after 60 s");
    }
    Ok(())
}
