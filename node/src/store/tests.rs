use super::*;

fn block(height: u64, txs: usize) -> (v1::Block, [u8; 32]) {
    let header = v1::Header {
        chain_id: "t".into(),
        height,
        ..Default::default()
    };
    let txs = (0..txs)
        .map(|i| v1::SignedTransaction {
            body: vec![height as u8, i as u8].into(),
            signature: vec![0; 64].into(),
            ..Default::default()
        })
        .collect();
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&height.to_be_bytes());
    (
        v1::Block {
            header: Some(header),
            txs,
            last_certificate: None,
        },
        hash,
    )
}

/// A certificate for `block_hash` at `height` (the store does not check its signatures).
fn certificate(height: u64, block_hash: [u8; 32]) -> v1::CommitCertificate {
    v1::CommitCertificate {
        height,
        round: 0,
        block_hash: block_hash.to_vec().into(),
        signatures: vec![],
    }
}

fn batch(height: u64) -> CommitBatch {
    let (block, block_hash) = block(height, 2);
    let tx_hashes = vec![[height as u8; 32], [height as u8 + 100; 32]];
    CommitBatch {
        certificate: certificate(height, block_hash),
        receipts: tx_hashes
            .iter()
            .map(|h| {
                (
                    *h,
                    v1::Receipt {
                        success: true,
                        gas_used: 21_000,
                        ..Default::default()
                    },
                )
            })
            .collect(),
        tx_hashes,
        pending: Vec::new(),
        state: vec![StateWrite {
            rollup_id: 7,
            key: b"k".to_vec(),
            value: Some(height.to_be_bytes().to_vec()),
        }],
        block,
        block_hash,
        trees: Vec::new(),
    }
}

#[test]
fn commit_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.latest_height().unwrap(), None);
        store.commit(&batch(1)).unwrap();
        store.commit(&batch(2)).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height().unwrap(), Some(2));
    let b2 = batch(2);
    assert_eq!(store.block(2).unwrap(), Some(b2.block.clone()));
    assert_eq!(store.certificate(2).unwrap(), Some(b2.certificate.clone()));
    assert_eq!(store.block_hash_at(2).unwrap(), Some(b2.block_hash));
    assert_eq!(store.height_of(&b2.block_hash).unwrap(), Some(2));
    assert_eq!(
        store.tx_location(&b2.tx_hashes[1]).unwrap(),
        Some(TxLocation {
            height: 2,
            index: 1
        })
    );
    assert_eq!(
        store.receipt(&b2.tx_hashes[0]).unwrap().map(|r| r.gas_used),
        Some(21_000)
    );
    assert_eq!(
        store.state(7, b"k").unwrap(),
        Some(2u64.to_be_bytes().to_vec())
    );
    assert_eq!(store.state(8, b"k").unwrap(), None);
    assert_eq!(store.block(3).unwrap(), None);
}

#[test]
fn the_certificate_a_block_carries_replaces_its_parents() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let b1 = batch(1);
    store.commit(&b1).unwrap();
    // Another set of precommits for the same block, as the next proposer collected them.
    let mut carried = b1.certificate.clone();
    carried.round = 3;
    carried.signatures.push(v1::CommitSignature {
        validator: vec![5; 20].into(),
        signature: vec![6; 64].into(),
    });
    // A certificate of another block, or of another height, is never stored.
    for wrong in [
        certificate(1, [9; 32]),
        certificate(2, b1.block_hash),
        certificate(0, b1.block_hash),
    ] {
        let mut b2 = batch(2);
        b2.block.last_certificate = Some(wrong);
        assert!(matches!(
            store.commit(&b2),
            Err(StoreError::ForeignCertificate { height: 2 })
        ));
    }
    assert_eq!(store.certificate(1).unwrap(), Some(b1.certificate.clone()));
    assert_eq!(store.latest_height().unwrap(), Some(1));
    let mut b2 = batch(2);
    b2.block.last_certificate = Some(carried.clone());
    store.commit(&b2).unwrap();
    assert_eq!(store.certificate(1).unwrap(), Some(carried));
    assert_eq!(store.block_hash_at(1).unwrap(), Some(b1.block_hash));
    // The tip keeps the certificate this node collected.
    assert_eq!(store.certificate(2).unwrap(), Some(b2.certificate.clone()));
    // A block at height 1 has no parent to carry a certificate of.
    let dir = tempfile::tempdir().unwrap();
    let other = Store::open(dir.path()).unwrap();
    let mut first = batch(1);
    first.block.last_certificate = Some(b1.certificate.clone());
    assert!(matches!(
        other.commit(&first),
        Err(StoreError::ForeignCertificate { height: 1 })
    ));
}

