//! Modules that misbehave: each is refused at deploy or stops its frame with a failed receipt
//! and a stable reason; the chain goes on.

use crate::{Chain, GAS, WASM, reason};

/// A module whose `run` export has `body`, with `extra` module fields.
fn module(extra: &str, body: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  {extra}
  (func (export "run") {body}))"#
    )
}

/// Deploy `wat`, call `run`, and return the failed receipt's reason (asserting it failed).
fn run_fails(wat: &str) -> (String, u64) {
    let mut chain = Chain::new();
    let id = chain.deploy(wat, "");
    let out = chain.call(&id, "run", b"");
    assert!(!out.receipt.success, "{wat} succeeded");
    // The chain goes on: the next transaction runs normally.
    let again = chain.deploy(crate::contracts::COUNTER, "increment");
    assert!(!again.is_empty());
    (reason(&out).unwrap_or_default(), out.receipt.gas_used)
}

/// Deploy `wat` and return the refusal's reason (asserting it was refused).
fn deploy_refused(wat_or_bytes: Vec<u8>) -> String {
    let mut chain = Chain::new();
    let payload = babel_proto::v1::transaction::Payload::Wasm(babel_proto::v1::WasmCall {
        code: wat_or_bytes.into(),
        ..Default::default()
    });
    // As much gas as a transaction may have: only the module's faults refuse it.
    let out = chain.run(WASM, crate::env().max_tx_gas, payload);
    assert!(!out.receipt.success, "deploy succeeded");
    reason(&out).unwrap()
}

#[test]
fn an_infinite_loop_runs_out_of_gas_and_pays_all_of_it() {
    let (why, gas) = run_fails(&module("", "(loop (br 0))"));
    assert_eq!(why, "wasm: out of gas");
    assert_eq!(gas, GAS);
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    // Grows until refused (16 MiB), then traps: memory never exceeds the limit.
    let wat = module(
        "",
        "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable",
    );
    let (why, gas) = run_fails(&wat);
    assert_eq!(why, "wasm: unreachable");
    assert_eq!(gas, GAS);
    // One that asks for more than the limit at once is refused at deploy.
    let big = r#"(module (memory (export "memory") 257))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(big).unwrap()),
        "wasm: memory above its limit"
    );
}

#[test]
fn unbounded_recursion_stops_at_the_deterministic_stack_bound() {
    let direct = r#"(module
  (memory (export "memory") 1)
  (func $f (call $f))
  (func (export "run") (call $f)))"#;
    let (why, gas) = run_fails(direct);
    assert_eq!(why, "wasm: call stack limit");
    assert_eq!(gas, GAS);
    // Through a table, with fat frames (many locals): the same bound, in slots.
    let indirect = r#"(module
  (memory (export "memory") 1)
  (type $t (func))
  (table 1 funcref)
  (elem (i32.const 0) $f)
  (func $f (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (call_indirect (type $t) (i32.const 0)))
  (func (export "run") (call $f)))"#;
    let (why, _) = run_fails(indirect);
    assert_eq!(why, "wasm: call stack limit");
}

#[test]
fn recursion_within_the_bound_succeeds_and_an_unrelated_unreachable_is_itself() {
    // Recurse `depth` times (input: depth as i32 at address 0), then return.
    let wat = r#"(module
  (import "babel" "input_copy" (func $input (param i32)))
  (memory (export "memory") 1)
  (func $down (param $n i32)
    (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "run")
    (call $input (i32.const 0))
    (call $down (i32.load (i32.const 0))))
  (func (export "trap") unreachable))"#;
    let mut chain = Chain::new();
    let id = chain.deploy(wat, "");
    // Each frame of $down costs 1 parameter + 3 operands + 2 + 8 = 14 slots at most.
    let fits = babel_wasm::stack::MAX_STACK_SLOTS / 16;
    let out = chain.call(&id, "run", &fits.to_le_bytes());
    assert!(out.receipt.success, "{:?}", reason(&out));
    let out = chain.call(
        &id,
        "run",
        &babel_wasm::stack::MAX_STACK_SLOTS.to_le_bytes(),
    );
    assert_eq!(reason(&out).as_deref(), Some("wasm: call stack limit"));
    let out = chain.call(&id, "trap", b"");
    assert_eq!(reason(&out).as_deref(), Some("wasm: unreachable"));
}

