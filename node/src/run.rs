//! `babel start`: load a home directory and run the validator.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use babel_consensus::{ConsensusHandle, EngineConfig, ValidatorSet};
use babel_genesis::Genesis;
use tracing::info;

use babel_execution::registry::Registry;

use crate::{
    app::{NodeApp, ensure_genesis_state, load_registry, restore_kept},
    config::Config,
    da::{DaLink, poster::Poster},
    grpc::NodeService,
    health::{Health, max_block_age},
    home::Home,
    keys, logging,
    metrics::{Metrics, TimedAdapter},
    ops::{self, OpsState},
    params::{CairoClasses, Code, executor_with},
    store::Store,
    txpath::{
        SharedPool, TxPool,
        mempool::{Mempool, PoolLimits},
        sigverify::SigVerifier,
    },
};

/// Everything loaded from a home directory that a running node needs.
#[derive(Debug)]
pub struct Loaded {
    /// The node's configuration.
    pub config: Config,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// The validator's signing key.
    pub key: ed25519_dalek::SigningKey,
    /// The opened database, bound to this genesis.
    pub store: Store,
}

/// Load config, genesis and key, and open the store (refusing a store of another chain).
pub fn load(home: &Home) -> anyhow::Result<Loaded> {
    let config = Config::load(&home.config())?;
    let genesis = Genesis::load(&home.genesis())?;
    let key = keys::read_key(&home.validator_key())?;
    let store = Store::open(&home.store())
        .with_context(|| format!("opening {}", home.store().display()))?;
    store.check_genesis(genesis.hash())?;
    Ok(Loaded {
        config,
        genesis,
        key,
        store,
    })
}

/// The consensus engine configuration for a loaded home.
pub fn engine_config(home: &Home, loaded: &Loaded) -> anyhow::Result<EngineConfig> {
    Ok(EngineConfig {
        moniker: loaded.config.moniker.clone(),
        chain_id: loaded.genesis.chain_id.clone(),
        params: loaded.genesis.consensus.clone(),
        validator_set: ValidatorSet::from_genesis(&loaded.genesis)?,
        secret_key: loaded.key.to_bytes(),
        listen_addr: loaded.config.p2p.listen_addr.clone(),
        persistent_peers: loaded.config.p2p.persistent_peers.clone(),
        wal_path: home.wal().join("consensus.wal"),
        metrics: Default::default(),
    })
}

/// A running validator: consensus engine, store, and what the servers need.
#[derive(Debug)]
pub struct Running {
    /// The consensus engine.
    pub consensus: ConsensusHandle,
    /// The store.
    pub store: Arc<Store>,
    /// The gRPC service over the store.
    pub service: NodeService,
    /// What the operator's server reads.
    pub ops: OpsState,
    /// Posts decided blocks to the DA layer (run it: [`Poster::run`]).
    pub poster: Poster,
    /// Committed heights, as they commit.
    pub committed: tokio::sync::watch::Receiver<u64>,
}

/// Start consensus for a loaded home.
pub async fn launch(home: &Home, loaded: Loaded) -> anyhow::Result<Running> {
    let metrics = Metrics::new();
    let health = Health::new(max_block_age(
        &loaded.genesis.consensus,
        loaded.config.ops.max_block_age_ms,
    ));
    let mut cfg = engine_config(home, &loaded)?;
    cfg.metrics = metrics.consensus.clone();
    let store = Arc::new(loaded.store);
    let height = store.latest_height()?.unwrap_or(0);
    if let Some(header) = store.block(height)?.and_then(|b| b.header) {
        metrics.restored(height, header.time_ms);
    }
    let (committed_tx, committed_rx) = tokio::sync::watch::channel(height);
    // The executors and the DA link follow the one registry blocks update.
    let registry = Arc::new(Registry::from_genesis(&loaded.genesis));
    let da = Arc::new(
        DaLink::open(&loaded.config.da, &home.local_da(), &loaded.genesis)
            .await?
            .following(registry.clone()),
    );
    let backend = loaded.config.da.backend.name();
    if store.bind_da_backend(backend)? {
        tracing::warn!(
            backend,
            "the DA backend changed: records of posts on the previous one are dropped"
        );
    }
    let me = babel_consensus::Address(keys::address_of(&loaded.key.verifying_key()));
    let genesis = Arc::new(loaded.genesis);
    let pool = SharedPool::new(Mempool::new(PoolLimits {
        max_txs: loaded.config.mempool.max_txs,
        max_bytes: loaded.config.mempool.max_bytes,
    }));
    // Blocks run on adapters that time each VM's frames; admission and clients' read-only
    // calls on plain ones, so that a client cannot move the VM metrics.
    let code_dir = home.wasm_code();
    let cairo = CairoClasses::default();
    let vm_metrics = metrics.clone();
    let executor = Arc::new(executor_with(
        &genesis,
        Code::Blocks {
            wasm: code_dir.clone(),
            cairo: cairo.clone(),
        },
        move |adapter| Arc::new(TimedAdapter::new(adapter, vm_metrics.clone())),
        registry.clone(),
    )?);
    // Clients' calls may deploy (to estimate gas): what they compile stays in memory.
    let query_executor = Arc::new(
        executor_with(
            &genesis,
            Code::Queries {
                wasm: code_dir,
                cairo,
            },
            |adapter| adapter,
            registry,
        )?
        .sharing_signers(&executor),
    );
    ensure_genesis_state(&store, &executor, &genesis).context("writing the genesis state")?;
    load_registry(&store, &executor).context("reading the rollup registry")?;
    restore_kept(&store, &executor).context("restoring compiled WASM code")?;
    let txpool = TxPool::new(
        pool.clone(),
        store.clone(),
        genesis.clone(),
        query_executor,
        SigVerifier::start(metrics.clone()).context("starting the signature verifier")?,
    )
    .observe(metrics.clone());
    let app = NodeApp::new(
        store.clone(),
        genesis.clone(),
        cfg.validator_set.clone(),
        pool.clone(),
        executor,
    )
    .context("the genesis validators")?
    .notify_commits(committed_tx)
    .observe(metrics.clone(), health.clone())
    .with_da(da.clone());
    // Before the mempool is restored, so that what these heights include leaves it.
    app.replay_decided()
        .context("replaying decided heights after a crash")?;
    // Before consensus starts, so that restored transactions can go in the next block.
    txpool.restore().await?;
    let poster = Poster::new(
        da,
        store.clone(),
        cfg.validator_set.clone(),
        me,
        metrics.clone(),
    );
    let service = NodeService::new(
        store.clone(),
        genesis,
        cfg.validator_set.clone(),
        txpool,
        committed_rx.clone(),
    )
    .with_gossip_peers(&loaded.config.mempool.gossip_peers)?
    .with_health(health.clone());
    info!(
        moniker = %cfg.moniker,
        chain = %cfg.chain_id,
        committed_height = store.latest_height()?.unwrap_or(0),
        p2p = %cfg.listen_addr,
        "starting validator"
    );
    let consensus = babel_consensus::start(cfg, app).await?;
    Ok(Running {
        consensus,
        store,
        service,
        ops: OpsState {
            metrics,
            health,
            pool,
        },
        poster,
        committed: committed_rx,
    })
}

