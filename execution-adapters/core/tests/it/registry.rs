//! The rollup registry: registering and updating rollups by governance-approved transaction,
//! every refusal with its reason and without effect, and a registered rollup running from the
//! next block on, called from another rollup.

use std::sync::Arc;

use babel_execution::{
    BlockEnv, ExecError, ExecutionAdapter, Executor, Frame, FrameOutcome, Host, TxExecution,
    VmKind,
    registry::{self, AdapterFactory, Chain, Registry},
    state::{MemState, StateView},
    test_utils::{Op, ScriptAdapter},
};
use babel_genesis::{Genesis, REGISTRY_ROLLUP_ID, RollupGenesis};
use babel_proto::v1::{self, registry_call::Action, transaction::Payload};
use ed25519_dalek::{Signer as _, SigningKey};

use crate::support::{SENDER, call, env, get, run, w};

const CHAIN: &str = "registry-test";

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Scripts, but an initial state with a contract in it is refused (as a VM refuses a bad
/// module).
#[derive(Debug)]
struct Picky;

impl ExecutionAdapter for Picky {
    fn vm(&self) -> VmKind {
        VmKind::Wasm
    }
    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        ScriptAdapter.check_payload(payload)
    }
    fn max_target_len(&self) -> usize {
        ScriptAdapter.max_target_len()
    }
    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ExecError> {
        match &rollup.vm {
            babel_genesis::VmGenesis::Wasm(w) if !w.contracts.is_empty() => {
                Err(ExecError::Genesis {
                    rollup: rollup.id,
                    message: "contract 0 does not compile".into(),
                })
            }
            _ => Ok(vec![(b"born".to_vec(), rollup.name.as_bytes().to_vec())]),
        }
    }
    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        ScriptAdapter.debit(host, account, amount)
    }
    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        ScriptAdapter.credit(host, account, amount)
    }
    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        ScriptAdapter.execute(host, frame)
    }
}

#[derive(Debug)]
struct Factory;

impl AdapterFactory for Factory {
    fn adapter(&self, _rollup: &v1::RollupRecord) -> Result<Arc<dyn ExecutionAdapter>, ExecError> {
        Ok(Arc::new(Picky))
    }
}

/// A chain with rollup 1 ("one") whose governance is keys 1, 2 and 3, two of them needed.
fn chain(governed: bool) -> (Genesis, Executor, MemState) {
    let keys: Vec<String> = (1..=3)
        .map(|n| hex::encode(key(n).verifying_key().as_bytes()))
        .collect();
    let mut json = serde_json::json!({
        "chain_id": CHAIN,
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": hex::encode(key(9).verifying_key().as_bytes()),
                         "voting_power": 1, "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [{ "id": 1, "name": "one", "vm": "wasm", "initial_state": {} }],
    });
    if governed {
        json["governance"] = serde_json::json!({ "keys": keys, "threshold": 2 });
    }
    let genesis = Genesis::from_json(json.to_string().as_bytes()).unwrap();
    let exec = Executor::new()
        .with_rollup(1, Arc::new(Picky), 0)
        .following(
            Arc::new(Registry::from_genesis(&genesis)),
            Chain {
                chain_id: CHAIN.into(),
                governance: genesis.governance.clone(),
                factory: Arc::new(Factory),
            },
        );
    let mut state = MemState::new();
    state.apply(&exec.genesis_changes(&genesis).unwrap());
    (genesis, exec, state)
}

fn register(rollup: serde_json::Value) -> Action {
    Action::Register(v1::RegisterRollup {
        rollup: rollup.to_string().into_bytes().into(),
        metadata: "a rollup".into(),
    })
}

/// `action` approved by `approvers` for chain `chain_id`.
fn approved(action: Action, approvers: &[SigningKey], chain_id: &str) -> v1::RegistryCall {
    let mut call = v1::RegistryCall {
        action: Some(action),
        approvals: Vec::new(),
    };
    let message = registry::approval_bytes(chain_id, &call);
    call.approvals = approvers
        .iter()
        .map(|k| v1::Approval {
            public_key: k.verifying_key().as_bytes().to_vec().into(),
            signature: k.sign(&message).to_bytes().to_vec().into(),
        })
        .collect();
    call
}

