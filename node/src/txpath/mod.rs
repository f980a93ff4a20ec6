//! The transaction path, from a client's bytes to a block's candidates: [`admission`] checks
//! (size limits, chain rules, signatures), [`sigverify`] batches signature checks across
//! concurrent submissions, [`mempool`] holds admitted transactions in nonce order, and
//! [`pool`] ties them to the store so that an acknowledged transaction survives a crash.

pub mod admission;
pub mod mempool;
pub mod pool;
pub mod sigverify;

pub use pool::{Admission, SharedPool, TxPool};
