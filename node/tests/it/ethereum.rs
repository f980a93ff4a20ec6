//! Ethereum transactions over gRPC: signed by an Ethereum wallet library, ordered, executed
//! and stored like native ones, and refused with Ethereum's reasons.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use babel_proto::v1::{self, RejectReason};

use crate::{
    grpc::submit,
    support::{Validator, client, grpc_addr, runtime, testnet_homes, wait_finalized, wait_for},
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
    let signature = signer
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing");
    tx.into_signed(signature).into().encoded_2718()
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
    let node = Validator::start(&homes[0], 0);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= 1));
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
    });
}
