//! The driver: starts Malachite and answers every [`AppMsg`] by calling the [`Application`].
//!
//! Every message gets a reply (a missing reply stalls consensus). Proposals are stored before
//! they are acknowledged, and a re-asked (height, round) gets the stored block back, so WAL
//! replay after a crash sees exactly the values it recorded.
//!
//! The driver runs on a thread of its own: building, validating and committing a block
//! execute transactions and fsync, and must not hold up the runtime on which Malachite's
//! actors exchange votes. Receiving proposals (admission, reassembly, verification) is in
//! [`proposals`].

#[cfg(feature = "test-utils")]
mod byzantine;
mod proposals;
#[cfg(test)]
mod test_net;
mod waiting;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    time::{Duration, Instant},
};

use bytes::Bytes;
use malachitebft_app_channel::{
    AppMsg, Channels, ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, NetworkMsg,
    NetworkRequest, RequestContext, SyncContext, WalContext,
    app::{
        config::{ConsensusConfig, NodeConfig, P2pConfig, ValueSyncConfig},
        engine::host::{HeightParams, Next, SyncedValueOutcome},
        types::{
            Keypair, LocallyProposedValue, PeerId, ProposedValue,
            core::{CommitCertificate, Context as _, Height as _, LinearTimeouts, Round, Validity},
            sync::RawDecidedValue,
        },
    },
    start_engine,
};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use babel_proto::v1;

use crate::{
    Address, Application, BabelContext, BabelSigner, BabelVerifier, BlockHash, BlockOrigin,
    ConsensusError, ConsensusMetrics, Height, ProtoCodec, ValidatorSet,
    codec::{certificate_from_proto, certificate_to_proto, extended},
    parts::parts_sign_bytes,
    streaming::{AssembledProposal, PartStreams, stream_messages},
};

/// Most heights served in one sync response.
const MAX_SYNC_HEIGHTS: u64 = 32;
/// Block bytes served in one sync response, below Malachite's 10 MiB response limit (a single
/// block larger than this is still served alone).
const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;
/// How far ahead of the current height proposal parts are accepted (and complete proposals
/// kept until their height starts).
const MAX_HEIGHTS_AHEAD: u64 = 4;
/// How far ahead of the current round (or of round 0, for a later height) proposal parts are
/// accepted. A validator that falls further behind in rounds catches up by round skipping and
/// sync.
const MAX_ROUNDS_AHEAD: u32 = 4;
/// All proposal streams being reassembled may hold at most this many block sizes of data: the
/// current height's proposal and those of the heights ahead.
const STREAM_BUFFER_BLOCKS: usize = MAX_HEIGHTS_AHEAD as usize + 2;

/// How to run consensus for one validator.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Node name for logs and metrics (unique per process).
    pub moniker: String,
    /// The chain id (bound into every signature).
    pub chain_id: String,
    /// Timeouts and block limits from genesis.
    pub params: babel_genesis::ConsensusParams,
    /// The validator set.
    pub validator_set: ValidatorSet,
    /// This validator's ed25519 secret seed.
    pub secret_key: [u8; 32],
    /// libp2p multiaddress to listen on.
    pub listen_addr: String,
    /// Peers to stay connected to.
    pub persistent_peers: Vec<String>,
    /// The consensus WAL file.
    pub wal_path: PathBuf,
    /// Where the driver reports (registered by the caller, or unregistered).
    pub metrics: ConsensusMetrics,
}

#[derive(Clone, Debug)]
struct MalachiteConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for MalachiteConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// A running consensus engine and its driver thread.
pub struct ConsensusHandle {
    engine: EngineHandle,
    /// Requests to the network actor (its state, for the peer count).
    net_requests: mpsc::Sender<NetworkRequest>,
    /// The libp2p peer ids of the other validators.
    validator_peers: std::sync::Arc<std::collections::HashSet<Vec<u8>>>,
    /// Tells the driver to stop after the message it is handling.
    stop: Option<oneshot::Sender<()>>,
    /// The driver's result when its thread ends.
    done: oneshot::Receiver<Result<(), ConsensusError>>,
}

