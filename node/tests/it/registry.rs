//! Rollups joining a running network: on four validators, `babel rollup register` adds a WASM
//! and an EVM rollup approved by three governance keys; the next blocks run transactions on
//! them and a call from the EVM rollup into the new WASM rollup; a validator that was down
//! syncs and agrees; every validator restarts with the registry intact; a duplicate is refused
//! with its reason in the receipt; an update changes a gas price.

use std::{path::Path, time::Duration};

use alloy_primitives::U256;
use alloy_sol_types::{SolCall as _, sol};
use babel_proto::v1;
use ed25519_dalek::SigningKey;

use crate::grpc::submit;
use crate::support::{
    Validator, babel, client, grpc_addr, runtime, start_all, stderr, stdout, testnet_homes,
    verified_state_proof, wait_finalized, wait_for, wait_status,
};

sol! {
    function credit(address account, uint256 amount) external returns (uint256);
}

const NEW_WASM: u64 = 10;
const NEW_EVM: u64 = 11;
const SIGNER: [u8; 32] = [0x6B; 32];

/// `babel rollup register` from `homes[0]`, approved by the keys of homes 1 and 2, waiting
/// for the receipt.
fn register(
    homes: &[std::path::PathBuf],
    nonce: u64,
    entry: &serde_json::Value,
) -> std::process::Output {
    let file = homes[0].join(format!("rollup-{nonce}.json"));
    std::fs::write(&file, entry.to_string()).unwrap();
    let key = |home: &Path| home.join("keys/validator_key.json");
    babel(&[
        "rollup",
        "register",
        "--home",
        homes[0].to_str().unwrap(),
        "--nonce",
        &nonce.to_string(),
        "--approver",
        key(&homes[1]).to_str().unwrap(),
        "--approver",
        key(&homes[2]).to_str().unwrap(),
        "--rollup",
        file.to_str().unwrap(),
        "--metadata",
        "joined at runtime",
        "--wait",
    ])
}

