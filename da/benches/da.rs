//! DA layout benchmarks, Babel beside the bare codec in one run.
//!
//! A block of 10 000 EVM value transfers from 2 000 senders (5 each, consecutive nonces), each
//! signed with its sender's ed25519 key, on two rollups, as `babel bench` sends them:
//!
//! - `post block`: Babel lays the block out as blobs (protobuf batches per rollup, framing,
//!   zstd level 3, share commitments); bare zstd compresses the same transactions' bytes,
//!   concatenated, at the same level.
//! - `read block`: Babel decodes the header blob and assembles the transactions back from the
//!   rollup blobs (every check a reader makes, but the certificate's); bare zstd decompresses.
//!
//! After criterion's report it prints the ratios of the means, posted bytes per transaction
//! beside raw signed-transaction bytes (the compression ratio), and what Celestia's ~8 MiB
//! per 6 s block would carry at that ratio.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use babel_da::layout::{self, BlockRef, Namespaces};
use babel_proto::v1;
use criterion::{Criterion, criterion_group};
use ed25519_dalek::{Signer as _, SigningKey};
use prost::Message as _;

const TXS: usize = 10_000;
const SENDERS: usize = 2_000;
const CHAIN: &str = "babel-bench";

fn block() -> (
    Vec<(u64, v1::SignedTransaction)>,
    v1::Header,
    v1::CommitCertificate,
) {
    let keys: Vec<SigningKey> = (0..SENDERS)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let txs: Vec<(u64, v1::SignedTransaction)> = (0..TXS)
        .map(|i| {
            let key = &keys[i % SENDERS];
            let rollup = 1 + (i % 2) as u64;
            let body = v1::Transaction {
                chain_id: CHAIN.into(),
                rollup_id: rollup,
                sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
                nonce: (i / SENDERS) as u64,
                gas_limit: 21_000,
                max_fee: 21_000,
                payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
                    to: (i as u64 * 7919).to_be_bytes().repeat(3)[..20]
                        .to_vec()
                        .into(),
                    value: 1u64.to_be_bytes().to_vec().into(),
                    ..Default::default()
                })),
            }
            .encode_to_vec();
            let signature = key.sign(&body).to_bytes();
            (
                rollup,
                v1::SignedTransaction {
                    body: body.into(),
                    signature: signature.to_vec().into(),
                    ..Default::default()
                },
            )
        })
        .collect();
    let signed: Vec<v1::SignedTransaction> = txs.iter().map(|(_, t)| t.clone()).collect();
    let header = v1::Header {
        chain_id: CHAIN.into(),
        height: 9,
        tx_root: babel_proto::tx_root(&signed).to_vec().into(),
        tx_count: signed.len() as u64,
        ..Default::default()
    };
    let hash = babel_proto::block_hash(&header);
    let certificate = v1::CommitCertificate {
        height: 9,
        round: 0,
        block_hash: hash.to_vec().into(),
        signatures: (0..4u8)
            .map(|i| v1::CommitSignature {
                validator: vec![i; 20].into(),
                signature: vec![i; 64].into(),
            })
            .collect(),
    };
    (txs, header, certificate)
}

fn namespaces() -> Namespaces {
    Namespaces {
        sequencer: layout::namespace(b"sequencer0").unwrap(),
        rollups: BTreeMap::from([
            (1, layout::namespace(b"rollup0001").unwrap()),
            (2, layout::namespace(b"rollup0002").unwrap()),
        ]),
    }
}

/// Mean time per iteration of `f`, over `runs` runs.
fn mean(runs: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed() / runs
}

fn bench(c: &mut Criterion) {
    let (txs, header, certificate) = block();
    let hash = babel_proto::block_hash(&header);
    let ns = namespaces();
    let raw: Vec<u8> = txs.iter().flat_map(|(_, t)| t.encode_to_vec()).collect();
    let post = || {
        let block = BlockRef {
            header: &header,
            certificate: &certificate,
            last_certificate: None,
            block_hash: &hash,
            txs: &txs,
        };
        layout::post_block(CHAIN, block, &ns).unwrap()
    };
    let posting = post();
    let compressed = zstd::bulk::compress(&raw, 3).unwrap();
    let read = || {
        let head = layout::read_header(&posting.blobs[0]).unwrap();
        layout::assemble(&head.message, &posting.blobs[1..], CHAIN, &hash, TXS).unwrap()
    };
    assert_eq!(read().len(), TXS);

    let mut group = c.benchmark_group("da");
    group.sample_size(20);
    group.bench_function("post block/babel", |b| b.iter(post));
    group.bench_function("post block/bare zstd", |b| {
        b.iter(|| zstd::bulk::compress(&raw, 3).unwrap())
    });
    group.bench_function("read block/babel", |b| b.iter(read));
    group.bench_function("read block/bare zstd", |b| {
        b.iter(|| zstd::bulk::decompress(&compressed, raw.len()).unwrap())
    });
    group.finish();

    let runs = 20;
    let (post_babel, post_bare) = (
        mean(runs, || drop(post())),
        mean(runs, || drop(zstd::bulk::compress(&raw, 3).unwrap())),
    );
    let (read_babel, read_bare) = (
        mean(runs, || drop(read())),
        mean(runs, || {
            drop(zstd::bulk::decompress(&compressed, raw.len()).unwrap())
        }),
    );
    let posted = posting.data_bytes();
    let per_tx = posted as f64 / TXS as f64;
    let raw_per_tx = raw.len() as f64 / TXS as f64;
    let mb = raw.len() as f64 / 1e6;
    println!(
        "\n{TXS} EVM transfers from {SENDERS} senders ({:.2} MB signed):",
        mb
    );
    println!(
        "  post block: babel {:?} ({:.0} MB/s), bare zstd {:?}: ratio {:.2}",
        post_babel,
        mb / post_babel.as_secs_f64(),
        post_bare,
        post_babel.as_secs_f64() / post_bare.as_secs_f64()
    );
    println!(
        "  read block: babel {:?} ({:.0} MB/s), bare zstd {:?}: ratio {:.2}",
        read_babel,
        mb / read_babel.as_secs_f64(),
        read_bare,
        read_babel.as_secs_f64() / read_bare.as_secs_f64()
    );
    println!(
        "  posted {per_tx:.1} B/tx vs {raw_per_tx:.1} B/tx signed: {:.2}x (bare zstd of the \
         same bytes: {:.2}x)",
        per_tx / raw_per_tx,
        compressed.len() as f64 / raw.len() as f64
    );
    println!(
        "  Celestia at ~8 MiB per 6 s block: {:.0} tx/s",
        8.0 * 1024.0 * 1024.0 / per_tx / 6.0
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
