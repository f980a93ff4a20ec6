//! Test helpers: commit certificates signed with real keys, as validators sign them.

use babel_proto::v1;
use ed25519_dalek::{Signer as _, SigningKey};

use crate::signing;

/// A certificate for `header` of chain `chain` at `round`, one precommit by each of `signers`.
pub fn certify(
    chain: &str,
    header: &v1::Header,
    round: u32,
    signers: &[SigningKey],
) -> v1::CommitCertificate {
    let hash = babel_proto::block_hash(header);
    v1::CommitCertificate {
        height: header.height,
        round,
        block_hash: hash.to_vec().into(),
        signatures: signers
            .iter()
            .map(|k| {
                let address = signing::address(&k.verifying_key().to_bytes());
                let bytes = signing::vote_bytes(
                    signing::PRECOMMIT,
                    chain,
                    header.height,
                    i64::from(round),
                    Some(&hash),
                    &address,
                );
                v1::CommitSignature {
                    validator: address.to_vec().into(),
                    signature: k.sign(&bytes).to_bytes().to_vec().into(),
                }
            })
            .collect(),
    }
}
