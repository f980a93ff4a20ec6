;; A counter under storage key "n" (a u64, little-endian).
;;
;; Exports: `increment`; `get` (returns the value); `fail` (increments, then reverts with
;; "nope", so the increment is undone); `call`, the entry other rollups reach through xcall
;; (increments and returns the new value).
(module
  (import "babel" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (data (i32.const 32) "nope")
  (func $load (result i64)
    (if (i32.lt_s (call $read (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 16) (i64.const 0))))
    (i64.load (i32.const 16)))
  (func $inc
    (i64.store (i32.const 16) (i64.add (call $load) (i64.const 1)))
    (call $write (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 8)))
  (func (export "increment") (call $inc))
  (func (export "get")
    (drop (call $load))
    (call $ret (i32.const 16) (i32.const 8)))
  (func (export "fail")
    (call $inc)
    (call $revert (i32.const 32) (i32.const 4)))
  (func (export "call")
    (call $inc)
    (call $ret (i32.const 16) (i32.const 8))))
