//! What compiling costs, and compiled code kept on disk: a deploy pays for the shape of its
//! module, and a node never compiles a module twice, even after a restart.

use std::sync::Arc;

use babel_execution::{Executor, state::MemState};
use babel_wasm::{
    CodeStats, WasmAdapter,
    limits::{
        DATA_SEGMENT_GAS, DEPLOY_GAS_BASE, DEPLOY_GAS_PER_BYTE, LOAD_GAS_BASE,
        LOAD_GAS_PER_FUNCTION, PAGE_GAS, TX_BASE_GAS, compile_gas, load_gas,
    },
    module::{Shape, check},
};

use crate::{Chain, SCRIPT, WASM, contracts::COUNTER, deploy, reason};

/// Two functions, three calls (one indirect), three exports of which two are functions, a
/// table with two items, and two data segments.
const SHAPED: &str = r#"(module
  (type $t (func))
  (memory (export "memory") 1)
  (table 2 funcref)
  (func $a (call $b) (call $b))
  (func $b (call_indirect (type $t) (i32.const 5)))
  (export "run" (func $a))
  (export "b" (func $b))
  (elem (i32.const 0) func $a $b)
  (data (i32.const 0) "x")
  (data (i32.const 8) "y"))"#;

#[test]
fn a_deploy_pays_for_its_bytes_and_for_what_compiling_its_shape_costs() {
    let code = wat::parse_str(SHAPED).unwrap();
    let shape = check(&code).unwrap();
    assert_eq!(
        shape,
        Shape {
            functions: 2,
            calls: 3,
            escaping: 4,
            segments: 3,
            data_segments: 2,
            memory_pages: 1,
            locals: 0,
        }
    );
    let instrumented = babel_wasm::stack::instrument(&code).unwrap();
    let mut chain = Chain::new();
    let out = chain.run(WASM, crate::GAS, deploy(SHAPED, ""));
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(
        out.receipt.gas_used,
        TX_BASE_GAS
            + DEPLOY_GAS_BASE
            + DEPLOY_GAS_PER_BYTE * instrumented.len() as u64
            + compile_gas(&shape)
    );
    // Every call will pay to load it: its compiled bytes, data segments and first page.
    let id = out.receipt.output.clone();
    let record = chain
        .get(WASM, &babel_wasm::state::contract_key(&id))
        .unwrap();
    let (_, load) = babel_wasm::state::decode_contract(&record).unwrap();
    assert_eq!(load, load_gas(instrumented.len(), &shape));
    assert_eq!(
        load,
        LOAD_GAS_BASE
            + 4 * instrumented.len() as u64
            + 2 * LOAD_GAS_PER_FUNCTION
            + 2 * DATA_SEGMENT_GAS
            + PAGE_GAS
    );
    // Calls cost more to compile than other code of their size, and pay for it.
    let calls = format!(
        r#"(module (memory (export "memory") 1) (func $f) (func {}))"#,
        "(call $f)".repeat(200)
    );
    let adds = format!(
        r#"(module (memory (export "memory") 1) (func $f) (func (local i32) {}))"#,
        "(local.set 0 (i32.const 1))".repeat(100)
    );
    let gas = |wat: &str| {
        let out = Chain::new().run(WASM, crate::GAS, deploy(wat, ""));
        assert!(out.receipt.success, "{:?}", reason(&out));
        out.receipt.gas_used
    };
    let size = |wat: &str| wat::parse_str(wat).unwrap().len();
    assert!(
        size(&calls) <= size(&adds),
        "{} {}",
        size(&calls),
        size(&adds)
    );
    assert!(gas(&calls) > gas(&adds) + 150 * babel_wasm::limits::CALL_GAS);
}

fn counter_calls(exec: &Executor, state: &mut MemState, id: &[u8], nonce: u64) -> u64 {
    let out = crate::run_tx(
        exec,
        state,
        WASM,
        nonce,
        crate::GAS,
        crate::call(id, "increment", b""),
    );
    assert!(out.receipt.success, "{:?}", reason(&out));
    let out = crate::run_tx(
        exec,
        state,
        WASM,
        nonce + 1,
        crate::GAS,
        crate::call(id, "get", b""),
    );
    u64::from_le_bytes(out.receipt.output.as_ref().try_into().unwrap())
}

