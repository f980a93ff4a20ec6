//! Ethereum transactions over gRPC: signed by an Ethereum wallet library, ordered, executed
//! and stored like native ones, and refused with Ethereum's reasons.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use babel_node::txpath::admission::sign_ethereum;
use babel_proto::v1::{self, RejectReason};

use crate::{
    grpc::submit,
    support::{client, grpc_addr, jsonrpc_addr, runtime, start_all, testnet_homes, wait_finalized},
};

/// The EIP-155 chain id of the EVM rollup of `babel testnet` networks.
const EVM_CHAIN_ID: u64 = 1001;

/// Init code whose contract returns the word 42 to any call.
const INIT: &str = "69602a60005260206000f3600052600a6016f3";

fn signed<T>(signer: &PrivateKeySigner, tx: T) -> Vec<u8>
where
    T: SignableTransaction<Signature>,
    Signed<T>: Into<TxEnvelope>,
{
    sign_ethereum(tx, signer)
        .expect("signing")
        .ethereum
        .to_vec()
}

fn ethereum(raw: Vec<u8>) -> v1::SignedTransaction {
    v1::SignedTransaction {
        ethereum: raw.into(),
        ..Default::default()
    }
}

fn deploy(nonce: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: EVM_CHAIN_ID,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Create,
        value: U256::ZERO,
        input: Bytes::from(hex::decode(INIT).expect("hex")),
        access_list: Default::default(),
    }
}

fn legacy(chain_id: Option<u64>, nonce: u64, to: Address) -> TxLegacy {
    TxLegacy {
        chain_id,
        nonce,
        gas_price: 1_000_000_000,
        gas_limit: 50_000,
        to: TxKind::Call(to),
        value: U256::ZERO,
        input: Bytes::new(),
    }
}

#[test]
fn e2e_ethereum_transactions_run_on_the_evm_rollup_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = "babel-eth";
    let homes = testnet_homes(dir.path(), 1, chain);
    let _nodes = start_all(&homes, 1, Duration::from_secs(60));
    let signer = PrivateKeySigner::from_bytes(&[0x11; 32].into()).expect("key");
    let from = signer.address();

    runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[0])).await;

        // A contract deployed by a type-2 transaction lands where Ethereum puts it.
        let raw = signed(&signer, deploy(0));
        let accepted = submit(&mut c, ethereum(raw.clone())).await;
        assert!(accepted.accepted, "{}", accepted.message);
        assert_eq!(
            accepted.hash.as_ref(),
            alloy_primitives::keccak256(&raw).as_slice(),
            "the hash is the one Ethereum clients know"
        );
        let done = wait_finalized(&mut c, &accepted.hash).await;
        let receipt = done.receipt.expect("receipt");
        assert!(receipt.success, "{:?}", receipt);
        assert_eq!(
            done.transaction.expect("stored").ethereum.as_ref(),
            raw.as_slice(),
            "stored as submitted"
        );
        let contract = from.create(0);

        // A legacy EIP-155 call and an EIP-2930 one from the same sender, nonces 1 and 2.
        let call = ethereum(signed(&signer, legacy(Some(EVM_CHAIN_ID), 1, contract)));
        let access = TxEip2930 {
            chain_id: EVM_CHAIN_ID,
            nonce: 2,
            gas_price: 1_000_000_000,
            gas_limit: 60_000,
            to: TxKind::Call(contract),
            value: U256::ZERO,
            input: Bytes::new(),
            access_list: Default::default(),
        };
        let access = ethereum(signed(&signer, access));
        let mut hashes = Vec::new();
        for tx in [call.clone(), access] {
            let r = submit(&mut c, tx).await;
            assert!(r.accepted, "{}", r.message);
            hashes.push(r.hash);
        }
        for hash in &hashes {
            let done = wait_finalized(&mut c, hash).await;
            let receipt = done.receipt.expect("receipt");
            assert!(receipt.success);
            assert_eq!(receipt.output.as_ref(), U256::from(42).to_be_bytes::<32>());
        }

        // Refused: a replay, another chain's id, no chain id, garbage, both envelopes.
        let replay = submit(&mut c, call).await;
        assert!(!replay.accepted);
        assert!(
            [
                RejectReason::NonceTooLow as i32,
                RejectReason::Duplicate as i32
            ]
            .contains(&replay.reason),
            "{}",
            replay.message
        );
        let wrong = submit(
            &mut c,
            ethereum(signed(&signer, legacy(Some(7), 3, contract))),
        )
        .await;
        assert_eq!(
            wrong.reason,
            RejectReason::WrongChain as i32,
            "{}",
            wrong.message
        );
        assert!(wrong.message.contains("chain id 7"), "{}", wrong.message);
        let unprotected =
            submit(&mut c, ethereum(signed(&signer, legacy(None, 3, contract)))).await;
        assert_eq!(unprotected.reason, RejectReason::Malformed as i32);
        assert!(
            unprotected.message.contains("EIP-155"),
            "{}",
            unprotected.message
        );
        let garbage = submit(&mut c, ethereum(vec![0x02, 0xf8, 0x01])).await;
        assert_eq!(garbage.reason, RejectReason::Malformed as i32);
        let mut both = ethereum(signed(&signer, legacy(Some(EVM_CHAIN_ID), 3, contract)));
        both.body = vec![1, 2, 3].into();
        let both = submit(&mut c, both).await;
        assert_eq!(
            both.reason,
            RejectReason::Malformed as i32,
            "{}",
            both.message
        );

        // The nonce goes on from where the sender left it.
        let next = submit(
            &mut c,
            ethereum(signed(&signer, legacy(Some(EVM_CHAIN_ID), 3, contract))),
        )
        .await;
        assert!(next.accepted, "{}", next.message);
        let done = wait_finalized(&mut c, &next.hash).await;
        assert!(done.receipt.expect("receipt").success);

        // A transaction the EVM refuses (more value than the balance) still spends its nonce;
        // the next deploy lands where Ethereum puts the contract of that nonce.
        let mut broke = legacy(Some(EVM_CHAIN_ID), 4, contract);
        broke.value = U256::from(1);
        let refused = submit(&mut c, ethereum(signed(&signer, broke))).await;
        assert!(refused.accepted, "{}", refused.message);
        let done = wait_finalized(&mut c, &refused.hash).await;
        assert!(!done.receipt.expect("receipt").success);
        let again = submit(&mut c, ethereum(signed(&signer, deploy(5)))).await;
        assert!(again.accepted, "{}", again.message);
        let done = wait_finalized(&mut c, &again.hash).await;
        let root = done.receipt.expect("receipt").root.expect("call tree");
        assert_eq!(root.target.as_ref(), from.create(5).as_slice());
    });
}

