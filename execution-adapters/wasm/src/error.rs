//! Errors of the WASM adapter that are not a transaction's failure.

/// Why the adapter cannot work. Fatal: a node that cannot build its engine cannot execute WASM
/// rollups at all (a failing contract is a failed receipt, never this).
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The engine could not be built from its configuration.
    #[error("wasmtime engine: {0}")]
    Engine(String),
    /// The host functions could not be defined.
    #[error("wasmtime linker: {0}")]
    Linker(String),
    /// The directory of compiled code could not be opened.
    #[error("compiled WASM code directory {0}")]
    CodeDir(String),
}
