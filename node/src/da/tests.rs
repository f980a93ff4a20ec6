//! References in headers, against a real store and an embedded DA shared by "validators".

use std::sync::Arc;

use babel_da::{
    layout::{self, BlockRef},
    local::LocalDa,
};
use babel_genesis::Genesis;
use babel_proto::v1;

use super::{DaLink, refs, with_rollups};
use crate::store::{CommitBatch, DaRecord, Store};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    da: LocalDa,
    link: Arc<DaLink>,
    genesis: Genesis,
    _runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let json = serde_json::json!({
        "chain_id": "babel-refs",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes()),
                         "voting_power": 1, "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [{ "id": 1, "name": "evm", "vm": "evm", "initial_state": {} }]
    });
    let genesis = Genesis::from_json(json.to_string().as_bytes()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let da = LocalDa::in_memory().unwrap();
    let link = {
        let _entered = runtime.enter();
        Arc::new(DaLink::new(Arc::new(da.clone()), true, &genesis).unwrap())
    };
    Fixture {
        _dir: dir,
        store,
        da,
        link,
        genesis,
        _runtime: runtime,
    }
}

fn header(f: &Fixture, height: u64, da_refs: Vec<v1::DaReference>) -> v1::Header {
    v1::Header {
        chain_id: f.genesis.chain_id.clone(),
        height,
        time_ms: height,
        tx_root: babel_proto::tx_root(&[]).to_vec().into(),
        da_refs,
        ..Default::default()
    }
}

/// Commit empty blocks `from..=to` (the first with `da_refs`), each carrying its parent's
/// certificate.
fn commit(f: &Fixture, from: u64, to: u64, da_refs: Vec<v1::DaReference>) {
    let mut da_refs = Some(da_refs);
    for height in from..=to {
        let mut header = header(f, height, da_refs.take().unwrap_or_default());
        let last_certificate = f.store.certificate(height - 1).unwrap();
        header.last_certificate_hash = babel_proto::certificate_hash(last_certificate.as_ref());
        let hash = babel_proto::block_hash(&header);
        f.store
            .commit(&CommitBatch {
                block_hash: hash,
                certificate: babel_consensus::test_utils::certificate(
                    &f.genesis.chain_id,
                    height,
                    hash,
                    &[[9; 32]],
                ),
                block: v1::Block {
                    header: Some(header),
                    txs: Vec::new(),
                    last_certificate,
                },
                ..Default::default()
            })
            .unwrap();
    }
}

/// Post the committed block at `height` to the DA, with a certificate its validator signed;
/// returns its reference.
fn post(f: &Fixture, height: u64) -> v1::DaReference {
    let block = f.store.block(height).unwrap().unwrap();
    let hash = babel_proto::block_hash(block.header.as_ref().unwrap());
    let certificate =
        babel_consensus::test_utils::certificate(&f.genesis.chain_id, height, hash, &[[9; 32]]);
    post_with(f, height, certificate)
}

/// Post the committed block at `height` with `certificate`.
fn post_with(f: &Fixture, height: u64, certificate: v1::CommitCertificate) -> v1::DaReference {
    let block = f.store.block(height).unwrap().unwrap();
    post_block(f, block, certificate)
}

/// Post `block` with `certificate`.
fn post_block(
    f: &Fixture,
    block: v1::Block,
    certificate: v1::CommitCertificate,
) -> v1::DaReference {
    let height = block.header.as_ref().unwrap().height;
    let header = block.header.unwrap();
    let hash = babel_proto::block_hash(&header);
    let txs = with_rollups(&block.txs, &babel_execution::registry::Registry::default());
    let posting = layout::post_block(
        &f.genesis.chain_id,
        BlockRef {
            header: &header,
            certificate: &certificate,
            last_certificate: block.last_certificate.as_ref(),
            block_hash: &hash,
            txs: &txs,
        },
        &f.link.namespaces(),
    )
    .unwrap();
    let commitment = posting.header_commitment().unwrap();
    let da_height = f.da.submit_blocking(posting.blobs).unwrap();
    v1::DaReference {
        block_height: height,
        da_height,
        commitment: commitment.hash().to_vec().into(),
    }
}

fn record(f: &Fixture, r: &v1::DaReference) {
    let rec = DaRecord {
        da_height: r.da_height,
        commitment: r.commitment.to_vec(),
    };
    assert!(f.store.record_posted(r.block_height, &rec).unwrap());
}

fn check(f: &Fixture, height: u64, refs: &[v1::DaReference]) -> Result<(), String> {
    refs::check(&f.store, Some(&f.link), height, refs).unwrap()
}