impl std::fmt::Debug for ConsensusHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusHandle").finish_non_exhaustive()
    }
}

impl ConsensusHandle {
    /// Stop the engine and the driver; returns once the driver's thread has let go of the
    /// application.
    pub async fn stop(mut self) {
        self.engine.actor.stop(None);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.engine.handle.await;
        let _ = self.done.await;
    }

    /// A handle that asks the network how many peers it has.
    pub fn peer_count(&self) -> PeerCount {
        PeerCount {
            requests: self.net_requests.clone(),
            validators: self.validator_peers.clone(),
        }
    }

    /// Wait until the driver ends: `Ok` if the engine shut down, `Err` on a fatal error. Cancel
    /// safe, so that a caller may select it against a shutdown signal and then [`Self::stop`];
    /// once it has returned, dropping the handle is enough.
    pub async fn wait(&mut self) -> Result<(), ConsensusError> {
        let result = (&mut self.done)
            .await
            .map_err(|_| ConsensusError::Engine("consensus driver thread died".into()))?;
        self.engine.actor.stop(None);
        result
    }
}

/// Asks a running engine's network how many peers it is connected to.
#[derive(Clone)]
pub struct PeerCount {
    requests: mpsc::Sender<NetworkRequest>,
    /// The libp2p peer ids of the other validators.
    validators: std::sync::Arc<std::collections::HashSet<Vec<u8>>>,
}

impl std::fmt::Debug for PeerCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerCount").finish_non_exhaustive()
    }
}

/// Who a node is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peers {
    /// Every connected libp2p peer (anyone may connect).
    pub connected: usize,
    /// Those of them that are validators of the set (identified by their keys).
    pub validators: usize,
}

/// How long the network has to answer.
const PEERS_TIMEOUT: Duration = Duration::from_secs(1);

impl PeerCount {
    /// The node's peers; `None` if the network does not answer within a second (stopped, or
    /// too busy to take the request).
    pub async fn get(&self) -> Option<Peers> {
        let (tx, rx) = oneshot::channel();
        // Not `NetworkRequest::dump_state`, which logs an error whenever the queue is full.
        self.requests.try_send(NetworkRequest::DumpState(tx)).ok()?;
        let dump = tokio::time::timeout(PEERS_TIMEOUT, rx).await.ok()?.ok()??;
        Some(Peers {
            connected: dump.peers.len(),
            validators: dump
                .peers
                .keys()
                .filter(|id| self.validators.contains(&id.to_bytes()))
                .count(),
        })
    }
}

fn multiaddr(s: &str) -> Result<malachitebft_app_channel::app::net::Multiaddr, ConsensusError> {
    s.parse()
        .map_err(|e| ConsensusError::Engine(format!("bad multiaddress {s:?}: {e}")))
}

/// Start Malachite for one validator and drive it with `app`. Must run inside a tokio
/// multi-thread runtime.
pub async fn start<A: Application>(
    cfg: EngineConfig,
    app: A,
) -> Result<ConsensusHandle, ConsensusError> {
    start_with(cfg, app, Behaviour::Honest).await
}

/// How the driver behaves: honestly, or (in tests of this and downstream crates) as a
/// byzantine validator.
#[derive(Clone, Debug, Default)]
pub(crate) enum Behaviour {
    /// Follow the protocol.
    #[default]
    Honest,
    /// Misbehave as configured.
    #[cfg(feature = "test-utils")]
    Byzantine(crate::test_utils::Byzantine),
}

