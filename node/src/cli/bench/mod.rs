//! `babel bench`: a load generator that signs transactions and submits them over gRPC, then
//! reports sustained throughput and accepted→finalized latency percentiles.
//!
//! By default it starts its own loopback network of `--validators` processes (a fresh chain
//! in a temporary directory, removed afterwards, whose genesis funds the senders); with
//! `--endpoint` it loads a running network instead. The transactions are EVM value transfers
//! of 1 wei to distinct recipients (0 wei against an external network, whose genesis does not
//! fund the bench's senders). They are signed before the clock starts, by distinct senders so
//! that the mempool's per-sender nonce order never stalls, and sent in batches
//! (`SubmitTransactions`) round-robin over every validator with a fixed number of requests in
//! flight. A `StreamBlocks` subscriber stamps each transaction when the block that holds it
//! arrives; afterwards a sample of receipts is checked for success.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use babel_proto::v1::{self, node_client::NodeClient};
use ed25519_dalek::SigningKey;
use futures::StreamExt as _;
use sha2::{Digest, Sha256};
use tonic::transport::{Channel, Endpoint};

pub use cost::{Costs, MemoryTrace};
use cost::{MemoryWatch, Probe};

/// How often the validators' resident memory is sampled during a run.
const MEMORY_EVERY: Duration = Duration::from_secs(5);
pub use workload::Workload;
use workload::{TxShape, cairo_contracts, evm_alloc, sign_all, wasm_contracts};

use crate::{
    cli::devnet::{Process, share_da, spawn_da, spawn_validator, stop},
    grpc::MAX_SUBMIT_BATCH,
    home::{Home, NetworkOptions, create_network},
};

mod cost;
mod workload;

/// Largest gRPC message the bench client accepts (a full block with its certificate).
const CLIENT_MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Validators of the network the bench starts (ignored with `endpoints`).
    pub validators: u16,
    /// Load a running network at these gRPC endpoints instead of starting one.
    pub endpoints: Vec<String>,
    /// First p2p port of the started network.
    pub p2p_port: u16,
    /// First gRPC port of the started network.
    pub grpc_port: u16,
    /// Metrics and health port of the first validator of the started network.
    pub ops_port: u16,
    /// Port of the DA server that the started network shares.
    pub da_port: u16,
    /// Transactions to send.
    pub txs: usize,
    /// Distinct senders (each sends `txs / senders` consecutive nonces).
    pub senders: usize,
    /// Transactions per `SubmitTransactions` request.
    pub batch: usize,
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Offered load in transactions per second; `None` submits as fast as the node accepts.
    pub rate: Option<u64>,
    /// What to send.
    pub workload: Workload,
    /// Calldata bytes per EVM transfer.
    pub payload_bytes: usize,
    /// Seed of the sender keys (use a new one to re-run against the same chain).
    pub seed: u64,
    /// Give up waiting for finality this long after the last submission.
    pub finality_timeout: Duration,
    /// Block pacing of the started network (0: a block as soon as the previous one is
    /// decided).
    pub block_interval_ms: u64,
    /// How long the started network's validators wait for transactions before a height
    /// (genesis `empty_block_wait_ms`; 0: never).
    pub empty_block_wait_ms: u64,
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Validators in the network.
    pub validators: usize,
    /// Transactions sent.
    pub sent: usize,
    /// Transactions acknowledged.
    pub accepted: usize,
    /// Rejections by reason.
    pub rejected: BTreeMap<String, usize>,
    /// Accepted transactions seen in a committed block.
    pub finalized: usize,
    /// From the first submission to the last finalization.
    pub elapsed: Duration,
    /// From the first submission to the last acknowledgement.
    pub submit_elapsed: Duration,
    /// Accepted→finalized latency percentiles: p50, p90, p99, max.
    pub latency: [Duration; 4],
    /// Blocks that carried the bench's transactions.
    pub blocks: usize,
    /// Most bench transactions in one block.
    pub max_block_txs: usize,
    /// Receipts sampled, and how many of them failed.
    pub failed_receipts: (usize, usize),
    /// Where the time went (only for a network the bench started).
    pub costs: Option<Costs>,
    /// The validators' resident memory through the run (only for a network the bench
    /// started).
    pub memory: Option<MemoryTrace>,
}

