//! Babel data availability (DA).
//!
//! This crate will hold the `DataAvailability` trait, the embedded `local` backend, the
//! Celestia backend and the blob format (see `docs/ARCHITECTURE.md`, "Data availability").
//! It has no code yet: DA posting is a later milestone, and the node records DA references in
//! its store already (`da_records` column family) so that the poster slots in.