pub(crate) async fn start_with<A: Application>(
    cfg: EngineConfig,
    app: A,
    behaviour: Behaviour,
) -> Result<ConsensusHandle, ConsensusError> {
    let signer = BabelSigner::new(&cfg.chain_id, cfg.secret_key);
    let address = signer.address();
    if cfg.validator_set.get(&address).is_none() {
        return Err(ConsensusError::InvalidValidatorSet(format!(
            "this node's key ({address}) is not in the validator set"
        )));
    }
    let keypair = Keypair::ed25519_from_bytes(cfg.secret_key)
        .map_err(|e| ConsensusError::Engine(format!("libp2p key: {e}")))?;
    let p2p = P2pConfig {
        listen_addr: multiaddr(&cfg.listen_addr)?,
        persistent_peers: cfg
            .persistent_peers
            .iter()
            .map(|p| multiaddr(p))
            .collect::<Result<_, _>>()?,
        pubsub_max_size: bytesize(cfg.params.max_block_bytes),
        ..Default::default()
    };
    let node_cfg = MalachiteConfig {
        moniker: cfg.moniker.clone(),
        consensus: ConsensusConfig {
            p2p,
            queue_capacity: 100,
            ..Default::default()
        },
        value_sync: ValueSyncConfig {
            status_update_interval: Duration::from_secs(1),
            ..Default::default()
        },
    };
    let identity = NetworkIdentity::new(cfg.moniker.clone(), keypair, Some(address.to_string()));
    let (channels, engine) = start_engine(
        BabelContext,
        node_cfg,
        WalContext::new(cfg.wal_path.clone(), ProtoCodec),
        NetworkContext::new(identity, ProtoCodec),
        ConsensusContext::new_validator(
            address,
            Box::new(BabelVerifier::new(&cfg.chain_id)),
            Box::new(signer.clone()),
        ),
        SyncContext::new(ProtoCodec),
        RequestContext::new(100),
    )
    .await
    .map_err(|e| ConsensusError::Engine(format!("{e:#}")))?;

    let Channels {
        consensus,
        network,
        net_requests,
        ..
    } = channels;
    let max_block_bytes = usize::try_from(cfg.params.max_block_bytes).unwrap_or(usize::MAX);
    let peers = proposals::validator_peers(&cfg.validator_set)?;
    let validator_peers = std::sync::Arc::new(
        peers
            .iter()
            .filter(|(a, _)| **a != address)
            .map(|(_, id)| id.to_bytes())
            .collect(),
    );
    let driver = Driver {
        app,
        signer,
        address,
        height_params: height_params(&cfg),
        peers,
        vset: cfg.validator_set,
        streams: PartStreams::new(
            max_block_bytes,
            max_block_bytes.saturating_mul(STREAM_BUFFER_BLOCKS),
        ),
        pending: BTreeMap::new(),
        height: Height(0),
        round: Round::Nil,
        equivocation_logged: None,
        settled: Default::default(),
        network,
        metrics: cfg.metrics,
        height_started: None,
        empty_block_wait: Duration::from_millis(cfg.params.empty_block_wait_ms),
        synced_up_to: None,
        behaviour,
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConsensusError::Engine(format!("driver runtime: {e}")))?;
    std::thread::Builder::new()
        .name(format!("babel-driver-{}", cfg.moniker))
        .spawn(move || {
            let result = runtime.block_on(driver.run(consensus, stop_rx));
            let _ = done_tx.send(result);
        })
        .map_err(|e| ConsensusError::Engine(format!("driver thread: {e}")))?;
    Ok(ConsensusHandle {
        engine,
        net_requests,
        validator_peers,
        stop: Some(stop_tx),
        done,
    })
}

fn bytesize(bytes: u64) -> bytesize::ByteSize {
    // Room for the parts' framing on top of the block itself.
    bytesize::ByteSize::b(bytes.saturating_add(64 * 1024))
}

