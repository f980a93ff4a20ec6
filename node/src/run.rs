//! `babel start`: load a home directory and run the validator.

use std::sync::Arc;

use anyhow::Context as _;
use babel_consensus::{ConsensusHandle, EngineConfig, ValidatorSet};
use babel_genesis::Genesis;
use tracing::info;

use crate::{
    app::NodeApp,
    config::{Config, LogConfig, LogFormat},
    home::Home,
    keys,
    store::Store,
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

/// Start consensus for a loaded home; returns the running engine.
pub async fn launch(home: &Home, loaded: Loaded) -> anyhow::Result<(ConsensusHandle, Arc<Store>)> {
    let cfg = engine_config(home, &loaded)?;
    let store = Arc::new(loaded.store);
    let app = NodeApp::new(
        store.clone(),
        cfg.chain_id.clone(),
        cfg.validator_set.clone(),
    );
    let height = store.latest_height()?.unwrap_or(0);
    info!(
        moniker = %cfg.moniker,
        chain = %cfg.chain_id,
        committed_height = height,
        p2p = %cfg.listen_addr,
        "starting validator"
    );
    let handle = babel_consensus::start(cfg, app).await?;
    Ok((handle, store))
}

/// Run the validator until interrupted (SIGINT or SIGTERM) or until consensus fails.
pub fn start(home: &Home) -> anyhow::Result<()> {
    let loaded = load(home)?;
    init_logging(&loaded.config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (handle, store) = launch(home, loaded).await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => info!("interrupted; shutting down"),
            _ = term.recv() => info!("terminated; shutting down"),
            result = handle.wait() => {
                store.flush()?;
                return result.map_err(anyhow::Error::from);
            }
        }
        // Every commit is already durable (one synced WriteBatch); flushing only shortens the
        // next start-up.
        store.flush()?;
        Ok(())
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
