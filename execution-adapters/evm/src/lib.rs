//! Babel EVM execution adapter over `revm`.
//!
//! It will implement `babel-execution`'s `ExecutionAdapter` for EVM rollups. It has no code
//! yet: it lands with its milestone (see `docs/ARCHITECTURE.md`).