fn executor(adapter: &Arc<WasmAdapter>) -> Executor {
    Executor::new()
        .with_rollup(WASM, adapter.clone(), 0)
        .with_rollup(
            SCRIPT,
            Arc::new(babel_execution::test_utils::ScriptAdapter),
            0,
        )
}

#[test]
fn a_restarted_node_reads_its_compiled_code_back_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let first = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let mut state = MemState::new();
    let out = crate::run_tx(
        &executor(&first),
        &mut state,
        WASM,
        0,
        crate::GAS,
        deploy(COUNTER, ""),
    );
    assert!(out.receipt.success, "{:?}", reason(&out));
    executor(&first).committed(&out.changes);
    let id = out.receipt.output.clone();
    assert_eq!(
        first.code_stats(),
        CodeStats {
            compiled: 1,
            read_back: 0
        }
    );
    assert_eq!(counter_calls(&executor(&first), &mut state, &id, 1), 1);
    assert_eq!(
        first.code_stats(),
        CodeStats {
            compiled: 1,
            read_back: 0
        }
    );

    // A restart: an empty memory, the same directory.
    let second = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let before = state.clone();
    assert_eq!(counter_calls(&executor(&second), &mut state, &id, 3), 2);
    assert_eq!(
        second.code_stats(),
        CodeStats {
            compiled: 0,
            read_back: 1
        }
    );

    // The same calls on a node without the code compile, with the same receipts and state.
    let plain = Arc::new(WasmAdapter::new().unwrap());
    let mut other = before;
    assert_eq!(counter_calls(&executor(&plain), &mut other, &id, 3), 2);
    assert_eq!(
        plain.code_stats(),
        CodeStats {
            compiled: 1,
            read_back: 0
        }
    );
    assert_eq!(other, state);
}

#[test]
fn damaged_or_foreign_compiled_code_is_compiled_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let mut state = MemState::new();
    let out = crate::run_tx(
        &executor(&first),
        &mut state,
        WASM,
        0,
        crate::GAS,
        deploy(COUNTER, ""),
    );
    executor(&first).committed(&out.changes);
    let id = out.receipt.output.clone();
    // Code of another build of the node sits beside this build's and is removed.
    let stale = dir.path().join("0123456789abcdef");
    std::fs::create_dir(&stale).unwrap();
    let ours: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != stale)
        .collect();
    assert_eq!(ours.len(), 1);
    let files: Vec<_> = std::fs::read_dir(&ours[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    // Flip one byte of the compiled code.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&files[0], &bytes).unwrap();

    let second = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    assert!(!stale.exists());
    assert_eq!(counter_calls(&executor(&second), &mut state, &id, 1), 1);
    assert_eq!(
        second.code_stats(),
        CodeStats {
            compiled: 1,
            read_back: 0
        }
    );
    // It wrote good code back over the damaged file (files hold committed modules only).
    assert!(files[0].exists());
    let third = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    assert_eq!(counter_calls(&executor(&third), &mut state, &id, 3), 2);
    assert_eq!(
        third.code_stats(),
        CodeStats {
            compiled: 0,
            read_back: 1
        }
    );
}

#[test]
fn an_adapter_for_clients_calls_reads_compiled_code_but_never_adds_any() {
    let dir = tempfile::tempdir().unwrap();
    let files = || -> usize {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|sub| std::fs::read_dir(sub.unwrap().path()).unwrap().count())
            .sum()
    };
    let writer = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let mut state = MemState::new();
    let out = crate::run_tx(
        &executor(&writer),
        &mut state,
        WASM,
        0,
        crate::GAS,
        deploy(COUNTER, ""),
    );
    executor(&writer).committed(&out.changes);
    let id = out.receipt.output.clone();
    assert_eq!(files(), 1);
    let reader = Arc::new(
        WasmAdapter::with_code(babel_wasm::CodeDir::read_only(dir.path()).unwrap()).unwrap(),
    );
    // It reads what the writer compiled.
    assert_eq!(
        counter_calls(&executor(&reader), &mut state.clone(), &id, 1),
        1
    );
    assert_eq!(
        reader.code_stats(),
        CodeStats {
            compiled: 0,
            read_back: 1
        }
    );
    // A deploy through it compiles in memory and writes nothing.
    let out = crate::run_tx(
        &executor(&reader),
        &mut state,
        WASM,
        1,
        crate::GAS,
        deploy(crate::contracts::FORWARDER, ""),
    );
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(
        reader.code_stats(),
        CodeStats {
            compiled: 1,
            read_back: 1
        }
    );
    executor(&reader).committed(&out.changes);
    assert_eq!(files(), 1);
}

