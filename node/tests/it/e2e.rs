//! Multi-process validator networks on loopback: real `babel start` processes, real RocksDB,
//! SIGKILL at random (seeded) moments.

use std::{path::Path, time::Duration};

use babel_consensus::ValidatorSet;
use babel_genesis::Genesis;
use babel_node::{store::Store, txpath::admission::sign};
use babel_proto::v1;
use ed25519_dalek::SigningKey;
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{
    grpc::evm_tx,
    support::{
        Validator, babel, client, free_port_range, grpc_addr, runtime, start_all, stderr,
        submit_accepted, testnet_homes, wait_finalized, wait_for,
    },
};

const LONG: Duration = Duration::from_secs(120);

/// Create `n` homes with fast consensus timeouts.
fn testnet(dir: &Path, n: u16) -> Vec<std::path::PathBuf> {
    testnet_with(dir, n, |_| {})
}

/// [`testnet`] with `edit` applied to the consensus parameters as well.
fn testnet_with(
    dir: &Path,
    n: u16,
    edit: impl Fn(&mut babel_genesis::ConsensusParams),
) -> Vec<std::path::PathBuf> {
    let homes = testnet_homes(dir, n, "babel-e2e");
    // Same edit on every home, so every node still has the same genesis.
    let mut genesis = Genesis::load(&homes[0].join("genesis.json")).unwrap();
    genesis.consensus.timeout_propose_ms = 1_000;
    genesis.consensus.timeout_prevote_ms = 300;
    genesis.consensus.timeout_precommit_ms = 300;
    edit(&mut genesis.consensus);
    for home in &homes {
        std::fs::write(home.join("genesis.json"), genesis.to_json_pretty()).unwrap();
    }
    homes
}

/// Open every home's store after its process is gone and check the chain it will resume
/// from: identical block hashes at every common height, parent links, and certificates that
/// verify against genesis. After a kill -9 that chain is the committed heights and, above
/// them, the decided heights whose other writes were lost (their certificates and proposals
/// are on disk, and a restart commits them again).
fn assert_consistent(homes: &[std::path::PathBuf], min_height: u64) -> u64 {
    let genesis = Genesis::load(&homes[0].join("genesis.json")).unwrap();
    let vset = ValidatorSet::from_genesis(&genesis).unwrap();
    let chains: Vec<Vec<(v1::Block, v1::CommitCertificate)>> = homes
        .iter()
        .map(|h| durable_chain(&Store::open(&h.join("data/store")).unwrap()))
        .collect();
    let heights: Vec<u64> = chains.iter().map(|c| c.len() as u64).collect();
    assert!(
        heights.iter().all(|h| *h >= min_height),
        "heights {heights:?} < {min_height}"
    );
    let top = *heights.iter().max().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut parent = [0u8; 32];
    for height in 1..=top {
        let at: Vec<&(v1::Block, v1::CommitCertificate)> = chains
            .iter()
            .filter_map(|c| c.get(height as usize - 1))
            .collect();
        let hashes: Vec<[u8; 32]> = at
            .iter()
            .map(|(b, _)| babel_proto::block_hash(b.header.as_ref().unwrap()))
            .collect();
        assert!(
            hashes.iter().all(|h| *h == hashes[0]),
            "fork at height {height}"
        );
        let (block, cert) = at[0];
        assert_eq!(
            block.header.as_ref().unwrap().parent_hash.as_ref(),
            parent,
            "height {height} does not link"
        );
        assert_eq!(cert.block_hash.as_ref(), hashes[0]);
        parent = hashes[0];
        runtime
            .block_on(babel_consensus::verify_certificate(
                &genesis.chain_id,
                cert,
                &vset,
            ))
            .unwrap_or_else(|e| panic!("certificate {height}: {e}"));
    }
    top
}

/// Every height a store will resume from, with its certificate: committed, then decided.
fn durable_chain(store: &Store) -> Vec<(v1::Block, v1::CommitCertificate)> {
    let committed = store.latest_height().unwrap().unwrap_or(0);
    let mut chain: Vec<_> = (1..=committed)
        .map(|h| {
            (
                store.block(h).unwrap().unwrap(),
                store.certificate(h).unwrap().unwrap(),
            )
        })
        .collect();
    chain.extend(store.decided_blocks_above(committed).unwrap());
    chain
}

#[test]
fn e2e_single_validator_process_commits_50_heights_and_restarts_from_store() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet(dir.path(), 1);
    let mut v = Validator::start(&homes[0], 0);
    assert!(
        wait_for(LONG, || v.logged_height() >= 50),
        "reached {}",
        v.logged_height()
    );
    v.kill();
    let top = assert_consistent(&homes, 50);

    // Restart: it resumes after the stored height, never re-deciding an earlier one.
    let mut v = Validator::start(&homes[0], 1);
    assert!(
        wait_for(LONG, || v.logged_height() >= top + 5),
        "reached {}",
        v.logged_height()
    );
    let log = std::fs::read_to_string(&v.log).unwrap();
    assert!(
        log.contains(&format!("committed_height={top}")),
        "restart did not resume from height {top}"
    );
    v.kill();
    assert_consistent(&homes, top + 5);
}

