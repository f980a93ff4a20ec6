use super::*;
use crate::{
    params::{MAX_CLOCK_DRIFT_MS, MAX_TX_GAS, executor_for},
    txpath::{
        admission::sign,
        mempool::{Mempool, PoolLimits},
        pool::{Origin, TxPool, pool_tx},
    },
};
use ed25519_dalek::SigningKey;

pub(super) const CHAIN: &str = "app-test";

pub(super) struct Fixture {
    pub(super) app: NodeApp,
    pub(super) proposer: Address,
    _dir: tempfile::TempDir,
}

pub(super) fn fixture() -> Fixture {
    fixture_with(serde_json::json!({ "id": 1, "name": "evm", "vm": "evm", "initial_state": {} }))
}

/// A one-validator chain with this one rollup.
fn fixture_with(rollup: serde_json::Value) -> Fixture {
    fixture_of(rollup, false)
}

/// A one-validator chain with this one rollup; with `governed`, the validator's key (seed
/// `[9; 32]`) is the governance, alone.
pub(super) fn fixture_of(rollup: serde_json::Value, governed: bool) -> Fixture {
    let validator = SigningKey::from_bytes(&[9; 32]);
    let public = hex::encode(validator.verifying_key().as_bytes());
    let mut json = serde_json::json!({
        "chain_id": CHAIN,
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": public,
                         "voting_power": 1, "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [rollup]
    });
    if governed {
        json["governance"] = serde_json::json!({ "keys": [public], "threshold": 1 });
    }
    let genesis = Arc::new(Genesis::from_json(json.to_string().as_bytes()).unwrap());
    let validators = ValidatorSet::from_genesis(&genesis).unwrap();
    let proposer = validators.validators()[0].address;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let pool = SharedPool::new(Mempool::new(PoolLimits {
        max_txs: 1000,
        max_bytes: 1 << 20,
    }));
    let executor = Arc::new(executor_for(&genesis).unwrap());
    ensure_genesis_state(&store, &executor, &genesis).unwrap();
    Fixture {
        app: NodeApp::new(store, genesis, validators, pool, executor).unwrap(),
        proposer,
        _dir: dir,
    }
}

/// A transfer of `value` wei from the key `claimed` (as sender) with `nonce`.
pub(super) fn transfer(claimed: u8, nonce: u64, value: u64, max_fee: u64) -> v1::Transaction {
    let claimed = SigningKey::from_bytes(&[claimed; 32]);
    v1::Transaction {
        chain_id: CHAIN.into(),
        rollup_id: 1,
        sender_pubkey: claimed.verifying_key().as_bytes().to_vec().into(),
        nonce,
        gas_limit: 21_000,
        max_fee,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![0x42; 20].into(),
            value: value.to_be_bytes().to_vec().into(),
            ..Default::default()
        })),
    }
}

/// A free transfer claiming sender `claimed`, signed by `signer`.
fn tx(signer: u8, claimed: u8, nonce: u64) -> v1::SignedTransaction {
    sign(
        &transfer(claimed, nonce, 0, 1),
        &SigningKey::from_bytes(&[signer; 32]),
    )
}

/// A block at the next height with these transactions, as an honest proposer would build it.
pub(super) fn block_with(f: &mut Fixture, txs: Vec<v1::SignedTransaction>) -> v1::Block {
    let height = f.app.committed_height().unwrap().0 + 1;
    let mut block = f.app.build_block(Height(height), f.proposer).unwrap();
    let header = block.header.as_mut().unwrap();
    header.tx_root = babel_proto::tx_root(&txs).to_vec().into();
    header.tx_count = txs.len() as u64;
    // Blocks with transactions no honest proposer would include may not execute at all.
    if let Ok(executed) = execute(&f.app.store, &f.app.executor, height, header.time_ms, &txs) {
        executed.fill(header);
    }
    block.txs = txs;
    block
}

/// The block's verdict as a proposal, re-executing it as a validator that did not build it
/// would.
pub(super) fn verdict(f: &mut Fixture, block: &v1::Block) -> Verdict {
    verdict_as(f, block, BlockOrigin::Proposal)
}

fn verdict_as(f: &mut Fixture, block: &v1::Block, origin: BlockOrigin) -> Verdict {
    f.app.executed_lock().clear();
    f.app.validate_block(block, origin).unwrap()
}

pub(super) fn commit(f: &mut Fixture, block: v1::Block) {
    let hash = babel_proto::block_hash(block.header.as_ref().unwrap());
    let height = block.header.as_ref().unwrap().height;
    let cert = babel_consensus::test_utils::certificate(CHAIN, height, hash, &[[9; 32]]);
    f.app.commit(block, cert).unwrap();
}

