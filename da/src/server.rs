//! `babel da serve`: a [`LocalDa`] behind the celestia-node JSON-RPC API (the `blob` and
//! `header` methods), so that several validators share one DA and the Celestia backend is
//! tested against the real protocol.
//!
//! The methods are celestia-rpc's own server traits (`BlobRpcServer`, `HeaderRpcServer`), so
//! names, positional parameters and result encodings are exactly what celestia-node clients
//! send and expect: `blob.GetAll` answers `null` when nothing matches, errors are JSON-RPC
//! error objects in an HTTP 200. Requests carry `Authorization: Bearer <token>` when the
//! server has a token; other requests get HTTP 401. Bodies are limited to 16 MiB, as
//! celestia-node limits them. Subscriptions are not served (HTTP clients poll instead).

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use celestia_rpc::{BlobRpcServer, HeaderRpcServer, TxConfig};
use celestia_types::{
    Blob, Commitment, ExtendedHeader, SyncState,
    hash::Hash,
    nmt::{Namespace, NamespaceProof},
};
use jsonrpsee::{
    RpcModule,
    core::{BoxError, RpcResult},
    server::{BatchRequestConfig, HttpBody, HttpResponse, Server, ServerConfig, ServerHandle},
    types::ErrorObjectOwned,
};
use subtle::ConstantTimeEq;

use crate::{DaError, local::LocalDa};

/// Largest request body: celestia-node's (twice its 8 MiB transaction limit).
pub const MAX_REQUEST_BYTES: u32 = 16 * 1024 * 1024;
/// Largest response body: a full square's blobs in base64, with room to spare.
pub const MAX_RESPONSE_BYTES: u32 = 32 * 1024 * 1024;
/// Most open connections.
pub const MAX_CONNECTIONS: u32 = 128;
/// Most calls in one JSON-RPC batch.
pub const MAX_BATCH: u32 = 16;
/// Longest `header.WaitForHeight` waits before answering with an error.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// Most headers one `header.GetRangeByHeight` returns.
pub const MAX_RANGE: u64 = 64;

/// A running DA server.
pub struct DaServer {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: ServerHandle,
}

impl DaServer {
    /// Stop serving and wait until it has stopped.
    pub async fn stop(self) {
        if self.handle.stop().is_ok() {
            self.handle.stopped().await;
        }
    }

    /// Wait until the server stops (it runs until stopped or the process ends).
    pub async fn stopped(self) {
        self.handle.stopped().await;
    }
}

/// Serve `da` on `listen`. With a `token`, every request must carry it.
pub async fn serve(
    da: LocalDa,
    listen: SocketAddr,
    token: Option<String>,
) -> Result<DaServer, DaError> {
    let rpc = Rpc(da);
    let mut module = RpcModule::new(());
    let merge = |e: jsonrpsee::core::RegisterMethodError| DaError::Unavailable(e.to_string());
    module
        .merge(BlobRpcServer::into_rpc(rpc.clone()))
        .map_err(merge)?;
    module
        .merge(HeaderRpcServer::into_rpc(rpc))
        .map_err(merge)?;
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .build();
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(AuthLayer(token.map(Arc::from))))
        .build(listen)
        .await
        .map_err(|e| DaError::Unavailable(format!("cannot listen on {listen}: {e}")))?;
    let addr = server
        .local_addr()
        .map_err(|e| DaError::Unavailable(e.to_string()))?;
    Ok(DaServer {
        addr,
        handle: server.start(module),
    })
}

#[derive(Clone)]
struct Rpc(LocalDa);

/// celestia-node's errors: code 1 (a plain Go error) with the error's text.
fn error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(1, e.to_string(), None::<()>)
}

fn da_error(e: DaError) -> ErrorObjectOwned {
    match e {
        DaError::FutureHeight { requested, head } => error(format!(
            "header: given height is from the future: networkHeight: {head}, requestedHeight: {requested}"
        )),
        other => error(other),
    }
}

fn not_found() -> ErrorObjectOwned {
    error("blob: not found")
}

