//! Test helpers: an in-memory [`Application`] and a loopback multi-validator harness.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::{
    collections::BTreeMap,
    net::TcpListener,
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use babel_proto::v1;
use bytes::Bytes;

use crate::{
    Address, Application, BabelSigner, BlockOrigin, ConsensusError, ConsensusHandle, EngineConfig,
    Height, Refusal, StoredProposals, Validator, ValidatorSet, Verdict,
};

/// How a byzantine validator misbehaves when it proposes (see [`start_byzantine`]).
#[derive(Clone, Debug, Default)]
pub struct Byzantine {
    /// Further blocks, each different and correctly signed, streamed for every round it
    /// proposes (equivocation), after its real block.
    pub equivocations: usize,
    /// Stream every block's parts this many times (rebroadcast duplicates).
    pub repeats: usize,
    /// Junk streams published per round it proposes: data that never completes under ids of
    /// later heights and rounds, and complete streams with a bad signature.
    pub junk_streams: usize,
    /// Publish nothing at heights that are a multiple of this (0: never withhold).
    pub withhold_every: u64,
}

/// One `store_proposal` call, as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Block hash.
    pub hash: [u8; 32],
    /// Proposer's address bytes.
    pub proposer: Vec<u8>,
}

/// Marker an "evil" [`MemApp`] writes into `results_root`; honest apps reject such blocks.
pub const EVIL_MARKER: &[u8] = b"evil";

#[derive(Debug, Default)]
struct MemState {
    decided: BTreeMap<u64, (v1::Block, v1::CommitCertificate)>,
    proposals: BTreeMap<(u64, u32, [u8; 32]), Vec<u8>>,
    /// Every proposal stored, never pruned.
    stored_log: Vec<StoredRecord>,
    /// Blocks validated (each one an execution on a real node).
    validations: usize,
    /// Transactions submitted and not yet built into one of this app's blocks.
    queued: Vec<v1::SignedTransaction>,
}

/// An in-memory application: blocks link to their parent, nothing else. Clones share state,
/// so a test can inspect a node's chain and "restart" a node with the state it had.
#[derive(Clone, Debug, Default)]
pub struct MemApp {
    state: Arc<Mutex<MemState>>,
    /// Signalled on each [`MemApp::submit`].
    arrivals: Arc<tokio::sync::Notify>,
    evil: bool,
}

impl MemApp {
    /// An honest application.
    pub fn new() -> Self {
        Self::default()
    }

