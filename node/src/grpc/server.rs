//! Serving: the `babel.v1.Node` service beside `grpc.health.v1.Health` (which follows the
//! node's readiness) and server reflection in both `v1` and `v1alpha` (many tools still speak
//! only the latter), behind a layer that counts requests and errors per method.

use std::{future::Future, time::Duration};

use babel_proto::v1::node_server::NodeServer;
use tonic_health::{ServingStatus, server::HealthReporter};

use super::{NodeService, RESPONSE_MARGIN_BYTES, layer::MetricsLayer};
use crate::{config::GrpcConfig, health::Health, metrics::Metrics};

/// How often the health service's status is brought in line with readiness.
const HEALTH_EVERY: Duration = Duration::from_millis(500);

/// Serve gRPC on `cfg.listen_addr` until `shutdown` resolves, counting into `metrics`; the
/// health service reports SERVING exactly when `health` says the node is ready.
pub async fn serve(
    cfg: &GrpcConfig,
    service: NodeService,
    metrics: Metrics,
    health: Health,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let descriptors = [
        babel_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ];
    let mut v1 = tonic_reflection::server::Builder::configure();
    let mut v1alpha = tonic_reflection::server::Builder::configure();
    for set in descriptors {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    // A response carries at most one block plus its certificate, whatever the request limit.
    let max_block =
        usize::try_from(service.genesis.consensus.max_block_bytes).unwrap_or(usize::MAX);
    let max_response = cfg
        .max_message_bytes
        .max(max_block.saturating_add(RESPONSE_MARGIN_BYTES));
    let node = NodeServer::new(service.with_stream_limit(cfg.max_block_streams))
        .max_decoding_message_size(cfg.max_message_bytes)
        .max_encoding_message_size(max_response);
    let layer = MetricsLayer::new(metrics)?;
    let (v1, v1alpha) = (v1.build_v1()?, v1alpha.build_v1alpha()?);
    // Everything that can fail is built: only now the follower task starts.
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let mut last = follow(&reporter, &health, None).await;
    let follower = tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEALTH_EVERY);
        loop {
            tick.tick().await;
            last = follow(&reporter, &health, last).await;
        }
    });
    let served = tonic::transport::Server::builder()
        .timeout(Duration::from_millis(cfg.request_timeout_ms))
        .max_concurrent_streams(cfg.max_concurrent_streams)
        .layer(layer)
        .add_service(health_service)
        .add_service(v1)
        .add_service(v1alpha)
        .add_service(node)
        .serve_with_shutdown(cfg.listen_addr, shutdown)
        .await;
    follower.abort();
    served?;
    Ok(())
}

/// Set the overall status and the node service's to what readiness says, if it is not
/// `last` already (every set wakes the clients watching); returns the status set.
async fn follow(
    reporter: &HealthReporter,
    health: &Health,
    last: Option<ServingStatus>,
) -> Option<ServingStatus> {
    let status = if health.readiness().is_ready() {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    if last != Some(status) {
        for name in [
            "",
            <NodeServer<NodeService> as tonic::server::NamedService>::NAME,
        ] {
            reporter.set_service_status(name, status).await;
        }
    }
    Some(status)
}