#[test]
fn oversized_malformed_and_unknown_modules_are_refused_at_deploy() {
    let mut huge = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    // A custom section padding the module past the limit.
    let pad = babel_wasm::limits::MAX_MODULE_BYTES;
    huge.push(0);
    huge.extend(leb128(pad as u32 + 2));
    huge.push(1);
    huge.push(b'x');
    huge.extend(std::iter::repeat_n(0u8, pad));
    // Admission refuses it; were it in a block, the deploy would fail the same way.
    let adapter = babel_wasm::WasmAdapter::new().unwrap();
    let payload = babel_proto::v1::transaction::Payload::Wasm(babel_proto::v1::WasmCall {
        code: huge.clone().into(),
        ..Default::default()
    });
    assert!(babel_execution::ExecutionAdapter::check_payload(&adapter, &payload).is_err());
    assert_eq!(
        babel_wasm::module::check(&huge),
        Err(babel_wasm::module::Refusal::TooLarge)
    );
    assert_eq!(
        deploy_refused(huge),
        format!("wasm: module larger than {pad} bytes")
    );
    assert_eq!(
        deploy_refused(b"\0asm garbage".to_vec()),
        "wasm: invalid module"
    );
    let unknown = r#"(module
  (import "babel" "launch_missiles" (func))
  (memory (export "memory") 1))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(unknown).unwrap()),
        "wasm: unknown import babel.launch_missiles"
    );
    let wrong_signature = r#"(module
  (import "babel" "input_len" (func (result i64)))
  (memory (export "memory") 1))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(wrong_signature).unwrap()),
        "wasm: unknown import babel.input_len"
    );
    let wasi = r#"(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(wasi).unwrap()),
        "wasm: unknown import wasi_snapshot_preview1.clock_time_get"
    );
    let reserved = r#"(module
  (memory (export "memory") 1)
  (global (export "__babel_stack") (mut i32) (i32.const 0)))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(reserved).unwrap()),
        "wasm: reserved export __babel_stack"
    );
    let no_memory = r#"(module (func (export "run")))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(no_memory).unwrap()),
        "wasm: no exported memory"
    );
    let simd = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (drop (i32x4.splat (i32.const 1)))))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(simd).unwrap()),
        "wasm: invalid module"
    );
}

#[test]
fn a_trapping_start_function_fails_every_call() {
    let wat = module("(start $boom) (func $boom unreachable)", "");
    let (why, _) = run_fails(&wat);
    assert_eq!(why, "wasm: unreachable");
}

#[test]
fn a_missing_export_or_contract_fails() {
    let mut chain = Chain::new();
    let id = chain.deploy(crate::contracts::COUNTER, "");
    let out = chain.call(&id, "nonexistent", b"");
    assert!(!out.receipt.success);
    assert_eq!(reason(&out).as_deref(), Some("wasm: no such export"));
    let out = chain.call(&[9; 20], "increment", b"");
    assert!(!out.receipt.success);
    assert_eq!(reason(&out).as_deref(), Some("wasm: no contract"));
}

#[test]
fn out_of_bounds_host_access_fails_the_frame() {
    let wat = r#"(module
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $ret (i32.const 65530) (i32.const 100))))"#;
    let (why, gas) = run_fails(wat);
    assert_eq!(why, "wasm: host access out of bounds");
    assert_eq!(gas, GAS);
}