/// Python packages of the Ethereum wallet, pinned.
const WEB3: &[&str] = &["web3==8.0.0", "eth-account==0.14.0"];

#[test]
fn e2e_web3_py_drives_the_evm_rollup_over_json_rpc() {
    let Some(python) = crate::python::python_env_with("python-web3-venv", WEB3) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let homes = testnet_homes(dir.path(), 1, "babel-web3");
    let _nodes = start_all(&homes, 1, Duration::from_secs(60));
    // A WASM vault on rollup 2, deployed by a native transaction, for the wallet's contract
    // on rollup 1 to call across rollups.
    let vault = runtime().block_on(async {
        let key = ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]);
        let deploy = v1::Transaction {
            chain_id: "babel-web3".into(),
            rollup_id: 2,
            sender_pubkey: key.verifying_key().to_bytes().to_vec().into(),
            nonce: 0,
            gas_limit: 10_000_000,
            max_fee: 0,
            payload: Some(v1::transaction::Payload::Wasm(v1::WasmCall {
                method: "init".into(),
                input: 1_000u64.to_le_bytes().to_vec().into(),
                code: wat::parse_str(include_str!(
                    "../../../execution-adapters/wasm/contracts/vault.wat"
                ))
                .expect("vault")
                .into(),
                ..Default::default()
            })),
        };
        let mut c = client(grpc_addr(&homes[0])).await;
        let r = submit(&mut c, babel_node::txpath::admission::sign(&deploy, &key)).await;
        assert!(r.accepted, "{}", r.message);
        let receipt = wait_finalized(&mut c, &r.hash)
            .await
            .receipt
            .expect("receipt");
        assert!(receipt.success);
        receipt.output.to_vec()
    });
    let root = crate::python::workspace();
    let out = crate::python::run(
        std::process::Command::new(&python)
            .arg(root.join("node/tests/python/web3_client.py"))
            .arg(format!("http://{}", jsonrpc_addr(&homes[0])))
            .arg(root.join("execution-adapters/evm/tests/fixtures/contracts.json"))
            .arg(format!("0x{}", hex::encode(&vault))),
    );
    assert!(out.status.success(), "{}", crate::python::text(&out));
    let seen: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the client prints JSON");
    let wallet = PrivateKeySigner::from_bytes(&[0x11; 32].into())
        .expect("key")
        .address();

    assert_eq!(seen["chain_id"], EVM_CHAIN_ID);
    assert!(
        seen["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("babel/"))
    );
    // Deployed where Ethereum puts a contract of this sender's first transaction.
    assert_eq!(seen["deployed"], wallet.create(0).to_checksum(None));
    assert!(seen["code_bytes"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(seen["greeting"], "hello");
    assert!(seen["estimate"].as_u64().is_some_and(|g| g > 21_000));
    assert_eq!(seen["event"]["from"], wallet.to_checksum(None));
    assert_eq!(seen["event"]["greeting"], "hi");
    assert_eq!(seen["event"]["count"], 1);
    assert_eq!(seen["logs"], serde_json::json!(["hi"]));
    assert_eq!(seen["storage_count"], 1);
    assert_eq!(seen["nonce"], 3);
    // TooLong(40, 32): its selector, then the two words.
    let custom = seen["custom_error"].as_str().expect("custom error data");
    let selector = alloy_primitives::keccak256("TooLong(uint256,uint256)");
    assert!(
        custom.starts_with(&format!("0x{}", hex::encode(&selector[..4]))),
        "{custom}"
    );
    assert_eq!(seen["reason"], "execution reverted: refused");
    assert_eq!(seen["failed_status"], 0);
    for (what, words) in [
        ("replay", "nonce too low"),
        ("wrong_chain", "invalid chain id"),
        ("garbage", "rlp"),
        ("poor", "insufficient funds"),
    ] {
        let message = seen[what].as_str().expect(what);
        assert!(
            message.contains(words) && message.contains("-32000"),
            "{what}: {message}"
        );
    }
    assert!(seen["unknown_receipt"].is_null());
    // The wallet's contract on rollup 1 called the vault on rollup 2: the Ethereum receipt
    // shows the call as an `XCall` log of the precompile, the call tree shows the callee.
    let xcall = &seen["xcall"];
    assert_eq!(xcall["status"], 1);
    assert_eq!(xcall["precompile_logs"], 1);
    assert_eq!(xcall["logged_rollup"], 2);
    assert_eq!(xcall["topic_is_xcall"], true);
    assert_eq!(xcall["credits_after_another"], 14);
    assert_eq!(xcall["callee"]["rollupId"], 2);
    assert_eq!(
        xcall["callee"]["target"],
        format!("0x{}", hex::encode(&vault))
    );
    assert_eq!(xcall["callee"]["success"], true);

    // The legacy transaction is a Babel transaction like any other: gRPC sees it finalized.
    let hash = hex::decode(seen["legacy"]["hash"].as_str().expect("hash")).expect("hex");
    runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[0])).await;
        let done = wait_finalized(&mut c, &hash).await;
        assert_eq!(Some(done.height), seen["legacy"]["block"].as_u64());
        assert!(!done.transaction.expect("stored").ethereum.is_empty());
    });
}

