//! Helpers for driving the `babel` binary.

use babel_proto::v1::{self, node_client::NodeClient};
use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Path of the built `babel` binary.
pub(crate) fn babel_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_babel"))
}

/// Run `babel ARGS` to completion.
pub(crate) fn babel(args: &[&str]) -> Output {
    Command::new(babel_bin())
        .args(args)
        .output()
        .expect("run babel")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `n` consecutive free ports (checked one by one).
pub(crate) fn free_port_range(n: u16) -> u16 {
    'outer: for _ in 0..100 {
        let base = babel_consensus::test_utils::free_port();
        if base > 65000 {
            continue;
        }
        for i in 0..n {
            if TcpListener::bind(("127.0.0.1", base + i)).is_err() {
                continue 'outer;
            }
        }
        return base;
    }
    panic!("no free port range");
}

/// A running `babel start` process whose log goes to a file.
pub(crate) struct Validator {
    pub(crate) log: PathBuf,
    child: Option<Child>,
}

impl Validator {
    pub(crate) fn start(home: &Path, run: usize) -> Self {
        Self::start_with_env(home, run, &[])
    }

    /// Start with extra environment variables.
    pub(crate) fn start_with_env(home: &Path, run: usize, env: &[(&str, &str)]) -> Self {
        let log = home.join(format!("run-{run}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(babel_bin())
            .args(["start", "--home"])
            .arg(home)
            .env("RUST_LOG", "info,babel_consensus=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn babel start");
        Self {
            log,
            child: Some(child),
        }
    }

    /// SIGKILL: no clean shutdown, no flush.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: a clean shutdown (SIGKILL if it takes more than five seconds).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            babel_node::cli::devnet::stop(&mut child);
        }
    }

    /// Highest height this run's log says was committed.
    pub(crate) fn logged_height(&self) -> u64 {
        babel_node::cli::devnet::logged_height(&self.log)
    }

