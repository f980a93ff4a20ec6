//! `babel start`: load a home directory and run the validator.

use std::sync::Arc;

use anyhow::Context as _;
use babel_consensus::{ConsensusHandle, EngineConfig, ValidatorSet};
use babel_genesis::Genesis;
use tracing::info;

use crate::{
    app::{NodeApp, ensure_genesis_state, executor_for},
    config::{Config, LogConfig, LogFormat},
    home::Home,
    keys,
    mempool::{Mempool, PoolLimits},
    rpc::NodeService,
    sigverify::SigVerifier,
    store::Store,
    txpool::{SharedPool, TxPool},
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
    })
}

/// A running validator: consensus engine, store, and what the gRPC server needs.
#[derive(Debug)]
pub struct Running {
    /// The consensus engine.
    pub consensus: ConsensusHandle,
    /// The store.
    pub store: Arc<Store>,
    /// The gRPC service over the store.
    pub service: NodeService,
}

/// Start consensus for a loaded home.
pub async fn launch(home: &Home, loaded: Loaded) -> anyhow::Result<Running> {
    let cfg = engine_config(home, &loaded)?;
    let store = Arc::new(loaded.store);
    let height = store.latest_height()?.unwrap_or(0);
    let (committed_tx, committed_rx) = tokio::sync::watch::channel(height);
    let genesis = Arc::new(loaded.genesis);
    let pool = SharedPool::new(Mempool::new(PoolLimits {
        max_txs: loaded.config.mempool.max_txs,
        max_bytes: loaded.config.mempool.max_bytes,
    }));
    let executor = Arc::new(executor_for(&genesis));
    ensure_genesis_state(&store, &executor, &genesis).context("writing the genesis state")?;
    let txpool = TxPool::new(
        pool.clone(),
        store.clone(),
        genesis.clone(),
        executor.clone(),
        SigVerifier::start().context("starting the signature verifier")?,
    );
    // Before consensus starts, so that restored transactions can go in the next block.
    txpool.restore().await?;
    let app = NodeApp::new(
        store.clone(),
        genesis.clone(),
        cfg.validator_set.clone(),
        pool,
        executor,
    )
    .notify_commits(committed_tx);
    let service = NodeService::new(
        store.clone(),
        genesis,
        cfg.validator_set.clone(),
        txpool,
        committed_rx,
    )
    .with_gossip_peers(&loaded.config.mempool.gossip_peers)?;
    info!(
        moniker = %cfg.moniker,
        chain = %cfg.chain_id,
        committed_height = height,
        p2p = %cfg.listen_addr,
        "starting validator"
    );
    let consensus = babel_consensus::start(cfg, app).await?;
    Ok(Running {
        consensus,
        store,
        service,
    })
}

/// Run the validator until interrupted (SIGINT or SIGTERM) or until consensus fails.
pub fn start(home: &Home) -> anyhow::Result<()> {
    let loaded = load(home)?;
    init_logging(&loaded.config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let grpc = loaded.config.grpc.clone();
        let Running {
            consensus,
            store,
            service,
        } = launch(home, loaded).await?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        info!(addr = %grpc.listen_addr, "serving gRPC");
        let server = tokio::spawn(async move {
            crate::rpc::serve(&grpc, service, async {
                let _ = stop_rx.await;
            })
            .await
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let result = tokio::select! {
            _ = tokio::signal::ctrl_c() => { info!("interrupted; shutting down"); Ok(()) }
            _ = term.recv() => { info!("terminated; shutting down"); Ok(()) }
            result = consensus.wait() => result.map_err(anyhow::Error::from),
            result = server => match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.context("gRPC server failed")),
                Err(e) => Err(anyhow::anyhow!("gRPC server task: {e}")),
            },
        };
        let _ = stop_tx.send(());
        // Every commit is already durable (one synced WriteBatch); flushing only shortens the
        // next start-up.
        store.flush()?;
        result
    })
}

/// Install the global tracing subscriber (`RUST_LOG` overrides the configured filter).
pub fn init_logging(cfg: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