/// Files in the code directory `root` (over every build's subdirectory).
fn code_files(root: &std::path::Path) -> usize {
    std::fs::read_dir(root)
        .unwrap()
        .map(|sub| std::fs::read_dir(sub.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn only_committed_modules_are_kept_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let exec = executor(&adapter);
    let mut state = MemState::new();
    // A deploy whose constructor traps is reverted: it compiled, but keeps nothing.
    let trapping = r#"(module (memory (export "memory") 1) (func (export "init") unreachable))"#;
    let out = crate::run_tx(
        &exec,
        &mut state,
        WASM,
        0,
        crate::GAS,
        deploy(trapping, "init"),
    );
    assert!(!out.receipt.success);
    exec.committed(&out.changes);
    assert_eq!(code_files(dir.path()), 0);
    // A deploy that succeeds keeps its code only once it commits.
    let out = crate::run_tx(&exec, &mut state, WASM, 1, crate::GAS, deploy(COUNTER, ""));
    assert!(out.receipt.success, "{:?}", reason(&out));
    assert_eq!(code_files(dir.path()), 0);
    exec.committed(&out.changes);
    assert_eq!(code_files(dir.path()), 1);
    assert_eq!(adapter.code_stats().compiled, 2);

    // Code lost since (deleted by an operator) is made again when a node starts and is
    // handed the committed modules, before any call: no call compiles.
    let id = out.receipt.output.clone();
    std::fs::remove_dir_all(dir.path()).unwrap();
    let restarted = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    assert_eq!(
        babel_execution::ExecutionAdapter::kept_prefix(restarted.as_ref()),
        Some(b"m/".as_slice())
    );
    executor(&restarted).committed(&out.changes);
    assert_eq!(code_files(dir.path()), 1);
    assert_eq!(counter_calls(&executor(&restarted), &mut state, &id, 2), 1);
    assert_eq!(
        restarted.code_stats(),
        CodeStats {
            compiled: 0,
            read_back: 1
        }
    );
}

#[test]
fn modules_deployed_since_the_last_commit_are_never_evicted_into_a_second_compile() {
    use babel_wasm::MAX_CACHED_MODULES;
    let dir = tempfile::tempdir().unwrap();
    let adapter = Arc::new(WasmAdapter::with_code_dir(dir.path()).unwrap());
    let exec = executor(&adapter);
    let mut state = MemState::new();
    let mut changes = babel_execution::state::Changes::new();
    let out = crate::run_tx(&exec, &mut state, WASM, 0, crate::GAS, deploy(COUNTER, ""));
    changes.extend(out.changes.clone());
    let id = out.receipt.output.clone();
    // More modules than the memory's bound, all in the same (uncommitted) block.
    for n in 0..MAX_CACHED_MODULES as u64 {
        let other =
            format!(r#"(module (memory (export "memory") 1) (global i64 (i64.const {n})))"#);
        let out = crate::run_tx(
            &exec,
            &mut state,
            WASM,
            n + 1,
            crate::GAS,
            deploy(&other, ""),
        );
        assert!(out.receipt.success, "{:?}", reason(&out));
        changes.extend(out.changes);
    }
    let deployed = MAX_CACHED_MODULES as u64 + 1;
    assert_eq!(adapter.code_stats().compiled, deployed);
    // The first one, evicted from the bounded part, is called without compiling it again.
    let nonce = deployed;
    assert_eq!(counter_calls(&exec, &mut state, &id, nonce), 1);
    assert_eq!(
        adapter.code_stats(),
        CodeStats {
            compiled: deployed,
            read_back: 0
        }
    );
    // The commit writes every one of them, from memory.
    exec.committed(&changes);
    assert_eq!(code_files(dir.path()), deployed as usize);
    assert_eq!(adapter.code_stats().compiled, deployed);
}
