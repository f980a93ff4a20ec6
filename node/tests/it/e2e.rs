//! Multi-process validator networks on loopback: real `babel start` processes, real RocksDB,
//! SIGKILL at random (seeded) moments.

use std::{path::Path, time::Duration};

use babel_consensus::ValidatorSet;
use babel_genesis::Genesis;
use babel_node::store::Store;
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::support::{
    Validator, babel, free_port_range, start_all, stderr, testnet_homes, wait_for,
};

const LONG: Duration = Duration::from_secs(120);

/// Create `n` homes with fast consensus timeouts.
fn testnet(dir: &Path, n: u16) -> Vec<std::path::PathBuf> {
    let homes = testnet_homes(dir, n, "babel-e2e");
    // Same edit on every home, so every node still has the same genesis.
    let mut genesis = Genesis::load(&homes[0].join("genesis.json")).unwrap();
    genesis.consensus.timeout_propose_ms = 1_000;
    genesis.consensus.timeout_prevote_ms = 300;
    genesis.consensus.timeout_precommit_ms = 300;
    for home in &homes {
        std::fs::write(home.join("genesis.json"), genesis.to_json_pretty()).unwrap();
    }
    homes
}

/// Open every home's store after its process is gone and check: identical block hashes at
/// every common height, parent links, and certificates that verify against genesis.
fn assert_consistent(homes: &[std::path::PathBuf], min_height: u64) -> u64 {
    let genesis = Genesis::load(&homes[0].join("genesis.json")).unwrap();
    let vset = ValidatorSet::from_genesis(&genesis).unwrap();
    let stores: Vec<Store> = homes
        .iter()
        .map(|h| Store::open(&h.join("data/store")).unwrap())
        .collect();
    let heights: Vec<u64> = stores
        .iter()
        .map(|s| s.latest_height().unwrap().unwrap_or(0))
        .collect();
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
        let hashes: Vec<_> = stores
            .iter()
            .filter_map(|s| s.block_hash_at(height).unwrap())
            .collect();
        assert!(!hashes.is_empty());
        assert!(
            hashes.iter().all(|h| *h == hashes[0]),
            "fork at height {height}"
        );
        let store = stores
            .iter()
            .find(|s| s.block_hash_at(height).unwrap().is_some())
            .unwrap();
        let block = store.block(height).unwrap().unwrap();
        let header = block.header.unwrap();
        assert_eq!(babel_proto::block_hash(&header), hashes[0]);
        assert_eq!(
            header.parent_hash.as_ref(),
            parent,
            "height {height} does not link"
        );
        parent = hashes[0];
        let cert = store.certificate(height).unwrap().unwrap();
        runtime
            .block_on(babel_consensus::verify_certificate(
                &genesis.chain_id,
                &cert,
                &vset,
            ))
            .unwrap_or_else(|e| panic!("certificate {height}: {e}"));
    }
    top
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
