//! `babel tx send`: sign a transaction with the home's key and submit it over gRPC. What the
//! transaction does depends on the VM of its origin rollup (read from the home's genesis).

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use babel_genesis::VmKind;
use babel_proto::v1::{self, node_client::NodeClient, transaction::Payload};

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
    /// What the transaction does.
    pub call: CallArgs,
    /// Gas budget.
    pub gas_limit: u64,
    /// Highest fee accepted.
    pub max_fee: u64,
    /// Wait until the transaction is in a committed block.
    pub wait: bool,
}

/// A call or deploy as given on the command line; which fields apply depends on the VM.
#[derive(Clone, Debug, Default)]
pub struct CallArgs {
    /// EVM: callee (20 bytes), empty to create a contract from `data`. WASM: contract id
    /// (1–32 bytes). Cairo: contract address (1–32 bytes, big-endian).
    pub to: Vec<u8>,
    /// EVM calldata or init code; WASM input.
    pub data: Vec<u8>,
    /// WASM method or Cairo entry point (a WASM deploy's optional constructor).
    pub method: String,
    /// Cairo calldata: felts in decimal (negative as Cairo reads them) or `0x` hex.
    pub felts: Vec<String>,
    /// A WASM module or Cairo class (Sierra JSON) to deploy.
    pub code: Option<Vec<u8>>,
}

/// The transaction payload `call` means on a rollup running `vm`, or why it means nothing.
pub fn payload(vm: VmKind, call: CallArgs) -> anyhow::Result<Payload> {
    let CallArgs {
        to,
        data,
        method,
        felts,
        code,
    } = call;
    match vm {
        VmKind::Evm => {
            ensure!(
                method.is_empty() && felts.is_empty() && code.is_none(),
                "an EVM rollup takes --to and --data (init code when --to is omitted), not \
                 --method, --felts or --code"
            );
            ensure!(
                to.is_empty() || to.len() == 20,
                "--to must be 20 bytes, got {}",
                to.len()
            );
            Ok(Payload::Evm(v1::EvmCall {
                to: to.into(),
                value: Default::default(),
                data: data.into(),
            }))
        }
        VmKind::Wasm => {
            ensure!(
                felts.is_empty(),
                "a WASM rollup takes --data as input, not --felts"
            );
            let code = code.unwrap_or_default();
            if code.is_empty() {
                check_contract(&to)?;
                ensure!(!method.is_empty(), "a WASM call needs --method");
            } else {
                ensure!(to.is_empty(), "a deploy (--code) takes no --to");
            }
            Ok(Payload::Wasm(v1::WasmCall {
                contract: to.into(),
                method,
                input: data.into(),
                code: code.into(),
            }))
        }
        VmKind::Cairo => {
            ensure!(
                data.is_empty(),
                "a Cairo rollup takes its calldata as --felts, not --data"
            );
            let calldata = felts
                .iter()
                .map(|f| parse_felt(f).map(|bytes| bytes.to_vec().into()))
                .collect::<anyhow::Result<_>>()?;
            let class = code.unwrap_or_default();
            let contract = if class.is_empty() {
                check_contract(&to)?;
                ensure!(!method.is_empty(), "a Cairo call needs --method");
                let mut address = [0u8; 32];
                address[32 - to.len()..].copy_from_slice(&to);
                address.to_vec()
            } else {
                ensure!(
                    to.is_empty() && method.is_empty(),
                    "a deploy (--code) takes no --to or --method: the constructor runs with --felts"
                );
                Vec::new()
            };
            Ok(Payload::Cairo(v1::CairoCall {
                contract: contract.into(),
                entrypoint: method,
                calldata,
                class: class.into(),
            }))
        }
    }
}

fn check_contract(to: &[u8]) -> anyhow::Result<()> {
    ensure!(
        (1..=32).contains(&to.len()),
        "--to must be a contract of 1 to 32 bytes, got {}",
        to.len()
    );
    Ok(())
}

/// A felt as 32 big-endian bytes, from decimal or `0x` hex.
fn parse_felt(text: &str) -> anyhow::Result<[u8; 32]> {
    let felt = if text.starts_with("0x") {
        babel_cairo::Felt252::from_hex(text)
    } else {
        babel_cairo::Felt252::from_dec_str(text)
    }
    .map_err(|e| anyhow::anyhow!("--felts: {text:?} is not a felt: {e}"))?;
    Ok(felt.to_bytes_be())
}

/// Sign, submit, and optionally wait; prints the hash and outcome.
#[allow(clippy::print_stdout)]
pub async fn send(opts: SendOptions) -> anyhow::Result<()> {
    let config = Config::load(&opts.home.config())?;
    let genesis = babel_genesis::Genesis::load(&opts.home.genesis())?;
    let key = keys::read_key(&opts.home.validator_key())?;
    let endpoint = opts
        .node
        .unwrap_or_else(|| format!("http://{}", config.grpc.listen_addr));
    let vm = match genesis.rollup(opts.rollup) {
        Some(rollup) => rollup.vm.kind(),
        // Registered since the genesis: the node's registry says.
        None => registered_vm(&endpoint, opts.rollup).await?,
    };
    let payload = payload(vm, opts.call)?;
    let tx = v1::Transaction {
        chain_id: genesis.chain_id.clone(),
        rollup_id: opts.rollup,
        sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
        nonce: opts.nonce,
        gas_limit: opts.gas_limit,
        max_fee: opts.max_fee,
        payload: Some(payload),
    };
    let signed = sign(&tx, &key);
    submit(&endpoint, signed, opts.wait).await
}

