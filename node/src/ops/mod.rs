//! The operator's HTTP server, on `[ops].listen_addr`:
//!
//! - `GET /metrics`: the node's metrics (`babel_*`) in the OpenMetrics text format;
//! - `GET /metrics/engine`: the consensus engine's own (Malachite's `malachitebft_*`:
//!   consensus steps, libp2p networking, sync), as the engine encodes them. They are apart
//!   because libp2p's gossipsub score histograms have negative buckets with a sum, which
//!   strict OpenMetrics parsers refuse;
//! - `GET /health/live`: 200 while the process serves requests;
//! - `GET /health/ready`: 200 when the node is caught up and committing ([`crate::health`]),
//!   503 with the reason otherwise.
//!
//! It serves only these routes and reads nothing from the request but its path, so a caller
//! can make it do no more work than encoding the metrics.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tokio::net::TcpListener;

use crate::{health::Health, metrics::Metrics, txpath::SharedPool};

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the handlers read.
#[derive(Clone, Debug)]
pub struct OpsState {
    /// The node's metrics.
    pub metrics: Metrics,
    /// Its health.
    pub health: Health,
    /// Its mempool (sized at each scrape).
    pub pool: SharedPool,
}

impl OpsState {
    /// Bring the gauges that are read rather than pushed up to date.
    fn refresh(&self) {
        let (txs, bytes) = {
            let pool = self.pool.lock();
            (pool.len(), pool.bytes())
        };
        self.metrics.mempool(txs, bytes);
        self.metrics.ready(self.health.readiness().is_ready());
        if let Some(peers) = self.health.peers() {
            self.metrics
                .peers(usize::try_from(peers).unwrap_or(usize::MAX));
        }
    }
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    state.refresh();
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        state.metrics.encode(),
    )
}

async fn engine_metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        babel_consensus::engine_metrics(),
    )
}

async fn live() -> &'static str {
    "live\n"
}

async fn ready(State(state): State<OpsState>) -> (StatusCode, String) {
    let readiness = state.health.readiness();
    let code = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, format!("{readiness}\n"))
}

/// The routes.
pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/metrics/engine", get(engine_metrics))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(state)
}

/// Bind `addr` (an error here is fatal: the operator asked for this address).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for metrics and health: {e}"))
}

/// Serve on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("metrics and health server: {e}"))
}

/// Keep `health`'s peer count current: ask the network every `every`.
pub async fn track_peers(peers: babel_consensus::PeerCount, health: Health, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        health.set_peers(peers.get().await);
    }
}