#[test]
fn state_delete_removes_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(&batch(1)).unwrap();
    let mut b = batch(2);
    b.state = vec![StateWrite {
        rollup_id: 7,
        key: b"k".to_vec(),
        value: None,
    }];
    store.commit(&b).unwrap();
    assert_eq!(store.state(7, b"k").unwrap(), None);
}

#[test]
fn recommit_same_block_is_noop_but_different_block_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(&batch(1)).unwrap();
    store.commit(&batch(1)).unwrap();
    let mut other = batch(1);
    other.block_hash = [9; 32];
    assert!(matches!(
        store.commit(&other),
        Err(StoreError::ConflictingCommit { height: 1 })
    ));
    assert!(matches!(
        store.commit(&batch(3)),
        Err(StoreError::HeightGap {
            expected: 2,
            got: 3
        })
    ));
    assert_eq!(store.latest_height().unwrap(), Some(1));
}

#[test]
fn genesis_binding() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.check_genesis([1; 32]).unwrap();
    store.check_genesis([1; 32]).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(
        store.check_genesis([2; 32]),
        Err(StoreError::GenesisMismatch { .. })
    ));
}

#[test]
fn proposals_are_kept_until_their_height_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put_proposal(1, 0, [1; 32], b"a").unwrap();
    store.put_proposal(1, 0, [2; 32], b"b").unwrap();
    store.put_proposal(1, 1, [3; 32], b"c").unwrap();
    store.put_proposal(2, 0, [4; 32], b"d").unwrap();
    assert_eq!(
        store.proposals_at(1, 0).unwrap(),
        vec![([1; 32], b"a".to_vec()), ([2; 32], b"b".to_vec())]
    );
    assert_eq!(store.proposal(1, 1, &[3; 32]).unwrap(), Some(b"c".to_vec()));
    store.commit(&batch(1)).unwrap();
    assert!(store.proposals_at(1, 0).unwrap().is_empty());
    assert_eq!(store.proposal(1, 1, &[3; 32]).unwrap(), None);
    assert_eq!(store.proposal(2, 0, &[4; 32]).unwrap(), Some(b"d".to_vec()));
}

#[test]
fn da_records_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = DaRecord {
        da_height: 77,
        commitment: vec![5; 32],
    };
    assert!(store.record_posted(3, &rec).unwrap());
    let other = DaRecord {
        da_height: 78,
        commitment: vec![6; 32],
    };
    assert!(
        !store.record_posted(3, &other).unwrap(),
        "a record is never replaced"
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.da_record(3).unwrap(), Some(rec));
    assert_eq!(store.da_record(4).unwrap(), None);
}

#[test]
fn changing_the_da_backend_drops_records_of_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.bind_da_backend("local").unwrap());
    let rec = DaRecord {
        da_height: 5,
        commitment: vec![1; 32],
    };
    store.record_posted(1, &rec).unwrap();
    store.set_da_scanned(9).unwrap();
    assert_eq!(store.advance_posted_through().unwrap(), 1);
    // The same backend again keeps everything.
    assert!(!store.bind_da_backend("local").unwrap());
    assert_eq!(store.da_record(1).unwrap(), Some(rec));
    assert!(store.bind_da_backend("celestia").unwrap());
    assert_eq!(store.da_record(1).unwrap(), None);
    assert_eq!(store.da_scanned().unwrap(), 0);
    assert_eq!(store.da_posted_through().unwrap(), 0);
}

