//! Babel WASM execution adapter over `wasmtime`.
//!
//! It will implement `babel-execution`'s `ExecutionAdapter` for WASM rollups. It has no code
//! yet: it lands with its milestone (see `docs/ARCHITECTURE.md`).
