;; A fungible token: balances under "b" ‖ account (a u64, little-endian), where an account is
;; whatever its holder's caller bytes are (a signer's 32-byte key, a contract's address).
;;
;; Exports: `transfer` (input: amount, a u64 LE ‖ recipient account, 1 to 64 bytes; moves the
;; amount from the caller, or reverts with "insufficient balance" or "bad transfer"), and
;; `balance` (input: an account; returns its balance, a u64 LE). `babel bench --workload
;; wasm-transfer` loads this contract.
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "caller_len" (func $caller_len (result i32)))
  (import "babel" "caller_copy" (func $caller_copy (param i32)))
  (import "babel" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "insufficient balance")
  (data (i32.const 32) "bad transfer")
  ;; Keys: "b" at 255 then the caller from 256; "b" at 511 then the recipient from 512.
  (func $balance_at (param $key i32) (param $len i32) (result i64)
    (i64.store (i32.const 1024) (i64.const 0))
    (drop (call $read (local.get $key) (local.get $len) (i32.const 1024) (i32.const 8)))
    (i64.load (i32.const 1024)))
  (func $set_at (param $key i32) (param $len i32) (param $v i64)
    (i64.store (i32.const 1024) (local.get $v))
    (call $write (local.get $key) (local.get $len) (i32.const 1024) (i32.const 8)))
  (func (export "transfer")
    (local $n i32) (local $from_len i32) (local $to_len i32) (local $amount i64) (local $from i64)
    (local.set $n (call $input_len))
    (local.set $from_len (call $caller_len))
    (if (i32.or (i32.or (i32.lt_u (local.get $n) (i32.const 9)) (i32.gt_u (local.get $n) (i32.const 72)))
                (i32.gt_u (local.get $from_len) (i32.const 64)))
      (then (call $revert (i32.const 32) (i32.const 12))))
    (local.set $to_len (i32.sub (local.get $n) (i32.const 8)))
    ;; The input goes to 504: the amount at 504..512, the recipient from 512. Once the amount
    ;; is read, its last byte becomes the "b" of the recipient's key.
    (call $input_copy (i32.const 504))
    (local.set $amount (i64.load (i32.const 504)))
    (i32.store8 (i32.const 511) (i32.const 0x62))
    (i32.store8 (i32.const 255) (i32.const 0x62))
    (call $caller_copy (i32.const 256))
    (local.set $from (call $balance_at (i32.const 255) (i32.add (local.get $from_len) (i32.const 1))))
    (if (i64.lt_u (local.get $from) (local.get $amount))
      (then (call $revert (i32.const 0) (i32.const 20))))
    (call $set_at (i32.const 255) (i32.add (local.get $from_len) (i32.const 1))
                  (i64.sub (local.get $from) (local.get $amount)))
    ;; Read the recipient after the debit: a transfer to oneself nets to nothing.
    (call $set_at (i32.const 511) (i32.add (local.get $to_len) (i32.const 1))
                  (i64.add (call $balance_at (i32.const 511) (i32.add (local.get $to_len) (i32.const 1)))
                           (local.get $amount))))
  (func (export "balance")
    (local $n i32)
    (local.set $n (call $input_len))
    (if (i32.gt_u (local.get $n) (i32.const 64))
      (then (call $revert (i32.const 32) (i32.const 12))))
    (call $input_copy (i32.const 512))
    (i32.store8 (i32.const 511) (i32.const 0x62))
    (i64.store (i32.const 1024) (call $balance_at (i32.const 511) (i32.add (local.get $n) (i32.const 1))))
    (call $ret (i32.const 1024) (i32.const 8))))
