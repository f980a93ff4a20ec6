//! Test contracts, in WAT.

/// The example counter (`contracts/counter.wat`): `increment`, `get` (returns the value),
/// `fail` (increments, then reverts with `nope`), and `call` (the cross-rollup entry:
/// increments and returns the new value), under storage key `n` (8 bytes, little-endian).
pub(crate) const COUNTER: &str = include_str!("../../contracts/counter.wat");

/// `forward` writes `mark` under key `mark`, calls rollup 2 (the script rollup) with target
/// `script` and its own input as call data, all its gas offered, and returns the callee's
/// return data, or reverts with it if the callee failed. `forward_catch` ignores a failure.
pub(crate) const FORWARDER: &str = r#"
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "xcall" (func $xcall (param i64 i32 i32 i32 i32 i64) (result i32)))
  (import "babel" "return_data_len" (func $rd_len (result i32)))
  (import "babel" "return_data_copy" (func $rd_copy (param i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 0) "script")
  (data (i32.const 8) "mark")
  ;; Call data at 1024, return data at 65536.
  (func $forward (result i32)
    (call $input_copy (i32.const 1024))
    (call $write (i32.const 8) (i32.const 4) (i32.const 8) (i32.const 4))
    (call $xcall (i64.const 2) (i32.const 0) (i32.const 6)
                 (i32.const 1024) (call $input_len)
                 (call $gas_left))
    (call $rd_copy (i32.const 65536)))
  (func (export "forward")
    (if (call $forward)
      (then (call $ret (i32.const 65536) (call $rd_len)))
      (else (call $revert (i32.const 65536) (call $rd_len)))))
  (func (export "forward_catch")
    (drop (call $forward))))
"#;

/// Float work whose results depend on NaN handling: stores the bits of `0/0`, of `sqrt(-1)`
/// and of a NaN with a payload run through arithmetic, under keys `a`, `b` and `c`.
pub(crate) const FLOATS: &str = r#"
(module
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "abc")
  (func (export "run")
    (f32.store (i32.const 16) (f32.div (f32.const 0) (f32.const 0)))
    (call $write (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4))
    (f64.store (i32.const 16) (f64.sqrt (f64.const -1)))
    (call $write (i32.const 1) (i32.const 1) (i32.const 16) (i32.const 8))
    (f64.store (i32.const 16)
      (f64.add (f64.const nan:0x4000000000001) (f64.const 1)))
    (call $write (i32.const 2) (i32.const 1) (i32.const 16) (i32.const 8))))
"#;

/// Reports what the host says of the frame: caller, origin, signer, block, under keys.
pub(crate) const WHOAMI: &str = r#"
(module
  (import "babel" "caller_len" (func $caller_len (result i32)))
  (import "babel" "caller_copy" (func $caller_copy (param i32)))
  (import "babel" "caller_rollup" (func $caller_rollup (result i64)))
  (import "babel" "origin_rollup" (func $origin_rollup (result i64)))
  (import "babel" "signer_copy" (func $signer_copy (param i32)))
  (import "babel" "block_height" (func $height (result i64)))
  (import "babel" "block_time_ms" (func $time (result i64)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "crosht")
  (func $record
    (call $caller_copy (i32.const 100))
    (call $write (i32.const 0) (i32.const 1) (i32.const 100) (call $caller_len))
    (i64.store (i32.const 200) (call $caller_rollup))
    (call $write (i32.const 1) (i32.const 1) (i32.const 200) (i32.const 8))
    (i64.store (i32.const 200) (call $origin_rollup))
    (call $write (i32.const 2) (i32.const 1) (i32.const 200) (i32.const 8))
    (call $signer_copy (i32.const 300))
    (call $write (i32.const 3) (i32.const 1) (i32.const 300) (i32.const 32))
    (i64.store (i32.const 200) (call $height))
    (call $write (i32.const 4) (i32.const 1) (i32.const 200) (i32.const 8))
    (i64.store (i32.const 200) (call $time))
    (call $write (i32.const 5) (i32.const 1) (i32.const 200) (i32.const 8)))
  (func (export "record") (call $record))
  (func (export "call") (call $record)))
"#;
