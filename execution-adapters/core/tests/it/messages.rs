//! The outgoing-message log: messages land in the emitting rollup's state, numbered per rollup,
//! and go with the frame that emitted them when it fails.

use babel_execution::{state::MemState, test_utils::Op};
use babel_proto::{
    message::{MESSAGE_COUNT_KEY, decode_message_count, message_key},
    v1,
};
use prost::Message as _;

use crate::support::{call, executor, get, run};

fn message(state: &MemState, rollup: u64, index: u64) -> Option<v1::OutgoingMessage> {
    get(state, rollup, &message_key(index))
        .map(|bytes| v1::OutgoingMessage::decode(bytes.as_slice()).unwrap())
}

fn count(state: &MemState, rollup: u64) -> u64 {
    decode_message_count(get(state, rollup, MESSAGE_COUNT_KEY).as_deref()).unwrap()
}

#[test]
fn messages_are_numbered_per_rollup_and_kept_in_its_state() {
    let exec = executor(0);
    let mut state = MemState::new();
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[
            Op::Message(b"first".to_vec()),
            call(2, vec![Op::Message(b"on two".to_vec())], false),
            Op::Message(b"second".to_vec()),
        ],
    );
    assert!(out.receipt.success);
    assert_eq!((count(&state, 1), count(&state, 2)), (2, 1));
    let first = message(&state, 1, 0).unwrap();
    assert_eq!(
        first,
        v1::OutgoingMessage {
            index: 0,
            height: 1,
            sender: b"script".to_vec().into(),
            payload: b"first".to_vec().into(),
        }
    );
    assert_eq!(message(&state, 1, 1).unwrap().payload.as_ref(), b"second");
    assert_eq!(message(&state, 2, 0).unwrap().payload.as_ref(), b"on two");

    // The next transaction's messages follow on.
    run(
        &exec,
        &mut state,
        1,
        1_000_000,
        &[Op::Message(b"third".to_vec())],
    );
    assert_eq!(count(&state, 1), 3);
    assert_eq!(message(&state, 1, 2).unwrap().index, 2);
}

#[test]
fn a_failed_frame_takes_its_messages_with_it() {
    let exec = executor(0);
    let mut state = MemState::new();
    // A caught failure on rollup 2 drops its message; rollup 1's stays.
    let out = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[
            Op::Message(b"kept".to_vec()),
            call(
                2,
                vec![Op::Message(b"dropped".to_vec()), Op::Fail(Vec::new())],
                true,
            ),
        ],
    );
    assert!(out.receipt.success);
    assert_eq!((count(&state, 1), count(&state, 2)), (1, 0));
    assert_eq!(message(&state, 2, 0), None);

    // A failed transaction emits nothing.
    let out = run(
        &exec,
        &mut state,
        1,
        1_000_000,
        &[Op::Message(b"lost".to_vec()), Op::Fail(Vec::new())],
    );
    assert!(!out.receipt.success);
    assert_eq!(count(&state, 1), 1);
    assert_eq!(message(&state, 1, 1), None);
}