fn leb128(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn frames_the_optimiser_could_fatten_still_stop_at_the_counted_bound() {
    // Each frame computes many values from its parameter before and after recursing: an
    // optimiser merging the two halves would keep them all live across the call, making the
    // native frame far larger than the slots counted. Optimisations are off, so the counted
    // bound, not the native stack, stops the recursion.
    let stores = |k0: u64| -> String {
        (0..1000)
            .map(|k| {
                format!(
                    "(i64.store (i32.const 0) (i64.mul (local.get 0) (i64.const {})))",
                    k0 + k
                )
            })
            .collect()
    };
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func $f (param i64)
    {before}
    (call $f (i64.add (local.get 0) (i64.const 1)))
    {after})
  (func (export "run") (call $f (i64.const 3))))"#,
        before = stores(1),
        after = stores(1)
    );
    let (why, _) = run_fails(&wat);
    assert_eq!(why, "wasm: call stack limit");

    // Frames with a thousand locals: the bound comes after a few dozen of them.
    let fat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func $f (local {locals}) (call $f))
  (func (export "run") (call $f)))"#,
        locals = "i64 ".repeat(1000)
    );
    let (why, _) = run_fails(&fat);
    assert_eq!(why, "wasm: call stack limit");
}

#[test]
fn storage_is_priced_by_the_bytes_stored_and_read() {
    let wat = r#"(module
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "store") (call $write (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1024)))
  (func (export "load") (drop (call $read (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0)))))"#;
    let mut chain = Chain::new();
    let id = chain.deploy(wat, "");
    let stored = chain.call(&id, "store", b"");
    assert!(stored.receipt.success, "{:?}", reason(&stored));
    let per_byte = babel_wasm::limits::STORE_BYTE_GAS;
    // The key is stored with the contract's prefix, and pays for it.
    let key = babel_wasm::state::storage_prefix(&id).len() as u64 + 1;
    assert!(
        stored.receipt.gas_used >= per_byte * (key + 1024),
        "{} gas for 1 KiB stored",
        stored.receipt.gas_used
    );
    // Reading it while copying nothing out still pays for the kilobyte fetched.
    let empty = chain.call(&id, "load", b"");
    let mut other = Chain::new();
    let id2 = other.deploy(wat, "");
    let missing = other.call(&id2, "load", b"");
    assert!(empty.receipt.gas_used >= missing.receipt.gas_used + 3 * 1024);
}

#[test]
fn two_tables_are_refused_at_deploy() {
    let wat = r#"(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (table 1 funcref))"#;
    assert_eq!(
        deploy_refused(wat::parse_str(wat).unwrap()),
        "wasm: too many tables"
    );
}

#[test]
fn a_module_at_every_limit_runs_from_genesis_but_costs_more_than_a_transaction_has() {
    use babel_wasm::limits::{
        MAX_EXPORTS, MAX_FUNCTIONS, MAX_GLOBALS, MAX_IMPORTS, MAX_LOCALS, MAX_MEMORY_PAGES,
        MAX_SEGMENTS, MAX_TABLE_ELEMENTS,
    };
    // Every function in the table (so each has a function reference in the instance), the
    // most memory, globals, imports, exports, segments and locals allowed: the engine's
    // preallocated slots must hold any module the deploy checks accept. Genesis contracts pay
    // no gas, so such a module can exist.
    let mut wat = String::from("(module\n");
    for _ in 0..MAX_IMPORTS {
        wat.push_str("(import \"babel\" \"input_len\" (func (result i32)))\n");
    }
    wat.push_str(&format!(
        "(memory (export \"memory\") {MAX_MEMORY_PAGES})\n"
    ));
    wat.push_str(&format!("(table {MAX_TABLE_ELEMENTS} funcref)\n"));
    for i in 0..MAX_GLOBALS {
        wat.push_str(&format!("(global $g{i} (mut i64) (i64.const {i}))\n"));
    }
    wat.push_str(&format!(
        "(func $run (export \"run\") (local {}) (global.set $g0 (i64.const 7)))\n",
        " i64".repeat(MAX_LOCALS as usize)
    ));
    for i in 1..MAX_FUNCTIONS {
        wat.push_str(&format!("(func $f{i} nop)\n"));
    }
    // `memory` and `run` are two of the exports.
    for i in 1..=MAX_EXPORTS - 2 {
        wat.push_str(&format!("(export \"f{i}\" (func $f{i}))\n"));
    }
    let elems: String = (1..MAX_FUNCTIONS).map(|i| format!(" $f{i}")).collect();
    wat.push_str(&format!("(elem (i32.const 0) func $run{elems})\n"));
    for i in 0..MAX_SEGMENTS - 1 {
        wat.push_str(&format!("(data (i32.const {}) \"x\")\n", i * 64));
    }
    wat.push(')');
    let code = wat::parse_str(&wat).unwrap();
    let id = vec![0xAB; 20];
    let genesis = babel_genesis::RollupGenesis {
        id: WASM,
        name: "wasm".into(),
        namespace: None,
        gas_price: 0,
        vm: babel_genesis::VmGenesis::Wasm(babel_genesis::WasmGenesis {
            contracts: vec![babel_genesis::WasmContract {
                id: babel_genesis::Hex(id.clone()),
                code: babel_genesis::Hex(code),
                storage: Vec::new(),
            }],
        }),
    };
    let adapter = std::sync::Arc::new(babel_wasm::WasmAdapter::new().unwrap());
    let exec = babel_execution::Executor::new().with_rollup(WASM, adapter.clone(), 0);
    let mut state = babel_execution::state::MemState::new();
    let mut changes = babel_execution::state::Changes::new();
    for (key, value) in
        babel_execution::ExecutionAdapter::genesis_state(adapter.as_ref(), &genesis).unwrap()
    {
        changes.insert((WASM, key), Some(value));
    }
    state.apply(&changes);
    let out = crate::run_tx(
        &exec,
        &mut state,
        WASM,
        0,
        GAS,
        crate::call(&id, "run", b""),
    );
    assert!(out.receipt.success, "{:?}", reason(&out));
    // Compiled once, at genesis.
    assert_eq!(adapter.code_stats().compiled, 1);
    // Deployed by a transaction, it costs more gas than a transaction may have.
    let out = crate::run_tx(
        &exec,
        &mut state,
        WASM,
        1,
        crate::env().max_tx_gas,
        crate::deploy(&wat, ""),
    );
    assert_eq!(reason(&out).as_deref(), Some("wasm: out of gas"));
    assert_eq!(adapter.code_stats().compiled, 1);
}