#[test]
fn e2e_four_validators_survive_repeated_kill9_and_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet(dir.path(), 4);
    let mut run = 0;
    let mut nodes: Vec<Validator> = homes.iter().map(|h| Validator::start(h, run)).collect();
    assert!(
        wait_for(LONG, || nodes.iter().all(|n| n.logged_height() >= 5)),
        "start-up: {:?}",
        nodes
            .iter()
            .map(Validator::logged_height)
            .collect::<Vec<_>>()
    );

    // Seeded schedule: kill -9 a validator at a random moment, keep it down for a random time
    // (the other three are a quorum and must keep deciding), restart it.
    let mut rng = StdRng::seed_from_u64(0xBABE1);
    for _ in 0..4 {
        let victim = rng.gen_range(0..4);
        std::thread::sleep(Duration::from_millis(rng.gen_range(200..2_000)));
        nodes[victim].kill();
        let live = (victim + 1) % 4;
        let before = nodes[live].logged_height();
        assert!(
            wait_for(LONG, || nodes[live].logged_height() >= before + 3),
            "no progress with validator {victim} down"
        );
        run += 1;
        nodes[victim] = Validator::start(&homes[victim], run);
    }

    // A validator down for many heights catches up through sync.
    nodes[2].kill();
    let before = nodes[0].logged_height();
    assert!(wait_for(LONG, || nodes[0].logged_height() >= before + 25));
    run += 1;
    nodes[2] = Validator::start(&homes[2], run);
    let target = nodes[0].logged_height() + 3;
    assert!(
        wait_for(LONG, || nodes.iter().all(|n| n.logged_height() >= target)),
        "heights {:?} (target {target})",
        nodes
            .iter()
            .map(Validator::logged_height)
            .collect::<Vec<_>>()
    );
    for n in &mut nodes {
        assert!(n.exited().is_none(), "{}", n.report());
        n.kill();
    }
    assert_consistent(&homes, target);
}

#[test]
fn e2e_two_of_four_down_halts_then_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet(dir.path(), 4);
    let mut nodes = start_all(&homes, 3, LONG);
    nodes[2].kill();
    nodes[3].kill();
    std::thread::sleep(Duration::from_secs(1));
    let stalled = nodes[0].logged_height().max(nodes[1].logged_height());
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        nodes[0].logged_height() <= stalled && nodes[1].logged_height() <= stalled,
        "decided without quorum"
    );
    nodes[2] = Validator::start(&homes[2], 1);
    nodes[3] = Validator::start(&homes[3], 1);
    assert!(
        wait_for(LONG, || nodes
            .iter()
            .all(|n| n.logged_height() >= stalled + 5)),
        "{:?}",
        nodes
            .iter()
            .map(Validator::logged_height)
            .collect::<Vec<_>>()
    );
    for n in &mut nodes {
        n.kill();
    }
    assert_consistent(&homes, stalled + 5);
}

