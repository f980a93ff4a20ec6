//! The gRPC server: `babel.v1.Node`, `grpc.health.v1.Health` and server reflection.
//!
//! Read endpoints are served from the store; `StreamBlocks` replays committed heights and then
//! follows new commits, delivering each height once and in order, so a client that reconnects
//! with `from_height = last + 1` sees every block exactly once. `Call` runs a transaction on a
//! snapshot of the latest state and discards its changes; `GetStateProof` proves a state value
//! (or its absence) against a header's rollup state root. Message sizes, request timeout and
//! concurrent streams are limited by `[grpc]` in `config.toml`. `StreamRollupBatches` follows
//! one rollup's transactions per block the way `StreamBlocks` follows blocks.
//!
//! Server streams are bounded ([`streams`]): at most `[grpc].max_block_streams` are open
//! node-wide, and each buffers at most [`STREAM_BUFFER_BYTES`] of unread responses (or one
//! larger response). For a client that never reads, a stream pins at most about
//! `max(STREAM_BUFFER_BYTES, R) + 3 × R + 0.5 MiB`, where R is the largest response (one block
//! with its certificate): the buffer, the response being produced, and what tonic (one
//! response plus its 32 KiB write batch) and hyper's HTTP/2 stream (its 400 KiB send buffer and
//! one more response) have taken to write.

use std::{pin::Pin, sync::Arc, time::Duration};

use babel_consensus::ValidatorSet;
use babel_genesis::Genesis;
use babel_proto::v1::{self, node_client::NodeClient, node_server::Node};
use futures::Stream;
use tokio::sync::watch;
use tonic::{
    Request, Response, Status,
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};
use tracing::debug;

use crate::{
    config::GrpcConfig,
    health::{Health, max_block_age},
    query::QueryError,
    store::Store,
    txpath::{
        admission::Rejection,
        pool::{Admission, Origin, TxPool},
    },
};

mod layer;
mod proofs;
mod server;
mod streams;

pub use server::serve;
use streams::StreamSlots;

/// Request header marking a submission forwarded by a peer.
const GOSSIP_HEADER: &str = "x-babel-gossip";
/// How long forwarding to one peer may take.
const GOSSIP_TIMEOUT: Duration = Duration::from_secs(2);

/// Most transactions in one `SubmitTransactions` request.
pub const MAX_SUBMIT_BATCH: usize = 1024;

/// Room for a certificate and framing beside the largest block in one response.
const RESPONSE_MARGIN_BYTES: usize = 1024 * 1024;

/// Bytes of unread responses buffered per stream before the server waits for its client.
/// Enough for many small blocks while a client catches up; a larger block goes alone.
pub const STREAM_BUFFER_BYTES: u32 = 1024 * 1024;

/// How often a stream of posted data looks for newly posted blocks between commits.
const POSTED_POLL: Duration = Duration::from_millis(500);

/// The `babel.v1.Node` service.
#[derive(Clone, Debug)]
pub struct NodeService {
    store: Arc<Store>,
    genesis: Arc<Genesis>,
    validators: ValidatorSet,
    txpool: TxPool,
    committed: watch::Receiver<u64>,
    peers: Vec<NodeClient<Channel>>,
    /// Read-only executions (`Call`, `GetStateProof`) running at once, so that queries cannot
    /// take the cores from consensus.
    queries: Arc<tokio::sync::Semaphore>,
    /// Open `StreamBlocks` and `StreamRollupBatches` streams, node-wide.
    streams: StreamSlots,
    /// Readiness, last commit and peers, for `Status`.
    health: Health,
}

/// Most read-only executions running at once: what the WASM engine's preallocated frames
/// leave beside block execution.
const MAX_CONCURRENT_QUERIES: usize = babel_wasm::limits::MAX_PARALLEL_EXECUTIONS as usize - 1;

impl NodeService {
    /// The committed rollup registry.
    fn registry(&self) -> &babel_execution::registry::Registry {
        self.txpool.executor().registry()
    }

