//! Babel data availability (DA).
//!
//! Every decided block is posted to a DA layer, so that anyone can rebuild every rollup's
//! state from DA alone. This crate holds:
//!
//! - [`DataAvailability`], what the node needs of a DA layer (submit blobs, read them by height
//!   and namespace, the head height, an inclusion check), with two backends:
//!   - [`local::LocalDa`], an embedded Celestia-compatible DA: blobs in RocksDB (or in memory,
//!     for tests) with real namespaces and share commitments, and a signed Celestia
//!     `ExtendedHeader` per DA height whose data root is computed from the stored shares. It
//!     also runs standalone ([`server`]) and speaks the celestia-node JSON-RPC subset for blobs
//!     and headers, so several validators can share one;
//!   - [`celestia::CelestiaDa`], a client of a celestia-node endpoint (`celestia-rpc`), which
//!     works against a real Celestia node or against [`server`];
//! - the blob format ([`frame`]: versioned, framed, zstd-compressed protobuf) and the layout of
//!   a block on the DA layer ([`layout`]), documented in `docs/DA_FORMAT.md`.
//!
//! The crate knows nothing of consensus or execution: the node hands it blocks and reads blocks
//! back.

pub mod celestia;
mod error;
pub mod frame;
pub mod layout;
pub mod local;
pub mod server;

use async_trait::async_trait;
pub use celestia_types::{Blob, Commitment, nmt::Namespace};
pub use error::DaError;

/// A data-availability layer, as the node uses it.
#[async_trait]
pub trait DataAvailability: Send + Sync {
    /// Submit `blobs` together (in one DA block); returns the DA height that includes them.
    async fn submit(&self, blobs: Vec<Blob>) -> Result<u64, DaError>;

    /// Every blob at `height` in any of `namespaces`, in the order of `namespaces` and then in
    /// the order of the DA block; empty when there are none.
    async fn get_all(&self, height: u64, namespaces: &[Namespace]) -> Result<Vec<Blob>, DaError>;

    /// The blob at `height` in `namespace` with `commitment`, if there is one.
    async fn get(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<Option<Blob>, DaError>;

    /// The highest DA height.
    async fn head(&self) -> Result<u64, DaError>;

    /// Whether the DA block at `height` includes the blob of `namespace` and `commitment`. The
    /// blob is fetched and its commitment recomputed from its data, so a wrong answer needs a
    /// lying DA endpoint (an operator's own light node samples the square itself).
    async fn included(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> Result<bool, DaError>;
}