/// The VM of rollup `id` as the registry of the node at `endpoint` lists it.
async fn registered_vm(endpoint: &str, id: u64) -> anyhow::Result<VmKind> {
    let mut client = super::node_client(endpoint, Duration::from_secs(10)).await?;
    let rollups = client
        .list_rollups(v1::ListRollupsRequest {})
        .await?
        .into_inner()
        .rollups;
    let Some(rollup) = rollups.iter().find(|r| r.id == id) else {
        bail!("rollup {id} is neither in the genesis nor registered");
    };
    match rollup.vm.as_str() {
        "evm" => Ok(VmKind::Evm),
        "wasm" => Ok(VmKind::Wasm),
        "cairo" => Ok(VmKind::Cairo),
        other => bail!("rollup {id} runs {other:?}, which this client does not know"),
    }
}

/// Submit `signed` to the node at `endpoint` and, with `wait`, wait until it is in a
/// committed block; prints the hash and outcome. A refused or failed transaction is an error.
#[allow(clippy::print_stdout)]
pub async fn submit(
    endpoint: &str,
    signed: v1::SignedTransaction,
    wait: bool,
) -> anyhow::Result<()> {
    let mut client = NodeClient::connect(endpoint.to_owned())
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
    if !wait {
        return Ok(());
    }
    for _ in 0..600 {
        let status = client
            .get_transaction(v1::GetTransactionRequest {
                hash: response.hash.clone(),
            })
            .await?
            .into_inner();
        // Final once in a block; POSTED once that block is also on the DA layer.
        if !matches!(
            status.status(),
            v1::TxStatus::Finalized | v1::TxStatus::Posted
        ) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        println!(
            "finalized at height {} index {}",
            status.height, status.index
        );
        if let Some(da) = &status.da {
            println!(
                "posted at DA height {} (header blob {})",
                da.da_height,
                hex::encode(&da.commitment)
            );
        }
        let Some(receipt) = &status.receipt else {
            return Ok(());
        };
        println!(
            "{} gas_used {} output 0x{}",
            if receipt.success {
                "succeeded"
            } else {
                "failed"
            },
            receipt.gas_used,
            hex::encode(&receipt.output)
        );
        if !receipt.success {
            bail!(
                "the transaction failed: {}",
                String::from_utf8_lossy(&receipt.output)
            );
        }
        return Ok(());
    }
    bail!("not finalized after 60 s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(vm: VmKind, call: CallArgs) -> String {
        payload(vm, call).expect_err("refused").to_string()
    }

    #[test]
    fn each_vm_takes_its_own_arguments() {
        let Payload::Cairo(c) = payload(
            VmKind::Cairo,
            CallArgs {
                to: vec![0x12, 0x34],
                method: "increment".into(),
                felts: vec!["5".into(), "0x10".into(), "-1".into()],
                ..Default::default()
            },
        )
        .unwrap() else {
            panic!("not a Cairo call")
        };
        assert_eq!(c.contract.len(), 32);
        assert_eq!(&c.contract[30..], &[0x12, 0x34]);
        assert_eq!(c.calldata[0][31], 5);
        assert_eq!(c.calldata[1][31], 0x10);
        // -1 is the prime minus one: 0x0800…0000.
        assert_eq!(c.calldata[2][0], 0x08);
        let Payload::Wasm(w) = payload(
            VmKind::Wasm,
            CallArgs {
                code: Some(vec![0, 0x61, 0x73, 0x6d]),
                data: vec![1],
                ..Default::default()
            },
        )
        .unwrap() else {
            panic!("not a WASM call")
        };
        assert!(w.contract.is_empty() && w.code.len() == 4 && w.input.as_ref() == [1]);
        assert!(matches!(
            payload(VmKind::Evm, CallArgs::default()),
            Ok(Payload::Evm(_))
        ));
    }

    #[test]
    fn arguments_of_another_vm_are_refused_by_name() {
        let felts = || CallArgs {
            felts: vec!["1".into()],
            ..Default::default()
        };
        assert!(refused(VmKind::Evm, felts()).contains("not --method, --felts or --code"));
        assert!(refused(VmKind::Wasm, felts()).contains("not --felts"));
        let data = CallArgs {
            to: vec![1],
            method: "get".into(),
            data: vec![1],
            ..Default::default()
        };
        assert!(refused(VmKind::Cairo, data).contains("not --data"));
        let evm_to = CallArgs {
            to: vec![1; 3],
            ..Default::default()
        };
        assert!(refused(VmKind::Evm, evm_to).contains("--to must be 20 bytes, got 3"));
        for vm in [VmKind::Wasm, VmKind::Cairo] {
            let long = CallArgs {
                to: vec![1; 33],
                method: "m".into(),
                ..Default::default()
            };
            assert!(refused(vm, long).contains("1 to 32 bytes, got 33"));
            let no_method = CallArgs {
                to: vec![1],
                ..Default::default()
            };
            assert!(refused(vm, no_method).contains("needs --method"));
            let deploy_to = CallArgs {
                to: vec![1],
                code: Some(vec![1]),
                ..Default::default()
            };
            assert!(refused(vm, deploy_to).contains("a deploy (--code) takes no --to"));
        }
        let bad = CallArgs {
            to: vec![1],
            method: "m".into(),
            felts: vec!["0xzz".into()],
            ..Default::default()
        };
        assert!(refused(VmKind::Cairo, bad).contains("\"0xzz\" is not a felt"));
    }
}
