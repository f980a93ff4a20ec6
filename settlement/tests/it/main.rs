//! The verifier against blocks and certificates built here with real keys: every honest proof
//! verifies, and every tampering is refused with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use babel_proto::message::{encode_message, message_key};
use babel_proto::v1;
use babel_settlement::{
    Validator, ValidatorSet, VerifyError, verify_commit, verify_message, verify_receipt,
    verify_state, verify_transaction,
};
use ed25519_dalek::SigningKey;
use jmt::{Sha256Jmt, mock::MockTreeStore};

const CHAIN: &str = "babel-settle-1";

fn keys(n: u8) -> Vec<SigningKey> {
    (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
}

fn set(keys: &[SigningKey], powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(
        CHAIN,
        keys.iter().zip(powers).map(|(k, p)| Validator {
            public_key: k.verifying_key().to_bytes(),
            power: *p,
        }),
    )
    .unwrap()
}

fn txs(n: u8) -> Vec<v1::SignedTransaction> {
    (0..n)
        .map(|i| v1::SignedTransaction {
            body: vec![i; 10].into(),
            signature: vec![i; 64].into(),
            ..Default::default()
        })
        .collect()
}

fn receipts(n: u8) -> Vec<v1::Receipt> {
    (0..n)
        .map(|i| v1::Receipt {
            success: i % 2 == 0,
            gas_used: 21_000 + u64::from(i),
            output: vec![i].into(),
            ..Default::default()
        })
        .collect()
}

/// A rollup tree holding `key_i → value_i` for `i < n`, its root and proof of `key`.
fn state(n: u32, key: &[u8]) -> ([u8; 32], Vec<u8>) {
    tree(
        (0..n).map(|i| {
            (
                format!("key_{i}").into_bytes(),
                format!("value_{i}").into_bytes(),
            )
        }),
        key,
    )
}

/// A rollup tree holding `pairs`, its root and proof of `key`.
fn tree(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>, key: &[u8]) -> ([u8; 32], Vec<u8>) {
    let store = MockTreeStore::default();
    let tree = Sha256Jmt::new(&store);
    let (root, batch) = tree
        .put_value_set(
            pairs
                .into_iter()
                .map(|(k, v)| (jmt::KeyHash::with::<sha2::Sha256>(k), Some(v))),
            0,
        )
        .unwrap();
    store.write_tree_update_batch(batch).unwrap();
    let (_, proof) = tree
        .get_with_proof(jmt::KeyHash::with::<sha2::Sha256>(key), 0)
        .unwrap();
    (root.0, borsh::to_vec(&proof).unwrap())
}

struct Block {
    header: v1::Header,
    txs: Vec<v1::SignedTransaction>,
    receipts: Vec<v1::Receipt>,
}

fn block(n: u8, state_root: [u8; 32]) -> Block {
    let (txs, receipts) = (txs(n), receipts(n));
    let header = v1::Header {
        chain_id: CHAIN.into(),
        height: 9,
        time_ms: 1_700_000_000_000,
        parent_hash: vec![1; 32].into(),
        proposer: vec![2; 20].into(),
        tx_root: babel_proto::tx_root(&txs).to_vec().into(),
        results_root: babel_proto::results_root(&txs, &receipts).to_vec().into(),
        state_roots: vec![v1::RollupStateRoot {
            rollup_id: 1,
            root: state_root.to_vec().into(),
        }],
        state_root: vec![3; 32].into(),
        tx_count: n.into(),
        ..Default::default()
    };
    Block {
        header,
        txs,
        receipts,
    }
}

/// A certificate for `header` signed by `signers` at round 1.
fn certify(header: &v1::Header, signers: &[SigningKey]) -> v1::CommitCertificate {
    babel_settlement::test_utils::certify(CHAIN, header, 1, signers)
}

#[test]
fn an_honest_certificate_verifies_and_every_tampering_is_refused_with_its_reason() {
    let keys = keys(4);
    let vals = set(&keys, &[1, 1, 1, 1]);
    let b = block(5, [7; 32]);
    let cert = certify(&b.header, &keys[..3]);
    let finality = verify_commit(&vals, &b.header, &cert).unwrap();
    assert_eq!(finality.block_hash, babel_proto::block_hash(&b.header));
    assert_eq!((finality.signed_power, finality.total_power), (3, 4));

    // Every header field changed breaks the signed hash (or the chain check first).
    type Edit = fn(&mut v1::Header);
    let edits: Vec<(&str, Edit)> = vec![
        ("height", |h| h.height += 1),
        ("time_ms", |h| h.time_ms += 1),
        ("parent_hash", |h| h.parent_hash = vec![9; 32].into()),
        ("proposer", |h| h.proposer = vec![9; 20].into()),
        ("tx_root", |h| h.tx_root = vec![9; 32].into()),
        ("results_root", |h| h.results_root = vec![9; 32].into()),
        ("state_roots", |h| {
            h.state_roots[0].root = vec![9; 32].into()
        }),
        ("state_root", |h| h.state_root = vec![9; 32].into()),
        ("da_refs", |h| h.da_refs.push(v1::DaReference::default())),
        ("tx_count", |h| h.tx_count += 1),
    ];
    for (field, edit) in edits {
        let mut header = b.header.clone();
        edit(&mut header);
        let err = verify_commit(&vals, &header, &cert).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::BlockHashMismatch { .. } | VerifyError::HeightMismatch { .. }
            ),
            "{field}: {err}"
        );
    }
    let mut other_chain = b.header.clone();
    other_chain.chain_id = "babel-other".into();
    assert!(matches!(
        verify_commit(&vals, &other_chain, &certify(&other_chain, &keys)),
        Err(VerifyError::WrongChain { .. })
    ));

    // One signature flipped.
    let mut bad = cert.clone();
    let mut sig = bad.signatures[1].signature.to_vec();
    sig[0] ^= 1;
    bad.signatures[1].signature = sig.into();
    assert!(matches!(
        verify_commit(&vals, &b.header, &bad),
        Err(VerifyError::BadSignature(_))
    ));
    // Signed for another round than the certificate says.
    let mut round = cert.clone();
    round.round = 2;
    assert!(matches!(
        verify_commit(&vals, &b.header, &round),
        Err(VerifyError::BadSignature(_))
    ));
    // Another height: the certificate of height 9 shown for a header of height 10.
    let mut next = b.header.clone();
    next.height = 10;
    assert_eq!(
        verify_commit(&vals, &next, &cert),
        Err(VerifyError::HeightMismatch {
            header: 10,
            certificate: 9
        })
    );
    // A precommit signed for another chain does not count on this one.
    let other = ValidatorSet::new(
        "babel-other",
        keys.iter().map(|k| Validator {
            public_key: k.verifying_key().to_bytes(),
            power: 1,
        }),
    )
    .unwrap();
    let mut theirs = b.header.clone();
    theirs.chain_id = "babel-other".into();
    assert!(matches!(
        verify_commit(&other, &theirs, &certify(&theirs, &keys)),
        Err(VerifyError::BadSignature(_))
    ));

    // Two thirds exactly is not enough; a repeated signer counts once and is refused.
    assert_eq!(
        verify_commit(&vals, &b.header, &certify(&b.header, &keys[..2])),
        Err(VerifyError::InsufficientPower {
            signed: 2,
            total: 4
        })
    );
    let three = set(&keys[..3], &[1, 1, 1]);
    assert!(matches!(
        verify_commit(&three, &b.header, &certify(&b.header, &keys[..2])),
        Err(VerifyError::InsufficientPower {
            signed: 2,
            total: 3
        })
    ));
    let mut twice = certify(&b.header, &keys[..2]);
    twice.signatures.push(twice.signatures[0].clone());
    assert!(matches!(
        verify_commit(&vals, &b.header, &twice),
        Err(VerifyError::DuplicateSignature(_))
    ));
    // A stranger's signature.
    let stranger = SigningKey::from_bytes(&[99; 32]);
    assert!(matches!(
        verify_commit(&vals, &b.header, &certify(&b.header, &[stranger])),
        Err(VerifyError::UnknownValidator(_))
    ));
    // Oversized fields are refused, and the error quotes only their start.
    let mut huge = cert.clone();
    huge.signatures[0].validator = vec![0xAB; 1 << 20].into();
    match verify_commit(&vals, &b.header, &huge) {
        Err(VerifyError::UnknownValidator(name)) => {
            assert!(
                name.len() < 100 && name.ends_with("(1048576 bytes)"),
                "{name}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut huge = cert.clone();
    huge.block_hash = vec![0xCD; 1 << 20].into();
    match verify_commit(&vals, &b.header, &huge) {
        Err(e @ VerifyError::BlockHashMismatch { .. }) => {
            assert!(e.to_string().len() < 300, "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A validator's power changed: the same three signers are no longer enough.
    let heavier = set(&keys, &[1, 1, 1, 4]);
    assert_eq!(
        verify_commit(&heavier, &b.header, &cert),
        Err(VerifyError::InsufficientPower {
            signed: 3,
            total: 7
        })
    );
}

#[test]
fn transaction_and_receipt_proofs_verify_for_every_index_and_refuse_tampering() {
    for n in [1u8, 2, 3, 7, 16] {
        let b = block(n, [7; 32]);
        let hashes: Vec<[u8; 32]> = b.txs.iter().map(babel_proto::tx_hash).collect();
        let leaves: Vec<[u8; 32]> = hashes
            .iter()
            .zip(&b.receipts)
            .map(|(h, r)| babel_proto::receipt_leaf(h, r))
            .collect();
        for i in 0..usize::from(n) {
            let index = i as u64;
            let tx_proof = babel_proto::merkle_proof(&hashes, i).unwrap();
            let rc_proof = babel_proto::merkle_proof(&leaves, i).unwrap();
            verify_transaction(&b.header, index, &b.txs[i], &tx_proof).unwrap();
            verify_receipt(&b.header, index, &b.txs[i], &b.receipts[i], &rc_proof).unwrap();

            let mut tx = b.txs[i].clone();
            tx.body = vec![0xEE].into();
            assert_eq!(
                verify_transaction(&b.header, index, &tx, &tx_proof),
                Err(VerifyError::RootMismatch("tx_root"))
            );
            let mut receipt = b.receipts[i].clone();
            receipt.success = !receipt.success;
            assert_eq!(
                verify_receipt(&b.header, index, &b.txs[i], &receipt, &rc_proof),
                Err(VerifyError::RootMismatch("results_root"))
            );
            if n > 1 {
                let mut node = tx_proof.clone();
                node[5] ^= 1;
                assert_eq!(
                    verify_transaction(&b.header, index, &b.txs[i], &node),
                    Err(VerifyError::RootMismatch("tx_root"))
                );
                let short = &tx_proof[..tx_proof.len() - 32];
                assert!(matches!(
                    verify_transaction(&b.header, index, &b.txs[i], short),
                    Err(VerifyError::RootMismatch(_) | VerifyError::MalformedProof(_))
                ));
                let other = (index + 1) % u64::from(n);
                assert_eq!(
                    verify_transaction(&b.header, other, &b.txs[i], &tx_proof),
                    Err(VerifyError::RootMismatch("tx_root"))
                );
            }
        }
        assert_eq!(
            verify_transaction(&b.header, n.into(), &b.txs[0], &[]),
            Err(VerifyError::IndexOutOfRange {
                index: n.into(),
                count: n.into()
            })
        );
    }
}

#[test]
fn state_proofs_verify_presence_and_absence_and_refuse_tampering() {
    let (root, present) = state(100, b"key_42");
    let b = block(1, root);
    verify_state(&b.header, 1, b"key_42", Some(b"value_42"), &present).unwrap();
    assert_eq!(
        verify_state(&b.header, 1, b"key_42", Some(b"value_43"), &present),
        Err(VerifyError::RootMismatch("state root"))
    );
    assert_eq!(
        verify_state(&b.header, 1, b"key_42", None, &present),
        Err(VerifyError::RootMismatch("state root"))
    );
    let (_, absent) = state(100, b"missing");
    verify_state(&b.header, 1, b"missing", None, &absent).unwrap();
    assert_eq!(
        verify_state(&b.header, 1, b"missing", Some(b"value_1"), &absent),
        Err(VerifyError::RootMismatch("state root"))
    );
    // A proof node flipped: it decodes but no longer leads to the root.
    let mut node = present.clone();
    let last = node.len() - 1;
    node[last] ^= 1;
    assert!(matches!(
        verify_state(&b.header, 1, b"key_42", Some(b"value_42"), &node),
        Err(VerifyError::RootMismatch(_) | VerifyError::MalformedProof(_))
    ));
    assert!(matches!(
        verify_state(&b.header, 1, b"key_42", Some(b"value_42"), &[1, 2, 3]),
        Err(VerifyError::MalformedProof(_))
    ));
    assert_eq!(
        verify_state(&b.header, 2, b"key_42", Some(b"value_42"), &present),
        Err(VerifyError::UnknownRollup(2))
    );
}

#[test]
fn message_proofs_verify_and_refuse_another_message_or_index() {
    let message = |index: u64, payload: &str| v1::OutgoingMessage {
        index,
        height: 4,
        sender: vec![0xC0; 20].into(),
        payload: payload.as_bytes().to_vec().into(),
    };
    // Messages 0..3, and under key 3 one that says it is message 7.
    let mut pairs: Vec<_> = (0..3)
        .map(|i| {
            (
                message_key(i).to_vec(),
                encode_message(&message(i, "to L1")),
            )
        })
        .collect();
    pairs.push((
        message_key(3).to_vec(),
        encode_message(&message(7, "misplaced")),
    ));
    let (root, proof_1) = tree(pairs.clone(), &message_key(1));
    let b = block(1, root);
    let value = encode_message(&message(1, "to L1"));
    assert_eq!(
        verify_message(&b.header, 1, 1, &value, &proof_1),
        Ok(message(1, "to L1"))
    );
    // Another payload, or the same message claimed at another index, does not verify.
    let forged = encode_message(&message(1, "to L2"));
    assert_eq!(
        verify_message(&b.header, 1, 1, &forged, &proof_1),
        Err(VerifyError::RootMismatch("state root"))
    );
    assert_eq!(
        verify_message(&b.header, 1, 2, &value, &proof_1),
        Err(VerifyError::RootMismatch("state root"))
    );
    // Stored bytes that are not a message, or name another index, are refused as such.
    let (_, proof_3) = tree(pairs, &message_key(3));
    assert!(matches!(
        verify_message(
            &b.header,
            1,
            3,
            &encode_message(&message(7, "misplaced")),
            &proof_3
        ),
        Err(VerifyError::MalformedMessage(_))
    ));
    // One that says it was emitted after the header that proves it (the header is at 9).
    let late = v1::OutgoingMessage {
        height: 10,
        ..message(0, "late")
    };
    let (root, proof) = tree(
        [(message_key(0).to_vec(), encode_message(&late))],
        &message_key(0),
    );
    assert!(matches!(
        verify_message(&block(1, root).header, 1, 0, &encode_message(&late), &proof),
        Err(VerifyError::MalformedMessage(_))
    ));
    let (root, proof) = tree([(message_key(0).to_vec(), vec![0xFF; 3])], &message_key(0));
    assert!(matches!(
        verify_message(&block(1, root).header, 1, 0, &[0xFF; 3], &proof),
        Err(VerifyError::MalformedMessage(_))
    ));
}

#[test]
fn validator_sets_that_cannot_be_trusted_are_refused() {
    let k = keys(2);
    let v = |key: &SigningKey, power| Validator {
        public_key: key.verifying_key().to_bytes(),
        power,
    };
    for (validators, why) in [
        (vec![], "no validators"),
        (vec![v(&k[0], 0)], "no power"),
        (vec![v(&k[0], 1), v(&k[0], 1)], "twice"),
        (vec![v(&k[0], u64::MAX), v(&k[1], 1)], "overflows"),
    ] {
        let err = ValidatorSet::new(CHAIN, validators).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
}
