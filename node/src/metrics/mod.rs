//! The node's Prometheus metrics: one [`Metrics`] per node, shared by every layer that
//! reports (the transaction path, the application, the servers), and [`Metrics::encode`] for
//! the `/metrics` endpoint. Names are prefixed `babel_`; the consensus driver's are
//! `babel_consensus_`. (Malachite's own engine metrics are served apart, at
//! `/metrics/engine`: libp2p's among them break strict OpenMetrics parsers.)
//! `docs/OPERATING.md` says what each one means.

mod da;
mod vm;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use babel_consensus::ConsensusMetrics;
use babel_execution::VmKind;
use babel_proto::v1::RejectReason;
use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

pub use vm::TimedAdapter;

/// A count as a gauge's value (saturating: gauges are `i64`).
fn gauge(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

/// A metric label: (name, value).
type Label = [(&'static str, &'static str); 1];
/// Two metric labels.
type Labels2 = [(&'static str, String); 2];

/// The phases of a transaction's and a block's path through this node, as the `phase` label.
/// Some nest: build and validate include execute, execute includes tree, validate includes
/// the signatures of the block's transactions that this node had not admitted itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Admitting one submission (decoding, stateless checks, nonces, the mempool and its
    /// on-disk copy), signatures excluded.
    Admission,
    /// Checking one batch of signatures (at admission, or of a block being validated).
    Signatures,
    /// A proposer reaping the mempool and executing a new block (execution included).
    Build,
    /// Checking a proposed or synced block (execution included).
    Validate,
    /// Executing a block's transactions and computing its roots (tree included).
    Execute,
    /// Updating the rollups' state trees for a block and computing their roots.
    Tree,
    /// Writing a decided block, its state and receipts, and pruning the mempool.
    Commit,
}

impl Phase {
    /// Every phase, in the order of a transaction's path.
    pub const ALL: [Phase; 7] = [
        Phase::Admission,
        Phase::Signatures,
        Phase::Build,
        Phase::Validate,
        Phase::Execute,
        Phase::Tree,
        Phase::Commit,
    ];

    /// The phase as a label value (and a tracing span name).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Admission => "admission",
            Phase::Signatures => "signatures",
            Phase::Build => "build",
            Phase::Validate => "validate",
            Phase::Execute => "execute",
            Phase::Tree => "tree",
            Phase::Commit => "commit",
        }
    }
}

/// The label value of an admission result: `accepted`, or the reject reason in lower case
/// without its prefix (`bad_signature`, `nonce_too_low`, ...).
pub fn admission_label(result: Result<(), RejectReason>) -> &'static str {
    match result {
        Ok(()) => "accepted",
        Err(reason) => match reason {
            RejectReason::Unspecified => "unspecified",
            RejectReason::Malformed => "malformed",
            RejectReason::TooLarge => "too_large",
            RejectReason::WrongChain => "wrong_chain",
            RejectReason::UnknownRollup => "unknown_rollup",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::NonceTooLow => "nonce_too_low",
            RejectReason::NonceTooHigh => "nonce_too_high",
            RejectReason::Duplicate => "duplicate",
            RejectReason::MempoolFull => "mempool_full",
            RejectReason::FeeTooLow => "fee_too_low",
            RejectReason::GasLimitTooHigh => "gas_limit_too_high",
            RejectReason::GasLimitTooLow => "gas_limit_too_low",
            RejectReason::NotGovernance => "not_governance",
        },
    }
}

/// Every admission label, so that each is exported from the start.
const ADMISSION_LABELS: [Result<(), RejectReason>; 15] = [
    Ok(()),
    Err(RejectReason::Unspecified),
    Err(RejectReason::Malformed),
    Err(RejectReason::TooLarge),
    Err(RejectReason::WrongChain),
    Err(RejectReason::UnknownRollup),
    Err(RejectReason::BadSignature),
    Err(RejectReason::NonceTooLow),
    Err(RejectReason::NonceTooHigh),
    Err(RejectReason::Duplicate),
    Err(RejectReason::MempoolFull),
    Err(RejectReason::FeeTooLow),
    Err(RejectReason::GasLimitTooHigh),
    Err(RejectReason::GasLimitTooLow),
    Err(RejectReason::NotGovernance),
];

/// Durations of phases and store writes, in seconds: 0.1 ms to about 26 s.
fn seconds_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0001, 2.0, 19)
}

