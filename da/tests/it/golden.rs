//! The golden vectors of `docs/DA_FORMAT.md`: a fixed block laid out as blobs must give, byte
//! for byte, the blob data and commitments the document lists (and read back to the block).

use std::collections::BTreeMap;

use babel_da::{
    Namespace,
    layout::{self, BlockRef, Namespaces},
};
use babel_proto::v1;

const DOC: &str = include_str!("../../../docs/DA_FORMAT.md");

/// The value of `name` in the document's vector list (a line "name: hex").
fn vector(name: &str) -> String {
    DOC.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("{name} is not in docs/DA_FORMAT.md"))
        .trim()
        .to_owned()
}

fn tx(rollup: u64, nonce: u64) -> (u64, v1::SignedTransaction) {
    let body = v1::Transaction {
        chain_id: "babel-golden".into(),
        rollup_id: rollup,
        sender_pubkey: vec![0x11; 32].into(),
        nonce,
        gas_limit: 21_000,
        max_fee: 1,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: vec![0x22; 20].into(),
            data: vec![0xAB; 4].into(),
            ..Default::default()
        })),
    };
    let signed = v1::SignedTransaction {
        body: prost::Message::encode_to_vec(&body).into(),
        signature: vec![0x33; 64].into(),
        ..Default::default()
    };
    (rollup, signed)
}

#[test]
fn the_documented_golden_vectors_are_what_the_layout_writes_and_reads() {
    let txs = vec![tx(1, 0), tx(2, 0), tx(1, 1)];
    let signed: Vec<v1::SignedTransaction> = txs.iter().map(|(_, t)| t.clone()).collect();
    let header = v1::Header {
        chain_id: "babel-golden".into(),
        height: 7,
        time_ms: 1_700_000_000_000,
        parent_hash: vec![0x44; 32].into(),
        proposer: vec![0x55; 20].into(),
        tx_root: babel_proto::tx_root(&signed).to_vec().into(),
        tx_count: signed.len() as u64,
        ..Default::default()
    };
    let hash = babel_proto::block_hash(&header);
    let certificate = v1::CommitCertificate {
        height: 7,
        round: 0,
        block_hash: hash.to_vec().into(),
        signatures: vec![v1::CommitSignature {
            validator: vec![0x55; 20].into(),
            signature: vec![0x66; 64].into(),
        }],
    };
    let namespaces = Namespaces {
        sequencer: Namespace::new_v0(&[0xBA; 10]).unwrap(),
        rollups: BTreeMap::from([
            (1, Namespace::new_v0(&[0x01; 10]).unwrap()),
            (2, Namespace::new_v0(&[0x02; 10]).unwrap()),
        ]),
    };
    let block = BlockRef {
        header: &header,
        certificate: &certificate,
        last_certificate: None,
        block_hash: &hash,
        txs: &txs,
    };
    let posting = layout::post_block("babel-golden", block, &namespaces).unwrap();
    let names = ["header", "rollup_1", "rollup_2"];
    assert_eq!(posting.blobs.len(), names.len());
    let mut actual = String::new();
    for (name, blob) in names.iter().zip(&posting.blobs) {
        actual += &format!(
            "{name}_namespace: {}\n{name}_data: {}\n{name}_commitment: {}\n",
            hex::encode(blob.namespace.as_bytes()),
            hex::encode(&blob.data),
            hex::encode(blob.commitment.hash())
        );
    }
    for line in actual.lines() {
        let (name, value) = line.split_once(": ").unwrap();
        assert_eq!(vector(name), value, "{name}; all vectors:\n{actual}");
    }
    let read = layout::read_header(&posting.blobs[0]).unwrap();
    let back = layout::assemble(
        &read.message,
        &posting.blobs[1..],
        "babel-golden",
        &hash,
        10,
    )
    .unwrap();
    assert_eq!(back, signed);
}
