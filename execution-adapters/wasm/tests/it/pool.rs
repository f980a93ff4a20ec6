//! The engine's preallocated frames: enough for every execution a node runs at once, and
//! running out is the node's error, never a receipt.

use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use babel_execution::{
    ExecError, ExecutionAdapter, Executor, Frame, FrameOutcome, Host, VmKind,
    state::{KeyValues, MemState},
    test_utils::ScriptAdapter,
};
use babel_genesis::RollupGenesis;
use babel_proto::v1::{self, transaction::Payload};
use babel_wasm::{WasmAdapter, limits::MAX_LIVE_FRAMES};

use crate::{Chain, SIGNER, WASM, call, env};

/// The rollup whose frames wait for the test to let them go.
const PARKED: u64 = 5;

/// Calls the parked rollup with all its gas and fails if that call fails.
const CALLER: &str = r#"(module
  (import "babel" "xcall" (func $xcall (param i64 i32 i32 i32 i32 i64) (result i32)))
  (import "babel" "gas_left" (func $gas_left (result i64)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run")
    (if (i32.eqz (call $xcall (i64.const 5) (i32.const 0) (i32.const 20) (i32.const 0)
                              (i32.const 0) (call $gas_left)))
      (then (call $revert (i32.const 0) (i32.const 0))))))"#;

/// A rollup (the script adapter's, for all but running) whose first [`MAX_LIVE_FRAMES`] frames say they are there and wait
/// until the gate opens.
#[derive(Debug, Default)]
struct Parked {
    arrived: AtomicUsize,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Parked {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl ExecutionAdapter for Parked {
    fn vm(&self) -> VmKind {
        ScriptAdapter.vm()
    }
    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        ScriptAdapter.check_payload(payload)
    }
    fn max_target_len(&self) -> usize {
        32
    }
    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError> {
        ScriptAdapter.genesis_state(rollup)
    }
    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        ScriptAdapter.debit(host, account, amount)
    }
    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        ScriptAdapter.credit(host, account, amount)
    }
    fn execute(&self, _: &mut dyn Host, _: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        if self.arrived.fetch_add(1, Ordering::SeqCst) < MAX_LIVE_FRAMES as usize {
            let open = self.open.lock().unwrap();
            drop(self.opened.wait_while(open, |open| !*open).unwrap());
        }
        Ok(FrameOutcome {
            success: true,
            output: Default::default(),
            gas_used: 0,
            logs: Vec::new(),
            created: None,
        })
    }
}

#[test]
fn the_frames_a_node_needs_fit_and_one_more_is_the_nodes_error() {
    let mut chain = Chain::new();
    let caller = chain.deploy(CALLER, "");
    let parked = Arc::new(Parked::default());
    let exec = Executor::new()
        .with_rollup(WASM, Arc::new(WasmAdapter::new().unwrap()), 0)
        .with_rollup(PARKED, parked.clone(), 0);
    let state: MemState = chain.state;
    let tx = v1::Transaction {
        chain_id: "c".into(),
        rollup_id: WASM,
        sender_pubkey: SIGNER.to_vec().into(),
        nonce: 1,
        gas_limit: 1_000_000,
        max_fee: u64::MAX,
        payload: Some(call(&caller, "run", &[])),
    };
    let run = || exec.execute_tx(&state, &env(), &tx);
    std::thread::scope(|s| {
        // Each holds one frame of the WASM rollup while it waits in the parked rollup.
        let parties: Vec<_> = (0..MAX_LIVE_FRAMES).map(|_| s.spawn(run)).collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while parked.arrived.load(Ordering::SeqCst) < MAX_LIVE_FRAMES as usize {
            if Instant::now() > deadline || parties.iter().any(|p| p.is_finished()) {
                parked.open();
                let ended: Vec<_> = parties.into_iter().map(|p| p.join()).collect();
                panic!("the executions never all got parked: {ended:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Every frame is taken: one more execution stops with the node's error.
        match run() {
            Err(ExecError::Adapter {
                vm: VmKind::Wasm,
                message,
            }) => {
                assert!(message.contains("running a frame"), "{message}");
            }
            other => panic!("an execution beyond the frames must not give a receipt: {other:?}"),
        }
        parked.open();
        for party in parties {
            let out = party.join().unwrap().unwrap();
            assert!(out.receipt.success, "{:?}", out.receipt);
        }
    });
    // The frames came back.
    assert!(run().unwrap().receipt.success);
}
