;; Calls into another rollup, an EVM one for instance, and hands back what it answers.
;;
;; `relay` takes: the rollup (u64, little-endian) ‖ the target's length (1 byte) ‖ the target
;; (an EVM address is 20 bytes) ‖ the call data (for an EVM contract, a Solidity call). It
;; makes that call offering all its gas, and returns the callee's output, or reverts with the
;; callee's revert data (a Solidity revert reason stays readable to the client). Before the
;; call it counts the relays it made under key `n` (a u64, little-endian), so that a caller
;; can see this rollup's side of a transaction kept or undone. The same entry is exported as
;; `call`, which other rollups reach, so a relay can sit in the middle of a chain of calls.
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "xcall" (func $xcall (param i64 i32 i32 i32 i32 i64) (result i32)))
  (import "babel" "return_data_len" (func $rd_len (result i32)))
  (import "babel" "return_data_copy" (func $rd_copy (param i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (import "babel" "gas_left" (func $gas_left (result i64)))
  (import "babel" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 3)
  ;; The counter's key, in the third page (the first two hold the input and the answer).
  (data (i32.const 131072) "n")
  (func (export "relay") (export "call")
    (local $n i32) (local $ok i32)
    ;; An absent count reads as -1 and leaves the zeroed memory: 0.
    (drop (call $read (i32.const 131072) (i32.const 1) (i32.const 131080) (i32.const 8)))
    (i64.store (i32.const 131080) (i64.add (i64.load (i32.const 131080)) (i64.const 1)))
    (call $write (i32.const 131072) (i32.const 1) (i32.const 131080) (i32.const 8))
    (call $input_copy (i32.const 0))
    (local.set $n (i32.load8_u (i32.const 8)))
    (local.set $ok
      (call $xcall (i64.load (i32.const 0))
                   (i32.const 9) (local.get $n)
                   (i32.add (i32.const 9) (local.get $n))
                   (i32.sub (call $input_len) (i32.add (i32.const 9) (local.get $n)))
                   (call $gas_left)))
    (call $rd_copy (i32.const 65536))
    (if (local.get $ok)
      (then (call $ret (i32.const 65536) (call $rd_len)))
      (else (call $revert (i32.const 65536) (call $rd_len))))))
