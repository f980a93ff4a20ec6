//! Admission of a signed transaction: decode with size limits, check it against the chain, and
//! verify its signature (in batches when many arrive together). Pure functions; the caller
//! looks up nonces and inserts into the mempool.

use std::borrow::Borrow;

use babel_execution::{Executor, OpenError, ethereum, registry};
use babel_genesis::{Genesis, REGISTRY_ROLLUP_ID};
use babel_proto::v1::{self, RejectReason, transaction::Payload};
use prost::Message;

use crate::params::MAX_TX_GAS;

/// A transaction that passed the stateless checks.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedTx {
    /// Its hash (`babel_proto::tx_hash`: `sha256(body || signature)`, or keccak256 of an
    /// Ethereum transaction).
    pub hash: [u8; 32],
    /// The decoded body.
    pub tx: v1::Transaction,
    /// The signed envelope, unchanged.
    pub signed: v1::SignedTransaction,
    /// Encoded size of the envelope.
    pub size: usize,
    /// Whether it is an Ethereum transaction, whose signer was recovered while opening it
    /// (so it has no ed25519 signature to check).
    pub ethereum: bool,
}

impl CheckedTx {
    /// The sender's public key (length checked by [`check`]).
    pub fn sender(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(&self.tx.sender_pubkey);
        key
    }
}

/// Why a transaction is refused, with the wire reason code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    /// Reason code returned to the client.
    pub reason: RejectReason,
    /// Detail for humans.
    pub message: String,
}