#[test]
fn e2e_devnet_runs_validators_and_resumes_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("devnet");
    let p2p = free_port_range(2).to_string();
    let grpc = free_port_range(2).to_string();
    let ops = free_port_range(2).to_string();
    let da = free_port_range(1).to_string();
    let jsonrpc = free_port_range(2).to_string();
    let args = [
        "devnet",
        "--dir",
        net.to_str().unwrap(),
        "--validators",
        "2",
        "--p2p-port",
        &p2p,
        "--grpc-port",
        &grpc,
        "--ops-port",
        &ops,
        "--da-port",
        &da,
        "--jsonrpc-port",
        &jsonrpc,
        "--duration-secs",
        "8",
    ];
    let out = babel(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(crate::support::stdout(&out).contains("created devnet"));
    let homes: Vec<_> = (0..2).map(|i| net.join(format!("node-{i}"))).collect();
    let first = assert_consistent(&homes, 2);
    // The validators post to the devnet's shared DA.
    let logs: String = homes
        .iter()
        .map(|h| std::fs::read_to_string(h.join("node.log")).unwrap())
        .collect();
    assert!(logs.contains("posted to the DA"), "{logs}");

    // A second run resumes the same chain instead of creating a new one.
    let out = babel(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(crate::support::stdout(&out).contains("resuming devnet"));
    assert!(assert_consistent(&homes, first + 2) > first);
}

/// What a client was told about a finalized transaction: where it is, its receipt, and the
/// hash of the block there.
type Finalized = (u64, u32, Option<v1::Receipt>, Vec<u8>);

async fn finalized(
    client: &mut v1::node_client::NodeClient<tonic::transport::Channel>,
    hash: &[u8],
) -> Finalized {
    let r = wait_finalized(client, hash).await;
    let block = client
        .get_block(v1::GetBlockRequest { height: r.height })
        .await
        .unwrap()
        .into_inner();
    (r.height, r.index, r.receipt, block.hash.to_vec())
}

/// The only validator, killed -9 at seeded moments while it commits a stream of
/// transactions: each restart replays the decided heights whose writes the kill lost, every
/// transaction a client saw finalized is still where it was with the same receipt in the
/// same block, every accepted one is finalized, and the chain links and verifies. A clean
/// stop, then, leaves nothing to replay.
#[test]
fn e2e_kill_9_under_load_loses_nothing_acknowledged_and_replays_lost_writes() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet(dir.path(), 1);
    let addr = grpc_addr(&homes[0]);
    let keys: Vec<SigningKey> = (9..14).map(|k| SigningKey::from_bytes(&[k; 32])).collect();
    let rt = runtime();
    let mut rng = StdRng::seed_from_u64(0xC4A5);
    let mut next_nonce = 0;
    // 30 transactions of each of five senders (a sender may run 64 nonces ahead).
    let mut batch = || -> Vec<v1::SignedTransaction> {
        let txs = (next_nonce..next_nonce + 30)
            .flat_map(|nonce| {
                keys.iter()
                    .map(move |key| sign(&evm_tx(key, "babel-e2e", 1, nonce, 8), key))
            })
            .collect();
        next_nonce += 30;
        txs
    };
    let mut seen: Vec<(Vec<u8>, Finalized)> = Vec::new();
    let mut node = Validator::start(&homes[0], 0);
    for run in 1..=3 {
        let (settled, in_flight) = (batch(), batch());
        rt.block_on(async {
            let mut c = client(addr).await;
            submit_accepted(&mut c, settled.clone()).await;
            for tx in &settled {
                let hash = babel_proto::tx_hash(tx).to_vec();
                let at = finalized(&mut c, &hash).await;
                seen.push((hash, at));
            }
            submit_accepted(&mut c, in_flight.clone()).await;
        });
        // Killed while the second batch is being committed, or just after.
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        node.kill();
        node = Validator::start(&homes[0], run);
        rt.block_on(async {
            let mut c = client(addr).await;
            for (hash, at) in &seen {
                assert_eq!(&finalized(&mut c, hash).await, at, "run {run}");
            }
            for tx in &in_flight {
                let hash = babel_proto::tx_hash(tx).to_vec();
                let at = finalized(&mut c, &hash).await;
                seen.push((hash, at));
            }
        });
        let log = std::fs::read_to_string(&node.log).unwrap();
        assert!(
            log.contains("replaying decided heights"),
            "run {run} replayed nothing: the kill should have lost unflushed heights\n{}",
            node.report()
        );
    }
    // A clean stop flushes what the last commits left in memory: nothing to replay.
    node.stop();
    let mut node = Validator::start(&homes[0], 4);
    assert!(
        wait_for(LONG, || node.logged_height() > 0),
        "{}",
        node.report()
    );
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(
        !log.contains("replaying decided heights"),
        "a clean stop left heights to replay\n{}",
        node.report()
    );
    node.kill();
    assert_consistent(&homes, 1);
}

#[test]
fn e2e_an_idle_network_waits_for_transactions_and_finalizes_them_when_they_come() {
    let dir = tempfile::tempdir().unwrap();
    let wait = Duration::from_millis(500);
    let homes = testnet_with(dir.path(), 4, |c| {
        c.empty_block_wait_ms = wait.as_millis() as u64;
    });
    let nodes = start_all(&homes, 2, LONG);
    let top = || nodes.iter().map(Validator::logged_height).max().unwrap();

    // Idle, every validator waits out its full wait before it starts a height.
    let idle = Duration::from_secs(3);
    let before = top();
    std::thread::sleep(idle);
    let idle_heights = top() - before;
    assert!(
        idle_heights <= (idle.as_millis() / wait.as_millis()) as u64 + 1,
        "{idle_heights} heights in {idle:?} of idleness"
    );

    // A client's transaction wakes the waiting validators and is finalized.
    let key = SigningKey::from_bytes(&[21; 32]);
    let tx = sign(&evm_tx(&key, "babel-e2e", 1, 0, 8), &key);
    let hash = babel_proto::tx_hash(&tx).to_vec();
    runtime().block_on(async {
        let mut c = client(grpc_addr(&homes[1])).await;
        submit_accepted(&mut c, vec![tx]).await;
        wait_finalized(&mut c, &hash).await;
    });
    drop(nodes);
    assert_consistent(&homes, before);
}