    /// For a failed assertion: whether the process still runs, and the end of its log (which
    /// lives in a temporary directory the test removes).
    pub(crate) fn report(&mut self) -> String {
        let status = match self.exited() {
            Some(status) => format!("exited ({status})"),
            None => "running".to_string(),
        };
        let tail = babel_node::cli::devnet::log_tail(&self.log, 4096);
        format!("validator {status}; end of its log:\n{tail}")
    }

    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start a validator on each of `homes` and wait, up to `within`, until every one has logged
/// height `height`.
pub(crate) fn start_all(homes: &[PathBuf], height: u64, within: Duration) -> Vec<Validator> {
    let mut nodes: Vec<Validator> = homes.iter().map(|h| Validator::start(h, 0)).collect();
    let reached = wait_for(within, || nodes.iter().all(|n| n.logged_height() >= height));
    if !reached {
        let lagging = nodes.iter_mut().find(|n| n.logged_height() < height);
        let report = lagging.map(Validator::report).unwrap_or_default();
        panic!("the network did not reach height {height}: {report}");
    }
    nodes
}

/// Poll `check` every 100 ms until it holds or `timeout` passes.
pub(crate) fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// `babel testnet` with `n` validators on free loopback ports under `dir/net`; returns the homes.
pub(crate) fn testnet_homes(dir: &Path, n: u16, chain_id: &str) -> Vec<PathBuf> {
    let out_dir = dir.join("net");
    let p2p = free_port_range(n).to_string();
    let grpc = free_port_range(n).to_string();
    let ops = free_port_range(n).to_string();
    let jsonrpc = free_port_range(n).to_string();
    let out = babel(&[
        "testnet",
        "--validators",
        &n.to_string(),
        "--output",
        out_dir.to_str().expect("utf-8 path"),
        "--p2p-port",
        &p2p,
        "--grpc-port",
        &grpc,
        "--ops-port",
        &ops,
        "--jsonrpc-port",
        &jsonrpc,
        "--chain-id",
        chain_id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (0..n).map(|i| out_dir.join(format!("node-{i}"))).collect()
}

/// The gRPC address in a home's `config.toml`.
pub(crate) fn grpc_addr(home: &Path) -> std::net::SocketAddr {
    config(home).grpc.listen_addr
}

/// The metrics and health address in a home's `config.toml`.
pub(crate) fn ops_addr(home: &Path) -> std::net::SocketAddr {
    config(home).ops.listen_addr
}

/// The Ethereum JSON-RPC address of the EVM rollup in a home's `config.toml`.
pub(crate) fn jsonrpc_addr(home: &Path) -> std::net::SocketAddr {
    config(home).jsonrpc.endpoints[0].listen_addr
}

/// A home's `config.toml`.
fn config(home: &Path) -> babel_node::config::Config {
    babel_node::config::Config::load(&home.join("config.toml")).expect("config")
}

/// Change a home's `config.toml`.
pub(crate) fn edit_config(home: &Path, edit: impl FnOnce(&mut babel_node::config::Config)) {
    let path = home.join("config.toml");
    let mut config = babel_node::config::Config::load(&path).expect("config");
    edit(&mut config);
    std::fs::write(&path, config.to_toml()).expect("write config");
}

/// `GET path` from the HTTP server at `addr`: (status code, body); `None` if it cannot be
/// reached.
pub(crate) fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    babel_node::ops::http_get(addr, path).ok()
}

/// A single-threaded runtime for a test's client side.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A channel to `addr`, retried for up to 10 s while the node starts.
pub(crate) async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
    for _ in 0..100 {
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to {addr}");
}

/// A `babel.v1.Node` client of `addr`.
pub(crate) async fn client(addr: std::net::SocketAddr) -> NodeClient<tonic::transport::Channel> {
    NodeClient::new(channel(addr).await)
}

/// Submit `txs` in one `SubmitTransactions` call and assert that every one was accepted;
/// returns the per-transaction results.
pub(crate) async fn submit_accepted(
    client: &mut NodeClient<tonic::transport::Channel>,
    txs: Vec<v1::SignedTransaction>,
) -> Vec<v1::SubmitTransactionResponse> {
    let results = client
        .submit_transactions(v1::SubmitTransactionsRequest { transactions: txs })
        .await
        .expect("SubmitTransactions")
        .into_inner()
        .results;
    let refused: Vec<_> = results.iter().filter(|r| !r.accepted).collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    results
}

/// Poll until the transaction is finalized (30 s at most) and return its status: FINALIZED,
/// or POSTED once its block is also on the DA layer.
pub(crate) async fn wait_finalized(
    client: &mut NodeClient<tonic::transport::Channel>,
    hash: &[u8],
) -> v1::GetTransactionResponse {
    wait_status(client, hash, |status| {
        matches!(status, v1::TxStatus::Finalized | v1::TxStatus::Posted)
    })
    .await
}

/// Poll until the transaction's status satisfies `done` (30 s at most) and return it.
pub(crate) async fn wait_status(
    client: &mut NodeClient<tonic::transport::Channel>,
    hash: &[u8],
    done: impl Fn(v1::TxStatus) -> bool,
) -> v1::GetTransactionResponse {
    for _ in 0..300 {
        let r = client
            .get_transaction(v1::GetTransactionRequest {
                hash: hash.to_vec().into(),
            })
            .await
            .expect("GetTransaction")
            .into_inner();
        if done(r.status()) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("transaction status never reached");
}

/// The gRPC health status of the whole server and of `babel.v1.Node`.
pub(crate) async fn grpc_health(addr: SocketAddr) -> (ServingStatus, ServingStatus) {
    let mut health = HealthClient::new(channel(addr).await);
    let mut check = async |service: &str| {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        ServingStatus::try_from(status).unwrap()
    };
    (check("").await, check("babel.v1.Node").await)
}

/// Whether the gRPC health service of `addr` reports `want` for the whole server and for
/// `babel.v1.Node` within 10 s (it follows readiness every half second).
pub(crate) async fn health_becomes(addr: SocketAddr, want: ServingStatus) -> bool {
    for _ in 0..100 {
        if grpc_health(addr).await == (want, want) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The proof of `key` on `rollup_id` at `height` (0: the latest), checked against the root
/// that the header of the proven height commits to for that rollup: the response, that root
/// and the decoded proof (to check other values against).
pub(crate) async fn verified_state_proof(
    client: &mut babel_proto::v1::node_client::NodeClient<tonic::transport::Channel>,
    rollup_id: u64,
    key: &[u8],
    height: u64,
) -> (
    babel_proto::v1::GetStateProofResponse,
    [u8; 32],
    babel_execution::commitment::StateProof,
) {
    let proof = client
        .get_state_proof(babel_proto::v1::GetStateProofRequest {
            rollup_id,
            key: key.to_vec().into(),
            height,
        })
        .await
        .expect("state proof")
        .into_inner();
    let header = client
        .get_block(babel_proto::v1::GetBlockRequest {
            height: proof.height,
        })
        .await
        .expect("block")
        .into_inner()
        .block
        .and_then(|b| b.header)
        .expect("header");
    let committed = header
        .state_roots
        .iter()
        .find(|r| r.rollup_id == rollup_id)
        .expect("the rollup's root");
    assert_eq!(committed.root, proof.state_root);
    let root: [u8; 32] = proof.state_root.as_ref().try_into().expect("32-byte root");
    let decoded: babel_execution::commitment::StateProof =
        borsh::from_slice(&proof.proof).expect("proof");
    let value = proof.exists.then_some(proof.value.as_ref());
    assert!(babel_execution::commitment::verify(
        root, key, value, &decoded
    ));
    (proof, root, decoded)
}
