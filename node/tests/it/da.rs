//! The DA layer end to end: validators sharing one `babel da serve` over real JSON-RPC post
//! every block once, reference the posts in later headers, ride out a DA outage and a crash
//! between posting and recording, and `babel replay` rebuilds the state from the DA alone.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use babel_da::{DataAvailability, celestia::CelestiaDa, layout};
use babel_genesis::Genesis;
use babel_node::{
    config::{DaBackend, DaConfig},
    da::{DaLink, poster::CRASH_AFTER_SUBMIT_ENV, verify},
    txpath::admission::sign,
};
use babel_proto::v1::{self, node_client::NodeClient};
use ed25519_dalek::SigningKey;

use crate::{
    grpc::{evm_tx, submit},
    support::{
        Validator, babel_bin, client, edit_config, free_port_range, grpc_addr, runtime, start_all,
        stderr, stdout, testnet_homes, wait_for, wait_status,
    },
};

const TOKEN: &str = "da-test-token";

/// A `babel da serve` process.
struct DaServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl DaServer {
    fn start(dir: &Path, port: u16) -> Self {
        let mut server = Self {
            dir: dir.to_owned(),
            port,
            child: None,
        };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("da.log"))
            .unwrap();
        let child = Command::new(babel_bin())
            .args([
                "da",
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .arg("--dir")
            .arg(self.dir.join("data"))
            .env("BABEL_DA_AUTH_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let url = self.url();
        assert!(
            wait_for(Duration::from_secs(20), || runtime().block_on(async {
                let da = CelestiaDa::new(&url, Some(TOKEN)).await.unwrap();
                da.head().await.is_ok()
            })),
            "the DA server did not come up"
        );
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A network of `n` validators posting to one DA server.
fn shared_net(dir: &Path, n: u16, chain: &str) -> (DaServer, Vec<PathBuf>) {
    let da_dir = dir.join("da");
    std::fs::create_dir_all(&da_dir).unwrap();
    let da = DaServer::start(&da_dir, free_port_range(1));
    let homes = testnet_homes(dir, n, chain);
    for home in &homes {
        edit_config(home, |c| {
            c.da = DaConfig {
                backend: DaBackend::Celestia,
                url: da.url(),
                auth_token: TOKEN.into(),
            }
        });
    }
    (da, homes)
}

/// Every post on the DA, block height → the DA heights of its header blobs; each post is
/// checked as a reader would (its rollup blobs in the chain's namespaces, making up the
/// header's transaction root).
fn posts(url: &str, genesis: &Genesis) -> BTreeMap<u64, Vec<u64>> {
    runtime().block_on(async {
        let da = Arc::new(CelestiaDa::new(url, Some(TOKEN)).await.unwrap());
        let link = DaLink::new(da.clone(), true, genesis).unwrap();
        let mut out: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for da_height in 1..=da.head().await.unwrap() {
            let blobs = da
                .get_all(da_height, &[link.namespaces().sequencer])
                .await
                .unwrap();
            for blob in &blobs {
                let header_blob = layout::read_header(blob).unwrap();
                let (header, _, _) = verify::header_of(&link, &header_blob).unwrap();
                let txs = verify::block_txs(&link, da_height, &header_blob)
                    .await
                    .unwrap();
                assert_eq!(txs.len() as u32, header_blob.message.tx_count);
                out.entry(header.height).or_default().push(da_height);
            }
        }
        out
    })
}

fn genesis_of(home: &Path) -> Genesis {
    Genesis::load(&home.join("genesis.json")).unwrap()
}

async fn status(node: &mut NodeClient<tonic::transport::Channel>) -> v1::StatusResponse {
    node.status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Headers of blocks 1..=`to`.
async fn headers(node: &mut NodeClient<tonic::transport::Channel>, to: u64) -> Vec<v1::Header> {
    let mut out = Vec::new();
    for height in 1..=to {
        let block = node
            .get_block(v1::GetBlockRequest { height })
            .await
            .unwrap()
            .into_inner()
            .block
            .unwrap();
        out.push(block.header.unwrap());
    }
    out
}

/// Wait until every node reports every block through `height` posted.
fn wait_posted(homes: &[PathBuf], height: u64, within: Duration) -> bool {
    wait_for(within, || {
        runtime().block_on(async {
            for home in homes {
                let mut node = client(grpc_addr(home)).await;
                if status(&mut node).await.da_posted_height < height {
                    return false;
                }
            }
            true
        })
    })
}

#[test]
fn e2e_validators_sharing_a_da_post_every_block_once_and_replay_rebuilds_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let chain = "babel-da-shared";
    let (da, homes) = shared_net(dir.path(), 4, chain);
    let genesis = genesis_of(&homes[0]);
    let mut nodes = start_all(&homes, 3, Duration::from_secs(60));

    let rt = runtime();
    // Transactions of two senders; each reaches POSTED with where its block is.
    rt.block_on(async {
        let mut entry = client(grpc_addr(&homes[0])).await;
        let mut hashes = Vec::new();
        for sender in [3u8, 4] {
            let key = SigningKey::from_bytes(&[sender; 32]);
            for nonce in 0..5 {
                let r = submit(&mut entry, sign(&evm_tx(&key, chain, 1, nonce, 16), &key)).await;
                assert!(r.accepted, "{}", r.message);
                hashes.push(r.hash.to_vec());
            }
        }
        let mut first = u64::MAX;
        for hash in &hashes {
            let done = wait_status(&mut entry, hash, |s| s == v1::TxStatus::Posted).await;
            let da_ref = done.da.expect("a posted transaction says where");
            assert_eq!(da_ref.block_height, done.height);
            assert!(da_ref.da_height > 1 && da_ref.commitment.len() == 32);
            first = first.min(done.height);
        }
        // A stream of posted data sends each block's batch with where the block is.
        let mut posted = entry
            .stream_rollup_batches(v1::StreamRollupBatchesRequest {
                rollup_id: 1,
                from_height: first,
                posted: true,
            })
            .await
            .unwrap()
            .into_inner();
        let batch = posted.message().await.unwrap().unwrap();
        assert_eq!(batch.height, first);
        assert!(!batch.txs.is_empty());
        assert_eq!(batch.da.unwrap().block_height, first);
    });
    let top = nodes.iter().map(Validator::logged_height).min().unwrap() + 12;
    assert!(wait_for(Duration::from_secs(60), || nodes
        .iter()
        .all(|n| n.logged_height() >= top)));
    let posted = top - 2;
    assert!(wait_posted(&homes, posted, Duration::from_secs(30)));

    // Every block on the DA exactly once, under the chain's namespaces.
    let found = posts(&da.url(), &genesis);
    for height in 1..=posted {
        assert_eq!(
            found.get(&height).map(Vec::len),
            Some(1),
            "block {height}: {found:?}"
        );
    }
    // Later headers reference those posts, each block once, where the DA has it.
    let headers = rt.block_on(async {
        let mut node = client(grpc_addr(&homes[1])).await;
        headers(&mut node, top).await
    });
    let mut referenced = BTreeMap::new();
    for header in &headers {
        for r in &header.da_refs {
            assert!(r.block_height < header.height);
            assert_eq!(found[&r.block_height], vec![r.da_height], "{r:?}");
            assert!(
                referenced.insert(r.block_height, header.height).is_none(),
                "block {} referenced twice",
                r.block_height
            );
        }
    }
    assert!(
        (1..=top - 8).all(|h| referenced.contains_key(&h)),
        "unreferenced blocks: {referenced:?}"
    );
    for n in &mut nodes {
        n.kill();
    }

    // The state rebuilt from the DA alone has the roots the validators committed.
    let replayed = Command::new(babel_bin())
        .args(["replay", "--da", &da.url(), "--to", &posted.to_string()])
        .arg("--genesis")
        .arg(homes[0].join("genesis.json"))
        .env("BABEL_DA_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    let want = hex::encode(&headers[(posted - 1) as usize].state_root);
    let out = stdout(&replayed);
    assert!(
        out.contains(&format!("replayed through block {posted}:"))
            && out.contains(&format!("state root {want}")),
        "{out}"
    );

    // Against a genesis whose initial state differs, replay stops at the first block and
    // says which root differs.
    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(homes[0].join("genesis.json")).unwrap()).unwrap();
    other["rollups"][0]["initial_state"]["alloc"] = serde_json::json!([
        { "address": format!("0x{}", "77".repeat(20)), "balance": "5" }
    ]);
    let other_path = dir.path().join("other-genesis.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let mismatch = Command::new(babel_bin())
        .args(["replay", "--da", &da.url(), "--genesis"])
        .arg(&other_path)
        .env("BABEL_DA_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!mismatch.status.success());
    let err = stderr(&mismatch);
    assert!(
        err.contains("block 1 (DA height") && err.contains("root"),
        "{err}"
    );
}

#[test]
fn e2e_a_da_outage_delays_posting_but_never_consensus() {
    let dir = tempfile::tempdir().unwrap();
    let (mut da, homes) = shared_net(dir.path(), 4, "babel-da-outage");
    let genesis = genesis_of(&homes[0]);
    let mut nodes = start_all(&homes, 3, Duration::from_secs(60));

    da.kill();
    let down_at = nodes.iter().map(Validator::logged_height).max().unwrap();
    std::thread::sleep(Duration::from_secs(20));
    let during = nodes.iter().map(Validator::logged_height).min().unwrap();
    assert!(
        during >= down_at + 10,
        "consensus kept going: {down_at} → {during}"
    );
    da.restart();

    // Everything committed meanwhile is posted once the DA is back, and later headers
    // reference it (so proposals with references keep being accepted).
    assert!(
        wait_posted(&homes, during, Duration::from_secs(90)),
        "blocks posted after the outage"
    );
    let top = nodes.iter().map(Validator::logged_height).min().unwrap() + 10;
    assert!(wait_for(Duration::from_secs(60), || nodes
        .iter()
        .all(|n| n.logged_height() >= top)));
    let found = posts(&da.url(), &genesis);
    for height in 1..=during {
        assert_eq!(
            found.get(&height).map(Vec::len),
            Some(1),
            "block {height}: {found:?}"
        );
    }
    let headers = runtime().block_on(async {
        let mut node = client(grpc_addr(&homes[2])).await;
        headers(&mut node, top).await
    });
    let late_refs: Vec<u64> = headers[during as usize..]
        .iter()
        .flat_map(|h| h.da_refs.iter().map(|r| r.block_height))
        .collect();
    assert!(
        late_refs.iter().any(|b| (down_at..=during).contains(b)),
        "blocks of the outage referenced after it: {late_refs:?}"
    );
    for n in &mut nodes {
        n.kill();
    }
}

#[test]
fn e2e_a_crash_between_posting_and_recording_posts_once() {
    let dir = tempfile::tempdir().unwrap();
    let (da, homes) = shared_net(dir.path(), 1, "babel-da-crash");
    let genesis = genesis_of(&homes[0]);
    // The node aborts right after its first submission is included, before recording it.
    let mut node = Validator::start_with_env(&homes[0], 0, &[(CRASH_AFTER_SUBMIT_ENV, "1")]);
    assert!(
        wait_for(Duration::from_secs(60), || node.exited().is_some()),
        "the node crashed after posting"
    );
    let before = posts(&da.url(), &genesis);
    assert!(!before.is_empty(), "the crashed node's post is on the DA");
    let crashed_at = node.logged_height();
    assert!(crashed_at >= *before.keys().last().unwrap());

    let mut node = Validator::start(&homes[0], 1);
    let top = crashed_at + 6;
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= top));
    assert!(wait_posted(&homes, top, Duration::from_secs(30)));
    let after = posts(&da.url(), &genesis);
    for height in 1..=top {
        assert_eq!(
            after.get(&height).map(Vec::len),
            Some(1),
            "block {height}: {after:?}"
        );
    }
    // What was posted before the crash is where it was: found again, not posted again.
    for (height, da_heights) in &before {
        assert_eq!(&after[height], da_heights);
    }
    let log = std::fs::read_to_string(&node.log).unwrap();
    assert!(log.contains("found the post of a block"), "{log}");
    node.kill();
}
