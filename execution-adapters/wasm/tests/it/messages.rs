//! `send_message`: a contract's messages land in its rollup's outgoing-message log, paid for
//! from their length, and go with a frame that fails.

use babel_execution::gas::{MAX_MESSAGE_BYTES, message_cost};
use babel_proto::{
    message::{MESSAGE_COUNT_KEY, decode_message_count, message_key},
    v1,
};
use prost::Message as _;

use crate::{Chain, WASM, reason};

/// `send` sends its call data and returns the index (8 bytes, little-endian); `send_then_fail`
/// sends it and reverts; `send_huge` asks to send 4 097 bytes.
const OUTBOX: &str = r#"
(module
  (import "babel" "input_len" (func $input_len (result i32)))
  (import "babel" "input_copy" (func $input_copy (param i32)))
  (import "babel" "send_message" (func $send (param i32 i32) (result i64)))
  (import "babel" "set_return" (func $ret (param i32 i32)))
  (import "babel" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (func $send_input (result i64)
    (call $input_copy (i32.const 1024))
    (call $send (i32.const 1024) (call $input_len)))
  (func (export "send")
    (i64.store (i32.const 0) (call $send_input))
    (call $ret (i32.const 0) (i32.const 8)))
  (func (export "send_then_fail")
    (drop (call $send_input))
    (call $revert (i32.const 0) (i32.const 0)))
  (func (export "send_huge")
    (drop (call $send (i32.const 0) (i32.const 4097)))))
"#;

fn message(chain: &Chain, index: u64) -> Option<v1::OutgoingMessage> {
    chain
        .get(WASM, &message_key(index))
        .map(|bytes| v1::OutgoingMessage::decode(bytes.as_slice()).unwrap())
}

fn count(chain: &Chain) -> u64 {
    decode_message_count(chain.get(WASM, MESSAGE_COUNT_KEY).as_deref()).unwrap()
}

#[test]
fn a_contract_sends_messages_that_a_failed_frame_takes_back() {
    let mut chain = Chain::new();
    let id = chain.deploy(OUTBOX, "");
    for (i, payload) in [b"to L1".as_slice(), b"again"].into_iter().enumerate() {
        let out = chain.call(&id, "send", payload);
        assert!(out.receipt.success, "{:?}", reason(&out));
        assert_eq!(out.receipt.output.as_ref(), (i as u64).to_le_bytes());
        // The message's own price is in the gas used.
        assert!(out.receipt.gas_used > message_cost(id.len(), payload.len()).unwrap());
    }
    assert_eq!(count(&chain), 2);
    let first = message(&chain, 0).unwrap();
    assert_eq!(first.sender.as_ref(), id.as_ref(), "the contract sent it");
    assert_eq!(first.payload.as_ref(), b"to L1");
    assert_eq!(first.index, 0);

    let failed = chain.call(&id, "send_then_fail", b"lost");
    assert!(!failed.receipt.success);
    assert_eq!(count(&chain), 2);
    assert_eq!(message(&chain, 2), None);

    let huge = chain.call(&id, "send_huge", b"");
    assert!(!huge.receipt.success);
    assert!(
        reason(&huge).is_some_and(|r| r.contains("message longer than 4096 bytes")),
        "{:?}",
        reason(&huge)
    );
    assert_eq!(count(&chain), 2);
    let at_bound = chain.call(&id, "send", &vec![1; MAX_MESSAGE_BYTES]);
    assert!(at_bound.receipt.success, "{:?}", reason(&at_bound));
    assert_eq!(count(&chain), 3);
}