    /// A service over `store`; `committed` follows the latest committed height.
    pub fn new(
        store: Arc<Store>,
        genesis: Arc<Genesis>,
        validators: ValidatorSet,
        txpool: TxPool,
        committed: watch::Receiver<u64>,
    ) -> Self {
        Self {
            store,
            validators,
            txpool,
            committed,
            peers: Vec::new(),
            queries: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_QUERIES)),
            streams: StreamSlots::new(GrpcConfig::default().max_block_streams),
            health: Health::new(max_block_age(&genesis.consensus, 0)),
            genesis,
        }
    }

    /// Admit `txs` from a client as `SubmitTransactions` does (forwarded to the gossip peers
    /// before it answers): for the node's other front doors, such as Ethereum JSON-RPC.
    pub async fn submit(
        &self,
        txs: Vec<v1::SignedTransaction>,
    ) -> Vec<v1::SubmitTransactionResponse> {
        self.admit(txs, false).await
    }

    /// The permits of the node's queries (simulations, heavy reads), which every server
    /// shares, so that clients cannot take the cores from consensus.
    pub fn queries(&self) -> Arc<tokio::sync::Semaphore> {
        self.queries.clone()
    }

    /// The largest transaction the chain admits, in bytes.
    pub fn max_tx_bytes(&self) -> usize {
        usize::try_from(self.genesis.consensus.max_tx_bytes).unwrap_or(usize::MAX)
    }

    /// The store it serves.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The transaction pool it admits into (and its executor).
    pub fn txpool(&self) -> &TxPool {
        &self.txpool
    }

    /// Report this node's readiness, last commit and peers (from `health`) in `Status`.
    pub fn with_health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// Serve at most `limit` block and rollup-batch streams at once; more are refused with
    /// `RESOURCE_EXHAUSTED`.
    pub fn with_stream_limit(mut self, limit: usize) -> Self {
        self.streams = StreamSlots::new(limit);
        self
    }

    /// Forward client submissions to these peers (`http://host:port`) before acknowledging.
    pub fn with_gossip_peers(mut self, peers: &[String]) -> anyhow::Result<Self> {
        for peer in peers {
            let endpoint = Endpoint::from_shared(peer.clone())?
                .connect_timeout(GOSSIP_TIMEOUT)
                .timeout(GOSSIP_TIMEOUT);
            self.peers.push(NodeClient::new(endpoint.connect_lazy()));
        }
        Ok(self)
    }

    /// Send accepted transactions to every peer, concurrently; a peer that is down or slow
    /// is skipped (it will get the block).
    async fn gossip(&self, txs: &[v1::SignedTransaction]) {
        if txs.is_empty() {
            return;
        }
        let sends = self.peers.iter().map(|peer| {
            let mut peer = peer.clone();
            let mut request = Request::new(v1::SubmitTransactionsRequest {
                transactions: txs.to_vec(),
            });
            request
                .metadata_mut()
                .insert(GOSSIP_HEADER, MetadataValue::from_static("1"));
            async move {
                if let Err(e) = peer.submit_transactions(request).await {
                    debug!(error = %e, "gossip to a peer failed");
                }
            }
        });
        futures::future::join_all(sends).await;
    }

    /// Admit `txs`; forward what a client gave us (not what a peer forwarded: no loops) before
    /// acknowledging, so an acknowledged transaction is on every reachable validator.
    async fn admit(
        &self,
        txs: Vec<v1::SignedTransaction>,
        gossiped: bool,
    ) -> Vec<v1::SubmitTransactionResponse> {
        // A peer's forward is kept in memory only (the peer holds it on disk). A client that
        // sends the gossip header itself only gives up that durability for its own
        // transactions.
        let origin = if gossiped {
            Origin::Peer
        } else {
            Origin::Client
        };
        let results = self.txpool.submit(txs.clone(), origin).await;
        if !gossiped {
            let accepted: Vec<v1::SignedTransaction> = txs
                .into_iter()
                .zip(&results)
                .filter(|(_, r)| r.is_ok())
                .map(|(t, _)| t)
                .collect();
            self.gossip(&accepted).await;
        }
        results.into_iter().map(response).collect()
    }

    fn block_response(&self, height: u64) -> Result<Option<v1::GetBlockResponse>, Status> {
        let block = self.store.block(height).map_err(internal)?;
        let certificate = self.store.certificate(height).map_err(internal)?;
        Ok(block.map(|block| {
            let hash = block
                .header
                .as_ref()
                .map(babel_proto::block_hash)
                .unwrap_or_default();
            v1::GetBlockResponse {
                block: Some(block),
                certificate,
                hash: hash.to_vec().into(),
            }
        }))
    }

    /// Stream `item(height)` for every committed height from `from` (at least 1), then for
    /// each new commit: every height once, in order. Ends at the first error. Refused with
    /// `RESOURCE_EXHAUSTED` when the node's streams are all taken.
    fn follow<T: prost::Message + 'static>(
        &self,
        from: u64,
        posted: bool,
        item: impl Fn(&Self, u64) -> Result<Option<T>, Status> + Send + 'static,
    ) -> Result<ResponseStream<T>, Status> {
        let slot = self.streams.open()?;
        let (tx, rx) = streams::buffer(slot, STREAM_BUFFER_BYTES);
        let mut next = from.max(1);
        let service = self.clone();
        let mut committed = self.committed.clone();
        tokio::spawn(async move {
            loop {
                // Catch up from the store, then wait for the next commit.
                let through = if posted {
                    service.store.da_posted_through().unwrap_or(0)
                } else {
                    service.latest().unwrap_or(0)
                };
                while next <= through {
                    let answer = match item(&service, next) {
                        Ok(Some(b)) => Ok(b),
                        Ok(None) => Err(Status::internal(format!("block {next} missing"))),
                        Err(e) => Err(e),
                    };
                    let bytes = answer.as_ref().map_or(0, |b| b.encoded_len());
                    let failed = answer.is_err();
                    if tx.send(answer, bytes).await.is_err() || failed {
                        return;
                    }
                    next += 1;
                }
                // A client that left while the chain is idle must not keep this task (and
                // what it holds) until the next commit.
                // Posting follows commits but is not one: look again now and then.
                tokio::select! {
                    changed = committed.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                    () = tokio::time::sleep(POSTED_POLL), if posted => {}
                }
            }
        });
        Ok(Box::pin(rx))
    }

    /// The transactions of `rollup_id` in the block at `height` (possibly none).
    fn rollup_batch(&self, rollup_id: u64, height: u64) -> Result<Option<v1::RollupBatch>, Status> {
        let Some(block) = self.store.block(height).map_err(internal)? else {
            return Ok(None);
        };
        let block_hash = block
            .header
            .as_ref()
            .map(babel_proto::block_hash)
            .unwrap_or_default();
        let txs = block
            .txs
            .into_iter()
            .filter(|t| {
                babel_execution::rollup_of(t, self.txpool.executor().registry()) == Some(rollup_id)
            })
            .collect();
        let da = self.store.da_reference(height).map_err(internal)?;
        Ok(Some(v1::RollupBatch {
            rollup_id,
            height,
            block_hash: block_hash.to_vec().into(),
            txs,
            da,
        }))
    }

    /// Run a read-only execution off the async threads, at most
    /// [`MAX_CONCURRENT_QUERIES`] at once.
    async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, Status> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let service = self.clone();
        let answer = crate::query::blocking(&self.queries, move || work(&service))
            .await
            .map_err(internal)??;
        Ok(Response::new(answer))
    }

    fn latest(&self) -> Result<u64, Status> {
        Ok(self.store.latest_height().map_err(internal)?.unwrap_or(0))
    }
}

