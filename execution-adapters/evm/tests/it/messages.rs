//! The outgoing-message precompile: a contract's messages land in its rollup's log, numbered,
//! paid for by the byte, refused without gas or from a static call, and undone with a
//! reverted sub-call.

use alloy_sol_types::{SolCall, sol};
use babel_evm::{MESSAGE_ADDRESS, sendMessageCall};
use babel_execution::{
    gas::{MAX_MESSAGE_BYTES, message_cost},
    state::StateView,
};
use babel_proto::{
    message::{MESSAGE_COUNT_KEY, decode_message_count, message_key},
    v1,
};
use prost::Message as _;
use revm::primitives::{Address, U256};

use crate::support::{World, alice, evm_bytes};

sol! {
    function send(bytes payload) external returns (uint64 index);
    function sendAndUndo(bytes payload) external returns (bool);
    function sendStatic(bytes payload) external view returns (bool ok);
    function sendByDelegate(bytes payload) external returns (bool ok);
    function sendWithGas(bytes payload, uint256 gas_) external returns (bool ok, uint256 used);
}

fn message(w: &World, index: u64) -> Option<v1::OutgoingMessage> {
    w.state
        .get(1, &message_key(index))
        .unwrap()
        .map(|bytes| v1::OutgoingMessage::decode(bytes.as_slice()).unwrap())
}

fn count(w: &World) -> u64 {
    decode_message_count(w.state.get(1, MESSAGE_COUNT_KEY).unwrap().as_deref()).unwrap()
}

fn outbox() -> (World, Address) {
    let mut w = World::new();
    let outbox = w.deploy(1, "Outbox", Vec::new());
    (w, outbox)
}

#[test]
fn a_contract_sends_numbered_messages_into_its_rollup_s_state() {
    let (mut w, outbox) = outbox();
    for (i, payload) in [b"to L1".as_slice(), b"again"].into_iter().enumerate() {
        let receipt = w.send(
            1,
            Some(outbox),
            sendCall {
                payload: evm_bytes(payload),
            }
            .abi_encode(),
        );
        assert!(receipt.success, "{receipt:?}");
        assert_eq!(
            sendCall::abi_decode_returns(&receipt.output).unwrap(),
            i as u64
        );
    }
    assert_eq!(count(&w), 2);
    let first = message(&w, 0).unwrap();
    assert_eq!(
        first.sender.as_ref(),
        outbox.as_slice(),
        "the contract sent it"
    );
    assert_eq!((first.index, first.height), (0, 1));
    assert_eq!(first.payload.as_ref(), b"to L1");
    assert_eq!(message(&w, 1).unwrap().payload.as_ref(), b"again");

    // A transaction may call the precompile itself: the signer's address sends.
    let receipt = w.send(
        1,
        Some(MESSAGE_ADDRESS),
        sendMessageCall {
            payload: evm_bytes(b"direct"),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(message(&w, 2).unwrap().sender.as_ref(), alice().as_slice());
}

#[test]
fn a_reverted_sub_call_a_static_call_or_a_delegatecall_sends_nothing() {
    let (mut w, outbox) = outbox();
    let undo = w.send(
        1,
        Some(outbox),
        sendAndUndoCall {
            payload: evm_bytes(b"undone"),
        }
        .abi_encode(),
    );
    assert!(undo.success, "{undo:?}");
    assert!(!sendAndUndoCall::abi_decode_returns(&undo.output).unwrap());
    assert_eq!(count(&w), 0);
    assert_eq!(message(&w, 0), None);

    let ok = w.view(
        1,
        outbox,
        sendStaticCall {
            payload: evm_bytes(b"static"),
        },
    );
    assert!(!ok, "a static call may not send");
    assert_eq!(count(&w), 0);

    let delegated = w.send(
        1,
        Some(outbox),
        sendByDelegateCall {
            payload: evm_bytes(b"as my caller"),
        }
        .abi_encode(),
    );
    assert!(delegated.success, "{delegated:?}");
    assert!(
        !sendByDelegateCall::abi_decode_returns(&delegated.output).unwrap(),
        "a DELEGATECALL may not send"
    );
    assert_eq!(count(&w), 0);
}

#[test]
fn a_message_costs_its_bytes_and_is_refused_without_the_gas_or_past_the_bound() {
    let (mut w, outbox) = outbox();
    let payload = vec![7u8; 1_000];
    let cost = message_cost(20, payload.len()).unwrap();
    let try_with = |w: &mut World, payload: &[u8], gas: u64| {
        let receipt = w.send(
            1,
            Some(outbox),
            sendWithGasCall {
                payload: evm_bytes(payload),
                gas_: U256::from(gas),
            }
            .abi_encode(),
        );
        assert!(receipt.success, "{receipt:?}");
        let ret = sendWithGasCall::abi_decode_returns(&receipt.output).unwrap();
        (ret.ok, ret.used)
    };
    // Short of its cost: refused, all the gas offered is gone, nothing sent.
    let (ok, used) = try_with(&mut w, &payload, cost - 1);
    assert!(!ok);
    assert!(used >= U256::from(cost - 1), "used {used}");
    assert_eq!(count(&w), 0);
    // With it: sent, and it costs what the schedule says (plus the CALL's own overhead).
    let (ok, used) = try_with(&mut w, &payload, cost + 10_000);
    assert!(ok);
    assert!(
        used >= U256::from(cost) && used < U256::from(cost + 10_000),
        "used {used}"
    );
    assert_eq!(count(&w), 1);
    // Past the bound: refused whatever the gas.
    let (ok, _) = try_with(&mut w, &vec![1u8; MAX_MESSAGE_BYTES + 1], 2_000_000);
    assert!(!ok);
    assert_eq!(count(&w), 1);
}

#[test]
fn a_contract_on_another_rollup_sends_under_its_xcall_alias() {
    let mut w = World::new();
    let vault = w.deploy(2, "Vault", crate::support::args(U256::from(500)));
    let receipt = w.send(
        2,
        Some(vault),
        crate::support::callBackCall {
            rollup: 1,
            target: MESSAGE_ADDRESS,
            data: sendMessageCall {
                payload: evm_bytes(b"from two"),
            }
            .abi_encode()
            .into(),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    let sent = message(&w, 0).unwrap();
    assert_eq!(sent.payload.as_ref(), b"from two");
    assert_eq!(
        sent.sender.as_ref(),
        babel_evm::xcaller_address(2, vault.as_slice()).as_slice(),
        "rollup 1's log names the caller as rollup 1 knows it"
    );
}