#[test]
fn proposer_reaps_the_pool_and_its_block_validates() {
    let mut f = fixture();
    let genesis = f.app.genesis.clone();
    for nonce in 0..3 {
        let checked = admission::check(tx(1, 1, nonce), &genesis, &f.app.executor).unwrap();
        f.app
            .pool
            .lock()
            .insert(pool_tx(&checked, true), 0)
            .unwrap();
    }
    let block = f.app.build_block(Height(1), f.proposer).unwrap();
    assert_eq!(block.txs.len(), 3);
    assert!(verdict(&mut f, &block).is_valid());
    commit(&mut f, block);
    assert_eq!(f.app.store.nonce(1, &[0; 32]).unwrap(), 0);
    let sender = *SigningKey::from_bytes(&[1; 32]).verifying_key().as_bytes();
    assert_eq!(f.app.store.nonce(1, &sender).unwrap(), 3);
    assert!(
        f.app.pool.lock().is_empty(),
        "committed transactions leave the pool"
    );
}

#[test]
fn a_forged_signature_makes_the_block_invalid() {
    let mut f = fixture();
    // Transaction 1 claims sender 2 but is signed by sender 3.
    let block = block_with(&mut f, vec![tx(1, 1, 0), tx(3, 2, 0), tx(4, 4, 0)]);
    let v = verdict(&mut f, &block);
    assert_eq!(v.refusal(), Some(Refusal::Transactions), "{v:?}");
    assert!(v.reason().contains("transaction 1: bad signature"), "{v:?}");
}

#[test]
fn pooled_transactions_skip_re_verification_but_strangers_do_not() {
    let mut f = fixture();
    let genesis = f.app.genesis.clone();
    let pooled = admission::check(tx(1, 1, 0), &genesis, &f.app.executor).unwrap();
    f.app.pool.lock().insert(pool_tx(&pooled, true), 0).unwrap();
    let good = block_with(&mut f, vec![tx(1, 1, 0), tx(2, 2, 0)]);
    assert!(verdict(&mut f, &good).is_valid());
    let bad = block_with(&mut f, vec![tx(1, 1, 0), tx(5, 2, 0)]);
    assert!(!verdict(&mut f, &bad).is_valid());
}

#[test]
fn nonce_gaps_replays_and_repeats_make_the_block_invalid() {
    let mut f = fixture();
    let gap = block_with(&mut f, vec![tx(1, 1, 0), tx(1, 1, 2)]);
    assert!(
        verdict(&mut f, &gap)
            .reason()
            .contains("nonce 2 but next is 1")
    );
    let repeat = block_with(&mut f, vec![tx(1, 1, 0), tx(1, 1, 0)]);
    assert!(!verdict(&mut f, &repeat).is_valid());

    let first = block_with(&mut f, vec![tx(1, 1, 0)]);
    assert!(verdict(&mut f, &first).is_valid());
    commit(&mut f, first);
    let replay = block_with(&mut f, vec![tx(1, 1, 0)]);
    assert!(
        verdict(&mut f, &replay)
            .reason()
            .contains("nonce 0 but next is 1")
    );
    let next = block_with(&mut f, vec![tx(1, 1, 1)]);
    assert!(verdict(&mut f, &next).is_valid());
}

#[test]
fn a_block_whose_roots_differ_from_re_execution_is_invalid() {
    let mut f = fixture();
    let good = block_with(&mut f, vec![tx(1, 1, 0)]);
    assert!(verdict(&mut f, &good).is_valid());

    let mut lie = good.clone();
    let h = lie.header.as_mut().unwrap();
    let rollup_1 = h.state_roots.iter().position(|r| r.rollup_id == 1).unwrap();
    h.state_roots[rollup_1].root = vec![7; 32].into();
    assert!(
        verdict(&mut f, &lie)
            .reason()
            .contains("state root of rollup 1 differs")
    );
    let mut lie = good.clone();
    lie.header.as_mut().unwrap().results_root = vec![7; 32].into();
    let v = verdict(&mut f, &lie);
    assert_eq!(v.refusal(), Some(Refusal::Execution), "{v:?}");
    assert!(v.reason().contains("results root"));
    let mut lie = good.clone();
    lie.header.as_mut().unwrap().state_root = vec![7; 32].into();
    assert!(
        verdict(&mut f, &lie)
            .reason()
            .contains("aggregate state root")
    );
    let mut lie = good;
    lie.header.as_mut().unwrap().state_roots.clear();
    assert!(verdict(&mut f, &lie).reason().contains("0 state roots"));
}

