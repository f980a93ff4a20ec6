//! Rollups registered and updated on a running chain, through the application: a new rollup's
//! tree starts at its height and survives updates, a module the VM refuses is a refused
//! receipt (the chain goes on), and admission keeps unapproved changes out of blocks.

use babel_execution::registry;
use babel_genesis::REGISTRY_ROLLUP_ID;
use ed25519_dalek::SigningKey;

use super::tests::{CHAIN, Fixture, block_with, commit, fixture_of, verdict};
use super::*;
use crate::txpath::admission::{self, sign};

fn governed() -> Fixture {
    fixture_of(
        serde_json::json!({ "id": 1, "name": "evm", "vm": "evm", "initial_state": {} }),
        true,
    )
}

/// A registry change with `action`, approved by `approvers`, sent by the governance key.
fn change(
    nonce: u64,
    action: v1::registry_call::Action,
    approvers: &[SigningKey],
) -> v1::SignedTransaction {
    let mut call = v1::RegistryCall {
        action: Some(action),
        approvals: Vec::new(),
    };
    call.approvals = approvers
        .iter()
        .map(|k| crate::cli::rollup::approve(CHAIN, &call, k))
        .collect();
    let sender = SigningKey::from_bytes(&[9; 32]);
    let tx = v1::Transaction {
        chain_id: CHAIN.into(),
        rollup_id: REGISTRY_ROLLUP_ID,
        sender_pubkey: sender.verifying_key().as_bytes().to_vec().into(),
        nonce,
        gas_limit: registry::gas(&call),
        max_fee: 0,
        payload: Some(v1::transaction::Payload::Registry(call)),
    };
    sign(&tx, &sender)
}

fn register(rollup: serde_json::Value) -> v1::registry_call::Action {
    v1::registry_call::Action::Register(v1::RegisterRollup {
        rollup: rollup.to_string().into_bytes().into(),
        metadata: String::new(),
    })
}

fn governance() -> Vec<SigningKey> {
    vec![SigningKey::from_bytes(&[9; 32])]
}

/// Commit a block of `txs`, returning its header and receipts.
fn decide(f: &mut Fixture, txs: Vec<v1::SignedTransaction>) -> (v1::Header, Vec<v1::Receipt>) {
    let block = block_with(f, txs);
    assert!(verdict(f, &block).is_valid(), "{:?}", verdict(f, &block));
    let header = block.header.clone().unwrap();
    let hashes: Vec<[u8; 32]> = block.txs.iter().map(babel_proto::tx_hash).collect();
    commit(f, block);
    let receipts = hashes
        .iter()
        .map(|h| f.app.store.receipt(h).unwrap().unwrap())
        .collect();
    (header, receipts)
}

fn root_of(header: &v1::Header, rollup: u64) -> Vec<u8> {
    header
        .state_roots
        .iter()
        .find(|r| r.rollup_id == rollup)
        .map(|r| r.root.to_vec())
        .unwrap_or_default()
}

#[test]
fn a_registered_rollups_tree_starts_at_its_height_and_an_update_keeps_it() {
    let mut f = governed();
    let account = "0x00000000000000000000000000000000000000aa";
    let entry = serde_json::json!({ "id": 5, "name": "late", "vm": "evm",
        "initial_state": { "evm_chain_id": 55, "alloc": [{ "address": account, "balance": "77" }] } });
    let (first, receipts) = decide(&mut f, vec![change(0, register(entry), &governance())]);
    assert!(receipts[0].success, "{:?}", receipts[0].output);
    assert!(
        !root_of(&first, 5).is_empty(),
        "the new rollup's root is in the header"
    );
    let update = v1::registry_call::Action::Update(v1::UpdateRollup {
        rollup_id: 5,
        version: 0,
        gas_price: Some(3),
        metadata: None,
    });
    let (second, receipts) = decide(&mut f, vec![change(1, update, &governance())]);
    assert!(receipts[0].success, "{:?}", receipts[0].output);
    assert_eq!(f.app.executor.gas_price(5), Some(3));
    // The update rewrote the record only: the rollup's state and root are as they were.
    assert_eq!(root_of(&second, 5), root_of(&first, 5));
    let address: [u8; 20] = hex::decode(&account[2..]).unwrap().try_into().unwrap();
    let key = babel_evm::state::account_key(&address.into());
    let (value, proof) = babel_execution::commitment::prove(&f.app.store.tree(5), 2, &key).unwrap();
    assert!(value.is_some());
    let root: [u8; 32] = root_of(&second, 5).try_into().unwrap();
    assert!(babel_execution::commitment::verify(
        root,
        &key,
        value.as_deref(),
        &proof
    ));
}