impl Report {
    /// Finalized transactions per second over the whole run.
    pub fn throughput(&self) -> f64 {
        self.finalized as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Acknowledged transactions per second while submitting.
    pub fn accept_rate(&self) -> f64 {
        self.accepted as f64 / self.submit_elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(f, "validators        {}", self.validators)?;
        writeln!(
            f,
            "transactions      {} sent, {} accepted, {} finalized",
            self.sent, self.accepted, self.finalized
        )?;
        for (reason, n) in &self.rejected {
            writeln!(f, "rejected          {n} {reason}")?;
        }
        writeln!(
            f,
            "throughput        {:.0} tx/s finalized ({:.0} tx/s accepted while submitting)",
            self.throughput(),
            self.accept_rate()
        )?;
        writeln!(
            f,
            "latency           p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms (accepted→finalized)",
            ms(self.latency[0]),
            ms(self.latency[1]),
            ms(self.latency[2]),
            ms(self.latency[3])
        )?;
        writeln!(
            f,
            "blocks            {} ({:.0} tx/block on average, {} at most)",
            self.blocks,
            self.finalized as f64 / self.blocks.max(1) as f64,
            self.max_block_txs
        )?;
        write!(
            f,
            "receipts          {} sampled, {} failed",
            self.failed_receipts.0, self.failed_receipts.1
        )?;
        if let Some(costs) = &self.costs {
            write!(f, "\n{costs}")?;
        }
        if let Some(memory) = &self.memory {
            write!(f, "\n{memory}")?;
        }
        Ok(())
    }
}

/// Run the benchmark and return its report. Progress goes to stderr.
pub fn run(opts: &BenchOptions) -> anyhow::Result<Report> {
    check(opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if !opts.endpoints.is_empty() {
        return runtime.block_on(load(opts, &opts.endpoints, 0, None));
    }
    let dir = tempfile::Builder::new().prefix("babel-bench-").tempdir()?;
    let (mut net, mut da) = start_network(opts, dir.path())?;
    let endpoints: Vec<String> = (0..opts.validators)
        .map(|i| format!("http://127.0.0.1:{}", opts.grpc_port + i))
        .collect();
    let probe = Probe {
        pids: net.iter().map(|p| p.child.id()).collect(),
        da_pid: Some(da.id()),
        ops: std::net::SocketAddr::from(([127, 0, 0, 1], opts.ops_port)),
    };
    let result = runtime.block_on(load(opts, &endpoints, 1, Some(&probe)));
    for p in &mut net {
        stop(&mut p.child);
    }
    stop(&mut da);
    if result.is_err() {
        for p in &net {
            eprintln!("validator log: {}", p.log.display());
        }
        // Keep the logs of a failed run for inspection.
        let kept = dir.keep();
        eprintln!("bench network kept in {}", kept.display());
    }
    result
}

fn check(opts: &BenchOptions) -> anyhow::Result<()> {
    if opts.txs == 0 || opts.senders == 0 || opts.in_flight == 0 {
        bail!("--txs, --senders and --in-flight must be positive");
    }
    if opts.batch == 0 || opts.batch > MAX_SUBMIT_BATCH {
        bail!("--batch must be between 1 and {MAX_SUBMIT_BATCH}");
    }
    if opts.workload != Workload::EvmTransfer && !opts.endpoints.is_empty() {
        bail!(
            "--workload {} needs the bench's own network (its genesis holds the contracts)",
            opts.workload
        );
    }
    if opts.rate == Some(0) {
        bail!("--rate must be positive");
    }
    if opts.senders > opts.txs {
        bail!("--senders ({}) exceeds --txs ({})", opts.senders, opts.txs);
    }
    Ok(())
}

/// Start the network like `babel devnet` does: a fresh chain, one DA server that every
/// validator posts to (each block is posted once, by its proposer), and the validators.
fn start_network(
    opts: &BenchOptions,
    dir: &std::path::Path,
) -> anyhow::Result<(Vec<Process>, std::process::Child)> {
    let keys = sender_keys(opts);
    let homes: Vec<Home> = (0..opts.validators)
        .map(|i| Home::new(dir.join(format!("node-{i}"))))
        .collect();
    let params = babel_genesis::ConsensusParams {
        block_interval_ms: opts.block_interval_ms,
        empty_block_wait_ms: opts.empty_block_wait_ms,
        // The genesis defaults (a 3 s propose timeout), not the devnet's quick rounds: under
        // load, on a few shared cores, a 1 s round is shorter than building and checking a
        // large block takes, and each round that fails makes the next block larger.
        ..babel_genesis::ConsensusParams::default()
    };
    create_network(
        &homes,
        &NetworkOptions {
            chain_id: "babel-bench".into(),
            p2p_port: opts.p2p_port,
            grpc_port: opts.grpc_port,
            ops_port: opts.ops_port,
            jsonrpc_port: None,
            force: false,
            consensus: params,
            evm_alloc: evm_alloc(&keys)?,
            wasm_contracts: wasm_contracts(&keys)?,
            cairo_contracts: cairo_contracts()?,
        },
    )?;
    let token = share_da(&homes, opts.da_port)?;
    let mut da = spawn_da(&dir.join("da"), opts.da_port, &token)?;
    eprintln!(
        "starting {} validator(s) and a DA server in {}",
        opts.validators,
        dir.display()
    );
    let mut net = Vec::with_capacity(homes.len());
    for home in homes {
        match spawn_validator(home) {
            Ok(p) => net.push(p),
            Err(e) => {
                for p in &mut net {
                    stop(&mut p.child);
                }
                stop(&mut da);
                return Err(e);
            }
        }
    }
    Ok((net, da))
}

async fn connect(endpoint: &str) -> anyhow::Result<NodeClient<Channel>> {
    let channel = Endpoint::from_shared(endpoint.to_string())
        .with_context(|| format!("bad endpoint {endpoint}"))?
        .connect_timeout(Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match channel.connect().await {
            Ok(c) => {
                return Ok(NodeClient::new(c)
                    .max_decoding_message_size(CLIENT_MAX_MESSAGE)
                    .max_encoding_message_size(CLIENT_MAX_MESSAGE));
            }
            Err(e) if Instant::now() > deadline => {
                return Err(e).with_context(|| format!("connecting to {endpoint}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Wait until the node has committed a block; returns its status.
async fn ready(client: &mut NodeClient<Channel>) -> anyhow::Result<v1::StatusResponse> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(s) = client.status(v1::StatusRequest {}).await {
            let s = s.into_inner();
            if s.height >= 1 {
                return Ok(s);
            }
        }
        if Instant::now() > deadline {
            bail!("the network committed no block within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The senders' keys, derived from the seed.
fn sender_keys(opts: &BenchOptions) -> Vec<SigningKey> {
    (0..opts.senders)
        .map(|i| {
            let mut h = Sha256::new();
            h.update(b"babel-bench");
            h.update(opts.seed.to_be_bytes());
            h.update((i as u64).to_be_bytes());
            SigningKey::from_bytes(&h.finalize().into())
        })
        .collect()
}

/// How long a transaction refused with `MEMPOOL_FULL` is retried before it counts as refused.
const RETRY_FOR: Duration = Duration::from_secs(30);
/// First pause before retrying refused transactions; it doubles up to [`RETRY_PAUSE_MAX`].
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// Longest pause between retries.
const RETRY_PAUSE_MAX: Duration = Duration::from_millis(640);

/// What one batch's submission ended with.
struct BatchOutcome {
    /// Per transaction (index in the run): when the final answer came, and the answer.
    results: Vec<(usize, Instant, v1::SubmitTransactionResponse)>,
    /// Transactions resubmitted because the mempool was full.
    retries: usize,
}

/// Submit `batch` (transactions `first..`), resubmitting those refused with `MEMPOOL_FULL`
/// (as a client under back-pressure would) until accepted or [`RETRY_FOR`] passes.
async fn submit_batch(
    client: &mut NodeClient<Channel>,
    first: usize,
    batch: Vec<v1::SignedTransaction>,
) -> anyhow::Result<BatchOutcome> {
    let deadline = Instant::now() + RETRY_FOR;
    let mut pending: Vec<(usize, v1::SignedTransaction)> = batch
        .into_iter()
        .enumerate()
        .map(|(i, t)| (first + i, t))
        .collect();
    let mut outcome = BatchOutcome {
        results: Vec::with_capacity(pending.len()),
        retries: 0,
    };
    let mut pause = RETRY_PAUSE;
    while !pending.is_empty() {
        let answers = client
            .submit_transactions(v1::SubmitTransactionsRequest {
                transactions: pending.iter().map(|(_, t)| t.clone()).collect(),
            })
            .await
            .context("SubmitTransactions failed")?
            .into_inner()
            .results;
        let at = Instant::now();
        let mut again = Vec::new();
        for ((i, tx), answer) in pending.into_iter().zip(answers) {
            let full = answer.reason == v1::RejectReason::MempoolFull as i32;
            if full && at < deadline {
                again.push((i, tx));
            } else {
                outcome.results.push((i, at, answer));
            }
        }
        outcome.retries += again.len();
        if !again.is_empty() {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_PAUSE_MAX);
        }
        pending = again;
    }
    Ok(outcome)
}

/// Per transaction: when it was acknowledged and when its block arrived.
#[derive(Clone, Copy, Debug, Default)]
struct Stamp {
    accepted: Option<Instant>,
    finalized: Option<Instant>,
}

/// Load the network at `endpoints` with transfers of `value`; `probe` observes the validators
/// if the bench started them.
async fn load(
    opts: &BenchOptions,
    endpoints: &[String],
    value: u64,
    probe: Option<&Probe>,
) -> anyhow::Result<Report> {
    let mut clients = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        clients.push(connect(e).await?);
    }
    let status = ready(&mut clients[0]).await?;
    let rollup = status
        .rollups
        .iter()
        .find(|r| r.vm == opts.workload.vm())
        .with_context(|| format!("the chain has no {} rollup", opts.workload.vm()))?
        .id;
    eprintln!(
        "chain {} at height {}, loading rollup {rollup} through {} endpoint(s)",
        status.chain_id,
        status.height,
        clients.len()
    );
    let evm_chain_id = clients[0]
        .list_rollups(v1::ListRollupsRequest {})
        .await?
        .into_inner()
        .rollups
        .iter()
        .find(|r| r.id == rollup)
        .map_or(0, |r| r.evm_chain_id);
    eprintln!("signing {} {} transactions...", opts.txs, opts.workload);
    let shape = TxShape {
        workload: opts.workload,
        chain_id: &status.chain_id,
        rollup_id: rollup,
        value,
        payload_bytes: opts.payload_bytes,
        evm_chain_id,
    };
    let txs = sign_all(&shape, &sender_keys(opts), opts.txs)?;
    let index: Arc<HashMap<[u8; 32], usize>> = Arc::new(
        txs.iter()
            .enumerate()
            .map(|(i, t)| (babel_proto::tx_hash(t), i))
            .collect(),
    );

    // Blocks from the next height on, stamped as they arrive.
    let mut blocks = clients[0]
        .stream_blocks(v1::StreamBlocksRequest {
            from_height: status.height + 1,
        })
        .await?
        .into_inner();
    let (finals_tx, mut finals_rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let index = index.clone();
        tokio::spawn(async move {
            while let Some(item) = blocks.next().await {
                let now = Instant::now();
                let Ok(item) = item else { break };
                let found: Vec<usize> = item
                    .block
                    .iter()
                    .flat_map(|b| &b.txs)
                    .filter_map(|t| index.get(&babel_proto::tx_hash(t)).copied())
                    .collect();
                if !found.is_empty() && finals_tx.send((now, found)).is_err() {
                    break;
                }
            }
        })
    };

    eprintln!(
        "submitting in batches of {} with {} in flight, {}...",
        opts.batch,
        opts.in_flight,
        opts.rate
            .map_or("as fast as accepted".to_string(), |r| format!(
                "at {r} tx/s"
            ))
    );
    let mut stamps = vec![Stamp::default(); txs.len()];
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let sample = || probe.map(|p| tokio::task::block_in_place(|| p.sample()));
    let before = sample();
    let memory = probe.map(|p| p.watch_memory(MEMORY_EVERY));
    let started = Instant::now();
    let batches: Vec<(usize, Vec<v1::SignedTransaction>)> = txs
        .chunks(opts.batch)
        .enumerate()
        .map(|(i, c)| (i * opts.batch, c.to_vec()))
        .collect();
    let start = tokio::time::Instant::now();
    let mut sends =
        futures::stream::iter(batches.into_iter().enumerate().map(|(n, (first, batch))| {
            let mut client = clients[n % clients.len()].clone();
            // Open-loop pacing: batch n is due when the offered rate reaches its first tx.
            let due = opts
                .rate
                .map(|r| start + Duration::from_secs_f64(first as f64 / r as f64));
            async move {
                if let Some(due) = due {
                    tokio::time::sleep_until(due).await;
                }
                submit_batch(&mut client, first, batch).await
            }
        }))
        .buffer_unordered(opts.in_flight);
    let mut accepted = 0;
    let mut retries = 0;
    let mut last_progress = Instant::now();
    while let Some(outcome) = sends.next().await {
        let outcome = outcome?;
        retries += outcome.retries;
        for (i, at, r) in outcome.results {
            if r.accepted {
                stamps[i].accepted = Some(at);
                accepted += 1;
            } else {
                let reason = v1::RejectReason::try_from(r.reason)
                    .map(|r| r.as_str_name().to_string())
                    .unwrap_or_else(|_| format!("reason {}", r.reason));
                *rejected.entry(reason).or_default() += 1;
            }
        }
        if last_progress.elapsed() > Duration::from_secs(2) {
            eprintln!("  {accepted} accepted");
            last_progress = Instant::now();
        }
    }
    if retries > 0 {
        eprintln!("  {retries} submissions retried after MEMPOOL_FULL");
    }
    let submit_elapsed = started.elapsed();
    eprintln!(
        "{accepted} accepted in {:.2} s; waiting for finality...",
        submit_elapsed.as_secs_f64()
    );

    let mut finalized = 0;
    let mut blocks = 0;
    let mut max_block_txs = 0;
    let deadline = tokio::time::Instant::now() + opts.finality_timeout;
    while finalized < accepted {
        let Ok(next) = tokio::time::timeout_at(deadline, finals_rx.recv()).await else {
            eprintln!(
                "gave up after {:?}: {} of {accepted} finalized",
                opts.finality_timeout, finalized
            );
            break;
        };
        let Some((at, found)) = next else {
            bail!("the block stream ended");
        };
        blocks += 1;
        max_block_txs = max_block_txs.max(found.len());
        for i in found {
            if stamps[i].finalized.is_none() {
                stamps[i].finalized = Some(at);
                finalized += 1;
            }
        }
    }
    let costs = probe
        .zip(before)
        .zip(sample())
        .map(|((p, before), after)| p.costs(&before, &after, finalized));
    let memory = memory.map(MemoryWatch::finish);
    watcher.abort();
    drop(sends);
    let failed_receipts = check_receipts(&mut clients[0], &txs, &stamps).await?;

    let last = stamps
        .iter()
        .filter_map(|s| s.finalized)
        .max()
        .unwrap_or(started);
    let mut latencies: Vec<Duration> = stamps
        .iter()
        .filter_map(|s| Some(s.finalized?.saturating_duration_since(s.accepted?)))
        .collect();
    latencies.sort();
    Ok(Report {
        validators: clients.len(),
        sent: txs.len(),
        accepted,
        rejected,
        finalized,
        elapsed: last.saturating_duration_since(started),
        submit_elapsed,
        latency: [
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.90),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default(),
        ],
        blocks,
        max_block_txs,
        failed_receipts,
        costs,
        memory,
    })
}

/// Receipts sampled for success (every n-th finalized transaction).
const RECEIPT_SAMPLE: usize = 200;

/// How many of a sample of finalized transactions have a failed receipt.
async fn check_receipts(
    client: &mut NodeClient<Channel>,
    txs: &[v1::SignedTransaction],
    stamps: &[Stamp],
) -> anyhow::Result<(usize, usize)> {
    let finalized: Vec<usize> = (0..txs.len())
        .filter(|&i| stamps[i].finalized.is_some())
        .collect();
    let step = finalized.len().div_ceil(RECEIPT_SAMPLE).max(1);
    let mut checked = 0;
    let mut failed = 0;
    for &i in finalized.iter().step_by(step) {
        let r = client
            .get_transaction(v1::GetTransactionRequest {
                hash: babel_proto::tx_hash(&txs[i]).to_vec().into(),
            })
            .await?
            .into_inner();
        checked += 1;
        if !r.receipt.is_some_and(|r| r.success) {
            failed += 1;
        }
    }
    Ok((checked, failed))
}

/// The `q` quantile of sorted `xs` (nearest rank); zero for none.
fn percentile(xs: &[Duration], q: f64) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    xs[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let xs: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&xs, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&xs, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&xs, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn ethereum_transfers_are_signed_by_each_senders_twin_in_nonce_order() {
        let keys: Vec<SigningKey> = (1..=3u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let shape = TxShape {
            workload: Workload::EthTransfer,
            chain_id: "c",
            rollup_id: 1,
            value: 5,
            payload_bytes: 0,
            evm_chain_id: 1001,
        };
        let txs = sign_all(&shape, &keys, 7).unwrap();
        assert_eq!(txs.len(), 7);
        for (i, signed) in txs.iter().enumerate() {
            assert!(signed.body.is_empty() && signed.signature.is_empty());
            let tx = babel_execution::ethereum::decode(&signed.ethereum).unwrap();
            let signer = workload::ethereum_signer(&keys[i % 3]).address();
            assert_eq!(tx.from, signer.into_array());
            assert_eq!(
                (tx.nonce, tx.chain_id, tx.gas_limit),
                ((i / 3) as u64, 1001, 21_000)
            );
            assert_eq!(tx.hash, babel_proto::tx_hash(signed));
        }
    }

    #[test]
    fn signing_is_nonce_major_and_exact() {
        let opts = BenchOptions {
            validators: 1,
            endpoints: vec![],
            p2p_port: 0,
            grpc_port: 0,
            ops_port: 0,
            da_port: 0,
            txs: 7,
            senders: 3,
            batch: 2,
            in_flight: 1,
            rate: None,
            workload: Workload::EvmTransfer,
            payload_bytes: 4,
            seed: 1,
            finality_timeout: Duration::from_secs(1),
            block_interval_ms: 0,
            empty_block_wait_ms: 0,
        };
        let shape = TxShape {
            workload: opts.workload,
            chain_id: "c",
            rollup_id: 1,
            value: 1,
            payload_bytes: opts.payload_bytes,
            evm_chain_id: 1001,
        };
        let txs = sign_all(&shape, &sender_keys(&opts), opts.txs).unwrap();
        assert_eq!(txs.len(), 7);
        let decoded: Vec<v1::Transaction> = txs
            .iter()
            .map(|t| <v1::Transaction as prost::Message>::decode(t.body.clone()).unwrap())
            .collect();
        let nonces: Vec<u64> = decoded.iter().map(|t| t.nonce).collect();
        assert_eq!(nonces, vec![0, 0, 0, 1, 1, 1, 2]);
        assert_ne!(decoded[0].sender_pubkey, decoded[1].sender_pubkey);
        assert_eq!(decoded[0].sender_pubkey, decoded[3].sender_pubkey);
    }
}