#[jsonrpsee::core::async_trait]
impl BlobRpcServer for Rpc {
    async fn blob_get(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> RpcResult<Blob> {
        self.0
            .blob(height, namespace, commitment)
            .map_err(da_error)?
            .ok_or_else(not_found)
    }

    async fn blob_get_all(
        &self,
        height: u64,
        namespaces: Vec<Namespace>,
    ) -> RpcResult<Option<Vec<Blob>>> {
        // A namespace asked for twice is answered once: repeats must not multiply the reply.
        let found = self.0.blobs_in(height, &namespaces).map_err(da_error)?;
        Ok((!found.is_empty()).then_some(found))
    }

    async fn blob_get_proof(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> RpcResult<Vec<NamespaceProof>> {
        let da = self.0.clone();
        // Proofs rebuild the square: CPU work, off the async workers.
        tokio::task::spawn_blocking(move || da.proofs(height, namespace, commitment))
            .await
            .map_err(error)?
            .map_err(da_error)?
            .ok_or_else(not_found)
    }

    async fn blob_included(
        &self,
        height: u64,
        namespace: Namespace,
        proof: NamespaceProof,
        commitment: Commitment,
    ) -> RpcResult<bool> {
        // celestia-node: a blob that is not there is `false`; otherwise whether the proof is
        // the blob's.
        let da = self.0.clone();
        let proofs = tokio::task::spawn_blocking(move || da.proofs(height, namespace, commitment))
            .await
            .map_err(error)?
            .map_err(da_error)?;
        Ok(proofs.is_some_and(|proofs| proofs.contains(&proof)))
    }

    async fn blob_submit(&self, blobs: Vec<Blob>, _options: TxConfig) -> RpcResult<u64> {
        let da = self.0.clone();
        tokio::task::spawn_blocking(move || da.submit_blocking(blobs))
            .await
            .map_err(error)?
            .map_err(da_error)
    }
}

#[jsonrpsee::core::async_trait]
impl HeaderRpcServer for Rpc {
    async fn header_get_by_hash(&self, hash: Hash) -> RpcResult<ExtendedHeader> {
        // Only recent heights are searched: the local DA keeps no hash index.
        let head = self.0.head_height();
        for height in (head.saturating_sub(MAX_RANGE) + 1..=head).rev() {
            let header = self.0.header(height).map_err(da_error)?;
            if header.hash() == hash {
                return Ok(header);
            }
        }
        Err(error("header: not found"))
    }

    async fn header_get_by_height(&self, height: u64) -> RpcResult<ExtendedHeader> {
        self.0.header(height).map_err(da_error)
    }

    async fn header_get_range_by_height(
        &self,
        from: ExtendedHeader,
        to: u64,
    ) -> RpcResult<Vec<ExtendedHeader>> {
        let start = from.height() + 1;
        if to.saturating_sub(start) > MAX_RANGE {
            return Err(error(format!("header: range larger than {MAX_RANGE}")));
        }
        (start..to)
            .map(|h| self.0.header(h).map_err(da_error))
            .collect()
    }

    async fn header_local_head(&self) -> RpcResult<ExtendedHeader> {
        self.0.header(self.0.head_height()).map_err(da_error)
    }

    async fn header_network_head(&self) -> RpcResult<ExtendedHeader> {
        self.header_local_head().await
    }

    async fn header_sync_state(&self) -> RpcResult<SyncState> {
        let head = self.header_local_head().await?;
        let first = self.0.header(1).map_err(da_error)?;
        Ok(SyncState {
            id: 1,
            height: head.height(),
            from_height: 1,
            to_height: head.height(),
            from_hash: first.hash(),
            to_hash: head.hash(),
            start: first.time(),
            end: head.time(),
            error: None,
        })
    }

    async fn header_sync_wait(&self) -> RpcResult<()> {
        Ok(())
    }

    async fn header_wait_for_height(&self, height: u64) -> RpcResult<ExtendedHeader> {
        self.0.wait_for(height, MAX_WAIT).await.map_err(da_error)
    }
}

/// Checks `Authorization: Bearer <token>` before anything is parsed.
#[derive(Clone)]
struct AuthLayer(Option<Arc<str>>);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            token: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Auth<S> {
    inner: S,
    token: Option<Arc<str>>,
}

impl<S, B> tower::Service<http::Request<B>> for Auth<S>
where
    S: tower::Service<http::Request<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let allowed = match &self.token {
            None => true,
            Some(token) => request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes()))),
        };
        if allowed {
            return Box::pin(self.inner.call(request));
        }
        Box::pin(async {
            let mut response = http::Response::new(HttpBody::from("unauthorized"));
            *response.status_mut() = http::StatusCode::UNAUTHORIZED;
            Ok(response)
        })
    }
}
