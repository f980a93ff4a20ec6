//! Core consensus types: heights, addresses, block hashes and the validator set.

use std::{fmt, sync::Arc};

use malachitebft_app_channel::app::types::core::{self as mc, VotingPower};
use malachitebft_signing_ed25519::PublicKey;

use crate::{BabelContext, ConsensusError};

/// A block height; the first block is height 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Self(0);
    const INITIAL: Self = Self(1);

    fn increment_by(&self, n: u64) -> Self {
        Self(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Self)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address: the first 20 bytes of sha256(ed25519 public key).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Address of a public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        Self(babel_settlement::signing::address(key.as_bytes()))
    }

    /// Parse 20 raw bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ConsensusError> {
        bytes.try_into().map(Self).map_err(|_| {
            ConsensusError::Decode(format!("address must be 20 bytes, got {}", bytes.len()))
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl mc::Address for Address {}

/// Hash of a block (sha256 of its encoded header): the value consensus agrees on.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHash(pub [u8; 32]);

impl BlockHash {
    /// Parse 32 raw bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ConsensusError> {
        bytes.try_into().map(Self).map_err(|_| {
            ConsensusError::Decode(format!("block hash must be 32 bytes, got {}", bytes.len()))
        })
    }
}

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockHash({})", hex::encode(&self.0[..8]))
    }
}

/// The consensus value is the block hash; the block itself travels in proposal parts and sync.
impl mc::Value for BlockHash {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        *self
    }
}

/// A member of the validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Address derived from the public key.
    pub address: Address,
    /// ed25519 public key.
    pub public_key: PublicKey,
    /// Voting power.
    pub voting_power: VotingPower,
}

impl Validator {
    /// A validator with this key and power.
    pub fn new(public_key: PublicKey, voting_power: VotingPower) -> Self {
        Self {
            address: Address::from_public_key(&public_key),
            public_key,
            voting_power,
        }
    }
}

impl mc::Validator<BabelContext> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> VotingPower {
        self.voting_power
    }
}

/// The validators of a height, ordered by voting power (descending) then address, so that
/// every node derives the same order and the same proposer sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Arc<Vec<Validator>>,
    total: VotingPower,
}

impl ValidatorSet {
    /// Build a set; refuses an empty set, zero power, duplicates and power overflow.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ConsensusError> {
        if validators.is_empty() {
            return Err(ConsensusError::InvalidValidatorSet("empty".into()));
        }
        validators.sort_by(|a, b| {
            b.voting_power
                .cmp(&a.voting_power)
                .then(a.address.cmp(&b.address))
        });
        let mut total: VotingPower = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.voting_power == 0 {
                return Err(ConsensusError::InvalidValidatorSet(format!(
                    "{} has zero power",
                    v.address
                )));
            }
            if validators[..i].iter().any(|w| w.address == v.address) {
                return Err(ConsensusError::InvalidValidatorSet(format!(
                    "duplicate {}",
                    v.address
                )));
            }
            total = total
                .checked_add(v.voting_power)
                .ok_or_else(|| ConsensusError::InvalidValidatorSet("power overflow".into()))?;
        }
        Ok(Self {
            validators: Arc::new(validators),
            total,
        })
    }

    /// The genesis validator set.
    pub fn from_genesis(genesis: &babel_genesis::Genesis) -> Result<Self, ConsensusError> {
        let validators = genesis
            .validators
            .iter()
            .map(|v| {
                let key = PublicKey::from_bytes(v.public_key_bytes())
                    .map_err(|e| ConsensusError::InvalidValidatorSet(e.to_string()))?;
                Ok(Validator::new(key, v.voting_power))
            })
            .collect::<Result<Vec<_>, ConsensusError>>()?;
        Self::new(validators)
    }

    /// Validators in set order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The validator with this address.
    pub fn get(&self, address: &Address) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.address == address)
    }
}

impl mc::ValidatorSet<BabelContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> VotingPower {
        self.total
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.get(address)
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}
