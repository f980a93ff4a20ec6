//! Node integration tests: the `babel` CLI and multi-process validator networks.

mod cli;
mod e2e;
mod support;
