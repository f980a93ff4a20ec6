;; A vault an EVM contract deposits into: its cross-rollup entry `call` takes the Solidity call
;; `credit(address account, uint256 amount)` (selector 0xef6506db), credits `account`
;; (amounts below 2^64) under key "c" ‖ account, adds to the total under "t", refuses to pass
;; the cap under "p" with Error("vault cap reached"), and returns the account's credits as an
;; ABI uint256. Every number in storage is a u64, little-endian.
;;
;; Exports: `call` (above), `init` (constructor: the cap, a u64 LE, as input), `total`
;; (returns the total, a u64 LE).
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "tp")
  ;; abi.encodeWithSignature("Error(string)", "vault cap reached"): 100 bytes.
  (data (i32.const 200)
    "\08\c3\79\a0"
    "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00" "\00\00\00\20"
    "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00" "\00\00\00\11"
    "vault cap reached" "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  ;; abi.encodeWithSignature("Error(string)", "vault: bad call"): 100 bytes.
  (data (i32.const 400)
    "\08\c3\79\a0"
    "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00" "\00\00\00\20"
    "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00" "\00\00\00\0f"
    "vault: bad call" "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  ;; Byte-swap a 64-bit word (ABI words are big-endian, wasm little-endian).
  (func $bswap (param $x i64) (result i64)
    (local $r i64) (local $i i32)
    (loop $l
      (local.set $r (i64.or (i64.shl (local.get $r) (i64.const 8))
                            (i64.and (local.get $x) (i64.const 0xff))))
      (local.set $x (i64.shr_u (local.get $x) (i64.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $r))
  ;; The u64 under the key at (ptr, len), 0 if absent.
  (func $get (param $ptr i32) (param $len i32) (result i64)
    (i64.store (i32.const 8192) (i64.const 0))
    (drop (call $read (local.get $ptr) (local.get $len) (i32.const 8192) (i32.const 8)))
    (i64.load (i32.const 8192)))
  (func $put (param $ptr i32) (param $len i32) (param $v i64)
    (i64.store (i32.const 8192) (local.get $v))
    (call $write (local.get $ptr) (local.get $len) (i32.const 8192) (i32.const 8)))
  (func (export "call")
    (local $amount i64) (local $total i64) (local $credits i64)
    ;; selector ‖ address word ‖ amount word, the amount below 2^64.
    (if (i32.ne (call $input_len) (i32.const 68))
      (then (call $revert (i32.const 400) (i32.const 100))))
    (call $input_copy (i32.const 4096))
    (if (i32.or
          ;; The selector's four bytes read as a little-endian i32.
          (i32.ne (i32.load (i32.const 4096)) (i32.const 0xdb0665ef))
          (i64.ne (i64.or (i64.or (i64.load (i32.const 4132)) (i64.load (i32.const 4140)))
                          (i64.load (i32.const 4148)))
                  (i64.const 0)))
      (then (call $revert (i32.const 400) (i32.const 100))))
    (local.set $amount (call $bswap (i64.load (i32.const 4156))))
    (local.set $total (i64.add (call $get (i32.const 100) (i32.const 1)) (local.get $amount)))
    (if (i64.gt_u (local.get $total) (call $get (i32.const 101) (i32.const 1)))
      (then (call $revert (i32.const 200) (i32.const 100))))
    (call $put (i32.const 100) (i32.const 1) (local.get $total))
    ;; Key "c" ‖ account: the byte before the account is padding of its ABI word.
    (i32.store8 (i32.const 4111) (i32.const 0x63))
    (local.set $credits (i64.add (call $get (i32.const 4111) (i32.const 21)) (local.get $amount)))
    (call $put (i32.const 4111) (i32.const 21) (local.get $credits))
    ;; abi.encode(uint256 credits): 24 zero bytes, then the big-endian u64.
    (i64.store (i32.const 12312) (call $bswap (local.get $credits)))
    (call $ret (i32.const 12288) (i32.const 32)))
  (func (export "init")
    (call $input_copy (i32.const 4096))
    (call $put (i32.const 101) (i32.const 1) (i64.load (i32.const 4096))))
  (func (export "total")
    (i64.store (i32.const 12288) (call $get (i32.const 100) (i32.const 1)))
    (call $ret (i32.const 12288) (i32.const 8))))