#[test]
fn e2e_calls_on_a_priced_rollup_need_no_balance_and_sends_pay_the_price() {
    use jsonrpsee::{core::client::ClientT as _, http_client::HttpClientBuilder, rpc_params};

    let dir = tempfile::tempdir().expect("tempdir");
    let homes = testnet_homes(dir.path(), 1, "babel-priced");
    let _nodes = start_all(&homes, 1, Duration::from_secs(60));
    let signer = PrivateKeySigner::from_bytes(&[0x11; 32].into()).expect("key");
    let contract = signer.address().create(0);
    runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[0])).await;
        let deployed = submit(&mut c, ethereum(signed(&signer, deploy(0)))).await;
        assert!(deployed.accepted, "{}", deployed.message);
        assert!(
            wait_finalized(&mut c, &deployed.hash)
                .await
                .receipt
                .expect("r")
                .success
        );
    });
    // Governance (the one validator) prices the EVM rollup at 5 wei per gas.
    let out = crate::support::babel(&[
        "rollup",
        "update",
        "--home",
        homes[0].to_str().expect("utf-8"),
        "--nonce",
        "0",
        "--rollup-id",
        "1",
        "--record-version",
        "0",
        "--gas-price",
        "5",
        "--wait",
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    runtime().block_on(async {
        let rpc = HttpClientBuilder::default()
            .build(format!("http://{}", jsonrpc_addr(&homes[0])))
            .expect("client");
        let price: U256 = rpc
            .request("eth_gasPrice", rpc_params![])
            .await
            .expect("price");
        assert_eq!(price, U256::from(5));
        // An address that holds nothing calls and estimates all the same.
        let call = serde_json::json!({ "from": Address::repeat_byte(0x77), "to": contract });
        let answer: Bytes = rpc
            .request("eth_call", rpc_params![call.clone(), "latest"])
            .await
            .expect("a call needs no balance");
        assert_eq!(answer.as_ref(), U256::from(42).to_be_bytes::<32>());
        let gas: U256 = rpc
            .request("eth_estimateGas", rpc_params![call])
            .await
            .expect("an estimate needs no balance");
        assert!(gas > U256::from(21_000));
        // A transaction from it is refused: it cannot pay the price.
        let poor = PrivateKeySigner::from_bytes(&[0x66; 32].into()).expect("key");
        let raw = signed(&poor, legacy(Some(EVM_CHAIN_ID), 0, contract));
        let refused = rpc
            .request::<B256, _>("eth_sendRawTransaction", rpc_params![Bytes::from(raw)])
            .await
            .expect_err("no balance for the fee");
        assert!(
            refused.to_string().contains("insufficient funds"),
            "{refused}"
        );
    });
}
