//! Logs and traces: the global `tracing` subscriber, writing text or JSON lines to stderr and,
//! when `[log].otlp_endpoint` is set, exporting the spans `[log].otlp_filter` lets through
//! (by default the node's own: each block's build, validate, execute and commit phases) to an
//! OpenTelemetry collector over OTLP/gRPC.

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _};

use crate::config::{LogConfig, LogFormat};

/// Keeps the trace exporter alive; dropping it flushes the spans not yet sent.
#[derive(Debug)]
pub struct LogGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
    }
}

/// A tracer provider exporting to the collector at `endpoint` (OTLP over gRPC). Must be
/// called inside a tokio runtime, which the exporter's client uses.
pub fn otlp_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .with_context(|| format!("trace exporter to {endpoint}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("babel").build())
        .build())
}

/// Install the global subscriber (`RUST_LOG` overrides the configured filter). With an OTLP
/// endpoint configured, call it inside a tokio runtime. A second call keeps the first
/// subscriber.
pub fn init(cfg: &LogConfig) -> anyhow::Result<LogGuard> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.filter))
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let fmt = match cfg.format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let provider = if cfg.otlp_endpoint.is_empty() {
        None
    } else {
        Some(otlp_provider(&cfg.otlp_endpoint)?)
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("babel"))
            .with_filter(tracing_subscriber::EnvFilter::new(&cfg.otlp_filter))
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter()))
        .with(otel)
        .try_init();
    if !cfg.otlp_endpoint.is_empty() {
        tracing::info!(endpoint = %cfg.otlp_endpoint, "exporting trace spans");
    }
    Ok(LogGuard { provider })
}