/// Send `call` to the registry as key 1, with `nonce`; apply its changes.
fn send(exec: &Executor, state: &mut MemState, nonce: u64, call: v1::RegistryCall) -> TxExecution {
    let tx = v1::Transaction {
        chain_id: CHAIN.into(),
        rollup_id: REGISTRY_ROLLUP_ID,
        sender_pubkey: key(1).verifying_key().as_bytes().to_vec().into(),
        nonce,
        gas_limit: 10_000_000,
        max_fee: 0,
        payload: Some(Payload::Registry(call)),
    };
    let out = exec.execute_tx(&*state, &env(), &tx).unwrap();
    state.apply(&out.changes);
    out
}

fn reason(out: &TxExecution) -> String {
    String::from_utf8_lossy(&out.receipt.output).into_owned()
}

fn two() -> Vec<SigningKey> {
    vec![key(1), key(2)]
}

fn rollup_2() -> serde_json::Value {
    serde_json::json!({ "id": 2, "name": "two", "vm": "wasm", "initial_state": {} })
}

#[test]
fn a_registered_rollup_runs_from_the_next_block_and_is_called_from_another() {
    let (_, exec, mut state) = chain(true);
    let out = send(
        &exec,
        &mut state,
        0,
        approved(register(rollup_2()), &two(), CHAIN),
    );
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(out.receipt.fee_paid, 0);
    assert_eq!(
        registry::decode_record(&out.receipt.output).unwrap().id,
        2,
        "the receipt carries the record"
    );
    // Its record, its indexes and its initial state, in one transaction.
    let record =
        registry::decode_record(&get(&state, 0, &registry::record_key(2)).unwrap()).unwrap();
    assert_eq!((record.name.as_str(), record.vm.as_str()), ("two", "wasm"));
    assert_eq!((record.registered_at, record.version), (env().height, 0));
    assert_eq!(record.metadata, "a rollup");
    assert_eq!(get(&state, 2, b"born"), Some(b"two".to_vec()));
    assert_eq!(
        registry::registered_in(&out.changes)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![2]
    );
    // Not in this block: the committed registry does not have it yet.
    assert!(exec.adapter(2).is_none());
    let early = run(
        &exec,
        &mut state,
        0,
        1_000_000,
        &[call(2, vec![w("k", "v")], true)],
    );
    assert!(early.receipt.success);
    assert_eq!(
        get(&state, 2, b"k"),
        None,
        "the call into rollup 2 was refused"
    );
    // The block commits: from the next one, rollup 2 runs and other rollups call it.
    exec.committed(&out.changes);
    assert_eq!(exec.registry().get(2), Some(record));
    assert_eq!(exec.rollup_ids(), vec![1, 2]);
    let called = run(
        &exec,
        &mut state,
        1,
        1_000_000,
        &[call(2, vec![w("k", "v")], false)],
    );
    assert!(called.receipt.success, "{}", reason(&called));
    assert_eq!(get(&state, 2, b"k"), Some(b"v".to_vec()));
}

#[test]
fn every_refused_registration_says_why_and_changes_nothing_but_the_nonce() {
    let (genesis, exec, mut state) = chain(true);
    let mut bad_signature = approved(register(rollup_2()), &two(), CHAIN);
    bad_signature.approvals[1].signature = vec![0; 64].into();
    let mut twice = approved(register(rollup_2()), &[key(1)], CHAIN);
    twice.approvals.push(twice.approvals[0].clone());
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut rollup = rollup_2();
        edit(&mut rollup);
        approved(register(rollup), &two(), CHAIN)
    };
    let long = Action::Register(v1::RegisterRollup {
        rollup: rollup_2().to_string().into_bytes().into(),
        metadata: "x".repeat(registry::MAX_METADATA_BYTES + 1),
    });
    let cases: Vec<(v1::RegistryCall, &str)> = vec![
        (bad_signature, "bad approval signature"),
        (
            approved(register(rollup_2()), &[key(1)], CHAIN),
            "1 approvals, 2 needed",
        ),
        (
            approved(register(rollup_2()), &[key(1), key(7)], CHAIN),
            "not a governance key",
        ),
        (twice, "approved twice"),
        (
            approved(register(rollup_2()), &two(), "another-chain"),
            "bad approval signature",
        ),
        (with(&|r| r["id"] = 1.into()), "rollup id 1 is taken"),
        (with(&|r| r["name"] = "one".into()), "name \"one\" is taken"),
        (
            with(&|r| {
                r["namespace"] = babel_genesis::Namespace::for_rollup(1).to_string().into();
            }),
            "is taken",
        ),
        (
            with(&|r| {
                r["namespace"] = genesis.effective_sequencer_namespace().to_string().into();
            }),
            "is taken",
        ),
        (with(&|r| r["vm"] = "move".into()), "invalid rollup"),
        (with(&|r| r["id"] = 0.into()), "invalid rollup"),
        (
            with(&|r| {
                r["initial_state"] = serde_json::json!({ "contracts": [
                    { "id": "0x01", "code": "0x0061736d01000000" }] });
            }),
            "invalid initial state: contract 0 does not compile",
        ),
        (approved(long, &two(), CHAIN), "metadata is 257 bytes"),
        (v1::RegistryCall::default(), "0 approvals, 2 needed"),
    ];
    for (nonce, (call, why)) in cases.into_iter().enumerate() {
        let before = state.clone();
        let out = send(&exec, &mut state, nonce as u64, call);
        assert!(!out.receipt.success, "{why}");
        assert!(reason(&out).contains(why), "{why}: {}", reason(&out));
        assert_eq!(
            out.invalid, None,
            "a refusal is a receipt, the block stays valid"
        );
        // Only the sender's nonce moved.
        let nonce_key = babel_execution::state::nonce_key(&key(1).verifying_key().to_bytes());
        let changed: Vec<_> = out.changes.keys().collect();
        assert_eq!(
            changed,
            vec![&(REGISTRY_ROLLUP_ID, nonce_key.to_vec())],
            "{why}"
        );
        assert_eq!(before.get(2, b"born").unwrap(), None);
    }
    assert_eq!(exec.registry().ids(), vec![1]);
}

