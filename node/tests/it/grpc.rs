//! The gRPC API of a running `babel start` process, through a real tonic client.

use std::time::Duration;

use babel_node::{config::Config, txpath::admission::sign};
use babel_proto::v1::RejectReason;
use babel_proto::v1::{self, node_client::NodeClient};
use ed25519_dalek::SigningKey;
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{
    Validator, babel, channel, client, grpc_addr, health_becomes, runtime, start_all, stderr,
    stdout, submit_accepted, testnet_homes, wait_finalized, wait_for, wait_status,
};

async fn read_heights(
    client: &mut NodeClient<tonic::transport::Channel>,
    from: u64,
    n: usize,
) -> Vec<(u64, Vec<u8>)> {
    let mut stream = client
        .stream_blocks(v1::StreamBlocksRequest { from_height: from })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while out.len() < n {
        let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let header = item.block.unwrap().header.unwrap();
        assert_eq!(
            babel_proto::block_hash(&header).to_vec(),
            item.hash.to_vec()
        );
        assert_eq!(item.certificate.unwrap().height, header.height);
        out.push((header.height, item.hash.to_vec()));
    }
    out
}

#[test]
fn e2e_grpc_serves_blocks_status_health_and_resumable_streams() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, "babel-grpc");
    let addr = grpc_addr(&homes[0]);
    let mut node = Validator::start(&homes[0], 0);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= 3));

    let rt = runtime();
    rt.block_on(async {
        let channel = channel(addr).await;
        let mut client = NodeClient::new(channel.clone());

        let status = client
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.chain_id, "babel-grpc");
        assert!(status.height >= 3);
        assert_eq!(status.validators.len(), 1);
        assert_eq!(status.rollups.len(), 3);
        assert_eq!(status.rollups[0].vm, "evm");
        assert_eq!(status.rollups[1].vm, "wasm");
        assert_eq!(status.rollups[2].vm, "cairo");

        let first = client
            .get_block(v1::GetBlockRequest { height: 1 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.block.unwrap().header.unwrap().height, 1);
        let missing = client
            .get_block(v1::GetBlockRequest { height: 1 << 40 })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        let latest = client
            .get_latest_block(v1::GetLatestBlockRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(latest.block.unwrap().header.unwrap().height >= status.height);

        // Replay from the start, then the live tail; reconnecting from last + 1 continues with
        // no gap and no repeat.
        let part1 = read_heights(&mut client, 1, 8).await;
        let part2 = read_heights(&mut client, part1.last().unwrap().0 + 1, 6).await;
        let heights: Vec<u64> = part1.iter().chain(&part2).map(|(h, _)| *h).collect();
        assert_eq!(heights, (1..=14).collect::<Vec<_>>());
        let again = client
            .get_block(v1::GetBlockRequest { height: 12 })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.hash.to_vec(), part2[3].1);

        // Committing recent blocks: ready, and the health service says so (it follows
        // readiness every half second).
        assert!(health_becomes(addr, ServingStatus::Serving).await);

        // A request above the message limit is refused; the server keeps serving.
        let huge = v1::SubmitTransactionRequest {
            transaction: Some(v1::SignedTransaction {
                body: vec![0; 5 * 1024 * 1024].into(),
                signature: Default::default(),
                ..Default::default()
            }),
        };
        let err = client.submit_transaction(huge).await.unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{err}");
        assert!(err.message().contains("4194304"), "{err}");
        assert!(client.status(v1::StatusRequest {}).await.is_ok());

        submit_and_finalize(&mut client).await;
    });

    // `babel tx send` signs with the home's key and uses the same API.
    let home = homes[0].to_str().unwrap();
    let to = format!("0x{}", "11".repeat(20));
    let args = [
        "tx", "send", "--home", home, "--nonce", "0", "--to", &to, "--data", "0xabcd", "--wait",
    ];
    let out = babel(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("accepted "), "{text}");
    assert!(text.contains("finalized at height"), "{text}");
    let again = babel(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("REJECT_REASON_DUPLICATE"),
        "{}",
        stderr(&again)
    );
    let bad = babel(&["tx", "send", "--home", home, "--nonce", "1", "--to", "0x12"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--to must be 20 bytes"));
    node.kill();
}

pub(crate) fn evm_tx(
    key: &SigningKey,
    chain: &str,
    rollup: u64,
    nonce: u64,
    data: usize,
) -> v1::Transaction {
    v1::Transaction {
        chain_id: chain.into(),
        rollup_id: rollup,
        sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
        nonce,
        gas_limit: 100_000,
        max_fee: 1,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![0x11; 20].into(),
            data: vec![0xAB; data].into(),
            ..Default::default()
        })),
    }
}

