//! The Celestia backend: a client of a celestia-node JSON-RPC endpoint (a node of the Celestia
//! network, or `babel da serve`), built on `celestia-rpc`.

use std::time::Duration;

use async_trait::async_trait;
use celestia_rpc::{BlobClient, Client, HeaderClient, TxConfig};
use celestia_types::{Blob, Commitment, nmt::Namespace};
use jsonrpsee::core::client::Error as RpcError;

use crate::{DaError, DataAvailability};

/// How long one request may take; a submission waits for its transaction to land.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A celestia-node endpoint.
pub struct CelestiaDa {
    client: Client,
    url: String,
}

impl CelestiaDa {
    /// A client of the endpoint at `url` (`http://` or `https://`), sending `token` as a
    /// bearer token when given. Nothing is sent until the first call, so the endpoint may be
    /// down at this point.
    pub async fn new(url: &str, token: Option<&str>) -> Result<Self, DaError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(DaError::Refused(format!(
                "DA endpoint {url}: only http:// and https:// are supported"
            )));
        }
        let client = Client::new(url, token, Some(CONNECT_TIMEOUT), Some(REQUEST_TIMEOUT))
            .await
            .map_err(|e| DaError::Refused(format!("DA endpoint {url}: {e}")))?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// What a celestia-node error means to the node.
fn map(e: RpcError) -> DaError {
    match e {
        RpcError::Call(object) => {
            let message = object.message();
            if message.contains("given height is from the future") {
                DaError::FutureHeight {
                    requested: number_after(message, "requestedHeight: "),
                    head: number_after(message, "networkHeight: "),
                }
            } else {
                DaError::Refused(message.to_owned())
            }
        }
        RpcError::Transport(inner) => {
            match inner.downcast_ref::<jsonrpsee::http_client::transport::Error>() {
                Some(jsonrpsee::http_client::transport::Error::Rejected { status_code: 401 }) => {
                    DaError::Unauthorized
                }
                Some(jsonrpsee::http_client::transport::Error::Rejected { status_code: 413 })
                | Some(jsonrpsee::http_client::transport::Error::RequestTooLarge) => {
                    DaError::Refused("request too large for the DA endpoint".into())
                }
                _ => DaError::Unavailable(inner.to_string()),
            }
        }
        RpcError::RequestTimeout | RpcError::RestartNeeded(_) | RpcError::ServiceDisconnect => {
            DaError::Unavailable(e.to_string())
        }
        other => DaError::Celestia(other.to_string()),
    }
}

/// The number after `label` in celestia-node's message, 0 when absent.
fn number_after(message: &str, label: &str) -> u64 {
    message
        .split(label)
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

fn is_not_found(e: &RpcError) -> bool {
    matches!(e, RpcError::Call(object) if object.message().contains("not found"))
}

#[async_trait]
impl DataAvailability for CelestiaDa {
    async fn submit(&self, blobs: Vec<Blob>) -> Result<u64, DaError> {
        self.client
            .blob_submit(&blobs, TxConfig::default())
            .await
            .map_err(map)
    }

    async fn get_all(&self, height: u64, namespaces: &[Namespace]) -> Result<Vec<Blob>, DaError> {
        match self.client.blob_get_all(height, namespaces).await {
            Ok(found) => Ok(found.unwrap_or_default()),
            Err(e) => Err(map(e)),
        }
    }

    async fn get(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<Option<Blob>, DaError> {
        match self.client.blob_get(height, namespace, commitment).await {
            Ok(blob) => Ok(Some(blob)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    async fn head(&self) -> Result<u64, DaError> {
        // The header's deserialisation validates it (signatures, data root).
        self.client
            .header_network_head()
            .await
            .map(|h| h.height())
            .map_err(map)
    }

    async fn included(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<bool, DaError> {
        let Some(blob) = self.get(height, namespace, commitment).await? else {
            return Ok(false);
        };
        Ok(blob.namespace == namespace && blob.validate_with_commitment(&commitment).is_ok())
    }
}