fn response(result: Admission) -> v1::SubmitTransactionResponse {
    match result {
        Ok(hash) => v1::SubmitTransactionResponse {
            hash: hash.to_vec().into(),
            accepted: true,
            ..Default::default()
        },
        Err(Rejection { reason, message }) => v1::SubmitTransactionResponse {
            reason: reason as i32,
            message,
            ..Default::default()
        },
    }
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

/// A server stream of `T`s, as tonic's generated service wants it.
type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;
type BlockStream = ResponseStream<v1::GetBlockResponse>;
type BatchStream = ResponseStream<v1::RollupBatch>;

#[tonic::async_trait]
impl Node for NodeService {
    async fn submit_transaction(
        &self,
        request: Request<v1::SubmitTransactionRequest>,
    ) -> Result<Response<v1::SubmitTransactionResponse>, Status> {
        let gossiped = request.metadata().contains_key(GOSSIP_HEADER);
        let Some(signed) = request.into_inner().transaction else {
            return Err(Status::invalid_argument("missing transaction"));
        };
        let mut results = self.admit(vec![signed], gossiped).await;
        results
            .pop()
            .map(Response::new)
            .ok_or_else(|| Status::internal("no admission result"))
    }

    async fn submit_transactions(
        &self,
        request: Request<v1::SubmitTransactionsRequest>,
    ) -> Result<Response<v1::SubmitTransactionsResponse>, Status> {
        let gossiped = request.metadata().contains_key(GOSSIP_HEADER);
        let txs = request.into_inner().transactions;
        if txs.len() > MAX_SUBMIT_BATCH {
            return Err(Status::invalid_argument(format!(
                "{} transactions in one request, limit {MAX_SUBMIT_BATCH}",
                txs.len()
            )));
        }
        let results = self.admit(txs, gossiped).await;
        Ok(Response::new(v1::SubmitTransactionsResponse { results }))
    }

    async fn get_transaction(
        &self,
        request: Request<v1::GetTransactionRequest>,
    ) -> Result<Response<v1::GetTransactionResponse>, Status> {
        let hash: [u8; 32] = request
            .into_inner()
            .hash
            .as_ref()
            .try_into()
            .map_err(|_| Status::invalid_argument("hash must be 32 bytes"))?;
        if let Some(loc) = self.store.tx_location(&hash).map_err(internal)? {
            let block = self.store.block(loc.height).map_err(internal)?;
            let transaction = block.and_then(|b| b.txs.into_iter().nth(loc.index as usize));
            // A committed block is final under BFT consensus: there is no "included but not
            // final" state. Once the block is known to be on the DA layer, it is posted.
            let da = self.store.da_reference(loc.height).map_err(internal)?;
            let status = match da {
                Some(_) => v1::TxStatus::Posted,
                None => v1::TxStatus::Finalized,
            };
            return Ok(Response::new(v1::GetTransactionResponse {
                status: status as i32,
                da,
                height: loc.height,
                index: loc.index,
                transaction,
                receipt: self.store.receipt(&hash).map_err(internal)?,
                ..Default::default()
            }));
        }
        let pool = self.txpool.pool().lock();
        let (status, reason) = if pool.contains(&hash) {
            (v1::TxStatus::Pending, String::new())
        } else if let Some(why) = pool.dropped(&hash) {
            (v1::TxStatus::Dropped, why.to_owned())
        } else {
            (v1::TxStatus::Unknown, String::new())
        };
        Ok(Response::new(v1::GetTransactionResponse {
            status: status as i32,
            reason,
            ..Default::default()
        }))
    }

    async fn get_block(
        &self,
        request: Request<v1::GetBlockRequest>,
    ) -> Result<Response<v1::GetBlockResponse>, Status> {
        let height = request.into_inner().height;
        match self.block_response(height)? {
            Some(b) => Ok(Response::new(b)),
            None => Err(Status::not_found(format!(
                "no block at height {height} (latest is {})",
                self.latest()?
            ))),
        }
    }

    async fn get_latest_block(
        &self,
        _request: Request<v1::GetLatestBlockRequest>,
    ) -> Result<Response<v1::GetBlockResponse>, Status> {
        let latest = self.latest()?;
        self.block_response(latest)?
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no block committed yet"))
    }

    type StreamBlocksStream = BlockStream;

    async fn stream_blocks(
        &self,
        request: Request<v1::StreamBlocksRequest>,
    ) -> Result<Response<BlockStream>, Status> {
        let from = request.into_inner().from_height;
        let stream = self.follow(from, false, |service, height| {
            service.block_response(height)
        })?;
        Ok(Response::new(stream))
    }

    type StreamRollupBatchesStream = BatchStream;

    async fn stream_rollup_batches(
        &self,
        request: Request<v1::StreamRollupBatchesRequest>,
    ) -> Result<Response<BatchStream>, Status> {
        let request = request.into_inner();
        let rollup_id = request.rollup_id;
        // The registry's changes (rollup 0) are posted like any rollup's transactions.
        if rollup_id != babel_genesis::REGISTRY_ROLLUP_ID
            && self.registry().get(rollup_id).is_none()
        {
            return Err(Status::not_found(format!(
                "rollup {rollup_id} does not exist"
            )));
        }
        let posted = request.posted;
        let stream = self.follow(request.from_height, posted, move |service, height| {
            service.rollup_batch(rollup_id, height)
        })?;
        Ok(Response::new(stream))
    }

    async fn call(
        &self,
        request: Request<v1::CallRequest>,
    ) -> Result<Response<v1::CallResponse>, Status> {
        let Some(tx) = request.into_inner().transaction else {
            return Err(Status::invalid_argument("missing transaction"));
        };
        self.query(move |service| {
            let (receipt, height) =
                crate::query::simulate(&service.store, service.txpool.executor(), tx).map_err(
                    |e| match e {
                        QueryError::Invalid(m) => Status::invalid_argument(m),
                        QueryError::NotFound(m) => Status::not_found(m),
                        QueryError::Internal(m) => Status::internal(m),
                    },
                )?;
            Ok(v1::CallResponse {
                receipt: Some(receipt),
                height,
            })
        })
        .await
    }

    async fn get_state_proof(
        &self,
        request: Request<v1::GetStateProofRequest>,
    ) -> Result<Response<v1::GetStateProofResponse>, Status> {
        let request = request.into_inner();
        self.query(move |service| service.prove_state(request))
            .await
    }

    async fn get_transaction_proof(
        &self,
        request: Request<v1::GetTransactionProofRequest>,
    ) -> Result<Response<v1::GetTransactionProofResponse>, Status> {
        let hash = proofs::tx_hash_of(&request.into_inner())?;
        self.query(move |service| service.prove_transaction(&hash))
            .await
    }

    async fn get_receipt_proof(
        &self,
        request: Request<v1::GetTransactionProofRequest>,
    ) -> Result<Response<v1::GetReceiptProofResponse>, Status> {
        let hash = proofs::tx_hash_of(&request.into_inner())?;
        self.query(move |service| service.prove_receipt(&hash))
            .await
    }

    async fn list_rollups(
        &self,
        _request: Request<v1::ListRollupsRequest>,
    ) -> Result<Response<v1::ListRollupsResponse>, Status> {
        // The height first: the registry is at least as new as it.
        let height = self.latest()?;
        Ok(Response::new(v1::ListRollupsResponse {
            height,
            rollups: self.registry().records(),
        }))
    }

    async fn status(
        &self,
        _request: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let height = self.latest()?;
        let (mempool_size, mempool_bytes) = {
            let pool = self.txpool.pool().lock();
            (pool.len(), pool.bytes())
        };
        let readiness = self.health.readiness();
        let last = self.health.last_commit();
        let latest_block_hash = self
            .store
            .block_hash_at(height)
            .map_err(internal)?
            .unwrap_or_default();
        let validators = self
            .validators
            .validators()
            .iter()
            .map(|v| v1::ValidatorInfo {
                address: v.address.0.to_vec().into(),
                public_key: v.public_key.as_bytes().to_vec().into(),
                voting_power: v.voting_power,
            })
            .collect();
        let rollups = self
            .registry()
            .records()
            .into_iter()
            .map(|r| v1::RollupInfo {
                id: r.id,
                name: r.name,
                vm: r.vm,
                namespace: r.namespace,
            })
            .collect();
        Ok(Response::new(v1::StatusResponse {
            chain_id: self.genesis.chain_id.clone(),
            height,
            latest_block_hash: latest_block_hash.to_vec().into(),
            validators,
            rollups,
            mempool_size: mempool_size as u64,
            mempool_bytes: mempool_bytes as u64,
            da_posted_height: self.store.da_posted_through().map_err(internal)?,
            node_version: env!("CARGO_PKG_VERSION").into(),
            peers: self.health.peers(),
            validator_peers: self.health.validator_peers(),
            ready: readiness.is_ready(),
            readiness: readiness.to_string(),
            last_commit_age_ms: last
                .map(|c| u64::try_from(c.at.elapsed().as_millis()).unwrap_or(u64::MAX)),
            last_block_time_ms: last.map_or(0, |c| c.block_time_ms),
        }))
    }
}