#[test]
fn committed_blocks_carry_receipts_state_and_provable_roots() {
    let mut f = fixture();
    let block = block_with(&mut f, vec![tx(1, 1, 0), tx(2, 2, 0)]);
    let header = block.header.clone().unwrap();
    let hashes: Vec<[u8; 32]> = block.txs.iter().map(babel_proto::tx_hash).collect();
    commit(&mut f, block);
    for hash in &hashes {
        let receipt = f.app.store.receipt(hash).unwrap().unwrap();
        assert!(receipt.root.is_some());
    }
    // The sender's nonce is state, provable against the header's root for rollup 1.
    let sender = *SigningKey::from_bytes(&[2; 32]).verifying_key().as_bytes();
    let key = babel_execution::state::nonce_key(&sender);
    let (value, proof) = babel_execution::commitment::prove(&f.app.store.tree(1), 1, &key).unwrap();
    assert_eq!(value, Some(1u64.to_be_bytes().to_vec()));
    let rollup_1 = header
        .state_roots
        .iter()
        .find(|r| r.rollup_id == 1)
        .unwrap();
    let root: [u8; 32] = rollup_1.root.as_ref().try_into().unwrap();
    assert!(babel_execution::commitment::verify(
        root,
        &key,
        value.as_deref(),
        &proof
    ));
    assert!(!babel_execution::commitment::verify(
        root,
        &key,
        Some(&[9]),
        &proof
    ));
}

#[test]
fn a_wrong_tx_root_or_foreign_chain_transaction_makes_the_block_invalid() {
    let mut f = fixture();
    let mut block = block_with(&mut f, vec![tx(1, 1, 0)]);
    block.header.as_mut().unwrap().tx_root = vec![0; 32].into();
    let v = verdict(&mut f, &block);
    assert_eq!(v.refusal(), Some(Refusal::TxRoot), "{v:?}");
    assert!(v.reason().contains("tx root"));

    let mut foreign = v1::Transaction {
        chain_id: "other".into(),
        rollup_id: 1,
        sender_pubkey: SigningKey::from_bytes(&[1; 32])
            .verifying_key()
            .as_bytes()
            .to_vec()
            .into(),
        nonce: 0,
        gas_limit: 1,
        max_fee: 1,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall::default())),
    };
    let wrong_chain = block_with(
        &mut f,
        vec![sign(&foreign, &SigningKey::from_bytes(&[1; 32]))],
    );
    assert!(!verdict(&mut f, &wrong_chain).is_valid());
    foreign.chain_id = CHAIN.into();
    foreign.rollup_id = 77;
    let unknown = block_with(
        &mut f,
        vec![sign(&foreign, &SigningKey::from_bytes(&[1; 32]))],
    );
    assert!(verdict(&mut f, &unknown).reason().contains("rollup 77"));
}

/// `txs` executed as height 1 on `b`'s store, then on `a`'s: both must give the same receipts,
/// changes and roots. Both results, `a`'s first.
fn executed_alike(
    a: &Fixture,
    b: &Fixture,
    time_ms: u64,
    txs: &[v1::SignedTransaction],
) -> (Executed, Executed) {
    let run = |f: &Fixture| execute(&f.app.store, &f.app.executor, 1, time_ms, txs).unwrap();
    let on_b = run(b);
    let on_a = run(a);
    assert_eq!(on_a.receipts, on_b.receipts);
    assert_eq!(on_a.changes, on_b.changes);
    assert_eq!(on_a.state_roots, on_b.state_roots);
    assert_eq!(
        (on_a.results_root, on_a.state_root),
        (on_b.results_root, on_b.state_root)
    );
    (on_a, on_b)
}

#[test]
fn the_same_block_executes_identically_on_two_independent_stores() {
    let mut a = fixture();
    let mut b = fixture();
    // Deployments (init code returning a small runtime) and calls, from two senders.
    let deploy = |signer: u8, nonce: u64| {
        let key = SigningKey::from_bytes(&[signer; 32]);
        let body = v1::Transaction {
            chain_id: CHAIN.into(),
            rollup_id: 1,
            sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
            nonce,
            gas_limit: 200_000,
            max_fee: 0,
            payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
                // PUSH1 1 PUSH1 0 SSTORE; return 1 byte of code (STOP) from memory.
                data: hex::decode("600160005560016000f3").unwrap().into(),
                ..Default::default()
            })),
        };
        sign(&body, &key)
    };
    let txs = vec![deploy(1, 0), deploy(2, 0), deploy(1, 1), tx(3, 3, 0)];
    let block = block_with(&mut a, txs.clone());
    let header = block.header.clone().unwrap();
    let (on_a, on_b) = executed_alike(&a, &b, header.time_ms, &txs);
    assert!(
        on_a.receipts.iter().take(3).all(|r| r.success),
        "{:?}",
        on_a.receipts
    );
    assert!(on_b.mismatch(&header).is_none());
    assert!(verdict(&mut b, &block).is_valid(), "b accepts a's block");
}