/// The node's metrics. Cheap to clone: every clone updates the same values.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    /// The consensus driver's metrics (registered here, handed to the engine).
    pub consensus: ConsensusMetrics,
    committed_height: Gauge,
    last_block_time: Gauge,
    ready: Gauge,
    peers: Gauge,
    validator_peers: Gauge,
    mempool_txs: Gauge,
    mempool_bytes: Gauge,
    admission: Family<Label, Counter>,
    block_txs: Histogram,
    block_gas: Histogram,
    phase: Family<Label, Histogram>,
    vm_seconds: Family<Label, Counter<f64>>,
    vm_frames: Family<Label, Counter>,
    store_write: Histogram,
    store_memory: Family<Label, Gauge>,
    grpc_requests: Family<[(&'static str, String); 1], Counter>,
    grpc_errors: Family<Labels2, Counter>,
    da: da::DaMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric of a node, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("babel");
        let consensus = ConsensusMetrics::register(registry.sub_registry_with_prefix("consensus"));
        let m = Self {
            registry: Arc::default(),
            consensus,
            committed_height: Gauge::default(),
            last_block_time: Gauge::default(),
            ready: Gauge::default(),
            peers: Gauge::default(),
            validator_peers: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            admission: Family::default(),
            // 0 to 2^15 transactions.
            block_txs: Histogram::new(
                std::iter::once(0.0).chain(exponential_buckets(1.0, 2.0, 16)),
            ),
            // 21 000 gas (one transfer) to about 690 M.
            block_gas: Histogram::new(
                std::iter::once(0.0).chain(exponential_buckets(21_000.0, 2.0, 16)),
            ),
            phase: Family::new_with_constructor(|| Histogram::new(seconds_buckets())),
            vm_seconds: Family::default(),
            vm_frames: Family::default(),
            store_write: Histogram::new(seconds_buckets()),
            store_memory: Family::default(),
            grpc_requests: Family::default(),
            grpc_errors: Family::default(),
            da: da::DaMetrics::register(&mut registry),
        };
        let r = &mut registry;
        r.register(
            "height",
            "Highest committed height",
            m.committed_height.clone(),
        );
        r.register(
            "last_block_time_seconds",
            "Header time of the last committed block (Unix seconds)",
            m.last_block_time.clone(),
        );
        r.register(
            "ready",
            "1 when the node is caught up and committing, else 0",
            m.ready.clone(),
        );
        r.register(
            "peers",
            "Connected libp2p peers (anyone may connect)",
            m.peers.clone(),
        );
        r.register(
            "validator_peers",
            "Connected validators of the set",
            m.validator_peers.clone(),
        );
        r.register(
            "mempool_transactions",
            "Transactions in the mempool",
            m.mempool_txs.clone(),
        );
        r.register(
            "mempool_bytes",
            "Bytes of transactions in the mempool",
            m.mempool_bytes.clone(),
        );
        r.register(
            "admission",
            "Submitted transactions by admission result (accepted, or the reject reason)",
            m.admission.clone(),
        );
        r.register(
            "block_transactions",
            "Transactions per committed block",
            m.block_txs.clone(),
        );
        r.register(
            "block_gas",
            "Gas used per committed block",
            m.block_gas.clone(),
        );
        r.register(
            "block_phase_seconds",
            "Time per phase of the transaction and block path: admission (per submission), \
             signatures (per batch), build, validate, execute, tree, commit (per block)",
            m.phase.clone(),
        );
        r.register(
            "vm_execution_seconds",
            "Time spent in each VM's frames, not counting nested calls into other VMs",
            m.vm_seconds.clone(),
        );
        r.register("vm_frames", "Frames run, by VM", m.vm_frames.clone());
        r.register(
            "store_write_seconds",
            "Time to write one committed block to the store (a synced certificate, then one batch without the write-ahead log)",
            m.store_write.clone(),
        );
        r.register(
            "store_memory_bytes",
            "Memory the store keeps, by RocksDB's accounting, after the last commit: memtables, \
             table readers (outside the cache) and the block cache",
            m.store_memory.clone(),
        );
        r.register(
            "grpc_requests",
            "gRPC requests by method",
            m.grpc_requests.clone(),
        );
        r.register(
            "grpc_errors",
            "gRPC requests that ended in an error status, by method and code",
            m.grpc_errors.clone(),
        );
        // Labels with a closed set of values are exported from the start, at zero.
        for result in ADMISSION_LABELS {
            let _ = m
                .admission
                .get_or_create(&[("result", admission_label(result))]);
        }
        for phase in Phase::ALL {
            let _ = m.phase.get_or_create(&[("phase", phase.as_str())]);
        }
        *m.registry.lock().unwrap_or_else(|e| e.into_inner()) = registry;
        m
    }

    /// The exposition in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }

    /// The store holds blocks up to `height`, the last made at `time_ms` (at start-up, so
    /// that a node that cannot commit yet does not read as height 0).
    pub fn restored(&self, height: u64, time_ms: u64) {
        self.committed_height.set(gauge(height));
        self.last_block_time.set(gauge(time_ms / 1000));
    }

    /// A block was committed.
    pub fn committed(&self, height: u64, time_ms: u64, txs: usize, gas: u64) {
        self.restored(height, time_ms);
        self.block_txs.observe(txs as f64);
        self.block_gas.observe(gas as f64);
    }

    /// A block phase took `elapsed`.
    pub fn phase(&self, phase: Phase, elapsed: Duration) {
        self.phase
            .get_or_create(&[("phase", phase.as_str())])
            .observe(elapsed.as_secs_f64());
    }

    /// A block write took `elapsed`.
    pub fn store_write(&self, elapsed: Duration) {
        self.store_write.observe(elapsed.as_secs_f64());
    }

    /// A frame ran on `vm` for `elapsed` (its own time, nested calls excluded).
    pub fn vm_frame(&self, vm: VmKind, elapsed: Duration) {
        let label = [("vm", vm_label(vm))];
        self.vm_seconds
            .get_or_create(&label)
            .inc_by(elapsed.as_secs_f64());
        self.vm_frames.get_or_create(&label).inc();
    }

    /// One submitted transaction's admission result.
    pub fn admission(&self, result: Result<(), RejectReason>) {
        self.admission
            .get_or_create(&[("result", admission_label(result))])
            .inc();
    }

    /// The store keeps these bytes in memtables, table readers and its block cache.
    pub fn store_memory(&self, memtables: u64, table_readers: u64, block_cache: u64) {
        for (part, bytes) in [
            ("memtables", memtables),
            ("table_readers", table_readers),
            ("block_cache", block_cache),
        ] {
            self.store_memory
                .get_or_create(&[("part", part)])
                .set(gauge(bytes));
        }
    }

    /// The mempool holds `txs` transactions of `bytes` bytes.
    pub fn mempool(&self, txs: usize, bytes: usize) {
        self.mempool_txs.set(gauge(txs));
        self.mempool_bytes.set(gauge(bytes));
    }

    /// The node is connected to `connected` libp2p peers, `validators` of them validators.
    pub fn peers(&self, connected: u64, validators: u64) {
        self.peers.set(gauge(connected));
        self.validator_peers.set(gauge(validators));
    }

    /// Whether the node is ready.
    pub fn ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// A gRPC request to `method` arrived. The caller keeps methods to a closed set (the
    /// server's own), so clients cannot multiply labels.
    pub fn grpc_request(&self, method: &str) {
        self.grpc_requests
            .get_or_create(&[("method", method.to_owned())])
            .inc();
    }

    /// A gRPC request to `method` ended with error `code`.
    pub fn grpc_error(&self, method: &str, code: &'static str) {
        self.grpc_errors
            .get_or_create(&[("method", method.to_owned()), ("code", code.to_owned())])
            .inc();
    }
}

