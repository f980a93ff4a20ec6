//! Inclusion proofs against a header: rollup state (Jellyfish Merkle) and the outgoing messages
//! kept in it, transactions and receipts (RFC 6962).

use babel_proto::{message::message_key, v1};
use ct_merkle::{InclusionProof, RootHash};
use prost::Message as _;
use sha2::Sha256;

use crate::VerifyError;

/// Check that `key` of rollup `rollup_id` holds `value` (or, with `None`, is absent) in the
/// state `header` commits to. `proof` is a borsh-encoded jmt `SparseMerkleProof<Sha256>` of
/// `sha256(key)`, as `GetStateProof` serves it.
pub fn verify_state(
    header: &v1::Header,
    rollup_id: u64,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), VerifyError> {
    let root = header
        .state_roots
        .iter()
        .find(|r| r.rollup_id == rollup_id)
        .ok_or(VerifyError::UnknownRollup(rollup_id))?;
    let root: [u8; 32] = root
        .root
        .as_ref()
        .try_into()
        .map_err(|_| VerifyError::MalformedProof("state root is not 32 bytes".into()))?;
    let proof: jmt::proof::SparseMerkleProof<Sha256> =
        borsh::from_slice(proof).map_err(|e| VerifyError::MalformedProof(e.to_string()))?;
    proof
        .verify(
            jmt::RootHash(root),
            jmt::KeyHash::with::<Sha256>(key),
            value,
        )
        .map_err(|_| VerifyError::RootMismatch("state root"))
}

/// Check that message `index` of rollup `rollup_id`'s outgoing-message log is stored as `value`
/// in the state `header` commits to (a state proof of `babel_proto::message::message_key`, as
/// `GetStateProof` serves it), and return the message: who emitted it, at which height, and
/// its payload.
pub fn verify_message(
    header: &v1::Header,
    rollup_id: u64,
    index: u64,
    value: &[u8],
    proof: &[u8],
) -> Result<v1::OutgoingMessage, VerifyError> {
    verify_state(header, rollup_id, &message_key(index), Some(value), proof)?;
    let message = v1::OutgoingMessage::decode(value)
        .map_err(|e| VerifyError::MalformedMessage(e.to_string()))?;
    if message.index != index {
        return Err(VerifyError::MalformedMessage(format!(
            "stored as message {index}, it says it is message {}",
            message.index
        )));
    }
    if message.height > header.height {
        return Err(VerifyError::MalformedMessage(format!(
            "it says it was emitted at height {}, after the header's {}",
            message.height, header.height
        )));
    }
    Ok(message)
}

/// Check that `tx` is transaction `index` of the block `header` describes; `proof` is the RFC
/// 6962 audit path `GetTransactionProof` serves.
pub fn verify_transaction(
    header: &v1::Header,
    index: u64,
    tx: &v1::SignedTransaction,
    proof: &[u8],
) -> Result<(), VerifyError> {
    let leaf = babel_proto::tx_hash(tx);
    verify_leaf(
        &header.tx_root,
        "tx_root",
        leaf,
        index,
        header.tx_count,
        proof,
    )
}

/// Check that `receipt` is the receipt of `tx`, transaction `index` of the block `header`
/// describes; `proof` is the RFC 6962 audit path `GetReceiptProof` serves.
pub fn verify_receipt(
    header: &v1::Header,
    index: u64,
    tx: &v1::SignedTransaction,
    receipt: &v1::Receipt,
    proof: &[u8],
) -> Result<(), VerifyError> {
    let leaf = babel_proto::receipt_leaf(&babel_proto::tx_hash(tx), receipt);
    verify_leaf(
        &header.results_root,
        "results_root",
        leaf,
        index,
        header.tx_count,
        proof,
    )
}

fn verify_leaf(
    root: &[u8],
    which: &'static str,
    leaf: [u8; 32],
    index: u64,
    count: u64,
    proof: &[u8],
) -> Result<(), VerifyError> {
    if index >= count {
        return Err(VerifyError::IndexOutOfRange { index, count });
    }
    let root: [u8; 32] = root
        .try_into()
        .map_err(|_| VerifyError::MalformedProof(format!("{which} is not 32 bytes")))?;
    let proof = InclusionProof::<Sha256>::try_from_bytes(proof.to_vec())
        .map_err(|e| VerifyError::MalformedProof(format!("{e:?}")))?;
    RootHash::<Sha256>::new(root.into(), count)
        .verify_inclusion(&leaf, index, &proof)
        .map_err(|_| VerifyError::RootMismatch(which))
}