#[test]
fn a_proposer_lists_recorded_unreferenced_posts_its_follower_has_read_past() {
    let f = fixture();
    commit(&f, 1, 4, Vec::new());
    let posted: Vec<v1::DaReference> = (1..=3).map(|h| post(&f, h)).collect();
    for r in &posted {
        record(&f, r);
    }
    // The follower has read only through the first post.
    f.store.set_da_scanned(posted[0].da_height).unwrap();
    assert_eq!(refs::choose(&f.store, 5).unwrap(), vec![posted[0].clone()]);
    f.store.set_da_scanned(f.da.head_height()).unwrap();
    assert_eq!(refs::choose(&f.store, 5).unwrap(), posted);
    // Once a committed header references block 1, it is not listed again; the floor moves.
    commit(&f, 5, 5, vec![posted[0].clone()]);
    assert_eq!(f.store.da_ref_floor().unwrap(), 2);
    assert_eq!(refs::choose(&f.store, 6).unwrap(), posted[1..].to_vec());
    assert_eq!(
        f.store.da_referenced(1).unwrap().unwrap().da_height,
        posted[0].da_height
    );
}

#[test]
fn a_proposer_lists_references_only_while_its_da_has_answered_for_a_follow_interval() {
    let f = fixture();
    // Nothing has answered yet.
    assert!(!refs::worth_listing(&f.link));
    f.link.reached(true);
    assert!(!refs::worth_listing(&f.link), "answered only just now");
    std::thread::sleep(super::follower::FOLLOW_EVERY);
    assert!(refs::worth_listing(&f.link));
    // One failed call (the DA went down) and the proposer lists none until it answers again
    // for a whole interval.
    f.link.reached(false);
    assert!(!refs::worth_listing(&f.link));
    f.link.reached(true);
    assert!(!refs::worth_listing(&f.link));
}

#[test]
fn validators_accept_references_they_recorded_or_can_check_on_the_da() {
    let f = fixture();
    commit(&f, 1, 3, Vec::new());
    let known = post(&f, 1);
    record(&f, &known);
    // Block 2's post is on the DA but not in this node's records: checked there.
    let unrecorded = post(&f, 2);
    assert_eq!(check(&f, 4, &[known.clone(), unrecorded.clone()]), Ok(()));
    // Nothing is recorded by checking.
    assert_eq!(f.store.da_record(2).unwrap(), None);
}

#[test]
fn validators_refuse_forged_repeated_misordered_and_premature_references() {
    let f = fixture();
    commit(&f, 1, 3, Vec::new());
    let one = post(&f, 1);
    let two = post(&f, 2);
    let refused = |refs: &[v1::DaReference], why: &str| {
        let err = check(&f, 4, refs).unwrap_err();
        assert!(err.contains(why), "{err}");
    };
    refused(&[two.clone(), one.clone()], "out of order or repeated");
    refused(&[one.clone(), one.clone()], "out of order or repeated");
    let mut future = one.clone();
    future.block_height = 4;
    refused(&[future], "from block 4");
    let mut short = one.clone();
    short.commitment = vec![1; 31].into();
    refused(&[short], "not 32 bytes");
    // A commitment the DA does not hold at that height.
    let mut forged = one.clone();
    forged.commitment = vec![9; 32].into();
    refused(&[forged], "no such header blob");
    // A real post, but of another block.
    let mut swapped = two.clone();
    swapped.block_height = 1;
    refused(&[swapped], "another block");
    // A real post of the block, but its certificate is not the validators'.
    let uncertified = post_with(&f, 2, v1::CommitCertificate::default());
    refused(&[uncertified], "certificate does not hold");
    // A real post of the block, but it carries another certificate of the parent than its
    // header commits to, or none.
    let certified = f.store.certificate(2).unwrap().unwrap();
    let block = f.store.block(2).unwrap().unwrap();
    let mut other = block.last_certificate.clone().unwrap();
    other.round = 1;
    for carried in [Some(other), None] {
        let carrying = v1::Block {
            last_certificate: carried,
            ..block.clone()
        };
        let post = post_block(&f, carrying, certified.clone());
        refused(
            &[post],
            "does not commit to the blob's certificate of its parent",
        );
    }
    // A block referenced by a committed header is not referenced again.
    commit(&f, 4, 4, vec![one.clone()]);
    let err = check(&f, 5, &[one]).unwrap_err();
    assert!(err.contains("referenced already"), "{err}");
    // A node whose DA is its own cannot check references, so it refuses them.
    let err = refs::check(&f.store, None, 5, &[two]).unwrap().unwrap_err();
    assert!(err.contains("its own"), "{err}");
}
