//! The node's data-availability room: every decided block goes to the DA layer, and later
//! headers say where earlier blocks went.
//!
//! - [`poster`]: posts decided blocks (on a shared DA the proposer of a block posts it, and the
//!   other validators stand in, one after another, when it does not), retrying with backoff,
//!   and records where each went;
//! - [`follower`]: reads the chain's sequencer namespace, checks the posts it finds against the
//!   committed chain and records them, so that a post survives a crash between submitting and
//!   recording and nobody posts a block twice;
//! - [`refs`]: which references a proposer puts in a header, and how a validator checks them;
//! - [`verify`]: checking one post (header blob and the rollup blobs it lists), which
//!   `babel replay` also uses to rebuild every rollup's state from the DA alone.
//!
//! A DA outage delays posting and references, never consensus.

pub mod follower;
pub mod poster;
pub mod refs;
pub mod verify;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use babel_consensus::{ConsensusError, ValidatorSet};
use babel_da::{
    DataAvailability, Namespace, celestia::CelestiaDa, layout::Namespaces, local::LocalDa,
};
use babel_execution::registry::Registry;
use babel_genesis::{Genesis, REGISTRY_ROLLUP_ID};
use babel_proto::v1;

use crate::config::{DaBackend, DaConfig};

/// The DA layer a node posts to, with what posting and reading need to know of the chain.
pub struct DaLink {
    da: Arc<dyn DataAvailability>,
    shared: bool,
    chain_id: String,
    sequencer: Namespace,
    /// The committed rollup registry: each rollup's namespace.
    registry: Arc<Registry>,
    /// Most transactions a block may hold: a bound on what a header blob may claim.
    max_txs: usize,
    /// Whose commit certificates make a header blob a block of the chain.
    validators: ValidatorSet,
    /// Whether the DA answered lately, and since when without a failure.
    reach: Reach,
    /// The runtime that DA calls run on (validators' checks call from the consensus thread).
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for DaLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaLink")
            .field("shared", &self.shared)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl DaLink {
    /// A link to `da` for the chain of `genesis`. `shared`: other validators post to and read
    /// from the same DA (headers then carry references); otherwise the DA is this node's own.
    /// Must be called within the node's runtime. Fails only for a genesis whose validator set
    /// is invalid.
    pub fn new(
        da: Arc<dyn DataAvailability>,
        shared: bool,
        genesis: &Genesis,
    ) -> Result<Self, ConsensusError> {
        Ok(Self {
            da,
            shared,
            chain_id: genesis.chain_id.clone(),
            sequencer: namespace(genesis.effective_sequencer_namespace()),
            registry: Arc::new(Registry::from_genesis(genesis)),
            max_txs: usize::try_from(genesis.consensus.max_block_txs).unwrap_or(usize::MAX),
            validators: ValidatorSet::from_genesis(genesis)?,
            reach: Reach::default(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// The link a node's config asks for: its embedded DA under `local_dir`, or a
    /// celestia-node endpoint. Must be called within the node's runtime.
    pub async fn open(
        config: &DaConfig,
        local_dir: &std::path::Path,
        genesis: &Genesis,
    ) -> anyhow::Result<Self> {
        let (da, shared): (Arc<dyn DataAvailability>, bool) = match config.backend {
            DaBackend::Local => {
                let da = LocalDa::open(local_dir)
                    .with_context(|| format!("opening the local DA {}", local_dir.display()))?;
                (Arc::new(da), false)
            }
            DaBackend::Celestia => {
                let token = (!config.auth_token.is_empty()).then_some(config.auth_token.as_str());
                let da = CelestiaDa::new(&config.url, token)
                    .await
                    .context("DA endpoint in config.toml [da]")?;
                (Arc::new(da), true)
            }
        };
        Ok(Self::new(da, shared, genesis)?)
    }

    /// The DA layer.
    pub fn da(&self) -> &dyn DataAvailability {
        &*self.da
    }

    /// Whether other validators share this DA (and headers carry references).
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// Follow `registry` (the one a node's blocks update) for the rollups' namespaces,
    /// instead of the genesis's.
    pub fn following(mut self, registry: Arc<Registry>) -> Self {
        self.registry = registry;
        self
    }

    /// The registry it follows.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The chain's namespaces: the sequencer's, the registry's and every registered
    /// rollup's.
    pub fn namespaces(&self) -> Namespaces {
        let mut rollups: BTreeMap<u64, Namespace> = self
            .registry
            .records()
            .iter()
            .filter_map(|r| {
                let id: [u8; babel_genesis::NAMESPACE_ID_LEN] =
                    r.namespace.as_ref().try_into().ok()?;
                Some((r.id, namespace(babel_genesis::Namespace(id))))
            })
            .collect();
        rollups.insert(
            REGISTRY_ROLLUP_ID,
            namespace(babel_genesis::Namespace::for_rollup(REGISTRY_ROLLUP_ID)),
        );
        Namespaces {
            sequencer: self.sequencer,
            rollups,
        }
    }

    /// Note that a DA call succeeded or failed.
    pub(crate) fn reached(&self, ok: bool) {
        self.reach.note(ok);
    }

    /// Run the future `f` makes on the node's runtime and wait for it, at most `timeout`
    /// (`None` then). For callers outside the runtime, such as the consensus thread.
    pub(crate) fn block_on<T, F>(
        self: &Arc<Self>,
        timeout: Duration,
        f: impl FnOnce(Arc<DaLink>) -> F,
    ) -> Option<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let future = f(self.clone());
        self.runtime.spawn(async move {
            if let Ok(out) = tokio::time::timeout(timeout, future).await {
                let _ = tx.send(out);
            }
        });
        rx.recv_timeout(timeout + Duration::from_millis(100)).ok()
    }

    /// How long the DA has answered every call (zero while it fails).
    pub(crate) fn reachable_for(&self) -> Duration {
        self.reach.since()
    }
}

/// Since when the DA has answered without a failure.
#[derive(Debug, Default)]
struct Reach {
    ok_since: Mutex<Option<Instant>>,
}

impl Reach {
    fn note(&self, ok: bool) {
        let mut since = self.ok_since.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            since.get_or_insert_with(Instant::now);
        } else {
            *since = None;
        }
    }

    fn since(&self) -> Duration {
        self.ok_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// A namespace the genesis or the registry holds: both refuse those Celestia reserves.
fn namespace(n: babel_genesis::Namespace) -> Namespace {
    Namespace::new_v0(&n.0).unwrap_or(Namespace::PARITY_SHARE)
}

/// A committed block's transactions, each with its rollup id (`registry` names the EVM
/// rollup of an Ethereum transaction).
pub fn with_rollups(
    txs: &[v1::SignedTransaction],
    registry: &Registry,
) -> Vec<(u64, v1::SignedTransaction)> {
    txs.iter()
        .map(|tx| {
            // Only transactions that open are committed.
            let rollup = babel_execution::rollup_of(tx, registry).unwrap_or(0);
            (rollup, tx.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests;
