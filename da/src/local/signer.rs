//! The local DA's key and its signed Celestia headers.
//!
//! Celestia clients refuse a header that does not validate: its validator-set hash, data root
//! (the hash of the data availability header), commit and more than 2/3 of signatures must
//! all hold. The local DA is a chain of one validator, its own key, so every header it makes
//! is real and checkable: `header.GetByHeight` answers what a Celestia light node would.

use celestia_types::{
    DataAvailabilityHeader, ExtendedHeader, ValidatorSet, block::CommitExt, hash::Hash,
};
use tendermint::{
    Time, account,
    block::{Commit, CommitSig, Height, header::Version, parts},
    chain, validator,
};

use crate::DaError;

/// Celestia's block protocol version, which header validation requires.
const BLOCK_PROTOCOL: u64 = 11;
/// App version the headers claim (Celestia's with 8 MiB transactions).
const APP_VERSION: u64 = 6;
/// Voting power of the one validator (any positive number).
const POWER: u32 = 1000;

/// Signs the local DA's headers.
pub(crate) struct Signer {
    key: ed25519_zebra::SigningKey,
    chain_id: chain::Id,
    validators: ValidatorSet,
    address: account::Id,
}

impl Signer {
    /// A signer of `chain_id` with the key of `seed`.
    pub(crate) fn new(seed: [u8; 32], chain_id: &str) -> Result<Self, DaError> {
        let key = ed25519_zebra::SigningKey::from(seed);
        let public =
            tendermint::PublicKey::from_raw_ed25519(&<[u8; 32]>::from(key.verification_key()))
                .ok_or_else(|| DaError::Celestia("bad ed25519 key".into()))?;
        let info = validator::Info::new(public, POWER.into());
        let address = info.address;
        let validators = ValidatorSet::new(vec![info.clone()], Some(info));
        let chain_id = chain_id
            .try_into()
            .map_err(|e: tendermint::Error| DaError::Celestia(e.to_string()))?;
        Ok(Self {
            key,
            chain_id,
            validators,
            address,
        })
    }

    /// The signed header of `height` over `dah`, following `prev` (`None` only at height 1).
    pub(crate) fn header(
        &self,
        height: u64,
        time: Time,
        dah: DataAvailabilityHeader,
        prev: Option<&ExtendedHeader>,
    ) -> Result<ExtendedHeader, DaError> {
        let tm = |e: tendermint::Error| DaError::Celestia(e.to_string());
        let height = Height::try_from(height).map_err(tm)?;
        let validators_hash = self.validators.hash();
        let zero = Hash::Sha256([0; 32]);
        let header = tendermint::block::Header {
            version: Version {
                block: BLOCK_PROTOCOL,
                app: APP_VERSION,
            },
            chain_id: self.chain_id.clone(),
            height,
            time,
            last_block_id: prev.map(|p| p.commit.block_id),
            last_commit_hash: Some(zero),
            data_hash: Some(dah.hash()),
            validators_hash,
            next_validators_hash: validators_hash,
            consensus_hash: zero,
            app_hash: Vec::new().try_into().map_err(tm)?,
            last_results_hash: Some(zero),
            evidence_hash: Some(zero),
            proposer_address: self.address,
        };
        let mut commit = Commit {
            height,
            round: 0u16.into(),
            block_id: tendermint::block::Id {
                hash: header.hash(),
                part_set_header: parts::Header::new(1, header.hash()).map_err(tm)?,
            },
            signatures: vec![CommitSig::BlockIdFlagCommit {
                validator_address: self.address,
                timestamp: time,
                signature: None,
            }],
        };
        let sign_bytes = commit.vote_sign_bytes(&self.chain_id, 0)?;
        let signature = self.key.sign(&sign_bytes).to_bytes();
        if let Some(CommitSig::BlockIdFlagCommit {
            signature: slot, ..
        }) = commit.signatures.first_mut()
        {
            *slot = tendermint::Signature::new(signature).map_err(tm)?;
        }
        let header = ExtendedHeader {
            header,
            commit,
            validator_set: self.validators.clone(),
            dah,
        };
        header.validate()?;
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use celestia_types::ExtendedDataSquare;

    #[test]
    fn headers_validate_chain_and_survive_serde() {
        let signer = Signer::new([7; 32], "babel-local-da").unwrap();
        let dah = DataAvailabilityHeader::from_eds(&ExtendedDataSquare::empty());
        let t1 = Time::from_unix_timestamp(1_700_000_000, 0).unwrap();
        let h1 = signer.header(1, t1, dah.clone(), None).unwrap();
        let t2 = Time::from_unix_timestamp(1_700_000_001, 0).unwrap();
        let h2 = signer.header(2, t2, dah, Some(&h1)).unwrap();
        h1.verify_adjacent(&h2).unwrap();
        // Deserializing validates: what every Celestia client does on receipt.
        let json = serde_json::to_string(&h2).unwrap();
        let back: ExtendedHeader = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h2);
        // Another key's header does not follow.
        let other = Signer::new([8; 32], "babel-local-da").unwrap();
        let dah = DataAvailabilityHeader::from_eds(&ExtendedDataSquare::empty());
        let forged = other.header(2, t2, dah, Some(&h1)).unwrap();
        assert!(h1.verify_adjacent(&forged).is_err());
    }
}