/// How often the peer count is asked of the network.
const PEERS_EVERY: Duration = Duration::from_secs(2);

/// Run the validator until interrupted (SIGINT or SIGTERM) or until consensus fails.
pub fn start(home: &Home) -> anyhow::Result<()> {
    let loaded = load(home)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Inside the runtime: the trace exporter, when configured, needs it.
    let _logging = {
        let _entered = runtime.enter();
        logging::init(&loaded.config.log)?
    };
    runtime.block_on(async {
        let grpc = loaded.config.grpc.clone();
        let jsonrpc_config = loaded.config.jsonrpc.clone();
        let ops_addr = loaded.config.ops.listen_addr;
        let ops_listener = ops::bind(ops_addr).await?;
        let Running {
            mut consensus,
            store,
            service,
            ops,
            poster,
            committed,
        } = launch(home, loaded).await?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        info!(addr = %grpc.listen_addr, "serving gRPC");
        info!(addr = %ops_addr, "serving metrics and health");
        let peers = tokio::spawn(ops::track_peers(
            consensus.peer_count(),
            ops.health.clone(),
            PEERS_EVERY,
        ));
        let (metrics, health) = (ops.metrics.clone(), ops.health.clone());
        let grpc_stop = stopped(stop_rx.clone());
        let jsonrpc_service = service.clone();
        let grpc_server = tokio::spawn(async move {
            crate::grpc::serve(&grpc, service, metrics, health, grpc_stop).await
        });
        let jsonrpc = crate::jsonrpc::serve(&jsonrpc_config, &jsonrpc_service).await?;
        let poster = tokio::spawn(poster.run(committed, stop_rx.clone()));
        let ops_server = tokio::spawn(ops::serve(ops_listener, ops, stopped(stop_rx)));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut consensus_ended = false;
        let result = tokio::select! {
            _ = tokio::signal::ctrl_c() => { info!("interrupted; shutting down"); Ok(()) }
            _ = term.recv() => { info!("terminated; shutting down"); Ok(()) }
            result = consensus.wait() => {
                consensus_ended = true;
                result.map_err(anyhow::Error::from)
            }
            result = grpc_server => server_ended("gRPC", result),
            result = ops_server => server_ended("metrics and health", result),
            result = poster => match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::Error::from(e).context("DA poster failed")),
                Err(e) => Err(anyhow::anyhow!("DA poster task: {e}")),
            },
        };
        let _ = stop_tx.send(true);
        peers.abort();
        for endpoint in jsonrpc {
            let _ = endpoint.handle.stop();
        }
        // The driver finishes the message it is handling (a commit, say) and lets go of the
        // store, so that the flush below holds every commit.
        if !consensus_ended {
            consensus.stop().await;
        }
        // Every commit is already durable (its synced certificate); flushing spares the next
        // start-up the replay of what is only in memtables.
        store.flush()?;
        result
    })
}

/// A server task that ended: an error if it failed, or if it stopped on its own.
fn server_ended(
    name: &str,
    result: Result<anyhow::Result<()>, tokio::task::JoinError>,
) -> anyhow::Result<()> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.context(format!("{name} server failed"))),
        Err(e) => Err(anyhow::anyhow!("{name} server task: {e}")),
    }
}
