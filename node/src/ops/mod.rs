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
//! It serves only these routes and reads nothing of a request but its head. Each request is
//! cheap (`/metrics` encodes the registry and reads the mempool's size under its lock). The
//! server holds at most [`OpsLimits::connections`] connections (more are closed at once), each
//! must send a request head within [`OpsLimits::header_timeout`], and none lives longer than
//! [`OpsLimits::lifetime`]: a client that stalls costs one slot for a bounded time, never the
//! process's file descriptors. The port is for the operator's monitoring; keep it private.

use std::{future::Future, net::SocketAddr, pin::pin, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tracing::{debug, warn};

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
        if let (Some(connected), Some(validators)) =
            (self.health.peers(), self.health.validator_peers())
        {
            self.metrics.peers(connected, validators);
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

/// Bounds on what clients of the server may hold.
#[derive(Clone, Copy, Debug)]
pub struct OpsLimits {
    /// Connections open at once; more are closed as soon as they are accepted.
    pub connections: usize,
    /// Time to send a request head (on a new connection, and between keep-alive requests).
    pub header_timeout: Duration,
    /// Longest a connection may stay open, whatever it does.
    pub lifetime: Duration,
}

impl Default for OpsLimits {
    fn default() -> Self {
        Self {
            connections: 64,
            header_timeout: Duration::from_secs(5),
            lifetime: Duration::from_secs(60),
        }
    }
}

/// Serve on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, state, OpsLimits::default(), shutdown).await;
    Ok(())
}

/// [`serve`] within `limits`.
pub async fn serve_with(
    listener: TcpListener,
    state: OpsState,
    limits: OpsLimits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router(state);
    let slots = Arc::new(Semaphore::new(limits.connections));
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // transient, and not the server's end.
                    warn!(error = %e, "metrics and health server cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "metrics and health server full; connection closed");
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.lifetime, connection).await;
            drop(slot);
        });
    }
}

/// `GET path` from the operator server at `addr`: the status code and the body. A minimal
/// blocking HTTP/1.1 client (`Connection: close`) for `babel bench` and tests, enough for
/// this server's answers; it waits at most 2 s to connect and 10 s to read.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Error, ErrorKind, Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let malformed = || Error::new(ErrorKind::InvalidData, "malformed HTTP response");
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(malformed)?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(malformed)?;
    Ok((code, body.to_owned()))
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::txpath::mempool::{Mempool, PoolLimits};

    /// What the server sends on `stream` until it closes it (`None`: still open after 5 s).
    async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got));
        match read.await {
            Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
            Err(_) => None,
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> Option<String> {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        read_until_closed(&mut stream).await
    }

    #[tokio::test]
    async fn stalled_clients_hold_a_bounded_number_of_slots_for_a_bounded_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = OpsState {
            metrics: Metrics::new(),
            health: Health::new(Duration::from_secs(10)),
            pool: SharedPool::new(Mempool::new(PoolLimits {
                max_txs: 10,
                max_bytes: 1 << 20,
            })),
        };
        let limits = OpsLimits {
            connections: 4,
            header_timeout: Duration::from_millis(300),
            lifetime: Duration::from_secs(30),
        };
        tokio::spawn(serve_with(listener, state, limits, std::future::pending()));
        assert!(get(addr, "/health/live").await.unwrap().contains("200 OK"));
        let ready = get(addr, "/health/ready").await.unwrap();
        assert!(
            ready.contains("503") && ready.contains("starting"),
            "{ready}"
        );
        assert!(
            get(addr, "/metrics")
                .await
                .unwrap()
                .contains("babel_height 0")
        );

        // Four clients that never finish their request head take every slot ...
        let mut stalled = Vec::new();
        for _ in 0..4 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            stalled.push(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ... so a fifth connection is closed at once, unanswered ...
        assert_eq!(get(addr, "/health/live").await.as_deref(), Some(""));
        // ... until the header timeout closes the stalled ones.
        for s in &mut stalled {
            let answer = read_until_closed(s).await;
            assert!(answer.is_some(), "a stalled client was never disconnected");
        }
        assert!(get(addr, "/health/live").await.unwrap().contains("200 OK"));
    }
}
