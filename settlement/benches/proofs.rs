//! What a light client spends on Babel's proofs: the size of each proof a node serves and the
//! time `babel-settlement` takes to verify it, against the number of validators (commit
//! certificates: 4, 16 and 64, every one signing) and the size of what is proven over (a
//! rollup's state: 10³ to 10⁶ keys; a block's transactions: 10 to 10⁵). After criterion's
//! report, a table of sizes and mean times.

// Constant inputs only; criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use babel_proto::v1;
use babel_settlement::{Validator, ValidatorSet, verify_commit, verify_state, verify_transaction};
use criterion::{Criterion, criterion_group};
use ed25519_dalek::SigningKey;
use jmt::{KeyHash, Sha256Jmt, mock::MockTreeStore};
use prost::Message as _;
use sha2::Sha256;

const CHAIN: &str = "babel-bench";

/// What was measured, size in bytes and mean verification time, by row.
static ROWS: Mutex<Vec<(String, usize, Duration)>> = Mutex::new(Vec::new());

/// Run `verify` under criterion as `name`, and keep its mean with the proof's `size`.
fn measure(c: &mut Criterion, name: String, size: usize, mut verify: impl FnMut()) {
    let mut spent = (Duration::ZERO, 0u64);
    c.bench_function(&name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                verify();
            }
            let elapsed = start.elapsed();
            spent.0 += elapsed;
            spent.1 += iters;
            elapsed
        })
    });
    let mean = spent.0 / u32::try_from(spent.1.max(1)).unwrap_or(u32::MAX);
    ROWS.lock().unwrap().push((name, size, mean));
}

fn header(state_root: [u8; 32], txs: &[v1::SignedTransaction]) -> v1::Header {
    v1::Header {
        chain_id: CHAIN.into(),
        height: 1_000,
        time_ms: 1_700_000_000_000,
        parent_hash: vec![1; 32].into(),
        proposer: vec![2; 20].into(),
        tx_root: babel_proto::tx_root(txs).to_vec().into(),
        results_root: vec![4; 32].into(),
        state_roots: vec![v1::RollupStateRoot {
            rollup_id: 1,
            root: state_root.to_vec().into(),
        }],
        state_root: vec![3; 32].into(),
        tx_count: txs.len() as u64,
        ..Default::default()
    }
}

fn certificates(c: &mut Criterion) {
    for n in [4u8, 16, 64] {
        let keys: Vec<SigningKey> = (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let validators = ValidatorSet::new(
            CHAIN,
            keys.iter().map(|k| Validator {
                public_key: k.verifying_key().to_bytes(),
                power: 10,
            }),
        )
        .unwrap();
        let header = header([0; 32], &[]);
        let certificate = babel_settlement::test_utils::certify(CHAIN, &header, 0, &keys);
        let size = certificate.encoded_len() + header.encoded_len();
        measure(
            c,
            format!("header and certificate, {n} validators"),
            size,
            || {
                verify_commit(&validators, &header, &certificate).unwrap();
            },
        );
    }
}

fn states(c: &mut Criterion) {
    for keys in [1_000u32, 10_000, 100_000, 1_000_000] {
        let store = MockTreeStore::default();
        let tree = Sha256Jmt::new(&store);
        let (root, batch) = tree
            .put_value_set(
                (0..keys).map(|i| {
                    (
                        KeyHash::with::<Sha256>(i.to_be_bytes()),
                        Some(vec![0xAB; 32]),
                    )
                }),
                0,
            )
            .unwrap();
        store.write_tree_update_batch(batch).unwrap();
        let header = header(root.0, &[]);
        let key = (keys / 2).to_be_bytes();
        let (value, proof) = tree
            .get_with_proof(KeyHash::with::<Sha256>(key), 0)
            .unwrap();
        let proof = borsh::to_vec(&proof).unwrap();
        let value = value.unwrap();
        measure(c, format!("state, {keys} keys"), proof.len(), || {
            verify_state(&header, 1, &key, Some(&value), &proof).unwrap();
        });
        let absent = u32::MAX.to_be_bytes();
        let (_, none) = tree
            .get_with_proof(KeyHash::with::<Sha256>(absent), 0)
            .unwrap();
        let none = borsh::to_vec(&none).unwrap();
        measure(c, format!("state absent, {keys} keys"), none.len(), || {
            verify_state(&header, 1, &absent, None, &none).unwrap();
        });
    }
}

fn transactions(c: &mut Criterion) {
    for n in [10u32, 1_000, 100_000] {
        let txs: Vec<v1::SignedTransaction> = (0..n)
            .map(|i| v1::SignedTransaction {
                body: i.to_be_bytes().to_vec().into(),
                signature: vec![0; 64].into(),
                ..Default::default()
            })
            .collect();
        let header = header([0; 32], &txs);
        let leaves: Vec<[u8; 32]> = txs.iter().map(babel_proto::tx_hash).collect();
        let index = (n / 2) as usize;
        let proof = babel_proto::merkle_proof(&leaves, index).unwrap();
        measure(
            c,
            format!("transaction, {n} in the block"),
            proof.len(),
            || {
                verify_transaction(&header, index as u64, &txs[index], &proof).unwrap();
            },
        );
    }
}

criterion_group!(benches, certificates, states, transactions);

fn main() {
    benches();
    Criterion::default().final_summary();
    println!("\n| proof | bytes | verification (mean) |\n|---|---|---|");
    for (name, size, mean) in ROWS.lock().unwrap().iter() {
        println!("| {name} | {size} | {mean:.2?} |");
    }
}
