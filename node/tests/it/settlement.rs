//! Settlement on a real network: proofs served by four validators (state, transactions,
//! receipts and an outgoing message a contract emitted) verify with the light-client verifier,
//! in this process and through `babel verify` in another; every validator serves the same
//! proof bytes, certificate included; a tampered proof is refused with its reason.

use std::time::Duration;

use alloy_sol_types::SolCall as _;
use babel_proto::v1;
use ed25519_dalek::SigningKey;
use prost::Message as _;

use crate::{
    grpc::{evm_tx, submit},
    support::{
        babel, client, grpc_addr, runtime, start_all, stderr, stdout, testnet_homes, wait_finalized,
    },
};

#[test]
fn e2e_proofs_from_four_validators_verify_in_a_separate_process_and_tampering_is_refused() {
    let chain = "babel-settle";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, chain);
    let mut nodes = start_all(&homes, 2, Duration::from_secs(60));
    let key = SigningKey::from_bytes(&[7; 32]);
    let sender = key.verifying_key().to_bytes();
    let genesis = homes[0].join("genesis.json");
    let genesis = genesis.to_str().unwrap();

    let (hash, height) = runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[0])).await;
        let mut last = None;
        for nonce in 0..5 {
            let mut tx = evm_tx(&key, chain, 1, nonce, 4);
            if nonce == 4 {
                // The last one emits an outgoing message through the precompile.
                tx.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
                    to: babel_evm::MESSAGE_ADDRESS.to_vec().into(),
                    data: babel_evm::sendMessageCall {
                        payload: b"to L1".to_vec().into(),
                    }
                    .abi_encode()
                    .into(),
                    ..Default::default()
                }));
            }
            let tx = babel_node::txpath::admission::sign(&tx, &key);
            let r = submit(&mut c, tx).await;
            assert!(r.accepted, "{}", r.message);
            last = Some(r.hash);
        }
        let hash = last.unwrap();
        let done = wait_finalized(&mut c, &hash).await;
        (hash.to_vec(), done.height)
    });
    let hash_hex = hex::encode(&hash);
    let nonce_key = hex::encode(babel_execution::state::nonce_key(&sender));

    // Once the next block is decided, every validator serves the same proof, byte for byte:
    // the header, the transaction, the value, the Merkle paths and the certificate (the one
    // the next block carries, whichever precommits each validator collected itself).
    runtime().block_on(async {
        let mut seen: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = None;
        for home in &homes {
            let mut c = client(grpc_addr(home)).await;
            let mut next = false;
            for _ in 0..300 {
                let status = c.status(v1::StatusRequest {}).await.unwrap().into_inner();
                if status.height > height {
                    next = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(next, "{home:?} decides the block after {height}");
            let tx = c
                .get_transaction_proof(v1::GetTransactionProofRequest {
                    hash: hash.clone().into(),
                })
                .await
                .unwrap()
                .into_inner();
            let receipt = c
                .get_receipt_proof(v1::GetTransactionProofRequest {
                    hash: hash.clone().into(),
                })
                .await
                .unwrap()
                .into_inner();
            let state = c
                .get_state_proof(v1::GetStateProofRequest {
                    rollup_id: 1,
                    key: babel_execution::state::nonce_key(&sender).to_vec().into(),
                    height,
                })
                .await
                .unwrap()
                .into_inner();
            assert!(tx.certificate.is_some() && state.certificate.is_some());
            let parts = (
                tx.encode_to_vec(),
                receipt.encode_to_vec(),
                state.encode_to_vec(),
            );
            match &seen {
                None => seen = Some(parts),
                Some(first) => assert!(*first == parts, "{home:?} serves other proof bytes"),
            }
        }
    });

    // `babel verify` in another process, against each validator, for each kind of claim.
    for home in &homes {
        let endpoint = format!("http://{}", grpc_addr(home));
        for claim in [
            vec!["tx", "--hash", &hash_hex],
            vec!["receipt", "--hash", &hash_hex],
            vec!["state", "--rollup", "1", "--key", &nonce_key],
        ] {
            let mut args = vec!["verify", "--genesis", genesis, "--endpoint", &endpoint];
            args.extend(claim.iter().copied());
            let out = babel(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            let text = stdout(&out);
            assert!(text.starts_with("valid: "), "{text}");
            assert!(text.contains("final: precommits of"), "{text}");
        }
    }
    let endpoint = format!("http://{}", grpc_addr(&homes[1]));
    let state_at = |key: &str| {
        let out = babel(&[
            "verify",
            "--genesis",
            genesis,
            "--endpoint",
            &endpoint,
            "state",
            "--rollup",
            "1",
            "--key",
            key,
            "--height",
            &height.to_string(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    // The message the last transaction emitted, proven from every validator; no second one.
    let emitter = hex::encode(babel_evm::sender_address(&sender));
    for home in &homes {
        let endpoint = format!("http://{}", grpc_addr(home));
        let message = |index: &str| {
            babel(&[
                "verify",
                "--genesis",
                genesis,
                "--endpoint",
                &endpoint,
                "message",
                "--rollup",
                "1",
                "--index",
                index,
            ])
        };
        let out = message("0");
        assert!(out.status.success(), "{}", stderr(&out));
        let expected = format!(
            "valid: message 0 of rollup 1, emitted at height {height} by 0x{emitter}: 0x{}",
            hex::encode(b"to L1")
        );
        assert!(stdout(&out).starts_with(&expected), "{}", stdout(&out));
        let out = message("1");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("had no message 1 as of height"),
            "{}",
            stderr(&out)
        );
    }
    // The sender's nonce after five transactions, and a key nobody wrote.
    assert!(state_at(&nonce_key).contains(&format!("holds 0x{}", hex::encode(5u64.to_be_bytes()))));
    assert!(state_at("00ff00ff").contains("is absent"));

    // Saved to a file, verified from it; one byte of the Merkle path changed, refused.
    let saved = dir.path().join("receipt.proof");
    let saved_str = saved.to_str().unwrap();
    let out = babel(&[
        "verify",
        "--genesis",
        genesis,
        "--endpoint",
        &endpoint,
        "--save",
        saved_str,
        "receipt",
        "--hash",
        &hash_hex,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let from_file = |path: &str| {
        babel(&[
            "verify",
            "--genesis",
            genesis,
            "--file",
            path,
            "receipt",
            "--hash",
            &hash_hex,
        ])
    };
    assert!(from_file(saved_str).status.success());
    let mut proof =
        v1::GetReceiptProofResponse::decode(std::fs::read(&saved).unwrap().as_slice()).unwrap();
    let tampered = dir.path().join("tampered.proof");
    let mut receipt = proof.receipt.clone().unwrap();
    receipt.gas_used += 1;
    proof.receipt = Some(receipt);
    std::fs::write(&tampered, proof.encode_to_vec()).unwrap();
    let out = from_file(tampered.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("proof does not match the header's results_root"),
        "{}",
        stderr(&out)
    );
    // A genesis with another validator set does not trust the certificate.
    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(homes[0].join("genesis.json")).unwrap()).unwrap();
    // A fifth validator, who signed nothing, holding most of the power.
    let mut stranger = other["validators"][0].clone();
    stranger["name"] = "stranger".into();
    stranger["voting_power"] = 10.into();
    stranger["public_key"] = format!(
        "0x{}",
        hex::encode(SigningKey::from_bytes(&[99; 32]).verifying_key().to_bytes())
    )
    .into();
    stranger["p2p_address"] = "/ip4/127.0.0.1/tcp/1".into();
    other["validators"].as_array_mut().unwrap().push(stranger);
    let other_path = dir.path().join("other-genesis.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let out = babel(&[
        "verify",
        "--genesis",
        other_path.to_str().unwrap(),
        "--file",
        saved_str,
        "receipt",
        "--hash",
        &hash_hex,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("voting power, more than two thirds needed"),
        "{}",
        stderr(&out)
    );
    for n in &mut nodes {
        n.kill();
    }
}