fn vm_label(vm: VmKind) -> &'static str {
    match vm {
        VmKind::Evm => "evm",
        VmKind::Wasm => "wasm",
        VmKind::Cairo => "cairo",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name` (with its labels) in `text`.
    fn sample(text: &str, name: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn the_exposition_has_every_family_and_one_eof() {
        let m = Metrics::new();
        m.committed(12, 1_700_000_000_000, 3, 63_000);
        m.admission(Err(RejectReason::NonceTooLow));
        m.admission(Ok(()));
        m.admission(Ok(()));
        m.phase(Phase::Commit, Duration::from_millis(3));
        m.vm_frame(VmKind::Evm, Duration::from_micros(1500));
        m.grpc_request("babel.v1.Node/SubmitTransaction");
        m.grpc_request("babel.v1.Node/GetBlock");
        m.grpc_error("babel.v1.Node/GetBlock", "not_found");
        let text = m.encode();
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(sample(&text, "babel_height"), Some(12.0));
        assert_eq!(
            sample(&text, "babel_last_block_time_seconds"),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            sample(&text, "babel_admission_total{result=\"accepted\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, "babel_admission_total{result=\"nonce_too_low\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "babel_admission_total{result=\"mempool_full\"}"),
            Some(0.0)
        );
        assert_eq!(sample(&text, "babel_block_transactions_count"), Some(1.0));
        assert_eq!(sample(&text, "babel_block_gas_sum"), Some(63_000.0));
        assert_eq!(
            sample(&text, "babel_block_phase_seconds_count{phase=\"commit\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "babel_block_phase_seconds_count{phase=\"build\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample(&text, "babel_vm_frames_total{vm=\"evm\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "babel_vm_execution_seconds_total{vm=\"evm\"}"),
            Some(0.0015)
        );
        assert_eq!(
            sample(
                &text,
                "babel_grpc_requests_total{method=\"babel.v1.Node/GetBlock\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "babel_grpc_errors_total{method=\"babel.v1.Node/GetBlock\",code=\"not_found\"}"
            ),
            Some(1.0)
        );
        assert_eq!(sample(&text, "babel_consensus_round"), Some(0.0));
    }

    #[test]
    fn every_reject_reason_has_a_label_of_its_own() {
        let mut seen = std::collections::HashSet::new();
        for result in ADMISSION_LABELS {
            assert!(seen.insert(admission_label(result)), "{result:?}");
        }
        // A reason added to the proto without a label here fails to compile (the match in
        // `admission_label` is exhaustive); one missing from the list fails here.
        assert_eq!(seen.len(), ADMISSION_LABELS.len());
        let max = RejectReason::NotGovernance as i32;
        assert_eq!(ADMISSION_LABELS.len(), max as usize + 2);
    }
}