#[test]
fn an_evm_rollup_with_a_taken_chain_id_is_refused_and_a_free_one_is_found_by_it() {
    let mut f = governed();
    let taken = f
        .app
        .executor
        .registry()
        .records()
        .into_iter()
        .find(|r| r.vm == "evm")
        .map(|r| r.evm_chain_id)
        .expect("the genesis has an EVM rollup");
    let entry = |id: u64, chain_id: u64| {
        serde_json::json!({ "id": id, "name": format!("evm-{id}"), "vm": "evm",
            "initial_state": { "evm_chain_id": chain_id } })
    };
    let (_, receipts) = decide(
        &mut f,
        vec![change(0, register(entry(8, taken)), &governance())],
    );
    assert!(!receipts[0].success);
    let why = String::from_utf8_lossy(&receipts[0].output).into_owned();
    assert!(
        why.contains(&format!("EVM chain id {taken} is taken")),
        "{why}"
    );
    assert_eq!(f.app.executor.registry().get(8), None);
    // A free chain id registers, and Ethereum transactions signed for it find the rollup.
    let (_, receipts) = decide(
        &mut f,
        vec![change(1, register(entry(9, 9_999)), &governance())],
    );
    assert!(receipts[0].success, "{:?}", receipts[0].output);
    assert_eq!(f.app.executor.evm_rollup(9_999), Some(9));
    assert_eq!(
        f.app.executor.evm_rollup(taken).map(|id| id != 9),
        Some(true)
    );
}

#[test]
fn a_registered_module_the_vm_refuses_is_a_refused_receipt_and_the_chain_goes_on() {
    let mut f = governed();
    // A `br_table` of more targets than the compiler takes: refused before it would compile,
    // as a deploy of it is.
    let table = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1) (func (export "run") (block (br_table {}(i32.const 0)))))"#,
        "0 ".repeat(65_522)
    ))
    .unwrap();
    let entry = serde_json::json!({ "id": 6, "name": "bad", "vm": "wasm", "initial_state": {
        "contracts": [{ "id": "0x01", "code": format!("0x{}", hex::encode(table)) }] } });
    let (header, receipts) = decide(&mut f, vec![change(0, register(entry), &governance())]);
    assert!(!receipts[0].success);
    let why = String::from_utf8_lossy(&receipts[0].output).into_owned();
    assert!(why.contains("invalid initial state: contract 01"), "{why}");
    assert!(root_of(&header, 6).is_empty());
    assert_eq!(f.app.executor.registry().get(6), None);
    let (next, _) = decide(&mut f, Vec::new());
    assert_eq!(next.height, header.height + 1);
}

#[test]
fn admission_keeps_unapproved_and_foreign_changes_out_of_blocks() {
    let f = governed();
    let genesis = f.app.genesis.clone();
    let entry = serde_json::json!({ "id": 7, "name": "x", "vm": "evm", "initial_state": {} });
    let check = |signed| admission::check(signed, &genesis, &f.app.executor);
    let unapproved = change(0, register(entry.clone()), &[]);
    let refused = check(unapproved).unwrap_err();
    assert_eq!(refused.reason, v1::RejectReason::NotGovernance);
    assert!(
        refused.message.contains("0 approvals, 1 needed"),
        "{refused}"
    );
    let stranger = change(
        0,
        register(entry.clone()),
        &[SigningKey::from_bytes(&[3; 32])],
    );
    assert!(
        check(stranger)
            .unwrap_err()
            .message
            .contains("not a governance key")
    );
    // Signed by a key outside the governance, however approved.
    let mut tx = v1::Transaction::decode(change(0, register(entry), &governance()).body).unwrap();
    let other = SigningKey::from_bytes(&[4; 32]);
    tx.sender_pubkey = other.verifying_key().as_bytes().to_vec().into();
    let refused = check(sign(&tx, &other)).unwrap_err();
    assert_eq!(refused.reason, v1::RejectReason::NotGovernance);
}
