//! A tower layer that counts gRPC requests and errors per method into [`Metrics`].
//!
//! The method label is the request path when it names a method the server has (read from the
//! services' own descriptors at start-up), else `other`: a client cannot add label values.
//! The error is the `grpc-status` of the response head, which is where a call refused before
//! its response starts (the usual error) puts it; a stream that fails after it started
//! reports its status in trailers and counts as a request only. A request is counted when it
//! arrives, and one dropped before its response (the server's request timeout, which wraps
//! this layer, or the client going away) counts as `cancelled`.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use prost::Message as _;
use tonic::Code;
use tower::{Layer, Service};

use crate::metrics::Metrics;

/// The label of a request whose path names no method of this server.
const OTHER: &str = "other";

/// Counts requests and errors per method.
#[derive(Clone, Debug)]
pub(crate) struct MetricsLayer {
    metrics: Metrics,
    /// Paths (`/package.Service/Method`) of every method served.
    methods: Arc<HashSet<String>>,
}

impl MetricsLayer {
    /// A layer counting into `metrics`; fails only if a compiled-in descriptor is corrupt.
    pub(crate) fn new(metrics: Metrics) -> anyhow::Result<Self> {
        let mut methods = HashSet::new();
        for set in [
            babel_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            methods.extend(method_paths(set)?);
        }
        for version in ["v1", "v1alpha"] {
            methods.insert(format!(
                "/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
            ));
        }
        Ok(Self {
            metrics,
            methods: Arc::new(methods),
        })
    }
}

/// The path of every method of every service in an encoded descriptor set.
fn method_paths(encoded: &[u8]) -> anyhow::Result<Vec<String>> {
    let set = prost_types::FileDescriptorSet::decode(encoded)?;
    let mut out = Vec::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                out.push(format!("/{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    Ok(out)
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Counted {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service whose requests are counted.
#[derive(Clone, Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    layer: MetricsLayer,
}

impl<S, B, R> Service<http::Request<B>> for Counted<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let method = if self.layer.methods.contains(path) {
            path.trim_start_matches('/').to_owned()
        } else {
            OTHER.to_owned()
        };
        self.layer.metrics.grpc_request(&method);
        let mut pending = Pending {
            metrics: self.layer.metrics.clone(),
            method,
            done: false,
        };
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            pending.done = true;
            let code = match &result {
                Ok(response) => error_code(response.headers()),
                Err(_) => Some(code_label(Code::Internal)),
            };
            if let Some(code) = code {
                pending.metrics.grpc_error(&pending.method, code);
            }
            result
        })
    }
}

/// A request whose response has not come yet: dropped so, it was cancelled.
struct Pending {
    metrics: Metrics,
    method: String,
    done: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.metrics
                .grpc_error(&self.method, code_label(Code::Cancelled));
        }
    }
}

/// The error status in a response head, if any (absent or `0`: no error yet).
fn error_code(headers: &http::HeaderMap) -> Option<&'static str> {
    let status = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    match Code::from_i32(status) {
        Code::Ok => None,
        code => Some(code_label(code)),
    }
}

/// A status code as a label value.
fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_method_is_known_and_nothing_else() {
        let layer = MetricsLayer::new(Metrics::new()).unwrap();
        for path in [
            "/babel.v1.Node/SubmitTransaction",
            "/babel.v1.Node/Status",
            "/babel.v1.Node/StreamBlocks",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(layer.methods.contains(path), "{path}");
        }
        assert!(!layer.methods.contains("/babel.v1.Node/Nope"));
        assert!(!layer.methods.contains("/"));
    }

    fn sample(metrics: &Metrics, name: &str) -> Option<f64> {
        metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    #[tokio::test]
    async fn requests_are_counted_on_arrival_and_dropped_ones_as_cancelled() {
        let metrics = Metrics::new();
        let layer = MetricsLayer::new(metrics.clone()).unwrap();
        let request = || {
            http::Request::builder()
                .uri("http://x/babel.v1.Node/Call")
                .body(())
                .unwrap()
        };
        // A handler that never answers (a query waiting for a slot), then one that refuses.
        let mut stuck = layer.layer(tower::service_fn(|_: http::Request<()>| {
            std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>()
        }));
        let waiting = stuck.call(request());
        assert_eq!(
            sample(
                &metrics,
                "babel_grpc_requests_total{method=\"babel.v1.Node/Call\"}"
            ),
            Some(1.0)
        );
        drop(waiting);
        let cancelled = "babel_grpc_errors_total{method=\"babel.v1.Node/Call\",code=\"cancelled\"}";
        assert_eq!(sample(&metrics, cancelled), Some(1.0));

        let mut refusing = layer.layer(tower::service_fn(|_: http::Request<()>| async {
            let mut response = http::Response::new(());
            response
                .headers_mut()
                .insert("grpc-status", http::HeaderValue::from_static("8"));
            Ok::<_, std::convert::Infallible>(response)
        }));
        refusing.call(request()).await.unwrap();
        let exhausted =
            "babel_grpc_errors_total{method=\"babel.v1.Node/Call\",code=\"resource_exhausted\"}";
        assert_eq!(sample(&metrics, exhausted), Some(1.0));
        assert_eq!(
            sample(&metrics, cancelled),
            Some(1.0),
            "a completed call is not cancelled"
        );
        assert_eq!(
            sample(
                &metrics,
                "babel_grpc_requests_total{method=\"babel.v1.Node/Call\"}"
            ),
            Some(2.0)
        );
    }

    #[test]
    fn the_error_code_is_read_from_the_response_head() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(error_code(&headers), None);
        headers.insert("grpc-status", "0".parse().unwrap());
        assert_eq!(error_code(&headers), None);
        headers.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(error_code(&headers), Some("not_found"));
        headers.insert("grpc-status", "garbage".parse().unwrap());
        assert_eq!(error_code(&headers), None);
    }
}