#[test]
fn bulk_memory_and_grows_pay_for_their_size() {
    use babel_wasm::{
        bulk::{BYTES_PER_ROUND, FUEL_PER_ROUND, GROW_ROUNDS, ROUNDS_PER_PAGE},
        limits::FUEL_PER_GAS,
    };
    // Gas of calling `b` (doing `more`) above calling `a` (doing `base`), two exports of one
    // module in a memory of up to 256 pages: the same load and frame costs.
    let above = |base: &str, more: &str| {
        let wat = format!(
            r#"(module (memory (export "memory") 1 256)
                 (func (export "a") {base}) (func (export "b") {more}))"#
        );
        let mut chain = Chain::new();
        let id = chain.deploy(&wat, "");
        let [a, b] = ["a", "b"].map(|m| {
            let out = chain.call(&id, m, b"");
            assert!(out.receipt.success, "{m}: {:?}", reason(&out));
            out.receipt.gas_used as f64
        });
        b - a
    };
    let gas = |rounds: u64| (rounds * FUEL_PER_ROUND) as f64 / FUEL_PER_GAS as f64;
    let close = |got: f64, want: f64| (got - want).abs() <= 1.0;
    // Filling or copying 64 KiB costs its rounds.
    let fill = |n: u32| format!("(memory.fill (i32.const 0) (i32.const 7) (i32.const {n}))");
    let rounds = u64::from(65_536 / BYTES_PER_ROUND);
    let got = above(&fill(0), &fill(65_536));
    assert!(close(got, gas(rounds)), "{got}");
    let copy = |n: u32| format!("(memory.copy (i32.const 0) (i32.const 1) (i32.const {n}))");
    let got = above(&copy(0), &copy(65_535));
    assert!(close(got, gas(rounds)), "{got}");
    // Growing pays per page asked for, and a base even for none.
    let grow = |n: u32| format!("(drop (memory.grow (i32.const {n})))");
    let got = above(&grow(0), &grow(10));
    assert!(close(got, gas(u64::from(10 * ROUNDS_PER_PAGE))), "{got}");
    let got = above("", &grow(0));
    assert!(got >= gas(u64::from(GROW_ROUNDS)), "{got}");
    // Asking for more than the limit fails the grow, after paying for what was asked (up to
    // 65 536 pages, more gas than a call has).
    let (why, _) = run_fails(&module("", "(drop (memory.grow (i32.const 1000000)))"));
    assert_eq!(why, "wasm: out of gas");
}

