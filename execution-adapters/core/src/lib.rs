//! Babel execution core.
//!
//! This crate will hold the VM-agnostic `ExecutionAdapter` trait, the transaction-wide journal
//! that makes cross-rollup calls atomic, the cross-rollup call router, unified gas and
//! call-tree receipts (see `docs/ARCHITECTURE.md`, "Execution"). It has no code yet: execution
//! is the next milestone after the transaction path.
