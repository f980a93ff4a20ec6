//! Time spent in each VM: an [`ExecutionAdapter`] wrapper that times every frame.
//!
//! A frame's own time excludes the frames it calls on other rollups (which are timed as their
//! own VM's), so with synchronous cross-rollup calls each VM is charged for what it ran. The
//! nesting is tracked per thread, which is exact because a block executes on one thread.

use std::{
    cell::Cell,
    sync::Arc,
    time::{Duration, Instant},
};

use babel_execution::{
    ExecError, ExecutionAdapter, Frame, FrameOutcome, Host, VmKind, state::KeyValues,
};
use babel_genesis::RollupGenesis;
use babel_proto::v1::transaction::Payload;

use super::Metrics;

thread_local! {
    /// Time spent in frames nested in the frame running on this thread (all VMs).
    static NESTED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// An adapter that reports each frame's own time to [`Metrics::vm_frame`]. It changes nothing
/// else: every call goes to the wrapped adapter, and results are returned as they are.
#[derive(Debug)]
pub struct TimedAdapter {
    inner: Arc<dyn ExecutionAdapter>,
    metrics: Metrics,
}

impl TimedAdapter {
    /// Time `inner`'s frames into `metrics`.
    pub fn new(inner: Arc<dyn ExecutionAdapter>, metrics: Metrics) -> Self {
        Self { inner, metrics }
    }
}

impl ExecutionAdapter for TimedAdapter {
    fn vm(&self) -> VmKind {
        self.inner.vm()
    }

    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        self.inner.check_payload(payload)
    }

    fn min_gas(&self, payload: &Payload) -> u64 {
        self.inner.min_gas(payload)
    }

    fn max_target_len(&self) -> usize {
        self.inner.max_target_len()
    }

    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError> {
        self.inner.genesis_state(rollup)
    }

    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        self.inner.debit(host, account, amount)
    }

    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        self.inner.credit(host, account, amount)
    }

    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        // The caller's nested total is set aside while this frame's own callees add to a
        // fresh one; then this frame's whole time counts as nested for the caller.
        let outer = NESTED.replace(Duration::ZERO);
        let start = Instant::now();
        let outcome = self.inner.execute(host, frame);
        let total = start.elapsed();
        let nested = NESTED.replace(outer + total);
        self.metrics
            .vm_frame(self.inner.vm(), total.saturating_sub(nested));
        outcome
    }

    fn committed(&self, changes: &[(&[u8], Option<&Vec<u8>>)]) {
        self.inner.committed(changes);
    }

    fn kept_prefix(&self) -> Option<&'static [u8]> {
        self.inner.kept_prefix()
    }
}

#[cfg(test)]
mod tests {
    use babel_execution::{
        BlockEnv, Executor,
        state::MemState,
        test_utils::{Op, ScriptAdapter, payload},
    };
    use babel_proto::v1;

    use super::*;

    fn counter(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    }

    #[test]
    fn nested_frames_are_counted_once_each_and_results_are_unchanged() {
        let metrics = Metrics::new();
        let script: Arc<dyn ExecutionAdapter> = Arc::new(ScriptAdapter);
        let timed: Arc<dyn ExecutionAdapter> =
            Arc::new(TimedAdapter::new(script.clone(), metrics.clone()));
        let plain = Executor::new()
            .with_rollup(1, script.clone(), 0)
            .with_rollup(2, script, 0);
        let observed = Executor::new()
            .with_rollup(1, timed.clone(), 0)
            .with_rollup(2, timed, 0);
        // Rollup 1 calls rollup 2, which writes: two frames.
        let tx = v1::Transaction {
            chain_id: "c".into(),
            rollup_id: 1,
            sender_pubkey: vec![7; 32].into(),
            nonce: 0,
            gas_limit: 1_000_000,
            max_fee: u64::MAX,
            payload: Some(payload(&[Op::Call {
                rollup: 2,
                script: vec![Op::Write(b"k".to_vec(), Some(b"v".to_vec()))],
                gas: 100_000,
                catch: false,
            }])),
        };
        let env = BlockEnv {
            height: 1,
            time_ms: 1,
            max_tx_gas: 1_000_000,
        };
        let state = MemState::new();
        let a = plain.execute_tx(&state, &env, &tx).unwrap();
        let start = Instant::now();
        let b = observed.execute_tx(&state, &env, &tx).unwrap();
        let wall = start.elapsed().as_secs_f64();
        assert_eq!(a, b, "timing changes nothing");
        assert!(a.receipt.success, "{:?}", a.receipt);
        let text = metrics.encode();
        assert_eq!(counter(&text, "babel_vm_frames_total{vm=\"wasm\"}"), 2.0);
        let spent = counter(&text, "babel_vm_execution_seconds_total{vm=\"wasm\"}");
        // Own times add up to no more than the whole: the nested frame is not counted twice.
        assert!(
            spent > 0.0 && spent <= wall,
            "{spent} s in frames, {wall} s in all"
        );
    }
}