    /// An application whose own blocks carry [`EVIL_MARKER`], which honest apps reject.
    pub fn evil() -> Self {
        Self {
            evil: true,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, MemState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Highest committed height.
    pub fn height(&self) -> u64 {
        self.lock().decided.keys().next_back().copied().unwrap_or(0)
    }

    /// Queue a transaction (opaque to this app) for this node's next own block.
    pub fn submit(&self, tx: v1::SignedTransaction) {
        self.lock().queued.push(tx);
        self.arrivals.notify_one();
    }

    /// Every `store_proposal` call so far, in order.
    pub fn stored_log(&self) -> Vec<StoredRecord> {
        self.lock().stored_log.clone()
    }

    /// How many blocks this app was asked to validate.
    pub fn validations(&self) -> usize {
        self.lock().validations
    }

    /// Committed (block hash, certificate) per height.
    pub fn chain(&self) -> Vec<([u8; 32], v1::Block, v1::CommitCertificate)> {
        self.lock()
            .decided
            .values()
            .map(|(b, c)| {
                (
                    babel_proto::block_hash(b.header.as_ref().expect("header")),
                    b.clone(),
                    c.clone(),
                )
            })
            .collect()
    }
}

impl Application for MemApp {
    fn committed_height(&self) -> Result<Height, ConsensusError> {
        Ok(Height(self.height()))
    }

    fn build_block(
        &mut self,
        height: Height,
        proposer: Address,
    ) -> Result<v1::Block, ConsensusError> {
        let mut state = self.lock();
        let txs = std::mem::take(&mut state.queued);
        let parent = state
            .decided
            .get(&(height.0 - 1))
            .and_then(|(b, _)| b.header.as_ref());
        let header = v1::Header {
            chain_id: "test".into(),
            height: height.0,
            time_ms: parent.map_or(1, |p| p.time_ms + 1),
            parent_hash: Bytes::copy_from_slice(&parent.map_or([0; 32], babel_proto::block_hash)),
            proposer: Bytes::copy_from_slice(&proposer.0),
            results_root: if self.evil {
                Bytes::from_static(EVIL_MARKER)
            } else {
                Bytes::new()
            },
            ..Default::default()
        };
        Ok(v1::Block {
            header: Some(header),
            txs,
            ..Default::default()
        })
    }

    fn transactions_ready(&self) -> crate::TransactionsReady {
        let app = self.clone();
        crate::ready_when(self.arrivals.clone(), move || !app.lock().queued.is_empty())
    }

    fn validate_block(
        &mut self,
        block: &v1::Block,
        _origin: BlockOrigin,
    ) -> Result<Verdict, ConsensusError> {
        let Some(h) = block.header.as_ref() else {
            return Ok(Verdict::invalid(Refusal::Malformed, "no header"));
        };
        let mut state = self.lock();
        state.validations += 1;
        let next = state.decided.keys().next_back().copied().unwrap_or(0) + 1;
        if h.height != next {
            return Ok(Verdict::invalid(Refusal::Header, "wrong height"));
        }
        let parent = state
            .decided
            .get(&(next - 1))
            .and_then(|(b, _)| b.header.as_ref());
        if h.parent_hash.as_ref() != parent.map_or([0; 32], babel_proto::block_hash) {
            return Ok(Verdict::invalid(Refusal::Header, "wrong parent"));
        }
        if !self.evil && h.results_root.as_ref() == EVIL_MARKER {
            return Ok(Verdict::invalid(Refusal::Execution, "evil block"));
        }
        Ok(Verdict::valid())
    }

    fn store_proposal(
        &mut self,
        height: Height,
        round: u32,
        block_hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<(), ConsensusError> {
        let proposer = <v1::StoredProposal as prost::Message>::decode(bytes)
            .map(|p| p.proposer.to_vec())
            .unwrap_or_default();
        let mut state = self.lock();
        state.stored_log.push(StoredRecord {
            height: height.0,
            round,
            hash: block_hash,
            proposer,
        });
        state
            .proposals
            .insert((height.0, round, block_hash), bytes.to_vec());
        Ok(())
    }

    fn proposals(&self, height: Height, round: u32) -> Result<StoredProposals, ConsensusError> {
        Ok(self
            .lock()
            .proposals
            .range((height.0, round, [0; 32])..=(height.0, round, [0xff; 32]))
            .map(|((_, _, h), b)| (*h, b.clone()))
            .collect())
    }

    fn proposal_by_hash(
        &self,
        height: Height,
        block_hash: [u8; 32],
    ) -> Result<Option<Vec<u8>>, ConsensusError> {
        Ok(self
            .lock()
            .proposals
            .iter()
            .find(|((h, _, hash), _)| *h == height.0 && *hash == block_hash)
            .map(|(_, b)| b.clone()))
    }

    fn commit(
        &mut self,
        block: v1::Block,
        certificate: v1::CommitCertificate,
    ) -> Result<(), ConsensusError> {
        let height = block.header.as_ref().map_or(0, |h| h.height);
        let mut state = self.lock();
        state.decided.entry(height).or_insert((block, certificate));
        state.proposals.retain(|(h, _, _), _| *h > height);
        Ok(())
    }

    fn decided(
        &self,
        height: Height,
    ) -> Result<Option<(v1::Block, v1::CommitCertificate)>, ConsensusError> {
        Ok(self.lock().decided.get(&height.0).cloned())
    }
}

/// Listen ports for tests come from below the kernel's ephemeral range (32768 and up on
/// Linux): a port the kernel handed out as free is also where it puts the next outgoing
/// connection's source port, so a node started a moment later could find it taken.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port on 127.0.0.1 that was free a moment ago, below the ephemeral range. Each test
/// process starts at its own offset (from its pid) so that parallel tests rarely try the
/// same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let start = std::process::id().wrapping_mul(7_919);
    for _ in 0..span {
        let offset = start.wrapping_add(NEXT.fetch_add(13, Ordering::Relaxed)) % span;
        let port = TEST_PORTS.start + offset as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Deterministic validator secret `i`.
pub fn secret(i: usize) -> [u8; 32] {
    [i as u8 + 1; 32]
}

/// Fast timeouts for loopback tests.
pub fn test_params() -> babel_genesis::ConsensusParams {
    babel_genesis::ConsensusParams {
        timeout_propose_ms: 1_000,
        timeout_prevote_ms: 300,
        timeout_precommit_ms: 300,
        ..Default::default()
    }
}

/// Engine configs for `n` validators peered on loopback, WALs under `dir`.
pub fn net_configs(n: usize, dir: &Path) -> Vec<EngineConfig> {
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let addr = |p: u16| format!("/ip4/127.0.0.1/tcp/{p}");
    let validators = (0..n)
        .map(|i| Validator::new(BabelSigner::new("test", secret(i)).public_key(), 1))
        .collect();
    let vset = ValidatorSet::new(validators).expect("validator set");
    (0..n)
        .map(|i| EngineConfig {
            moniker: format!("test-{}-{i}", ports[0]),
            chain_id: "test".into(),
            params: test_params(),
            validator_set: vset.clone(),
            secret_key: secret(i),
            listen_addr: addr(ports[i]),
            persistent_peers: (0..n).filter(|j| *j != i).map(|j| addr(ports[j])).collect(),
            wal_path: dir.join(format!("node-{i}")).join("consensus.wal"),
            metrics: crate::ConsensusMetrics::default(),
        })
        .collect()
}

/// Poll until `check` holds or `timeout` passes; returns whether it held.
pub async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// Start one validator per (config, app) pair.
pub async fn start_all(cfgs: &[EngineConfig], apps: &[MemApp]) -> Vec<ConsensusHandle> {
    let mut nodes = Vec::new();
    for (cfg, app) in cfgs.iter().zip(apps) {
        nodes.push(start_node(cfg, app.clone()).await);
    }
    nodes
}

/// Stop every validator.
pub async fn stop_all(nodes: impl IntoIterator<Item = ConsensusHandle>) {
    for node in nodes {
        node.stop().await;
    }
}

/// Start one validator with `app`.
pub async fn start_node(cfg: &EngineConfig, app: MemApp) -> ConsensusHandle {
    crate::start(cfg.clone(), app).await.expect("start engine")
}

/// Start one validator with `app` that misbehaves as `byzantine` says when it proposes.
pub async fn start_byzantine<A: Application>(
    cfg: &EngineConfig,
    app: A,
    byzantine: Byzantine,
) -> ConsensusHandle {
    crate::driver::start_with(
        cfg.clone(),
        app,
        crate::driver::Behaviour::Byzantine(byzantine),
    )
    .await
    .expect("start engine")
}

/// A commit certificate for `block_hash` at `height` (round 0), with the precommits of the
/// validators whose secret seeds are `secrets`.
pub fn certificate(
    chain_id: &str,
    height: u64,
    block_hash: [u8; 32],
    secrets: &[[u8; 32]],
) -> v1::CommitCertificate {
    use malachitebft_app_channel::app::types::core::{NilOrVal, Round, VoteType};
    let signatures = secrets
        .iter()
        .map(|secret| {
            let signer = BabelSigner::new(chain_id, *secret);
            let vote = crate::Vote {
                vote_type: VoteType::Precommit,
                height: Height(height),
                round: Round::new(0),
                value: NilOrVal::Val(crate::BlockHash(block_hash)),
                validator: signer.address(),
                extension: None,
            };
            let signature = signer.sign_bytes(&crate::signing::vote_sign_bytes(chain_id, &vote));
            v1::CommitSignature {
                validator: Bytes::copy_from_slice(&signer.address().0),
                signature: Bytes::copy_from_slice(&signature.to_bytes()),
            }
        })
        .collect();
    v1::CommitCertificate {
        height,
        round: 0,
        block_hash: Bytes::copy_from_slice(&block_hash),
        signatures,
    }
}