#[test]
fn a_block_from_the_far_future_or_over_the_gas_limit_is_invalid() {
    let mut f = fixture();
    let mut future = block_with(&mut f, vec![]);
    future.header.as_mut().unwrap().time_ms = now_ms() + MAX_CLOCK_DRIFT_MS + 60_000;
    let v = verdict(&mut f, &future);
    assert_eq!(v.refusal(), Some(Refusal::Clock), "{v:?}");
    assert!(v.reason().contains("ahead"));
    // Decided by a quorum (a node syncing with a clock behind): valid, since nothing else is
    // wrong with it.
    let synced = verdict_as(&mut f, &future, BlockOrigin::Decided);
    assert!(synced.is_valid(), "{}", synced.reason());

    // Seven transactions asking for 30M gas each exceed the block's 200M.
    let greedy: Vec<v1::SignedTransaction> = (1..=7u8)
        .map(|k| {
            let key = SigningKey::from_bytes(&[k; 32]);
            let body = v1::Transaction {
                chain_id: CHAIN.into(),
                rollup_id: 1,
                sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
                nonce: 0,
                gas_limit: MAX_TX_GAS,
                max_fee: 0,
                payload: Some(v1::transaction::Payload::Evm(v1::EvmCall::default())),
            };
            sign(&body, &key)
        })
        .collect();
    let block = block_with(&mut f, greedy.clone());
    assert!(
        verdict(&mut f, &block)
            .reason()
            .contains("more than 200000000 gas")
    );

    // The proposer never builds such a block: it stops reaping at the limit.
    let genesis = f.app.genesis.clone();
    for tx in greedy {
        let checked = admission::check(tx, &genesis, &f.app.executor).unwrap();
        f.app
            .pool
            .lock()
            .insert(pool_tx(&checked, true), 0)
            .unwrap();
    }
    let built = f.app.build_block(Height(1), f.proposer).unwrap();
    assert_eq!(built.txs.len(), 6);
    assert!(verdict(&mut f, &built).is_valid());
}

#[tokio::test]
async fn a_peers_forward_stays_in_memory_and_what_a_client_submits_is_kept_on_disk() {
    let mut f = fixture();
    let txpool = txpool_of(&f);
    let txs: Vec<v1::SignedTransaction> = (0..3).map(|n| tx(1, 1, n)).collect();
    let hashes: Vec<[u8; 32]> = txs.iter().map(babel_proto::tx_hash).collect();
    let pending = |f: &Fixture| -> Vec<[u8; 32]> {
        let mut held: Vec<[u8; 32]> = f.app.store.pending().unwrap().iter().map(|p| p.0).collect();
        held.sort_unstable();
        held
    };

    // Forwarded by a peer (which holds them on disk): pooled, not written.
    let forwarded = txpool.submit(txs[..2].to_vec(), Origin::Peer).await;
    assert_eq!(forwarded, vec![Ok(hashes[0]), Ok(hashes[1])]);
    assert!(f.app.pool.lock().contains(&hashes[1]));
    assert!(pending(&f).is_empty());

    // A client submits one of them here too, and a new one: the first is still a duplicate,
    // but from now on this node holds both on disk.
    let submitted = txpool
        .submit(vec![txs[1].clone(), txs[2].clone()], Origin::Client)
        .await;
    assert_eq!(
        submitted[0].as_ref().map_err(|r| r.reason),
        Err(v1::RejectReason::Duplicate)
    );
    assert_eq!(submitted[1], Ok(hashes[2]));
    let mut kept = vec![hashes[1], hashes[2]];
    kept.sort_unstable();
    assert_eq!(pending(&f), kept);

    // Their block commits and leaves nothing pending, in the pool or on disk.
    let block = f.app.build_block(Height(1), f.proposer).unwrap();
    assert_eq!(block.txs, txs);
    commit(&mut f, block);
    assert!(f.app.pool.lock().is_empty());
    assert!(pending(&f).is_empty());
}

#[tokio::test]
async fn signatures_a_validation_checked_are_not_checked_again_when_peers_forward_them() {
    let mut f = fixture();
    let txpool = txpool_of(&f);
    // A proposal holding transactions this node has not seen: validation checks them and
    // remembers that they hold.
    let seen = tx(1, 1, 0);
    let block = block_with(&mut f, vec![seen.clone()]);
    assert!(verdict(&mut f, &block).is_valid());
    let hash = babel_proto::tx_hash(&seen);
    assert_eq!(f.app.pool.verified().get(&hash), Some(()));

    // A bad signature is never remembered.
    let mut forged = tx(2, 2, 0);
    forged.signature = vec![7; 64].into();
    let bad = block_with(&mut f, vec![forged.clone()]);
    assert!(verdict(&mut f, &bad).reason().contains("bad signature"));
    assert_eq!(
        f.app.pool.verified().get(&babel_proto::tx_hash(&forged)),
        None
    );

    // Admission trusts what is remembered, by hash: shown with a forged transaction whose
    // hash is remembered (which no honest validation would do), accepted unchecked...
    f.app
        .pool
        .verified()
        .insert(babel_proto::tx_hash(&forged), ());
    let forwarded = txpool
        .submit(vec![seen.clone(), forged.clone()], Origin::Peer)
        .await;
    assert_eq!(forwarded[0], Ok(hash));
    assert!(forwarded[1].is_ok());
    // ...while one that is not remembered is checked as always.
    let mut other = tx(3, 3, 0);
    other.signature = vec![7; 64].into();
    let refused = txpool.submit(vec![other], Origin::Peer).await;
    assert_eq!(
        refused[0].as_ref().map_err(|r| r.reason),
        Err(v1::RejectReason::BadSignature)
    );
}

