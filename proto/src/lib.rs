//! Babel's wire format: the `babel.v1` protobuf package, its generated prost code (and, with the
//! `grpc` feature, its tonic service stubs), and the few hashing rules every node must agree on.
//!
//! The `.proto` sources live in `proto/babel/v1/`; `build.rs` compiles them with a vendored
//! `protoc`, so no system protobuf compiler is needed. The package name carries the API version:
//! an incompatible change goes into `babel.v2`, never into `v1`.

mod hash;
pub mod message;
#[cfg(feature = "test-utils")]
pub mod test_utils;

pub use hash::{
    block_hash, body_matches_header, certificate_hash, merkle_proof, merkle_root, receipt_leaf,
    results_root, tx_hash, tx_root, txs_match_header,
};

/// Generated messages and gRPC stubs of `babel.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/babel.v1.rs"));
}

/// Encoded `FileDescriptorSet` of `babel.v1`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/babel_descriptor.bin"));