#[test]
fn a_chain_without_governance_refuses_every_change() {
    let (_, exec, mut state) = chain(false);
    let out = send(
        &exec,
        &mut state,
        0,
        approved(register(rollup_2()), &two(), CHAIN),
    );
    assert!(reason(&out).contains("no governance"), "{}", reason(&out));
}

#[test]
fn an_update_applies_to_the_version_it_names_once() {
    let (_, exec, mut state) = chain(true);
    let update = |version: u64, rollup_id: u64| {
        Action::Update(v1::UpdateRollup {
            rollup_id,
            version,
            gas_price: Some(5),
            metadata: Some("cheaper".into()),
        })
    };
    let out = send(&exec, &mut state, 0, approved(update(0, 1), &two(), CHAIN));
    assert!(out.receipt.success, "{}", reason(&out));
    assert_eq!(exec.gas_price(1), Some(0), "in force from the next block");
    exec.committed(&out.changes);
    let record = exec.registry().get(1).unwrap();
    assert_eq!((record.gas_price, record.version), (5, 1));
    assert_eq!(record.metadata, "cheaper");
    assert_eq!(exec.gas_price(1), Some(5));
    assert!(exec.charges_fees(1));
    // A transaction admitted at the old price can no longer pay: the pool drops it.
    crate::support::fund(&mut state, &SENDER, 1_000_000);
    let cheap = crate::support::tx(0, 1_000, &[Op::Burn(1)]);
    let cheap = v1::Transaction {
        max_fee: 1_000 * 5 - 1,
        ..cheap
    };
    assert!(!exec.can_pay(&state, &env(), &cheap).unwrap());
    let paying = v1::Transaction {
        max_fee: 1_000 * 5,
        ..cheap
    };
    assert!(exec.can_pay(&state, &env(), &paying).unwrap());
    // The same approvals again: the record moved on.
    let again = send(&exec, &mut state, 1, approved(update(0, 1), &two(), CHAIN));
    assert!(
        reason(&again).contains("for version 0, rollup 1 is at 1"),
        "{}",
        reason(&again)
    );
    let missing = send(&exec, &mut state, 2, approved(update(0, 9), &two(), CHAIN));
    assert!(
        reason(&missing).contains("no rollup 9"),
        "{}",
        reason(&missing)
    );
    // Any other payload on the registry is refused the same way.
    let tx = v1::Transaction {
        chain_id: CHAIN.into(),
        rollup_id: REGISTRY_ROLLUP_ID,
        sender_pubkey: SENDER.to_vec().into(),
        nonce: 0,
        gas_limit: 1_000_000,
        max_fee: 0,
        payload: Some(babel_execution::test_utils::payload(&[Op::Burn(1)])),
    };
    let out = exec.execute_tx(&state, &BlockEnv { ..env() }, &tx).unwrap();
    assert!(reason(&TxExecution { ..out }).contains("registry changes only"));
}
