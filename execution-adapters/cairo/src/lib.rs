//! Babel CAIRO execution adapter over `cairo-vm`.
//!
//! It will implement `babel-execution`'s `ExecutionAdapter` for CAIRO rollups. It has no code
//! yet: it lands with its milestone (see `docs/ARCHITECTURE.md`).
