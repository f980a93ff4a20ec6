//! Frames at their edges: revm's working memory (journal, shared memory, frame stacks) is
//! reused from frame to frame, yet nothing of one frame is seen by the next; a message revm
//! refuses to start still pays its intrinsic gas; and code revm cannot load is a store fault,
//! never a panic.

use std::sync::Arc;

use babel_evm::{
    EvmAdapter, sender_address,
    state::{Account, account_key, code_key},
};
use babel_execution::{
    ExecError, Executor, RollupId,
    state::{Changes, MemState, StateView},
};
use babel_proto::v1;
use revm::primitives::{Address, U256, keccak256};

use crate::support::{ALICE, env};

fn with_balance(wei: u64) -> MemState {
    let mut state = MemState::new();
    let mut changes = Changes::new();
    let account = Account {
        balance: U256::from(wei),
        ..Account::default()
    };
    changes.insert(
        (2, account_key(&sender_address(&ALICE)).to_vec()),
        Some(account.encode()),
    );
    state.apply(&changes);
    state
}

/// A store that fails reading the recipient's account: a fatal fault that revm unwinds from
/// mid-frame, after it has loaded the (poor) sender.
struct Broken(MemState);

impl StateView for Broken {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        if key == account_key(&BOB) {
            return Err(ExecError::State("disk on fire".into()));
        }
        self.0.get(rollup, key)
    }
}

const BOB: Address = Address::repeat_byte(0xB0);

fn one_wei_to_bob() -> v1::Transaction {
    v1::Transaction {
        chain_id: "c".into(),
        rollup_id: 2,
        sender_pubkey: ALICE.to_vec().into(),
        nonce: 0,
        gas_limit: 21_000,
        max_fee: 0,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: BOB.to_vec().into(),
            value: U256::from(1).to_be_bytes::<32>().to_vec().into(),
            data: Default::default(),
        })),
    }
}

#[test]
fn a_frame_sees_its_own_state_only_though_revm_memory_is_reused() {
    let exec = Executor::new().with_rollup(2, Arc::new(EvmAdapter::new(4202)), 0);
    let rich = with_balance(1_000);
    let poor = with_balance(0);
    let broken = Broken(with_balance(1_000));
    let tx = one_wei_to_bob();
    let poor_fails = || {
        let poor_run = exec.execute_tx(&poor, &env(), &tx).unwrap();
        assert!(!poor_run.receipt.success, "{:?}", poor_run.receipt);
    };
    for _ in 0..3 {
        // Had the sender's account stayed loaded in the reused journal, the poor run would
        // spend the rich balance.
        assert!(exec.execute_tx(&rich, &env(), &tx).unwrap().receipt.success);
        poor_fails();
        // A frame that dies of a store fault halfway (the rich sender loaded, the recipient
        // not) leaves nothing behind either.
        assert!(matches!(
            exec.execute_tx(&broken, &env(), &tx),
            Err(ExecError::State(_))
        ));
        poor_fails();
    }
}

#[test]
fn a_transfer_of_more_than_the_balance_fails_and_still_pays_its_intrinsic_gas() {
    let exec = Executor::new().with_rollup(2, Arc::new(EvmAdapter::new(4202)), 2);
    let mut state = with_balance(100_000);
    let mut tx = one_wei_to_bob();
    tx.max_fee = 42_000;
    if let Some(v1::transaction::Payload::Evm(call)) = &mut tx.payload {
        call.value = U256::from(100_000).to_be_bytes::<32>().to_vec().into();
    }
    // revm refuses to start it (the value is above the balance once the fee is taken), which
    // would cost no gas: the executor charges the intrinsic 21 000 anyway.
    let out = exec.execute_tx(&state, &env(), &tx).unwrap();
    assert!(!out.receipt.success);
    assert_eq!(out.invalid, None);
    assert_eq!(out.receipt.gas_used, 21_000);
    assert_eq!(out.receipt.root.as_ref().map(|r| r.gas_used), Some(21_000));
    assert_eq!(out.receipt.fee_paid, 42_000);
    state.commit(out.changes);
    let left = state
        .get(2, &account_key(&sender_address(&ALICE)))
        .unwrap()
        .and_then(|b| Account::decode(&b))
        .unwrap();
    assert_eq!(left.balance, U256::from(58_000));
}

#[test]
fn code_starting_with_0xef_in_state_is_a_store_fault_not_a_panic() {
    let exec = Executor::new().with_rollup(2, Arc::new(EvmAdapter::new(4202)), 0);
    // A malformed EIP-7702 delegation, on which revm's plain loader panics, and a well-formed
    // one, which revm would run as a delegation: neither can get into an EVM rollup's state.
    let delegation = [&[0xEF, 0x01, 0x00][..], &[0x11; 20]].concat();
    for code in [vec![0xEF, 0x01], delegation] {
        let mut state = with_balance(0);
        let code_hash = keccak256(&code);
        let mut changes = Changes::new();
        let bob = Account {
            code_hash,
            ..Account::default()
        };
        changes.insert((2, account_key(&BOB).to_vec()), Some(bob.encode()));
        changes.insert((2, code_key(&code_hash).to_vec()), Some(code.clone()));
        state.apply(&changes);
        let mut call_bob = one_wei_to_bob();
        call_bob.gas_limit = 100_000;
        if let Some(v1::transaction::Payload::Evm(call)) = &mut call_bob.payload {
            call.value = Default::default();
        }
        match exec.execute_tx(&state, &env(), &call_bob) {
            Err(ExecError::State(why)) => assert!(why.contains("corrupt EVM code"), "{why}"),
            other => panic!("{code:02x?}: expected a store fault, got {other:?}"),
        }
    }
}