#[tokio::test]
async fn waiting_for_transactions_ends_with_one_a_block_could_take() {
    let f = fixture();
    let txpool = txpool_of(&f);
    let pending = |f: &Fixture| {
        let ready = f.app.transactions_ready();
        async {
            tokio::time::timeout(Duration::from_millis(50), ready)
                .await
                .is_err()
        }
    };
    assert!(pending(&f).await, "an empty pool is not ready");
    let mut waiting = f.app.transactions_ready();

    // Behind a nonce gap: no block could take it yet.
    assert!(txpool.submit(vec![tx(1, 1, 1)], Origin::Client).await[0].is_ok());
    assert!(pending(&f).await, "a gapped transaction is not ready");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), &mut waiting)
            .await
            .is_err()
    );

    // The gap filled: the wait under way ends, and a new wait ends at once.
    assert!(txpool.submit(vec![tx(1, 1, 0)], Origin::Peer).await[0].is_ok());
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the admission ends the wait");
    assert!(!pending(&f).await);
}

fn txpool_of(f: &Fixture) -> TxPool {
    let verifier =
        crate::txpath::sigverify::SigVerifier::start(crate::metrics::Metrics::new()).unwrap();
    TxPool::new(
        f.app.pool.clone(),
        f.app.store.clone(),
        f.app.genesis.clone(),
        f.app.executor.clone(),
        verifier,
    )
}