pub(crate) async fn submit(
    client: &mut NodeClient<tonic::transport::Channel>,
    tx: v1::SignedTransaction,
) -> v1::SubmitTransactionResponse {
    client
        .submit_transaction(v1::SubmitTransactionRequest {
            transaction: Some(tx),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Accepted transactions reach a block; each rejection reason is reported precisely.
async fn submit_and_finalize(client: &mut NodeClient<tonic::transport::Channel>) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let chain = "babel-grpc";
    let first = sign(&evm_tx(&key, chain, 1, 0, 4), &key);
    let accepted = submit(client, first.clone()).await;
    assert!(accepted.accepted, "{}", accepted.message);
    assert_eq!(
        accepted.hash.to_vec(),
        babel_proto::tx_hash(&first).to_vec()
    );
    let done = wait_finalized(client, &accepted.hash).await;
    assert!(done.height > 0);
    assert_eq!(done.transaction, Some(first.clone()));
    let block = client
        .get_block(v1::GetBlockRequest {
            height: done.height,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(block.block.unwrap().txs[done.index as usize], first);

    // Nonces 2 then 1: the gap holds 2 back until 1 arrives; both are included, in order.
    let third = submit(client, sign(&evm_tx(&key, chain, 1, 2, 4), &key)).await;
    let second = submit(client, sign(&evm_tx(&key, chain, 1, 1, 4), &key)).await;
    assert!(third.accepted && second.accepted);
    let (a, b) = (
        wait_finalized(client, &second.hash).await,
        wait_finalized(client, &third.hash).await,
    );
    assert!((a.height, a.index) < (b.height, b.index));

    let rejected = |r: v1::SubmitTransactionResponse, want: RejectReason| {
        assert!(!r.accepted);
        assert_eq!(r.reason, want as i32, "{}", r.message);
        assert!(!r.message.is_empty());
    };
    rejected(submit(client, first.clone()).await, RejectReason::Duplicate);
    rejected(
        submit(client, sign(&evm_tx(&key, chain, 1, 0, 9), &key)).await,
        RejectReason::NonceTooLow,
    );
    rejected(
        submit(client, sign(&evm_tx(&key, chain, 1, 500, 4), &key)).await,
        RejectReason::NonceTooHigh,
    );
    rejected(
        submit(client, sign(&evm_tx(&key, "other", 1, 3, 4), &key)).await,
        RejectReason::WrongChain,
    );
    rejected(
        submit(client, sign(&evm_tx(&key, chain, 42, 0, 4), &key)).await,
        RejectReason::UnknownRollup,
    );
    rejected(
        submit(client, sign(&evm_tx(&key, chain, 1, 3, 600 * 1024), &key)).await,
        RejectReason::TooLarge,
    );
    let other = SigningKey::from_bytes(&[8; 32]);
    rejected(
        submit(client, sign(&evm_tx(&key, chain, 1, 3, 4), &other)).await,
        RejectReason::BadSignature,
    );
    let garbage = v1::SignedTransaction {
        body: vec![0xFF; 3].into(),
        signature: vec![0; 64].into(),
        ..Default::default()
    };
    rejected(submit(client, garbage).await, RejectReason::Malformed);

    let unknown = client
        .get_transaction(v1::GetTransactionRequest {
            hash: vec![0; 32].into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.status, v1::TxStatus::Unknown as i32);
}

#[test]
fn e2e_transactions_sent_to_one_validator_are_included_after_it_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, "babel-gossip");
    let addr = |i: usize| grpc_addr(&homes[i]);
    let mut nodes = start_all(&homes, 2, Duration::from_secs(60));

    let rt = runtime();
    let hashes = rt.block_on(async {
        let mut entry = client(addr(1)).await;
        let mut hashes = Vec::new();
        for sender in 1..=3u8 {
            let key = SigningKey::from_bytes(&[sender; 32]);
            for nonce in 0..4 {
                let r = submit(
                    &mut entry,
                    sign(&evm_tx(&key, "babel-gossip", 1, nonce, 8), &key),
                )
                .await;
                assert!(r.accepted, "{}", r.message);
                hashes.push(r.hash.to_vec());
            }
        }
        hashes
    });
    // Every transaction was acknowledged by validator 1; it dies before it can propose them.
    nodes[1].kill();
    rt.block_on(async {
        let mut other = client(addr(2)).await;
        for hash in &hashes {
            let done = wait_finalized(&mut other, hash).await;
            assert!(done.height > 0);
        }
        let status = other
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            status.mempool_size, 0,
            "included transactions leave the mempool"
        );
    });
    for n in &mut nodes {
        n.kill();
    }
}

/// Acknowledged transactions that cannot be included yet (their sender's nonce 0 is missing)
/// survive a kill -9 of the only validator, and are included once the gap is filled.
#[test]
fn e2e_pending_transactions_survive_kill_9_of_the_only_validator() {
    let chain = "babel-pending";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let addr = grpc_addr(&homes[0]);
    let key = SigningKey::from_bytes(&[5; 32]);
    let rt = runtime();

    let mut node = Validator::start(&homes[0], 0);
    let held: Vec<v1::SignedTransaction> = (1..=5)
        .map(|n| sign(&evm_tx(&key, chain, 1, n, 8), &key))
        .collect();
    rt.block_on(async {
        let mut client = client(addr).await;
        submit_accepted(&mut client, held.clone()).await;
        let status = client.status(v1::StatusRequest {}).await.unwrap();
        assert_eq!(status.into_inner().mempool_size, 5);
    });
    let before = node.logged_height();
    node.kill();

    let mut node = Validator::start(&homes[0], 1);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() > before));
    rt.block_on(async {
        let mut client = client(addr).await;
        for tx in &held {
            let r = client
                .get_transaction(v1::GetTransactionRequest {
                    hash: babel_proto::tx_hash(tx).to_vec().into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                r.status,
                v1::TxStatus::Pending as i32,
                "restored as pending"
            );
        }
        let gap = submit(&mut client, sign(&evm_tx(&key, chain, 1, 0, 8), &key)).await;
        assert!(gap.accepted, "{}", gap.message);
        let mut last = (0, 0);
        for tx in std::iter::once(&gap.hash.to_vec()).chain(
            held.iter()
                .map(|t| babel_proto::tx_hash(t).to_vec())
                .collect::<Vec<_>>()
                .iter(),
        ) {
            let done = wait_finalized(&mut client, tx).await;
            assert!((done.height, done.index) > last, "included in nonce order");
            last = (done.height, done.index);
        }
    });
    node.kill();

    // Committed transactions are no longer pending: a third start restores nothing.
    let mut node = Validator::start(&homes[0], 2);
    rt.block_on(async {
        let mut client = client(addr).await;
        let status = client.status(v1::StatusRequest {}).await.unwrap();
        assert_eq!(status.into_inner().mempool_size, 0);
    });
    node.kill();
}

/// `SubmitTransactions` answers each transaction on its own, in order, and refuses an
/// over-long request as a whole.
#[test]
fn e2e_batch_submission_reports_each_transaction() {
    let chain = "babel-batch";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let addr = grpc_addr(&homes[0]);
    let mut node = Validator::start(&homes[0], 0);
    let rt = runtime();
    rt.block_on(async {
        let mut client = client(addr).await;
        let key = SigningKey::from_bytes(&[3; 32]);
        let forger = SigningKey::from_bytes(&[4; 32]);
        let good: Vec<v1::SignedTransaction> = (0..50)
            .map(|n| sign(&evm_tx(&key, chain, 1, n, 8), &key))
            .collect();
        let mut batch = good.clone();
        batch.insert(10, sign(&evm_tx(&key, chain, 1, 60, 8), &forger));
        batch.insert(20, sign(&evm_tx(&key, "other", 1, 61, 8), &key));
        batch.push(good[3].clone());
        let results = client
            .submit_transactions(v1::SubmitTransactionsRequest {
                transactions: batch,
            })
            .await
            .unwrap()
            .into_inner()
            .results;
        assert_eq!(results.len(), 53);
        let reasons: Vec<i32> = results.iter().map(|r| r.reason).collect();
        assert_eq!(reasons[10], RejectReason::BadSignature as i32);
        assert_eq!(reasons[20], RejectReason::WrongChain as i32);
        assert_eq!(reasons[52], RejectReason::Duplicate as i32);
        let accepted: Vec<&v1::SubmitTransactionResponse> =
            results.iter().filter(|r| r.accepted).collect();
        assert_eq!(accepted.len(), 50);
        for (r, tx) in accepted.iter().zip(&good) {
            assert_eq!(r.hash.to_vec(), babel_proto::tx_hash(tx).to_vec());
        }
        for tx in &good {
            wait_finalized(&mut client, &babel_proto::tx_hash(tx)).await;
        }

        let too_many = vec![good[0].clone(); babel_node::grpc::MAX_SUBMIT_BATCH + 1];
        let err = client
            .submit_transactions(v1::SubmitTransactionsRequest {
                transactions: too_many,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let status = client.status(v1::StatusRequest {}).await.unwrap();
        assert!(status.into_inner().height > 0, "still serving");
    });
    node.kill();
}

/// A mempool refuses with `MEMPOOL_FULL` once transactions waiting behind a nonce gap fill
/// its half for them, yet still admits the transaction that fills the gap, and then includes
/// them all.
#[test]
fn e2e_full_mempool_refuses_with_mempool_full() {
    let chain = "babel-full";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let path = homes[0].join("config.toml");
    let mut config = Config::load(&path).unwrap();
    config.mempool.max_txs = 4;
    std::fs::write(&path, config.to_toml()).unwrap();
    let mut node = Validator::start(&homes[0], 0);
    let rt = runtime();
    rt.block_on(async {
        let mut client = client(config.grpc.listen_addr).await;
        let key = SigningKey::from_bytes(&[6; 32]);
        // Nonce 0 is missing, so nonces 1.. wait; two of them fill the waiting half.
        let held: Vec<v1::SignedTransaction> = (1..=3)
            .map(|n| sign(&evm_tx(&key, chain, 1, n, 8), &key))
            .collect();
        let results = client
            .submit_transactions(v1::SubmitTransactionsRequest {
                transactions: held.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .results;
        assert!(results[0].accepted && results[1].accepted, "{results:?}");
        assert_eq!(results[2].reason, RejectReason::MempoolFull as i32);
        assert_eq!(results[2].message, "mempool full");

        let gap = submit(&mut client, sign(&evm_tx(&key, chain, 1, 0, 8), &key)).await;
        assert!(
            gap.accepted,
            "the gap filler is never locked out: {}",
            gap.message
        );
        for tx in [
            &gap.hash.to_vec(),
            &results[0].hash.to_vec(),
            &results[1].hash.to_vec(),
        ] {
            wait_finalized(&mut client, tx).await;
        }
        let again = submit(&mut client, held[2].clone()).await;
        assert!(again.accepted, "{}", again.message);
        wait_finalized(&mut client, &again.hash).await;
    });
    node.kill();
}

/// Block and rollup-batch streams are capped node-wide: with `max_block_streams = 2`, a third
/// stream is refused with `RESOURCE_EXHAUSTED` while two clients hold theirs (even without
/// reading them); the open ones keep working, and closing one frees its place.
#[test]
fn e2e_open_block_streams_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, "babel-streams");
    let path = homes[0].join("config.toml");
    let mut config = Config::load(&path).unwrap();
    config.grpc.max_block_streams = 2;
    std::fs::write(&path, config.to_toml()).unwrap();
    let mut node = Validator::start(&homes[0], 0);
    let rt = runtime();
    rt.block_on(async {
        let mut client = client(config.grpc.listen_addr).await;
        let rollup = client
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner()
            .rollups[0]
            .id;
        let blocks = client
            .stream_blocks(v1::StreamBlocksRequest { from_height: 1 })
            .await
            .unwrap()
            .into_inner();
        let mut batches = client
            .stream_rollup_batches(v1::StreamRollupBatchesRequest {
                rollup_id: rollup,
                from_height: 1,
                posted: false,
            })
            .await
            .unwrap()
            .into_inner();
        // Another connection: the cap is the node's, not the connection's.
        let mut other = crate::support::client(config.grpc.listen_addr).await;
        let refused = other
            .stream_blocks(v1::StreamBlocksRequest { from_height: 1 })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
        assert!(refused.message().contains("max_block_streams"), "{refused}");
        let first = tokio::time::timeout(Duration::from_secs(30), batches.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((first.rollup_id, first.height), (rollup, 1));
        assert!(other.status(v1::StatusRequest {}).await.is_ok());

        // The client's reset reaches the server asynchronously: retry for a while.
        drop(blocks);
        let mut reopened = None;
        for _ in 0..50 {
            match other
                .stream_blocks(v1::StreamBlocksRequest { from_height: 1 })
                .await
            {
                Ok(stream) => {
                    reopened = Some(stream.into_inner());
                    break;
                }
                Err(e) => assert_eq!(e.code(), Code::ResourceExhausted, "{e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut reopened = reopened.expect("a closed stream frees its place");
        let block = tokio::time::timeout(Duration::from_secs(30), reopened.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(block.block.unwrap().header.unwrap().height, 1);
    });
    node.kill();
}

/// On a rollup that charges for gas, a transaction whose signer can pay when admitted but no
/// longer when the proposer executes it (an earlier transaction of the same block spent the
/// balance) is left out of the block and dropped once the block commits, and
/// `GetTransaction` says so and why.
#[test]
fn e2e_a_transaction_that_can_no_longer_pay_is_dropped_and_reported() {
    use babel_genesis::{EvmAccount, Genesis, VmGenesis};

    let chain = "babel-fees";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let key = SigningKey::from_bytes(&[5; 32]);
    // 1 wei per gas; the signer holds one maximum fee (100 000) plus the 1 wei it sends.
    let genesis_path = homes[0].join("genesis.json");
    let mut genesis = Genesis::load(&genesis_path).unwrap();
    let rollup = genesis.rollups.iter_mut().find(|r| r.id == 1).unwrap();
    rollup.gas_price = 1;
    let VmGenesis::Evm(evm) = &mut rollup.vm else {
        panic!("rollup 1 is the EVM rollup");
    };
    evm.alloc.push(EvmAccount {
        address: babel_evm::sender_address(key.verifying_key().as_bytes()),
        balance: alloy_primitives::U256::from(100_001u64),
        nonce: 0,
        code: Default::default(),
        storage: Vec::new(),
    });
    std::fs::write(&genesis_path, genesis.to_json_pretty()).unwrap();

    let addr = grpc_addr(&homes[0]);
    let mut node = Validator::start(&homes[0], 0);
    runtime().block_on(async {
        let mut client = client(addr).await;
        let transfer = |nonce: u64| {
            let mut tx = evm_tx(&key, chain, 1, nonce, 0);
            tx.max_fee = 100_000;
            if let Some(v1::transaction::Payload::Evm(call)) = &mut tx.payload {
                call.value = vec![1].into();
            }
            sign(&tx, &key)
        };
        // One submission: both enter the pool together, so they meet in one block.
        let results = submit_accepted(&mut client, vec![transfer(0), transfer(1)]).await;
        let paid = wait_finalized(&mut client, &results[0].hash).await;
        let receipt = paid.receipt.unwrap();
        assert!(receipt.success);
        assert_eq!(receipt.fee_paid, 21_000);

        // Left out of that block, then dropped as its commit completes.
        let dropped = wait_status(&mut client, &results[1].hash, |status| {
            status != v1::TxStatus::Pending
        })
        .await;
        assert_eq!(dropped.status, v1::TxStatus::Dropped as i32);
        assert!(
            dropped.reason.contains("balance below the maximum fee"),
            "{}",
            dropped.reason
        );
    });
    node.kill();
}
