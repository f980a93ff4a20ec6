//! Commit certificates: a header is final when validators holding more than two thirds of the
//! voting power precommitted its hash at its height, on its chain.

use std::collections::{BTreeMap, BTreeSet};

use babel_proto::v1;

use crate::{
    VerifyError,
    signing::{PRECOMMIT, address, vote_bytes},
};

/// One trusted validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// ed25519 public key.
    pub public_key: [u8; 32],
    /// Voting power (positive).
    pub power: u64,
}

/// The validators a light client trusts (the genesis set), by address.
#[derive(Debug, Clone)]
pub struct ValidatorSet {
    chain_id: String,
    by_address: BTreeMap<[u8; 20], (ed25519_zebra::VerificationKey, u64)>,
    total: u64,
}

impl ValidatorSet {
    /// The set of `validators` of `chain_id`: refused when empty, when a key repeats or is not
    /// a curve point, when a power is zero, or when the total overflows.
    pub fn new(
        chain_id: &str,
        validators: impl IntoIterator<Item = Validator>,
    ) -> Result<Self, VerifyError> {
        let invalid = |why: String| VerifyError::InvalidValidatorSet(why);
        let mut by_address = BTreeMap::new();
        let mut total: u64 = 0;
        for v in validators {
            let key = ed25519_zebra::VerificationKey::try_from(v.public_key)
                .map_err(|e| invalid(format!("key {}: {e}", hex::encode(v.public_key))))?;
            if v.power == 0 {
                return Err(invalid(format!(
                    "key {} has no power",
                    hex::encode(v.public_key)
                )));
            }
            total = total
                .checked_add(v.power)
                .ok_or_else(|| invalid("total power overflows".into()))?;
            if by_address
                .insert(address(&v.public_key), (key, v.power))
                .is_some()
            {
                return Err(invalid(format!(
                    "key {} appears twice",
                    hex::encode(v.public_key)
                )));
            }
        }
        if by_address.is_empty() {
            return Err(invalid("no validators".into()));
        }
        Ok(Self {
            chain_id: chain_id.to_string(),
            by_address,
            total,
        })
    }

    /// The chain these validators run.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Total voting power.
    pub fn total_power(&self) -> u64 {
        self.total
    }
}

/// What a valid certificate establishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finality {
    /// The final block's hash.
    pub block_hash: [u8; 32],
    /// Voting power of the validators whose precommits the certificate carries.
    pub signed_power: u64,
    /// Voting power of the whole set.
    pub total_power: u64,
}

/// Hex of `bytes` for an error message, cut after 32 bytes: what a certificate carries is
/// anyone's to make, and errors get logged.
fn quote(bytes: &[u8]) -> String {
    const SHOWN: usize = 32;
    match bytes.get(..SHOWN) {
        Some(head) if bytes.len() > SHOWN => {
            format!("{}… ({} bytes)", hex::encode(head), bytes.len())
        }
        _ => hex::encode(bytes),
    }
}

/// Check that `certificate` makes `header` final under `validators`.
///
/// Checked in this order, the first failure reported: the header's chain, the certificate's
/// height, the hash it signs, then each signature (known signer, once, valid over the
/// precommit bytes), then more than two thirds of the power.
pub fn verify_commit(
    validators: &ValidatorSet,
    header: &v1::Header,
    certificate: &v1::CommitCertificate,
) -> Result<Finality, VerifyError> {
    if header.chain_id != validators.chain_id {
        return Err(VerifyError::WrongChain {
            expected: validators.chain_id.clone(),
            found: header.chain_id.clone(),
        });
    }
    if certificate.height != header.height {
        return Err(VerifyError::HeightMismatch {
            header: header.height,
            certificate: certificate.height,
        });
    }
    let hash = babel_proto::block_hash(header);
    if certificate.block_hash.as_ref() != hash {
        return Err(VerifyError::BlockHashMismatch {
            header: hex::encode(hash),
            certified: quote(&certificate.block_hash),
        });
    }
    let mut seen = BTreeSet::new();
    let mut signed: u64 = 0;
    for sig in &certificate.signatures {
        let name = quote(&sig.validator);
        let Some((key, power)) = <[u8; 20]>::try_from(sig.validator.as_ref())
            .ok()
            .and_then(|a| validators.by_address.get(&a).map(|v| (a, v)))
            .map(|(a, (key, power))| ((a, key), *power))
        else {
            return Err(VerifyError::UnknownValidator(name));
        };
        let (addr, key) = key;
        if !seen.insert(addr) {
            return Err(VerifyError::DuplicateSignature(name));
        }
        let message = vote_bytes(
            PRECOMMIT,
            &validators.chain_id,
            header.height,
            i64::from(certificate.round),
            Some(&hash),
            &addr,
        );
        let valid = ed25519_zebra::Signature::try_from(sig.signature.as_ref())
            .ok()
            .is_some_and(|s| key.verify(&s, &message).is_ok());
        if !valid {
            return Err(VerifyError::BadSignature(name));
        }
        // Cannot overflow: each power is counted once and the total did not overflow.
        signed += power;
    }
    if u128::from(signed) * 3 <= u128::from(validators.total) * 2 {
        return Err(VerifyError::InsufficientPower {
            signed,
            total: validators.total,
        });
    }
    Ok(Finality {
        block_hash: hash,
        signed_power: signed,
        total_power: validators.total,
    })
}