#[test]
fn pending_transactions_are_remembered_until_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let txs: Vec<v1::SignedTransaction> = (0..3u8)
        .map(|i| v1::SignedTransaction {
            body: vec![i; 4].into(),
            signature: vec![i; 64].into(),
            ..Default::default()
        })
        .collect();
    let hashes: Vec<[u8; 32]> = txs.iter().map(babel_proto::tx_hash).collect();
    let entries: Vec<([u8; 32], &v1::SignedTransaction)> =
        hashes.iter().copied().zip(txs.iter()).collect();
    store.put_pending(&entries).unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let mut pending = store.pending().unwrap();
    pending.sort_by_key(|(h, _)| *h);
    let mut want: Vec<([u8; 32], Option<v1::SignedTransaction>)> = hashes
        .iter()
        .copied()
        .zip(txs.iter().cloned().map(Some))
        .collect();
    want.sort_by_key(|(h, _)| *h);
    assert_eq!(pending, want);

    // Committing transaction 0 and dropping transaction 1 leaves only transaction 2.
    let mut batch = batch(1);
    batch.tx_hashes = vec![hashes[0]];
    store.commit(&batch).unwrap();
    store.delete_pending(&[hashes[1]]).unwrap();
    let left: Vec<[u8; 32]> = store
        .pending()
        .unwrap()
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    assert_eq!(left, vec![hashes[2]]);
}

#[test]
fn a_commit_write_batch_fits_the_space_reserved_for_it() {
    // A height like a full block's: many transactions, and tree updates of hundreds of keys
    // (fresh leaves and internal nodes with many children), on top of an earlier version.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // The rollup's tree at genesis (version 0), which height 1 updates.
    let genesis_key = b"genesis".to_vec();
    let (_, genesis) = babel_execution::commitment::update_tree(
        &store.tree(7),
        0,
        [(genesis_key.as_slice(), Some(&genesis_key))],
    )
    .unwrap();
    let mut wb = WriteBatch::default();
    store.write_tree(&mut wb, 7, &genesis).unwrap();
    store.db.write(wb).unwrap();
    for height in 1..=2u64 {
        let (block, block_hash) = block(height, 300);
        let tx_hashes: Vec<[u8; 32]> = (0..300u32)
            .map(|i| {
                let mut h = [height as u8; 32];
                h[..4].copy_from_slice(&i.to_be_bytes());
                h
            })
            .collect();
        let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..600u32)
            .map(|i| {
                let key = [&height.to_be_bytes()[..], &i.to_be_bytes()].concat();
                (key, Some(vec![i as u8; 40]))
            })
            .collect();
        let reader = store.tree(7);
        let (_, tree) = babel_execution::commitment::update_tree(
            &reader,
            height,
            changes.iter().map(|(k, v)| (k.as_slice(), v.as_ref())),
        )
        .unwrap();
        let batch = CommitBatch {
            certificate: certificate(height, block_hash),
            receipts: tx_hashes
                .iter()
                .map(|h| (*h, v1::Receipt::default()))
                .collect(),
            tx_hashes,
            pending: Vec::new(),
            state: changes
                .iter()
                .map(|(key, value)| StateWrite {
                    rollup_id: 7,
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
            block,
            block_hash,
            trees: vec![(7, tree)],
        };
        let written = store.commit_write(height, &batch).unwrap().size_in_bytes();
        let reserved = batch.write_bytes();
        assert!(
            written <= reserved,
            "{written} bytes in {reserved} reserved"
        );
        // An upper bound, but a close one.
        assert!(
            2 * reserved < 3 * written,
            "{reserved} reserved for {written}"
        );
        store.commit(&batch).unwrap();
    }
    assert_eq!(store.latest_height().unwrap(), Some(2));
}

/// Set in the child process of the crash test: the store directory it writes and aborts in.
const CRASH_DIR: &str = "BABEL_TEST_STORE_CRASH_DIR";

/// The heights below a flush survive a crash whole; the heights after it survive as their
/// synced certificates, which name them for replay, and none of their other writes does.
#[test]
fn a_crash_keeps_flushed_heights_and_the_certificates_of_the_rest() {
    if let Some(dir) = std::env::var_os(CRASH_DIR) {
        // The child: commit, flush, commit more, and die without closing the database.
        let store = Store::open(Path::new(&dir)).unwrap();
        for h in 1..=3 {
            store.commit(&batch(h)).unwrap();
        }
        store.flush().unwrap();
        for h in 4..=6 {
            store.commit(&batch(h)).unwrap();
        }
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "store::tests::a_crash_keeps_flushed_heights_and_the_certificates_of_the_rest",
            "--exact",
            "--nocapture",
        ])
        .env(CRASH_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts: {status}");

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height().unwrap(), Some(3));
    assert_eq!(
        store.state(7, b"k").unwrap(),
        Some(3u64.to_be_bytes().to_vec())
    );
    assert_eq!(store.block(4).unwrap(), None);
    assert_eq!(store.tx_location(&batch(4).tx_hashes[0]).unwrap(), None);
    let decided = store.decided_above(3).unwrap();
    assert_eq!(
        decided.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert_eq!(decided[1].1, batch(5).certificate);

    // Replayed, the heights are committed and their records gone.
    for h in 4..=6 {
        store.commit(&batch(h)).unwrap();
    }
    assert_eq!(store.latest_height().unwrap(), Some(6));
    assert!(store.decided_above(0).unwrap().is_empty());
    assert_eq!(
        store.state(7, b"k").unwrap(),
        Some(6u64.to_be_bytes().to_vec())
    );
}

#[test]
fn decided_records_above_the_committed_height_must_run_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(&batch(1)).unwrap();
    assert!(store.decided_above(1).unwrap().is_empty());
    store.record_decided(2, &batch(2).certificate).unwrap();
    assert_eq!(store.decided_above(1).unwrap().len(), 1);
    // A decided height whose block is not among the stored proposals cannot be replayed.
    assert!(matches!(
        store.decided_blocks_above(1),
        Err(StoreError::DecidedWithoutProposal { height: 2 })
    ));
    store.record_decided(4, &batch(4).certificate).unwrap();
    assert!(matches!(
        store.decided_above(1),
        Err(StoreError::HeightGap {
            expected: 3,
            got: 4
        })
    ));
}