fn list(home: &Path) -> String {
    let out = babel(&[
        "rollup",
        "list",
        "--endpoint",
        &format!("http://{}", grpc_addr(home)),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn e2e_rollups_registered_on_a_running_network_run_are_called_survive_restarts_and_sync() {
    let chain = "babel-join";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, chain);
    let mut nodes = start_all(&homes, 2, Duration::from_secs(60));
    // The fourth validator is down while the rollups join.
    nodes[3].kill();

    let wasm = serde_json::json!({ "id": NEW_WASM, "name": "late-wasm", "vm": "wasm",
                                   "initial_state": {} });
    let out = register(&homes, 0, &wasm);
    assert!(
        out.status.success(),
        "{}{}{}",
        stdout(&out),
        stderr(&out),
        nodes[0].report()
    );
    assert!(stdout(&out).contains("succeeded"), "{}", stdout(&out));
    let key = SigningKey::from_bytes(&SIGNER);
    let me = babel_evm::sender_address(key.verifying_key().as_bytes());
    let evm = serde_json::json!({ "id": NEW_EVM, "name": "late-evm", "vm": "evm",
        "initial_state": { "evm_chain_id": 4242,
            "alloc": [{ "address": format!("0x{}", hex::encode(me)), "balance": "1000000" }] } });
    let out = register(&homes, 1, &evm);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let listed = list(&homes[0]);
    assert!(listed.contains("10\tlate-wasm\twasm"), "{listed}");
    assert!(listed.contains("11\tlate-evm\tevm"), "{listed}");
    assert!(listed.contains("joined at runtime"), "{listed}");

    // A duplicate is refused, and the receipt says why.
    let out = register(&homes, 2, &wasm);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("rollup id 10 is taken"),
        "{}",
        stderr(&out)
    );

    let tx = |rollup: u64, nonce: u64, payload: v1::transaction::Payload| {
        babel_node::txpath::admission::sign(
            &v1::Transaction {
                chain_id: chain.into(),
                rollup_id: rollup,
                sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
                nonce,
                gas_limit: 10_000_000,
                max_fee: 0,
                payload: Some(payload),
            },
            &key,
        )
    };
    let (vault, height) = runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[0])).await;
        // A direct transaction on the new WASM rollup: the vault, with a cap of 1 000.
        let deploy = v1::transaction::Payload::Wasm(v1::WasmCall {
            method: "init".into(),
            input: 1_000u64.to_le_bytes().to_vec().into(),
            code: wat::parse_str(include_str!(
                "../../../execution-adapters/wasm/contracts/vault.wat"
            ))
            .unwrap()
            .into(),
            ..Default::default()
        });
        let deployed = submit(&mut c, tx(NEW_WASM, 0, deploy)).await;
        assert!(deployed.accepted, "{}", deployed.message);
        let deployed_hash = deployed.hash;
        // A transfer on the new EVM rollup, from the account its initial state funded.
        let transfer = v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![0x42; 20].into(),
            value: U256::from(500).to_be_bytes::<32>().to_vec().into(),
            data: Default::default(),
        });
        let sent = submit(&mut c, tx(NEW_EVM, 0, transfer)).await;
        assert!(sent.accepted, "{}", sent.message);
        let transfer_hash = sent.hash;
        let deployed = wait_finalized(&mut c, &deployed_hash)
            .await
            .receipt
            .unwrap();
        assert!(deployed.success, "{:?}", deployed.output);
        let vault = deployed.output.to_vec();
        // Its transactions go to the DA layer like any rollup's, under its namespace.
        let posted = wait_status(&mut c, &deployed_hash, |s| s == v1::TxStatus::Posted).await;
        assert!(posted.da.is_some());
        let sent = wait_finalized(&mut c, &transfer_hash)
            .await
            .receipt
            .unwrap();
        assert!(sent.success, "{:?}", sent.output);
        // The EVM rollup of the genesis calls the new WASM rollup through the xcall precompile.
        let call = babel_evm::xcallCall {
            rollup: NEW_WASM,
            target: vault.clone().into(),
            input: creditCall {
                account: me,
                amount: U256::from(7),
            }
            .abi_encode()
            .into(),
        };
        let xcall = v1::transaction::Payload::Evm(v1::EvmCall {
            to: babel_evm::XCALL_ADDRESS.to_vec().into(),
            value: Default::default(),
            data: call.abi_encode().into(),
        });
        let r = submit(&mut client(grpc_addr(&homes[1])).await, tx(1, 0, xcall)).await;
        assert!(r.accepted, "{}", r.message);
        let done = wait_finalized(&mut c, &r.hash).await;
        let receipt = done.receipt.unwrap();
        assert!(
            receipt.success,
            "{:?}",
            String::from_utf8_lossy(&receipt.output)
        );
        let child = &receipt.root.as_ref().unwrap().children[0];
        assert_eq!(
            (child.rollup_id, child.target.to_vec()),
            (NEW_WASM, vault.clone())
        );
        (vault, done.height)
    });
    let credit_key = [
        babel_wasm::state::storage_prefix(&vault).as_slice(),
        b"c",
        me.as_slice(),
    ]
    .concat();

    // The validator that was down syncs the registrations and agrees on every root.
    nodes[3] = Validator::start(&homes[3], 1);
    assert!(
        wait_for(Duration::from_secs(90), || nodes[3].logged_height()
            > height),
        "{}",
        nodes[3].report()
    );
    runtime().block_on(async {
        let header = |home: &Path| {
            let addr = grpc_addr(home);
            async move {
                client(addr)
                    .await
                    .get_block(v1::GetBlockRequest { height })
                    .await
                    .unwrap()
                    .into_inner()
                    .block
                    .unwrap()
                    .header
                    .unwrap()
            }
        };
        let synced = header(&homes[3]).await;
        assert_eq!(synced, header(&homes[0]).await);
        assert!(synced.state_roots.iter().any(|r| r.rollup_id == NEW_WASM));
        let mut c = client(grpc_addr(&homes[3])).await;
        let (proof, _, _) = verified_state_proof(&mut c, NEW_WASM, &credit_key, height).await;
        assert!(proof.exists);
    });
    assert!(list(&homes[3]).contains("10\tlate-wasm\twasm"));

    // Every validator restarts: the registry is in their stores, and the new rollups run.
    for node in &mut nodes {
        node.kill();
    }
    let mut nodes: Vec<Validator> = homes.iter().map(|h| Validator::start(h, 2)).collect();
    assert!(
        wait_for(Duration::from_secs(90), || nodes
            .iter()
            .all(|n| n.logged_height() > height)),
        "{}",
        nodes[0].report()
    );
    for home in &homes {
        let listed = list(home);
        assert!(
            listed.contains("10\tlate-wasm") && listed.contains("11\tlate-evm"),
            "{listed}"
        );
    }
    runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[2])).await;
        let total = c
            .call(v1::CallRequest {
                transaction: Some(v1::Transaction {
                    chain_id: chain.into(),
                    rollup_id: NEW_WASM,
                    sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
                    payload: Some(v1::transaction::Payload::Wasm(v1::WasmCall {
                        contract: vault.clone().into(),
                        method: "total".into(),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .receipt
            .unwrap();
        assert!(total.success);
        assert_eq!(total.output.as_ref(), 7u64.to_le_bytes());
    });

    // An update, approved the same way, sets the new EVM rollup's gas price.
    let key_of = |home: &Path| home.join("keys/validator_key.json");
    let out = babel(&[
        "rollup",
        "update",
        "--home",
        homes[0].to_str().unwrap(),
        "--nonce",
        "3",
        "--approver",
        key_of(&homes[1]).to_str().unwrap(),
        "--approver",
        key_of(&homes[3]).to_str().unwrap(),
        "--rollup-id",
        "11",
        "--record-version",
        "0",
        "--gas-price",
        "2",
        "--wait",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // Gas price 2 at version 1, on every validator once it has the block.
    let updated = |home: &Path| {
        list(home).lines().any(|l| {
            l.starts_with("11\tlate-evm\tevm\t") && l.split('\t').skip(4).take(2).eq(["2", "1"])
        })
    };
    assert!(
        wait_for(Duration::from_secs(30), || homes.iter().all(|h| updated(h))),
        "{}",
        list(&homes[1])
    );
    drop(nodes);
}
