;; Calls into another rollup, an EVM one for instance, and hands back what it answers.
;;
;; `relay` takes: the rollup (u64, little-endian) ‖ the target's length (1 byte) ‖ the target
;; (an EVM address is 20 bytes) ‖ the call data (for an EVM contract, a Solidity call). It
;; makes that call offering all its gas, and returns the callee's output, or reverts with the
;; callee's revert data (a Solidity revert reason stays readable to the client).
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "xcall" (func $xcall (param i64 i32 i32 i32 i32 i64) (result i32)))
  (import "babel" "return_data_len" (func $rd_len (result i32)))
  (import "babel" "return_data_copy" (func $rd_copy (param i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (import "babel" "gas_left" (func $gas_left (result i64)))
  (memory (export "memory") 2)
  (func (export "relay")
    (local $n i32) (local $ok i32)
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
