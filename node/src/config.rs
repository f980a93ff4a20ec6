//! The node's `config.toml`. Every field has a default, so an empty file is a valid config;
//! `docs/CONFIG.md` documents each one.

use std::{net::SocketAddr, path::Path};

use serde::{Deserialize, Serialize};

/// Largest config file accepted.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Node configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Human-readable node name, used in logs.
    pub moniker: String,
    /// Peer-to-peer networking.
    pub p2p: P2pConfig,
    /// The public gRPC API.
    pub grpc: GrpcConfig,
    /// Mempool limits.
    pub mempool: MempoolConfig,
    /// Metrics and health over HTTP.
    pub ops: OpsConfig,
    /// Logging and tracing.
    pub log: LogConfig,
    /// The data-availability layer blocks are posted to.
    pub da: DaConfig,
    /// Ethereum JSON-RPC for EVM rollups.
    pub jsonrpc: JsonRpcConfig,
}

/// Ethereum JSON-RPC: one HTTP endpoint per EVM rollup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JsonRpcConfig {
    /// The endpoints (none by default).
    pub endpoints: Vec<JsonRpcEndpoint>,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Most connections open at once, per endpoint.
    pub max_connections: u32,
    /// Most calls in one batch request.
    pub max_batch: u32,
}

impl Default for JsonRpcConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            max_request_bytes: 1024 * 1024,
            max_connections: 100,
            max_batch: 100,
        }
    }
}

/// The Ethereum JSON-RPC endpoint of one EVM rollup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRpcEndpoint {
    /// The EVM rollup it serves.
    pub rollup_id: u64,
    /// Socket address to listen on.
    pub listen_addr: SocketAddr,
}

/// Where decided blocks are posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaConfig {
    /// `local`: an embedded DA in the home directory (`da/`), this node's own: every block is
    /// posted there and headers carry no DA references. `celestia`: a celestia-node endpoint
    /// (a node of the Celestia network, or a `babel da serve` that the validators share);
    /// every validator of a chain must then use the same DA network, since headers reference
    /// the posts and validators check them.
    pub backend: DaBackend,
    /// JSON-RPC endpoint of the celestia backend (`http://` or `https://`).
    pub url: String,
    /// Bearer token sent to the endpoint (celestia-node's `auth` token); empty: none.
    pub auth_token: String,
}

impl Default for DaConfig {
    fn default() -> Self {
        Self {
            backend: DaBackend::Local,
            url: "http://127.0.0.1:26658".into(),
            auth_token: String::new(),
        }
    }
}

/// A DA backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaBackend {
    /// The embedded DA, private to the node.
    Local,
    /// A celestia-node JSON-RPC endpoint.
    Celestia,
}

impl DaBackend {
    /// Its name in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            DaBackend::Local => "local",
            DaBackend::Celestia => "celestia",
        }
    }
}

/// The operator's HTTP server: `/metrics`, `/health/live`, `/health/ready`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Address to serve on.
    pub listen_addr: SocketAddr,
    /// How old, in milliseconds, the last committed block may be for the node to count as
    /// ready (caught up). 0: twice a block interval plus one round of timeouts of the
    /// genesis, and at least 5 s.
    pub max_block_age_ms: u64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 26660)),
            max_block_age_ms: 0,
        }
    }
}

/// Mempool limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
    /// gRPC endpoints (`http://host:port`) of peers that every transaction a client submits
    /// here is forwarded to before it is acknowledged, so any validator can propose it and it
    /// survives this node's crash.
    pub gossip_peers: Vec<String>,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_bytes: 64 * 1024 * 1024,
            gossip_peers: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            moniker: "babel".into(),
            p2p: P2pConfig::default(),
            grpc: GrpcConfig::default(),
            mempool: MempoolConfig::default(),
            ops: OpsConfig::default(),
            log: LogConfig::default(),
            da: DaConfig::default(),
            jsonrpc: JsonRpcConfig::default(),
        }
    }
}

/// Peer-to-peer networking (Malachite's libp2p transport).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pConfig {
    /// Multiaddress to listen on.
    pub listen_addr: String,
    /// Multiaddresses of peers to keep connected to.
    pub persistent_peers: Vec<String>,
}

impl Default for P2pConfig {
    fn default() -> Self {
        Self {
            listen_addr: "/ip4/127.0.0.1/tcp/27000".into(),
            persistent_peers: Vec::new(),
        }
    }
}

/// gRPC server limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Socket address to listen on.
    pub listen_addr: SocketAddr,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Deadline for one unary request.
    pub request_timeout_ms: u64,
    /// Most concurrent HTTP/2 streams (requests in flight) per connection.
    pub max_concurrent_streams: u32,
    /// Most `StreamBlocks` and `StreamRollupBatches` streams open at once, node-wide; more are
    /// refused with `RESOURCE_EXHAUSTED`. Each may pin about `max(1 MiB, R) + 3 × R + 0.5 MiB`
    /// for a client that does not read (R: one block with its certificate); see
    /// `docs/CONFIG.md`.
    pub max_block_streams: usize,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
            max_message_bytes: 4 * 1024 * 1024,
            request_timeout_ms: 10_000,
            max_concurrent_streams: 128,
            max_block_streams: 64,
        }
    }
}

/// Logging.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `babel=debug,info`; `RUST_LOG` overrides it.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// OpenTelemetry collector to export trace spans to over OTLP/gRPC, e.g.
    /// `http://127.0.0.1:4317`; empty (the default): no export.
    pub otlp_endpoint: String,
    /// Which spans are exported (a `tracing` filter, apart from the log's): by default the
    /// node's own (its block phases), not the consensus engine's per-message spans, which
    /// would crowd them out of the exporter's queue.
    pub otlp_filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
            otlp_endpoint: String::new(),
            otlp_filter: "babel=info".into(),
        }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// The file is too large to be a config file.
    #[error("config {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// The file is not a valid config.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the TOML parser reported.
        message: String,
    },
}

impl Config {
    /// Read and parse a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let p = path.display().to_string();
        let read = |source| ConfigError::Read {
            path: p.clone(),
            source,
        };
        if std::fs::metadata(path).map_err(read)?.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { path: p });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: p,
            message: e.to_string(),
        })
    }

    /// TOML text of this config.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_round_trips() {
        assert_eq!(toml::from_str::<Config>("").unwrap(), Config::default());
        let c = Config {
            moniker: "x".into(),
            ..Config::default()
        };
        assert_eq!(toml::from_str::<Config>(&c.to_toml()).unwrap(), c);
        let capped = toml::from_str::<Config>("[grpc]\nmax_block_streams = 2\n").unwrap();
        assert_eq!(capped.grpc.max_block_streams, 2);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[grpc]\nlisten = \"x\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
    }
}