#[tokio::test]
async fn a_client_promoting_a_forward_is_refused_if_the_write_fails() {
    let f = fixture();
    let txpool = txpool_of(&f);
    let x = tx(1, 1, 0);
    let hash = babel_proto::tx_hash(&x);
    assert!(txpool.submit(vec![x.clone()], Origin::Peer).await[0].is_ok());
    f.app
        .store
        .fail_pending
        .store(true, std::sync::atomic::Ordering::Relaxed);
    // Not "duplicate", which a client may read as accepted: the write failed.
    let answer = txpool.submit(vec![x.clone()], Origin::Client).await;
    let refused = answer[0].as_ref().unwrap_err();
    assert_eq!(refused.reason, v1::RejectReason::Unspecified);
    assert!(refused.message.contains("storage"), "{refused}");
    assert!(!f.app.pool.lock().maybe_pending(&hash), "still memory-only");
    // Once the store writes again, the same submission promotes it.
    f.app
        .store
        .fail_pending
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let answer = txpool.submit(vec![x], Origin::Client).await;
    assert_eq!(
        answer[0].as_ref().map_err(|r| r.reason),
        Err(v1::RejectReason::Duplicate)
    );
    assert_eq!(f.app.store.pending().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forward_whose_nonce_a_commit_spent_is_not_written_back() {
    // Between a commit's store write and its eviction the pool still holds transactions
    // whose nonce the store has spent. Shown here by pooling such a forward by hand.
    let mut f = fixture();
    let txpool = txpool_of(&f);
    let spent = tx(1, 1, 0);
    let block = block_with(&mut f, vec![spent]);
    commit(&mut f, block);
    let rival = sign(&transfer(1, 0, 5, 1), &SigningKey::from_bytes(&[1; 32]));
    let checked = admission::check(rival.clone(), &f.app.genesis, &f.app.executor).unwrap();
    f.app
        .pool
        .lock()
        .insert(pool_tx(&checked, false), 0)
        .unwrap();
    let answer = txpool.submit(vec![rival], Origin::Client).await;
    assert_eq!(
        answer[0].as_ref().map_err(|r| r.reason),
        Err(v1::RejectReason::Duplicate)
    );
    assert!(
        f.app.store.pending().unwrap().is_empty(),
        "a spent nonce is not written to the pending set"
    );
}

#[test]
fn what_a_commit_did_not_delete_from_the_pending_set_is_deleted_after_eviction() {
    let [a, b, c, d] = [[1u8; 32], [2; 32], [3; 32], [4; 32]];
    let evicted = |hash: [u8; 32], durable: bool| PoolTx {
        hash,
        account: (1, [0; 32]),
        nonce: 0,
        size: 1,
        gas: 1,
        tx: Default::default(),
        durable,
    };
    let batch = CommitBatch {
        tx_hashes: vec![a, b],
        // `a` was on disk when the commit looked, `b` memory-only.
        pending: vec![true, false],
        ..Default::default()
    };
    let left = left_pending(
        &batch,
        &[
            evicted(a, true),
            // A client's submission wrote `b` after the commit looked.
            evicted(b, true),
            // Replaced by another transaction with its nonce, on disk or not.
            evicted(c, true),
            evicted(d, false),
        ],
    );
    assert_eq!(left, vec![b, c]);
    // A replay knows no pool: its batch deletes every included transaction.
    let replay = CommitBatch {
        tx_hashes: vec![a, b],
        ..Default::default()
    };
    assert_eq!(
        left_pending(&replay, &[evicted(a, true), evicted(c, true)]),
        vec![c]
    );
}

/// Rollup 1 charging 1 wei per gas, where signer 1 holds `wei`.
fn paying_fixture(wei: u64) -> Fixture {
    let signer = *SigningKey::from_bytes(&[1; 32]).verifying_key().as_bytes();
    fixture_with(serde_json::json!({
        "id": 1, "name": "evm", "vm": "evm", "gas_price": 1,
        "initial_state": { "evm_chain_id": 4242, "alloc": [{
            "address": babel_evm::sender_address(&signer).to_string(),
            "balance": wei.to_string(),
        }] }
    }))
}

/// Signer 1's transfer with nonce `nonce`, paying up to 21 000 wei and moving `value` wei.
fn paid_tx(nonce: u64, value: u64) -> v1::SignedTransaction {
    sign(
        &transfer(1, nonce, value, 21_000),
        &SigningKey::from_bytes(&[1; 32]),
    )
}

#[test]
fn a_transaction_whose_signer_cannot_pay_makes_the_block_invalid() {
    // Enough for one maximum fee and the 1 wei the first transfer moves: the second's fee
    // can no longer be paid (admission, which sees only committed state, let both in).
    let mut f = paying_fixture(21_001);
    let genesis = f.app.genesis.clone();
    for tx in [paid_tx(0, 1), paid_tx(1, 0)] {
        assert!(admission::check(tx, &genesis, &f.app.executor).is_ok());
    }
    let block = block_with(&mut f, vec![paid_tx(0, 1), paid_tx(1, 0)]);
    let v = verdict(&mut f, &block);
    assert_eq!(v.refusal(), Some(Refusal::Transactions), "{v:?}");
    assert!(
        v.reason()
            .contains("transaction 1: balance below the maximum fee"),
        "{v:?}"
    );
    let alone = block_with(&mut f, vec![paid_tx(0, 1)]);
    assert!(verdict(&mut f, &alone).is_valid());
}

#[test]
fn the_proposer_leaves_out_what_cannot_pay_and_the_commit_drops_it() {
    let mut f = paying_fixture(21_001);
    let genesis = f.app.genesis.clone();
    let txs = [paid_tx(0, 1), paid_tx(1, 0), paid_tx(2, 0)];
    for tx in &txs {
        let checked = admission::check(tx.clone(), &genesis, &f.app.executor).unwrap();
        f.app
            .pool
            .lock()
            .insert(pool_tx(&checked, true), 0)
            .unwrap();
        f.app.store.put_pending(&[(checked.hash, tx)]).unwrap();
    }
    // Nonce 1 cannot pay after nonce 0 spent the balance; nonce 2 would leave a gap.
    let block = f.app.build_block(Height(1), f.proposer).unwrap();
    assert_eq!(block.txs, txs[..1]);
    assert!(verdict(&mut f, &block).is_valid());
    let [_, unpaid, later] = txs.map(|tx| babel_proto::tx_hash(&tx));
    assert!(f.app.pool.lock().contains(&unpaid), "pooled until a commit");

    // The commit leaves the signer unable to pay nonce 1 for good: dropped, from the durable
    // pending set too; nonce 2 waits behind the gap (a new nonce 1 may still fill it).
    commit(&mut f, block);
    let pending: Vec<[u8; 32]> = f.app.store.pending().unwrap().iter().map(|p| p.0).collect();
    {
        let pool = f.app.pool.lock();
        assert!(!pool.contains(&unpaid));
        let why = pool.dropped(&unpaid).unwrap();
        assert!(why.contains("balance below the maximum fee"), "{why}");
        assert!(pool.contains(&later));
        assert_eq!(pool.dropped(&later), None);
    }
    assert!(!pending.contains(&unpaid));
    assert!(pending.contains(&later));
    assert!(
        f.app
            .build_block(Height(2), f.proposer)
            .unwrap()
            .txs
            .is_empty()
    );
}

#[test]
fn the_proposer_drops_what_cannot_pay_even_on_the_committed_state() {
    // Pooled while the signer could pay, say, but a commit has spent the balance since.
    let mut f = paying_fixture(20_000);
    let tx = paid_tx(0, 0);
    let checked = admission::check(tx.clone(), &f.app.genesis.clone(), &f.app.executor).unwrap();
    f.app
        .pool
        .lock()
        .insert(pool_tx(&checked, true), 0)
        .unwrap();
    f.app.store.put_pending(&[(checked.hash, &tx)]).unwrap();

    let block = f.app.build_block(Height(1), f.proposer).unwrap();
    assert!(block.txs.is_empty());
    let pool = f.app.pool.lock();
    assert!(!pool.contains(&checked.hash));
    assert!(pool.dropped(&checked.hash).is_some());
    assert!(f.app.store.pending().unwrap().is_empty());
}

/// A WASM rollup with a float-heavy contract (NaN payloads that differ by CPU unless
/// canonicalised) and a contract that loops forever.
fn wasm_fixture() -> Fixture {
    let floats = wat::parse_str(
        r#"(module
  (import "babel" "storage_write" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "abcd")
  (func (export "run")
    (local $x f64) (local $i i32)
    (f32.store (i32.const 16) (f32.div (f32.const 0) (f32.const 0)))
    (call $write (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 4))
    (f64.store (i32.const 16) (f64.sqrt (f64.const -1)))
    (call $write (i32.const 1) (i32.const 1) (i32.const 16) (i32.const 8))
    (f64.store (i32.const 16) (f64.add (f64.const nan:0x4000000000001) (f64.const 1)))
    (call $write (i32.const 2) (i32.const 1) (i32.const 16) (i32.const 8))
    ;; Arithmetic through NaNs and back: min/max/copysign of NaN payloads, then a sum.
    (loop $l
      (local.set $x (f64.add (local.get $x)
        (f64.min (f64.const nan:0x8000000000001) (f64.convert_i32_s (local.get $i)))))
      (local.set $x (f64.copysign (local.get $x) (f64.const -0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
    (f64.store (i32.const 16) (local.get $x))
    (call $write (i32.const 3) (i32.const 1) (i32.const 16) (i32.const 8))))"#,
    )
    .unwrap();
    let spin = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "call") (loop $l (br $l))))"#,
    )
    .unwrap();
    fixture_with(
        serde_json::json!({ "id": 1, "name": "wasm", "vm": "wasm", "initial_state": {
        "contracts": [ { "id": hex::encode([0xF1; 20]), "code": hex::encode(floats) },
                       { "id": hex::encode([0x55; 20]), "code": hex::encode(spin) } ] } }),
    )
}

#[test]
fn floats_and_an_out_of_fuel_run_are_identical_on_two_independent_stores() {
    let mut a = wasm_fixture();
    let mut b = wasm_fixture();
    let key = SigningKey::from_bytes(&[4; 32]);
    let call = |nonce: u64, contract: u8, method: &str, gas_limit: u64| {
        let body = v1::Transaction {
            chain_id: CHAIN.into(),
            rollup_id: 1,
            sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
            nonce,
            gas_limit,
            max_fee: 0,
            payload: Some(v1::transaction::Payload::Wasm(v1::WasmCall {
                contract: vec![contract; 20].into(),
                method: method.into(),
                ..Default::default()
            })),
        };
        sign(&body, &key)
    };
    let txs = vec![
        call(0, 0xF1, "run", 1_000_000),
        call(1, 0x55, "call", 300_000),
        call(2, 0xF1, "run", 1_000_000),
    ];
    // `a` builds (and so compiles and runs the contracts once); `b` meets them cold.
    let block = block_with(&mut a, txs.clone());
    let header = block.header.clone().unwrap();
    let (on_a, on_b) = executed_alike(&a, &b, header.time_ms, &txs);
    assert!(on_a.receipts[0].success && on_a.receipts[2].success);
    let spun = &on_a.receipts[1];
    assert!(!spun.success);
    assert_eq!(
        babel_execution::abi::decode_error_message(&spun.output).as_deref(),
        Some("wasm: out of gas")
    );
    assert_eq!(spun.gas_used, 300_000, "a trap pays its whole limit");
    assert!(on_b.mismatch(&header).is_none());
    assert!(verdict(&mut b, &block).is_valid(), "b accepts a's block");

    // Committed on both stores, the same roots, and the canonical NaNs in state.
    commit(&mut a, block.clone());
    commit(&mut b, block);
    for f in [&a, &b] {
        let stored = f.app.store.block(1).unwrap().unwrap().header.unwrap();
        assert_eq!(stored.state_roots, header.state_roots);
        assert_eq!(stored.results_root, header.results_root);
    }
    let full = |k: &[u8]| {
        let key = [babel_wasm::state::storage_prefix(&[0xF1; 20]).as_slice(), k].concat();
        b.app.store.state(1, &key).unwrap()
    };
    assert_eq!(full(b"a"), Some(0x7fc0_0000u32.to_le_bytes().to_vec()));
    assert_eq!(
        full(b"b"),
        Some(0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec())
    );
    // The last operation, copysign, moves only the sign bit of the canonical NaN.
    assert_eq!(
        full(b"d"),
        Some(0xfff8_0000_0000_0000u64.to_le_bytes().to_vec())
    );
}

#[test]
fn a_deploy_the_wasm_compiler_would_refuse_fails_its_receipt_and_the_block_commits() {
    let mut f = wasm_fixture();
    let key = SigningKey::from_bytes(&[4; 32]);
    let deploy = |nonce: u64, code: Vec<u8>| {
        let body = v1::Transaction {
            chain_id: CHAIN.into(),
            rollup_id: 1,
            sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
            nonce,
            gas_limit: MAX_TX_GAS,
            max_fee: 0,
            payload: Some(v1::transaction::Payload::Wasm(v1::WasmCall {
                code: code.into(),
                ..Default::default()
            })),
        };
        sign(&body, &key)
    };
    // A `br_table` of more targets than Winch compiles (65 520): the validator accepts it.
    let table = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1) (func (export "run") (block (br_table {}(i32.const 0)))))"#,
        "0 ".repeat(65_522)
    ))
    .unwrap();
    let plain =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).unwrap();
    let txs = vec![deploy(0, table), deploy(1, plain)];
    let hashes: Vec<[u8; 32]> = txs.iter().map(babel_proto::tx_hash).collect();
    let block = block_with(&mut f, txs);
    assert!(verdict(&mut f, &block).is_valid());
    commit(&mut f, block);
    let receipt = |h: &[u8; 32]| f.app.store.receipt(h).unwrap().unwrap();
    let refused = receipt(&hashes[0]);
    assert!(!refused.success);
    assert_eq!(
        babel_execution::abi::decode_error_message(&refused.output).as_deref(),
        Some("wasm: too many br_table targets")
    );
    assert!(receipt(&hashes[1]).success);
}