fn height_params(cfg: &EngineConfig) -> HeightParams<BabelContext> {
    let p = &cfg.params;
    let timeouts = LinearTimeouts {
        propose: Duration::from_millis(p.timeout_propose_ms),
        prevote: Duration::from_millis(p.timeout_prevote_ms),
        precommit: Duration::from_millis(p.timeout_precommit_ms),
        rebroadcast: Duration::from_millis(
            p.timeout_propose_ms + p.timeout_prevote_ms + p.timeout_precommit_ms,
        ),
        ..Default::default()
    };
    let target = (p.block_interval_ms > 0).then(|| Duration::from_millis(p.block_interval_ms));
    HeightParams::new(cfg.validator_set.clone(), timeouts, target)
}

struct Driver<A> {
    app: A,
    signer: BabelSigner,
    address: Address,
    vset: ValidatorSet,
    /// The libp2p identity of each validator: only a round's proposer may stream its parts.
    peers: HashMap<Address, PeerId>,
    height_params: HeightParams<BabelContext>,
    streams: PartStreams,
    /// Complete, signed proposals for heights after the current one (the first per height and
    /// round), checked against the application when their height starts.
    pending: BTreeMap<(Height, u32), AssembledProposal>,
    /// The height and round consensus is in (from `ConsensusReady` and `StartedRound`).
    height: Height,
    round: Round,
    /// (height, round)s whose proposal stream completed (or was malformed): no further parts
    /// are admitted for them.
    settled: std::collections::HashSet<(Height, u32)>,
    /// The last (height, round) whose proposer was seen equivocating (logged once).
    equivocation_logged: Option<(Height, Round)>,
    network: mpsc::Sender<NetworkMsg<BabelContext>>,
    metrics: ConsensusMetrics,
    /// The height being decided and when this node started it (for the decide latency).
    height_started: Option<(Height, Instant)>,
    /// How long this node, with nothing to include, waits for transactions before it starts
    /// the next height (genesis `empty_block_wait_ms`; zero: never).
    empty_block_wait: Duration,
    /// The highest height handed over by sync: a node deciding heights that way is behind,
    /// and does not wait for transactions between them.
    synced_up_to: Option<Height>,
    #[cfg_attr(not(feature = "test-utils"), allow(dead_code))]
    behaviour: Behaviour,
}

fn decode_stored(bytes: &[u8]) -> Result<v1::StoredProposal, ConsensusError> {
    v1::StoredProposal::decode(bytes)
        .map_err(|e| ConsensusError::Decode(format!("stored proposal: {e}")))
}

fn stored_block(stored: &v1::StoredProposal) -> Result<(&v1::Block, &v1::Header), ConsensusError> {
    let block = stored
        .block
        .as_ref()
        .ok_or_else(|| ConsensusError::Decode("stored proposal without block".into()))?;
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| ConsensusError::Decode("block without header".into()))?;
    Ok((block, header))
}

fn round_u32(round: Round) -> u32 {
    round.as_u32().unwrap_or(0)
}