impl Rejection {
    /// A rejection with this code and message.
    pub fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// Stateless checks: size, decoding, chain id, rollup (and that this node executes its VM),
/// key and signature lengths, payload, gas limit and fee cap. The signature itself is checked
/// by [`verify_signatures`].
pub fn check(
    signed: v1::SignedTransaction,
    genesis: &Genesis,
    exec: &Executor,
) -> Result<CheckedTx, Rejection> {
    let size = signed.encoded_len();
    let limit = genesis.consensus.max_tx_bytes as usize;
    if size > limit {
        return Err(Rejection::new(
            RejectReason::TooLarge,
            format!("transaction is {size} bytes, limit {limit}"),
        ));
    }
    let opened = exec.open(&signed).map_err(|e| {
        let reason = match e {
            OpenError::UnknownChain(_) => RejectReason::WrongChain,
            _ => RejectReason::Malformed,
        };
        Rejection::new(reason, e.to_string())
    })?;
    let ethereum = opened.ethereum.is_some();
    let tx = opened.tx;
    if tx.chain_id != genesis.chain_id {
        return Err(Rejection::new(
            RejectReason::WrongChain,
            format!(
                "chain id {:?}, this chain is {:?}",
                tx.chain_id, genesis.chain_id
            ),
        ));
    }
    if tx.sender_pubkey.len() != 32 {
        return Err(Rejection::new(
            RejectReason::Malformed,
            "sender_pubkey must be 32 bytes",
        ));
    }
    if !ethereum && signed.signature.len() != 64 {
        return Err(Rejection::new(
            RejectReason::Malformed,
            "signature must be 64 bytes",
        ));
    }
    if !ethereum && tx.sender_pubkey.starts_with(&ethereum::ACCOUNT_PREFIX) {
        return Err(Rejection::new(
            RejectReason::Malformed,
            "sender keys starting with 12 zero bytes are Ethereum accounts'",
        ));
    }
    let Some(payload) = &tx.payload else {
        return Err(Rejection::new(RejectReason::Malformed, "no payload"));
    };
    let (min_gas, gas_price) = if tx.rollup_id == REGISTRY_ROLLUP_ID {
        (registry_change(&tx, payload, genesis)?, 0)
    } else {
        let Some((adapter, price)) = exec.priced_adapter(tx.rollup_id) else {
            return Err(Rejection::new(
                RejectReason::UnknownRollup,
                format!("rollup {} does not exist", tx.rollup_id),
            ));
        };
        if let Err(why) = adapter.check_payload(payload) {
            return Err(Rejection::new(RejectReason::Malformed, why));
        }
        (adapter.min_gas(payload), price)
    };
    if tx.gas_limit < min_gas {
        return Err(Rejection::new(
            RejectReason::GasLimitTooLow,
            format!("gas limit {} below the intrinsic {min_gas}", tx.gas_limit),
        ));
    }
    if tx.gas_limit > MAX_TX_GAS {
        return Err(Rejection::new(
            RejectReason::GasLimitTooHigh,
            format!("gas limit {} above {MAX_TX_GAS}", tx.gas_limit),
        ));
    }
    let max_fee = u128::from(tx.gas_limit) * u128::from(gas_price);
    if u128::from(tx.max_fee) < max_fee {
        return Err(Rejection::new(
            RejectReason::FeeTooLow,
            format!(
                "max_fee {} below gas limit {} × gas price {gas_price}",
                tx.max_fee, tx.gas_limit
            ),
        ));
    }
    let hash = babel_proto::tx_hash(&signed);
    Ok(CheckedTx {
        hash,
        tx,
        signed,
        size,
        ethereum,
    })
}

/// A change to the rollup registry: signed by a governance key, a registry call, approved by
/// at least the threshold of governance keys. What depends on state (a taken id, an initial
/// state the VM refuses, an update's version) is checked when it executes, and a refusal
/// shows in its receipt. Returns the gas it uses.
fn registry_change(
    tx: &v1::Transaction,
    payload: &Payload,
    genesis: &Genesis,
) -> Result<u64, Rejection> {
    let governs = genesis
        .governance
        .as_ref()
        .is_some_and(|g| g.has_key(&tx.sender_pubkey));
    if !governs {
        return Err(Rejection::new(
            RejectReason::NotGovernance,
            "only a governance key may send to the rollup registry (rollup 0)",
        ));
    }
    let Payload::Registry(call) = payload else {
        return Err(Rejection::new(
            RejectReason::Malformed,
            "rollup 0 takes registry changes only",
        ));
    };
    // Approvals need no state: a change below the threshold would take a block's space for
    // free, so it is refused here (and a block holding one is invalid).
    registry::approved(&genesis.chain_id, genesis.governance.as_ref(), call)
        .map_err(|why| Rejection::new(RejectReason::NotGovernance, why))?;
    Ok(registry::gas(call))
}

/// Verify each transaction's signature over its raw body. All are checked in one ed25519 batch
/// first; only if the batch fails is each checked alone, to find the bad ones. Verification
/// follows ZIP-215 (`ed25519-zebra`): batch and single checks accept exactly the same
/// signatures, so a transaction's validity never depends on what it was batched with, and
/// every node agrees on it.
pub fn verify_signatures<T: Borrow<CheckedTx>>(txs: &[T]) -> Vec<bool> {
    let refs: Vec<&CheckedTx> = txs.iter().map(Borrow::borrow).collect();
    if verify_batch(&refs) {
        return vec![true; txs.len()];
    }
    refs.into_iter().map(verify_one).collect()
}

/// Whether every signature of `txs` verifies, checked as one batch (`false` for an empty
/// batch, so that callers fall back to single checks, which settle it trivially).
pub fn verify_batch(txs: &[&CheckedTx]) -> bool {
    if txs.is_empty() {
        return false;
    }
    let mut batch = ed25519_zebra::batch::Verifier::new();
    // An Ethereum transaction's signer was recovered when it was opened.
    for t in txs.iter().filter(|t| !t.ethereum) {
        let Ok(signature) = ed25519_zebra::Signature::try_from(t.signed.signature.as_ref()) else {
            return false;
        };
        batch.queue((
            ed25519_zebra::VerificationKeyBytes::from(t.sender()),
            signature,
            t.signed.body.as_ref(),
        ));
    }
    // The random coefficients only make a forged batch fail; they never decide validity.
    batch.verify(rand::thread_rng()).is_ok()
}

fn verify_one(t: &CheckedTx) -> bool {
    if t.ethereum {
        return true;
    }
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(t.sender()) else {
        return false;
    };
    let Ok(signature) = ed25519_zebra::Signature::try_from(t.signed.signature.as_ref()) else {
        return false;
    };
    key.verify(&signature, &t.signed.body).is_ok()
}

/// Build and sign a transaction (clients, `babel tx send`, tests).
pub fn sign(tx: &v1::Transaction, key: &ed25519_dalek::SigningKey) -> v1::SignedTransaction {
    use ed25519_dalek::Signer as _;
    let body = tx.encode_to_vec();
    let signature = key.sign(&body);
    v1::SignedTransaction {
        body: body.into(),
        signature: signature.to_bytes().to_vec().into(),
        ..Default::default()
    }
}

/// Sign an Ethereum transaction as a wallet does, into the envelope that carries it (`babel
/// bench`, tests): its `ethereum` bytes are what `eth_sendRawTransaction` takes.
pub fn sign_ethereum<T>(
    tx: T,
    signer: &alloy_signer_local::PrivateKeySigner,
) -> Result<v1::SignedTransaction, alloy_signer::Error>
where
    T: alloy_consensus::SignableTransaction<alloy_primitives::Signature>,
    alloy_consensus::Signed<T>: Into<alloy_consensus::TxEnvelope>,
{
    use alloy_eips::eip2718::Encodable2718 as _;
    use alloy_signer::SignerSync as _;
    let signature = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(v1::SignedTransaction {
        ethereum: tx.into_signed(signature).into().encoded_2718().into(),
        ..Default::default()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::executor_for;
    use babel_proto::test_utils::{field_mutants, mutate_with};
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    /// A genesis with an EVM rollup (1, gas price 2) and a WASM one (2), for admission tests.
    pub(crate) fn genesis() -> Genesis {
        let key = SigningKey::from_bytes(&[9; 32]);
        let json = serde_json::json!({
            "chain_id": "c1",
            "genesis_time": "2026-01-01T00:00:00Z",
            "consensus": { "max_tx_bytes": 1024, "max_block_bytes": 4096 },
            "validators": [{ "public_key": hex::encode(key.verifying_key().as_bytes()), "voting_power": 1,
                             "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
            "rollups": [{ "id": 1, "name": "evm", "vm": "evm", "initial_state": {}, "gas_price": 2 },
                        { "id": 2, "name": "wasm", "vm": "wasm", "initial_state": {} }]
        });
        Genesis::from_json(json.to_string().as_bytes()).unwrap()
    }

    /// A plain EVM call on rollup 1 claiming `key` as its sender.
    pub(crate) fn tx(key: &SigningKey, nonce: u64) -> v1::Transaction {
        v1::Transaction {
            chain_id: "c1".into(),
            rollup_id: 1,
            sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
            nonce,
            gas_limit: 21_000,
            max_fee: 42_000,
            payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
                to: vec![0x42; 20].into(),
                ..Default::default()
            })),
        }
    }

    fn reason(signed: v1::SignedTransaction) -> RejectReason {
        check(signed, &genesis(), &executor_for(&genesis()).unwrap())
            .unwrap_err()
            .reason
    }

    #[test]
    fn good_transactions_pass_and_batch_verify() {
        let g = genesis();
        let keys: Vec<SigningKey> = (1..=20).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let checked: Vec<CheckedTx> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| check(sign(&tx(k, i as u64), k), &g, &executor_for(&g).unwrap()).unwrap())
            .collect();
        assert!(verify_signatures(&checked).iter().all(|ok| *ok));
        assert_eq!(checked[3].hash, babel_proto::tx_hash(&checked[3].signed));
    }

    #[test]
    fn validity_does_not_depend_on_the_batch() {
        // ZIP-215's edge case: the identity key with R = identity and s = 0 satisfies the
        // cofactored equation for any message. Whatever the rule, a node must give the same
        // verdict alone and in any batch; under ZIP-215 it is valid everywhere.
        let g = genesis();
        let exec = executor_for(&g).unwrap();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut body = tx(&SigningKey::from_bytes(&[1; 32]), 0);
        body.sender_pubkey = identity.to_vec().into();
        let mut signature = vec![0u8; 64];
        signature[0] = 1;
        let edge = check(
            v1::SignedTransaction {
                body: body.encode_to_vec().into(),
                signature: signature.into(),
                ..Default::default()
            },
            &g,
            &exec,
        )
        .unwrap();
        let keys: Vec<SigningKey> = (2..=6).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let good: Vec<CheckedTx> = keys
            .iter()
            .map(|k| check(sign(&tx(k, 0), k), &g, &exec).unwrap())
            .collect();
        let forged = check(sign(&tx(&keys[0], 1), &keys[1]), &g, &exec).unwrap();

        assert_eq!(verify_signatures(std::slice::from_ref(&edge)), vec![true]);
        let mut with_good = good.clone();
        with_good.push(edge.clone());
        assert!(verify_signatures(&with_good).iter().all(|ok| *ok));
        let mut with_forged = with_good.clone();
        with_forged.insert(2, forged);
        let verdicts = verify_signatures(&with_forged);
        assert_eq!(verdicts.iter().filter(|ok| !**ok).count(), 1);
        assert!(!verdicts[2] && verdicts[6]);
    }

    #[test]
    fn one_bad_signature_in_a_batch_is_found() {
        let g = genesis();
        let keys: Vec<SigningKey> = (1..=8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let mut checked: Vec<CheckedTx> = keys
            .iter()
            .map(|k| check(sign(&tx(k, 0), k), &g, &executor_for(&g).unwrap()).unwrap())
            .collect();
        // Transaction 5 claims key 5 but was signed by key 6.
        checked[5] = check(
            sign(&tx(&keys[5], 0), &keys[6]),
            &g,
            &executor_for(&g).unwrap(),
        )
        .unwrap();
        let verdicts = verify_signatures(&checked);
        assert_eq!(verdicts.iter().filter(|ok| !**ok).count(), 1);
        assert!(!verdicts[5]);
    }

    #[test]
    fn re_encoded_body_would_not_verify_so_raw_bytes_are_used() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let mut signed = sign(&tx(&key, 0), &key);
        // Appending an unknown field keeps the body decodable but changes the signed bytes.
        let mut body = signed.body.to_vec();
        body.extend_from_slice(&[0xF8, 0x07, 0x01]);
        signed.body = body.into();
        let checked = check(signed, &genesis(), &executor_for(&genesis()).unwrap()).unwrap();
        assert_eq!(verify_signatures(&[checked]), vec![false]);
    }

    #[test]
    fn each_stateless_rejection_has_its_reason() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let mut big = tx(&key, 0);
        big.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
            data: vec![0; 2000].into(),
            ..Default::default()
        }));
        assert_eq!(reason(sign(&big, &key)), RejectReason::TooLarge);
        assert_eq!(
            reason(v1::SignedTransaction {
                body: vec![0xFF, 0xFF].into(),
                signature: vec![0; 64].into(),
                ..Default::default()
            }),
            RejectReason::Malformed
        );
        let mut wrong_chain = tx(&key, 0);
        wrong_chain.chain_id = "c2".into();
        assert_eq!(reason(sign(&wrong_chain, &key)), RejectReason::WrongChain);
        let mut unknown = tx(&key, 0);
        unknown.rollup_id = 99;
        assert_eq!(reason(sign(&unknown, &key)), RejectReason::UnknownRollup);
        let mut short_key = tx(&key, 0);
        short_key.sender_pubkey = vec![1; 31].into();
        assert_eq!(reason(sign(&short_key, &key)), RejectReason::Malformed);
        let mut no_payload = tx(&key, 0);
        no_payload.payload = None;
        assert_eq!(reason(sign(&no_payload, &key)), RejectReason::Malformed);
        let mut short_sig = sign(&tx(&key, 0), &key);
        short_sig.signature = vec![0; 10].into();
        assert_eq!(reason(short_sig), RejectReason::Malformed);
        // An EVM payload on the WASM rollup; then a WASM call there, which is admitted.
        let mut evm_on_wasm = tx(&key, 0);
        evm_on_wasm.rollup_id = 2;
        let refused = check(
            sign(&evm_on_wasm, &key),
            &genesis(),
            &executor_for(&genesis()).unwrap(),
        )
        .unwrap_err();
        assert_eq!(refused.reason, RejectReason::Malformed);
        assert!(
            refused.message.contains("WASM payloads"),
            "{}",
            refused.message
        );
        let mut wasm = evm_on_wasm;
        wasm.payload = Some(v1::transaction::Payload::Wasm(v1::WasmCall {
            contract: vec![1; 20].into(),
            method: "run".into(),
            ..Default::default()
        }));
        let exec = executor_for(&genesis()).unwrap();
        assert!(check(sign(&wasm, &key), &genesis(), &exec).is_ok());
        let mut bad_to = tx(&key, 0);
        bad_to.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![1; 5].into(),
            ..Default::default()
        }));
        assert_eq!(reason(sign(&bad_to, &key)), RejectReason::Malformed);
        let mut greedy = tx(&key, 0);
        greedy.gas_limit = MAX_TX_GAS + 1;
        greedy.max_fee = u64::MAX;
        assert_eq!(reason(sign(&greedy, &key)), RejectReason::GasLimitTooHigh);
        let mut cheap = tx(&key, 0);
        cheap.max_fee = 41_999;
        assert_eq!(reason(sign(&cheap, &key)), RejectReason::FeeTooLow);
        let mut starved = tx(&key, 0);
        starved.gas_limit = 20_999;
        assert_eq!(reason(sign(&starved, &key)), RejectReason::GasLimitTooLow);
        let mut create = tx(&key, 0);
        create.gas_limit = 21_000;
        create.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
            data: vec![0x60; 10].into(),
            ..Default::default()
        }));
        assert_eq!(
            reason(sign(&create, &key)),
            RejectReason::GasLimitTooLow,
            "a create costs 53 000 and more"
        );
    }

    /// Valid submissions of several shapes (call, call with data, create), the seeds that
    /// mutated inputs start from.
    fn seeds() -> Vec<v1::SignedTransaction> {
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut with_data = tx(&key, 7);
        with_data.gas_limit = 100_000;
        with_data.max_fee = 200_000;
        with_data.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![0x42; 20].into(),
            value: vec![1; 32].into(),
            data: vec![0xAB; 300].into(),
        }));
        let mut create = with_data.clone();
        create.payload = Some(v1::transaction::Payload::Evm(v1::EvmCall {
            data: vec![0x60; 40].into(),
            ..Default::default()
        }));
        [tx(&key, 0), with_data, create]
            .iter()
            .map(|t| sign(t, &key))
            .collect()
    }

    /// Admit `signed` as the node does a client's submission: a refusal must carry a reason,
    /// and what passes must be exactly what was sent, within the size limit, and verify only
    /// if its body and signature are `original`'s (the signature covers the raw body bytes).
    fn admitted_soundly(
        signed: v1::SignedTransaction,
        original: &v1::SignedTransaction,
    ) -> Result<(), TestCaseError> {
        let g = genesis();
        match check(signed.clone(), &g, &executor_for(&g).unwrap()) {
            Err(r) => prop_assert_ne!(r.reason, RejectReason::Unspecified, "{}", r.message),
            Ok(c) => {
                prop_assert_eq!(&c.signed, &signed);
                prop_assert_eq!(c.size, signed.encoded_len());
                prop_assert!(c.size <= g.consensus.max_tx_bytes as usize);
                prop_assert_eq!(c.hash, babel_proto::tx_hash(&signed));
                prop_assert_eq!(
                    &c.tx,
                    &v1::Transaction::decode(signed.body.clone()).unwrap()
                );
                let _ = c.sender();
                let untouched =
                    signed.body == original.body && signed.signature == original.signature;
                prop_assert_eq!(verify_signatures(&[c]), vec![untouched]);
            }
        }
        Ok(())
    }

    #[test]
    fn every_seed_is_admitted() {
        // The mutation test is only as good as its seeds: each must pass admission.
        for seed in seeds() {
            admitted_soundly(seed.clone(), &seed).unwrap();
            check(seed, &genesis(), &executor_for(&genesis()).unwrap()).unwrap();
        }
    }

    #[test]
    fn every_one_field_change_of_a_submission_is_admitted_soundly() {
        // Deterministic: each admission check meets a wrong length, number or tag, in the
        // envelope and in the signed body.
        for original in seeds() {
            let envelopes = field_mutants(&original.encode_to_vec())
                .into_iter()
                .filter_map(|m| v1::SignedTransaction::decode(m.as_slice()).ok());
            let bodies =
                field_mutants(&original.body)
                    .into_iter()
                    .map(|body| v1::SignedTransaction {
                        body: body.into(),
                        signature: original.signature.clone(),
                        ..Default::default()
                    });
            for signed in envelopes.chain(bodies) {
                if let Err(e) = admitted_soundly(signed.clone(), &original) {
                    panic!("{e} for {signed:?}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(11),
            ..ProptestConfig::default()
        })]

        /// Random bytes as a `SubmitTransactions` request (what tonic decodes for the node)
        /// never panic admission: each transaction is admitted soundly or refused with a
        /// reason.
        #[test]
        fn random_submissions_are_refused_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            let original = seeds().remove(0);
            if let Ok(request) = v1::SubmitTransactionsRequest::decode(bytes.as_slice()) {
                for signed in request.transactions {
                    admitted_soundly(signed, &original)?;
                }
            }
            // The same bytes as a transaction body, with a well-formed signature.
            let signed = v1::SignedTransaction {
                body: bytes.into(),
                signature: original.signature.clone(),
                ..Default::default()
            };
            admitted_soundly(signed, &original)?;
        }

        /// Valid submissions with a few bytes or protobuf fields changed (see
        /// `babel_proto::test_utils`), in the envelope or in the signed body, are admitted
        /// soundly or refused with a reason, never panic.
        #[test]
        fn mutated_submissions_are_refused_never_panic(
            seed in any::<prop::sample::Index>(),
            in_body in any::<bool>(),
            structured in any::<bool>(),
            mutations in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u64>()), 1..6),
        ) {
            let seeds = seeds();
            let original = &seeds[seed.index(seeds.len())];
            let mutate = |bytes: &[u8]| mutate_with(structured, bytes, &mutations);
            let signed = if in_body {
                v1::SignedTransaction {
                    body: mutate(&original.body).into(),
                    signature: original.signature.clone(),
                    ..Default::default()
                }
            } else {
                match v1::SignedTransaction::decode(mutate(&original.encode_to_vec()).as_slice()) {
                    Ok(signed) => signed,
                    // Refused by the gRPC layer before admission sees it.
                    Err(_) => return Ok(()),
                }
            };
            admitted_soundly(signed, original)?;
        }
    }
}