#[test]
fn a_proposal_is_found_by_hash_only_with_the_body_its_header_commits_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (mut real, _) = block(1, 3);
    if let Some(h) = real.header.as_mut() {
        h.tx_root = babel_proto::tx_root(&real.txs).to_vec().into();
        h.tx_count = 3;
    }
    let hash = babel_proto::block_hash(real.header.as_ref().unwrap());
    let stored = |block: v1::Block| {
        v1::StoredProposal {
            block: Some(block),
            ..Default::default()
        }
        .encode_to_vec()
    };
    // A byzantine proposer of round 0 streamed the same header with no transactions.
    let mut junk = real.clone();
    junk.txs.clear();
    store.put_proposal(1, 0, hash, &stored(junk)).unwrap();
    assert_eq!(store.proposal_by_hash(1, &hash).unwrap(), None);
    store
        .put_proposal(1, 2, hash, &stored(real.clone()))
        .unwrap();
    assert_eq!(
        store.proposal_by_hash(1, &hash).unwrap(),
        Some(stored(real))
    );
}

#[test]
fn a_store_of_another_layout_is_refused_with_a_way_out() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.check_genesis([1; 32]).unwrap();
    }
    assert!(Store::open(dir.path()).is_ok(), "this build's layout");
    {
        // A store from before layouts were recorded.
        let store = Store::open(dir.path()).unwrap();
        store
            .db
            .delete_cf(store.cf(Cf::Meta).unwrap(), META_FORMAT)
            .unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Format { found: 1 }), "{err}");
    assert!(err.to_string().contains("remove the home's data/"), "{err}");
}

#[test]
fn a_height_replayed_from_the_da_leaves_no_decided_record_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.commit_replayed(&batch(1)).unwrap();
        store.commit_replayed(&batch(1)).unwrap();
        assert!(matches!(
            store.commit_replayed(&batch(3)),
            Err(StoreError::HeightGap {
                expected: 2,
                got: 3
            })
        ));
        store.commit_replayed(&batch(2)).unwrap();
        assert!(store.decided_above(0).unwrap().is_empty());
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height().unwrap(), Some(2));
    assert_eq!(store.block(2).unwrap(), Some(batch(2).block));
}