impl<A: Application> Driver<A> {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<AppMsg<BabelContext>>,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), ConsensusError> {
        loop {
            let msg = tokio::select! {
                msg = rx.recv() => msg,
                _ = &mut stop => None,
            };
            let Some(msg) = msg else { break };
            if let Err(e) = self.handle(msg).await {
                tracing::error!(error = %e, "consensus driver failed");
                return Err(e);
            }
        }
        info!("consensus engine stopped");
        Ok(())
    }

    async fn handle(&mut self, msg: AppMsg<BabelContext>) -> Result<(), ConsensusError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let start = self.app.committed_height()?.0 + 1;
                info!(height = start, "consensus ready");
                self.height = Height(start);
                let _ = reply.send((Height(start), self.height_params.clone()));
            }
            AppMsg::StartedRound {
                height,
                round,
                proposer,
                role,
                reply_value,
            } => {
                debug!(%height, %round, %proposer, ?role, "started round");
                if height != self.height {
                    self.streams.prune_below(height);
                    self.settled.retain(|(h, _)| *h >= height);
                }
                if self.height_started.is_none_or(|(h, _)| h != height) {
                    self.height_started = Some((height, Instant::now()));
                }
                self.metrics.started_round(height, round_u32(round));
                self.height = height;
                self.round = round;
                self.verify_pending(height)?;
                let values = self.stored_values(height, round)?;
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue {
                height,
                round,
                timeout: _,
                reply,
            } => {
                let (hash, block_bytes) = self.own_proposal(height, round)?;
                let _ = reply.send(LocallyProposedValue::new(height, round, hash));
                #[cfg(feature = "test-utils")]
                if let Behaviour::Byzantine(b) = &self.behaviour {
                    let b = b.clone();
                    return self.misbehave(&b, height, round, block_bytes).await;
                }
                self.publish(height, round, Round::Nil, &block_bytes)
                    .await?;
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
            }
            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                address,
                value_id,
            } => {
                self.restream(height, round, valid_round, address, value_id)
                    .await?;
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let min = if self.app.committed_height()?.0 > 0 {
                    Height(1)
                } else {
                    Height(0)
                };
                let _ = reply.send(min);
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                // Gossip messages are signed by their publisher, so `published_by` is
                // authentic; a transport without it delivers straight from the publisher.
                let value = self.on_part(published_by.unwrap_or(from), part)?;
                let _ = reply.send(value);
            }
            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                self.commit(&certificate)?;
                if let Some((h, started)) = self.height_started
                    && h == certificate.height
                {
                    self.metrics.decided(started);
                }
                let _ = reply.send(());
            }
            AppMsg::Finalized {
                certificate, reply, ..
            } => {
                let next = self.next_height(certificate.height).await?;
                let _ = reply.send(next);
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let _ = reply.send(self.decided_values(range.start().0, range.end().0)?);
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                self.synced_up_to = self.synced_up_to.max(Some(height));
                let _ = reply.send(self.synced_value(height, round, proposer, value_bytes)?);
            }
        }
        Ok(())
    }

    /// What follows the finalized height `decided`: the next height, once this node has
    /// transactions for it or has waited long enough for them ([`waiting`]), or the same height
    /// again if its block could not be committed (sync then fetches it).
    async fn next_height(&mut self, decided: Height) -> Result<Next<BabelContext>, ConsensusError> {
        if self.app.committed_height()? < decided {
            warn!(height = %decided, "decided block unavailable; restarting height to sync it");
            return Ok(Next::Restart(decided, self.height_params.clone()));
        }
        // Catching up by sync, the next height is already decided by the others.
        if !self.empty_block_wait.is_zero() && Some(decided) > self.synced_up_to {
            let woken =
                waiting::until_ready(self.app.transactions_ready(), self.empty_block_wait).await;
            debug!(height = %decided.increment(), woken, "waited for transactions");
        }
        Ok(Next::Start(decided.increment(), self.height_params.clone()))
    }

    fn stored_values(
        &self,
        height: Height,
        round: Round,
    ) -> Result<Vec<ProposedValue<BabelContext>>, ConsensusError> {
        let mut out = Vec::new();
        for (hash, bytes) in self.app.proposals(height, round_u32(round))? {
            let stored = decode_stored(&bytes)?;
            let valid_round = crate::codec::round_from_i64(stored.valid_round)?;
            out.push(ProposedValue {
                height,
                round,
                valid_round,
                proposer: Address::from_slice(&stored.proposer)?,
                value: BlockHash(hash),
                validity: Validity::from_bool(stored.valid),
            });
        }
        Ok(out)
    }

    /// Our block for (height, round): the stored one if we already built it, else a new one.
    fn own_proposal(
        &mut self,
        height: Height,
        round: Round,
    ) -> Result<(BlockHash, Bytes), ConsensusError> {
        for (hash, bytes) in self.app.proposals(height, round_u32(round))? {
            let stored = decode_stored(&bytes)?;
            if stored.proposer.as_ref() == self.address.0 {
                let (block, _) = stored_block(&stored)?;
                return Ok((BlockHash(hash), block.encode_to_vec().into()));
            }
        }
        let block = self.app.build_block(height, self.address)?;
        self.metrics.built();
        let header = block
            .header
            .as_ref()
            .ok_or_else(|| ConsensusError::Application("built block has no header".into()))?;
        let hash = babel_proto::block_hash(header);
        let block_bytes: Bytes = block.encode_to_vec().into();
        let stored = v1::StoredProposal {
            block: Some(block),
            valid: true,
            valid_round: -1,
            proposer: Bytes::copy_from_slice(&self.address.0),
        };
        self.app
            .store_proposal(height, round_u32(round), hash, &stored.encode_to_vec())?;
        info!(%height, %round, hash = %BlockHash(hash), "proposing block");
        Ok((BlockHash(hash), block_bytes))
    }

    async fn publish(
        &mut self,
        height: Height,
        round: Round,
        pol_round: Round,
        block_bytes: &Bytes,
    ) -> Result<(), ConsensusError> {
        if self.vset.validators().len() == 1 {
            // A lone validator has nobody to stream to (and libp2p would log every attempt).
            return Ok(());
        }
        let signature =
            self.signer
                .sign_bytes(&parts_sign_bytes(height, round, pol_round, block_bytes));
        for msg in stream_messages(
            height,
            round,
            pol_round,
            self.address,
            block_bytes,
            signature,
        ) {
            self.send_part(msg).await?;
        }
        Ok(())
    }

    async fn send_part(
        &mut self,
        msg: malachitebft_app_channel::app::streaming::StreamMessage<crate::ProposalPart>,
    ) -> Result<(), ConsensusError> {
        self.network
            .send(NetworkMsg::PublishProposalPart(msg))
            .await
            .map_err(|_| ConsensusError::Engine("network channel closed".into()))
    }

    async fn restream(
        &mut self,
        height: Height,
        round: Round,
        valid_round: Round,
        address: Address,
        value_id: BlockHash,
    ) -> Result<(), ConsensusError> {
        if address != self.address {
            debug!(%height, %round, "restream asked for another proposer's value; ignoring");
            return Ok(());
        }
        let Some(bytes) = self.app.proposal_by_hash(height, value_id.0)? else {
            warn!(%height, %round, %value_id, "cannot restream: proposal not stored");
            return Ok(());
        };
        let stored = decode_stored(&bytes)?;
        let (block, _) = stored_block(&stored)?;
        self.publish(height, round, valid_round, &block.encode_to_vec().into())
            .await
    }

    /// Whether `who` is the proposer of some round of `height` up to `round`: a block is built
    /// by the proposer of the round it is first proposed in, and may be re-proposed in a later
    /// round with a proof of lock.
    fn proposer_up_to(&self, height: Height, round: Round, who: &[u8]) -> bool {
        let rounds = round.as_u32().unwrap_or(0);
        // Proposers rotate: after as many rounds as validators, they repeat.
        let n = u32::try_from(self.vset.validators().len()).unwrap_or(u32::MAX);
        (0..=rounds.min(n.saturating_sub(1))).any(|r| {
            // Rounds from `round` downwards: the most likely first.
            let r = Round::new(rounds - r);
            BabelContext
                .select_proposer(&self.vset, height, r)
                .address
                .0
                == who
        })
    }

    fn commit(
        &mut self,
        certificate: &CommitCertificate<BabelContext>,
    ) -> Result<(), ConsensusError> {
        let height = certificate.height;
        let Some(bytes) = self.app.proposal_by_hash(height, certificate.value_id.0)? else {
            warn!(%height, hash = %certificate.value_id, "decided block not stored locally");
            return Ok(());
        };
        let stored = decode_stored(&bytes)?;
        let (block, _) = stored_block(&stored)?;
        if !stored.valid {
            tracing::error!(%height, "a quorum decided a block this node judged invalid: non-deterministic validation?");
        }
        self.app
            .commit(block.clone(), certificate_to_proto(certificate))?;
        info!(%height, hash = %certificate.value_id, round = %certificate.round, "committed block");
        Ok(())
    }

    fn decided_values(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<RawDecidedValue<BabelContext>>, ConsensusError> {
        let to = to.min(from.saturating_add(MAX_SYNC_HEIGHTS - 1));
        let mut out = Vec::new();
        let mut bytes = 0;
        for h in from..=to {
            let Some((block, cert)) = self.app.decided(Height(h))? else {
                break;
            };
            let block_bytes = block.encode_to_vec();
            bytes += block_bytes.len();
            if !out.is_empty() && bytes > MAX_SYNC_BYTES {
                break;
            }
            let cert = certificate_from_proto(&cert)?;
            out.push(RawDecidedValue::new(block_bytes.into(), extended(cert)));
        }
        Ok(out)
    }

    fn synced_value(
        &mut self,
        height: Height,
        round: Round,
        proposer: Address,
        value_bytes: Bytes,
    ) -> Result<SyncedValueOutcome<BabelContext>, ConsensusError> {
        let Ok(block) = v1::Block::decode(value_bytes) else {
            return Ok(SyncedValueOutcome::PeerFault);
        };
        let Some(header) = block.header.as_ref() else {
            return Ok(SyncedValueOutcome::PeerFault);
        };
        if header.height != height.0 {
            return Ok(SyncedValueOutcome::PeerFault);
        }
        let hash = babel_proto::block_hash(header);
        if let Some(bytes) = self.app.proposal_by_hash(height, hash)?
            && decode_stored(&bytes)?.valid
        {
            // Received as a proposal and found valid: no need to execute it again.
            return Ok(SyncedValueOutcome::Verdict(ProposedValue {
                height,
                round,
                valid_round: Round::Nil,
                proposer,
                value: BlockHash(hash),
                validity: Validity::Valid,
            }));
        }
        // The block may be a re-proposal of an earlier round's value, built by that round's
        // proposer.
        let verdict = if !self.proposer_up_to(height, round, &header.proposer) {
            crate::Verdict::invalid(
                crate::Refusal::Proposer,
                "header names a validator that proposed no round up to this",
            )
        } else {
            self.app.validate_block(&block, BlockOrigin::Decided)?
        };
        if !verdict.is_valid() {
            warn!(%height, reason = %verdict.reason(), "synced block is invalid");
        }
        let stored = v1::StoredProposal {
            block: Some(block),
            valid: verdict.is_valid(),
            valid_round: -1,
            proposer: Bytes::copy_from_slice(&proposer.0),
        };
        self.app
            .store_proposal(height, round_u32(round), hash, &stored.encode_to_vec())?;
        Ok(SyncedValueOutcome::Verdict(ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer,
            value: BlockHash(hash),
            validity: Validity::from_bool(verdict.is_valid()),
        }))
    }
}

/// Verify a commit certificate against a validator set: every signature valid, no duplicates or
/// strangers, and more than 2/3 of the voting power.
pub async fn verify_certificate(
    chain_id: &str,
    certificate: &v1::CommitCertificate,
    validator_set: &ValidatorSet,
) -> Result<(), ConsensusError> {
    use malachitebft_app_channel::{VerifierExt as _, app::consensus::ThresholdParams};
    let cert = certificate_from_proto(certificate)?;
    BabelVerifier::new(chain_id)
        .verify_commit_certificate(
            &BabelContext,
            &cert,
            validator_set,
            ThresholdParams::default(),
        )
        .await
        .map_err(|e| ConsensusError::Decode(format!("invalid certificate: {e:?}")))
}