/// `block` with its last certificate replaced by `carried`, and the header committing to it
/// when `rehash`.
fn carrying(block: &v1::Block, carried: Option<v1::CommitCertificate>, rehash: bool) -> v1::Block {
    let mut block = block.clone();
    if rehash {
        block.header.as_mut().unwrap().last_certificate_hash =
            babel_proto::certificate_hash(carried.as_ref());
    }
    block.last_certificate = carried;
    block
}

#[test]
fn a_block_carries_a_certificate_of_its_parent_that_holds() {
    let mut f = fixture();
    let first = f.app.build_block(Height(1), f.proposer).unwrap();
    assert_eq!(first.last_certificate, None);
    assert!(verdict(&mut f, &first).is_valid());
    let parent = first.header.clone().unwrap();
    // A block at height 1 has no parent to certify.
    let early = carrying(&first, Some(v1::CommitCertificate::default()), true);
    let v = verdict(&mut f, &early);
    assert_eq!(v.refusal(), Some(Refusal::Certificate), "{v:?}");
    assert!(v.reason().contains("a certificate at height 1"), "{v:?}");
    commit(&mut f, first);

    let second = f.app.build_block(Height(2), f.proposer).unwrap();
    assert_eq!(
        second.last_certificate,
        f.app.store.certificate(1).unwrap(),
        "the proposer carries the certificate it collected"
    );
    assert!(verdict(&mut f, &second).is_valid());
    let key = SigningKey::from_bytes(&[9; 32]);
    let stranger = SigningKey::from_bytes(&[10; 32]);
    let certify = |header: &v1::Header, round: u32, signers: &[SigningKey]| {
        babel_settlement::test_utils::certify(CHAIN, header, round, signers)
    };
    // The validator's precommit, signed by someone else.
    let mut forged = certify(&parent, 0, std::slice::from_ref(&key));
    forged.signatures[0].signature = certify(&parent, 0, std::slice::from_ref(&stranger))
        .signatures[0]
        .signature
        .clone();
    let mut other_block = parent.clone();
    other_block.time_ms += 1;
    let refused = [
        // Swapped after the header was hashed.
        (carrying(&second, None, false), "does not commit"),
        (
            carrying(&second, None, true),
            "no certificate of the parent",
        ),
        (
            carrying(&second, Some(forged), true),
            "the parent's certificate: bad signature",
        ),
        (
            carrying(
                &second,
                Some(certify(&other_block, 0, std::slice::from_ref(&key))),
                true,
            ),
            "the parent's certificate: certificate signs block",
        ),
        (
            carrying(&second, Some(certify(&parent, 0, &[])), true),
            "more than two thirds needed",
        ),
        (
            carrying(&second, Some(certify(&parent, 0, &[stranger])), true),
            "signature by unknown validator",
        ),
    ];
    for (block, why) in refused {
        let v = verdict(&mut f, &block);
        assert_eq!(v.refusal(), Some(Refusal::Certificate), "{why}: {v:?}");
        assert!(
            v.reason().to_lowercase().contains(&why.to_lowercase()),
            "{why}: {v:?}"
        );
    }

    // Precommits of a later round: as valid, and different bytes from what this node keeps.
    let later = certify(&parent, 2, &[key]);
    assert_ne!(Some(&later), f.app.store.certificate(1).unwrap().as_ref());
    let second = carrying(&second, Some(later.clone()), true);
    // The header changed, so its roots are the ones a proposer would sign.
    assert!(verdict(&mut f, &second).is_valid());
    commit(&mut f, second);
    assert_eq!(
        f.app.store.certificate(1).unwrap(),
        Some(later),
        "the certificate the decided block carries is the one kept"
    );
    assert!(f.app.decided(Height(2)).unwrap().is_some());
}
