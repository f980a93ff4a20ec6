//! Babel genesis: the file every validator of a chain starts from.
//!
//! A genesis file is JSON (see `docs/GENESIS.md`). It names the chain, its consensus parameters,
//! the initial validator set, and the rollups that are sequenced from height 1 with each rollup's
//! VM kind, DA namespace and initial state.
//!
//! [`Genesis::from_json`] parses and validates in one step, so a [`Genesis`] value is always
//! valid. [`Genesis::hash`] is the canonical hash: sha256 over the canonical JSON encoding of the
//! validated genesis (derived namespaces filled in, fields in declaration order, no whitespace),
//! so two files that differ only in formatting or in whether a default namespace is spelled out
//! have the same hash.

/// The rollup id of the rollup registry: a system rollup whose state lists every rollup (and
/// that no genesis or registration may take).
pub const REGISTRY_ROLLUP_ID: RollupId = 0;

mod error;
mod namespace;
mod types;
mod validate;

pub use error::GenesisError;
pub use namespace::{NAMESPACE_ID_LEN, Namespace};
pub use types::{
    CairoContract, CairoGenesis, ConsensusParams, EvmAccount, EvmGenesis, Genesis, Governance, Hex,
    RollupGenesis, RollupId, StorageSlot, Timestamp, ValidatorGenesis, VmGenesis, VmKind,
    WasmContract, WasmGenesis, WasmStorageEntry,
};