#[test]
fn parameters_count_as_locals() {
    use babel_wasm::limits::MAX_LOCALS;
    let params = " i32".repeat(8);
    let locals = " i32".repeat(MAX_LOCALS as usize - 8);
    let at =
        format!(r#"(module (memory (export "memory") 1) (func (param{params}) (local{locals})))"#);
    assert!(babel_wasm::module::check(&wat::parse_str(&at).unwrap()).is_ok());
    let over = format!(
        r#"(module (memory (export "memory") 1) (func (param{params} i32) (local{locals})))"#
    );
    assert_eq!(
        deploy_refused(wat::parse_str(&over).unwrap()),
        "wasm: too many locals"
    );
}

#[test]
fn a_br_table_longer_than_the_limit_is_refused_and_one_at_the_limit_runs() {
    use babel_wasm::limits::MAX_BR_TABLE_TARGETS;
    // `n` targets and the default, all to the enclosing block.
    let table = |n: u32| {
        module(
            "",
            &format!(
                "(block (br_table {}(i32.const 0)))",
                "0 ".repeat(n as usize + 1)
            ),
        )
    };
    let mut chain = Chain::new();
    let id = chain.deploy(&table(MAX_BR_TABLE_TARGETS), "");
    let out = chain.call(&id, "run", b"");
    assert!(out.receipt.success, "{:?}", reason(&out));
    let over = wat::parse_str(table(MAX_BR_TABLE_TARGETS + 1)).unwrap();
    assert_eq!(deploy_refused(over), "wasm: too many br_table targets");
    // Past what the compiler takes (65 520): validated, but never compiled.
    let past = wat::parse_str(table(65_521)).unwrap();
    assert_eq!(deploy_refused(past), "wasm: too many br_table targets");
}

#[test]
fn declared_locals_pay_for_their_zeroing_on_every_call_and_at_deploy() {
    use babel_wasm::{
        bulk::{FUEL_PER_ROUND, LOCALS_PER_ROUND},
        limits::{FUEL_PER_GAS, LOAD_GAS_PER_LOCAL, LOCAL_GAS},
    };
    const CALLS: u64 = 100;
    const LOCALS: u64 = 1_000;
    // `run` calls `$f`, which declares `locals` i64 locals and does nothing, CALLS times.
    let wat = |locals: u64| {
        let declared = if locals == 0 {
            String::new()
        } else {
            format!("(local{})", " i64".repeat(locals as usize))
        };
        format!(
            r#"(module (memory (export "memory") 1)
  (func $f {declared})
  (func (export "run") (local $i i32)
    (loop $l
      (call $f)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {CALLS}))))))"#
        )
    };
    let run = |locals: u64| {
        let mut chain = Chain::new();
        let deployed = chain.run(WASM, GAS, crate::deploy(&wat(locals), ""));
        assert!(deployed.receipt.success, "{:?}", reason(&deployed));
        let id = deployed.receipt.output.clone();
        let out = chain.call(&id, "run", b"");
        assert!(out.receipt.success, "{:?}", reason(&out));
        (deployed.receipt.gas_used, out.receipt.gas_used)
    };
    let (deploy_none, call_none) = run(0);
    let (deploy_many, call_many) = run(LOCALS);
    // One local group declares them all in a few bytes; the deploy pays for each.
    assert!(
        deploy_many >= deploy_none + LOCALS * LOCAL_GAS,
        "{deploy_none} {deploy_many}"
    );
    // Every call pays for zeroing them, and loading the module for its code.
    let rounds = LOCALS.div_ceil(u64::from(LOCALS_PER_ROUND));
    let zeroing = CALLS * rounds * FUEL_PER_ROUND / FUEL_PER_GAS;
    assert!(
        call_many >= call_none + zeroing + LOCALS * LOAD_GAS_PER_LOCAL,
        "{call_none} {call_many}"
    );
}
