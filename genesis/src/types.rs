//! The genesis data model. Field names are the JSON keys; `docs/GENESIS.md` documents them.

use std::{fmt, path::Path, time::SystemTime};

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::{GenesisError, Namespace, validate};

/// Identifier of a rollup, unique in a chain; the `rollup` argument of a cross-rollup call.
pub type RollupId = u64;

/// A whole genesis file, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain id; every transaction names it.
    pub chain_id: String,
    /// Time of the genesis, RFC 3339 (`2026-01-01T00:00:00Z`).
    pub genesis_time: Timestamp,
    /// Consensus and block limits.
    #[serde(default)]
    pub consensus: ConsensusParams,
    /// Namespace of the header-and-certificate blobs; derived from the chain id when absent.
    #[serde(default)]
    pub sequencer_namespace: Option<Namespace>,
    /// The initial validator set.
    pub validators: Vec<ValidatorGenesis>,
    /// Rollups sequenced from height 1.
    #[serde(default)]
    pub rollups: Vec<RollupGenesis>,
    /// Who may register and update rollups by transaction; nobody when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<Governance>,
}

/// The keys that approve registering and updating rollups on a running chain, and how many of
/// them must approve each change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// ed25519 public keys, 32 bytes hex each, distinct.
    pub keys: Vec<Hex>,
    /// Approvals each change needs: 1 to `keys.len()`.
    pub threshold: u32,
}

impl Governance {
    /// Most governance keys a genesis may list.
    pub const MAX_KEYS: usize = 32;

    /// Whether `key` is a governance key.
    pub fn has_key(&self, key: &[u8]) -> bool {
        self.keys.iter().any(|k| k.0 == key)
    }
}

/// Consensus timeouts and block limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    /// How long a validator waits for a proposal before prevoting nil.
    pub timeout_propose_ms: u64,
    /// How long a validator waits for more prevotes after seeing 2f+1 of any kind.
    pub timeout_prevote_ms: u64,
    /// How long a validator waits for more precommits after seeing 2f+1 of any kind.
    pub timeout_precommit_ms: u64,
    /// Minimum time from one height's decision to the next height's proposal (block pacing);
    /// 0 means as fast as consensus goes.
    pub block_interval_ms: u64,
    /// How long a validator with no transaction to include waits for one after a height is
    /// finalized, before it starts the next (and, as its proposer, proposes an empty block);
    /// 0 (the default, omitted from the canonical encoding) never waits. At most 5 s, and at
    /// most half of `timeout_propose_ms`, so that a proposer whose mempool missed what the
    /// others hold still proposes before they give up on it.
    #[serde(skip_serializing_if = "is_zero")]
    pub empty_block_wait_ms: u64,
    /// Maximum encoded size of a block.
    pub max_block_bytes: u64,
    /// Maximum number of transactions in a block.
    pub max_block_txs: u64,
    /// Maximum encoded size of one signed transaction.
    pub max_tx_bytes: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        Self {
            timeout_propose_ms: 3_000,
            timeout_prevote_ms: 1_000,
            timeout_precommit_ms: 1_000,
            block_interval_ms: 0,
            empty_block_wait_ms: 0,
            max_block_bytes: 4 * 1024 * 1024,
            max_block_txs: 20_000,
            max_tx_bytes: 512 * 1024,
        }
    }
}

/// A validator of the initial set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorGenesis {
    /// Human-readable name (moniker); not used by consensus.
    #[serde(default)]
    pub name: String,
    /// ed25519 public key, 32 bytes hex.
    pub public_key: Hex,
    /// Voting power; must be positive.
    pub voting_power: u64,
    /// libp2p multiaddress the validator listens on, e.g. `/ip4/127.0.0.1/tcp/27000`.
    pub p2p_address: String,
}

impl ValidatorGenesis {
    /// The validator's public key as bytes (length checked by validation).
    pub fn public_key_bytes(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(&self.public_key.0);
        key
    }
}

/// A rollup sequenced from genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupGenesis {
    /// Unique rollup id.
    pub id: RollupId,
    /// Unique name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// DA namespace; [`Namespace::for_rollup`] of the id when absent.
    #[serde(default)]
    pub namespace: Option<Namespace>,
    /// Fee per unit of gas, in the rollup's native unit (wei for EVM rollups), taken from the
    /// signer on this rollup. 0 (the default, omitted from the canonical encoding) means free.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gas_price: u64,
    /// VM kind and its initial state.
    #[serde(flatten)]
    pub vm: VmGenesis,
}

impl RollupGenesis {
    /// Parse one rollup entry of a genesis file (what registering a rollup on a running chain
    /// submits) and check it alone: [`RollupGenesis::validate`]. At most `max_bytes` of JSON.
    pub fn from_json(json: &[u8], max_bytes: usize) -> Result<Self, GenesisError> {
        if json.len() > max_bytes {
            return Err(GenesisError::TooLarge {
                size: json.len() as u64,
                limit: max_bytes as u64,
            });
        }
        let rollup: Self = serde_json::from_slice(json).map_err(|e| GenesisError::Parse {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        rollup.validate()?;
        Ok(rollup)
    }

    /// The rules one rollup entry satisfies alone: an id other than
    /// [`REGISTRY_ROLLUP_ID`](crate::REGISTRY_ROLLUP_ID), a well-formed name, a namespace
    /// Celestia does not reserve, and a well-formed initial state. Uniqueness among rollups is
    /// the genesis's (or the registry's) to check.
    pub fn validate(&self) -> Result<(), GenesisError> {
        validate::validate_rollup(self, "rollup")
    }

    /// The namespace in force: the configured one or the derived default.
    pub fn effective_namespace(&self) -> Namespace {
        self.namespace
            .unwrap_or_else(|| Namespace::for_rollup(self.id))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The virtual machine kinds Babel can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmKind {
    /// Ethereum Virtual Machine (revm).
    Evm,
    /// WebAssembly (wasmtime).
    Wasm,
    /// Cairo 1 (cairo-vm).
    Cairo,
}

impl fmt::Display for VmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Evm => "evm",
            Self::Wasm => "wasm",
            Self::Cairo => "cairo",
        })
    }
}

/// A rollup's VM kind (`"vm"`) and initial state (`"initial_state"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "vm", content = "initial_state", rename_all = "lowercase")]
pub enum VmGenesis {
    /// An EVM rollup.
    Evm(EvmGenesis),
    /// A WASM rollup.
    Wasm(WasmGenesis),
    /// A Cairo rollup.
    Cairo(CairoGenesis),
}

impl VmGenesis {
    /// The VM kind.
    pub fn kind(&self) -> VmKind {
        match self {
            Self::Evm(_) => VmKind::Evm,
            Self::Wasm(_) => VmKind::Wasm,
            Self::Cairo(_) => VmKind::Cairo,
        }
    }
}

/// Initial state of an EVM rollup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvmGenesis {
    /// EIP-155 chain id the rollup reports to EVM code (`CHAINID`).
    pub evm_chain_id: u64,
    /// Accounts: balances, nonces, code, storage.
    pub alloc: Vec<EvmAccount>,
}

/// One EVM account at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmAccount {
    /// 20-byte address, `0x` hex.
    pub address: Address,
    /// Balance in wei, decimal or `0x` hex.
    #[serde(default)]
    pub balance: U256,
    /// Account nonce.
    #[serde(default)]
    pub nonce: u64,
    /// Runtime bytecode.
    #[serde(default)]
    pub code: Hex,
    /// Storage slots.
    #[serde(default)]
    pub storage: Vec<StorageSlot>,
}

/// A 32-byte storage slot of an EVM or Cairo contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSlot {
    /// Slot key.
    pub key: B256,
    /// Slot value.
    pub value: B256,
}

/// Initial state of a WASM rollup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasmGenesis {
    /// Deployed contracts.
    pub contracts: Vec<WasmContract>,
}

/// A WASM contract at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmContract {
    /// Contract id, 1 to 32 bytes.
    pub id: Hex,
    /// The WASM module (binary format).
    pub code: Hex,
    /// Initial key/value storage.
    #[serde(default)]
    pub storage: Vec<WasmStorageEntry>,
}

/// One key/value entry of a WASM contract's storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmStorageEntry {
    /// Key bytes.
    pub key: Hex,
    /// Value bytes.
    pub value: Hex,
}

/// Initial state of a Cairo rollup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CairoGenesis {
    /// Deployed contracts.
    pub contracts: Vec<CairoContract>,
}

/// A Cairo 1 contract at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CairoContract {
    /// Contract address, a felt252 as 32 big-endian bytes.
    pub address: B256,
    /// The Sierra contract class (the JSON `starknet-compile` writes); the node compiles it to
    /// CASM.
    pub sierra_class: serde_json::Value,
    /// Initial storage.
    #[serde(default)]
    pub storage: Vec<StorageSlot>,
}

impl Genesis {
    /// Largest genesis file accepted (contract code makes them big, but not unbounded).
    pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

    /// Parse and validate genesis JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, GenesisError> {
        if json.len() as u64 > Self::MAX_FILE_BYTES {
            return Err(GenesisError::TooLarge {
                size: json.len() as u64,
                limit: Self::MAX_FILE_BYTES,
            });
        }
        let genesis: Self = serde_json::from_slice(json).map_err(|e| GenesisError::Parse {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        validate::validate(&genesis)?;
        Ok(genesis)
    }

    /// Read, parse and validate a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let read_err = |source| GenesisError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_err)?.len();
        if size > Self::MAX_FILE_BYTES {
            return Err(GenesisError::TooLarge {
                size,
                limit: Self::MAX_FILE_BYTES,
            });
        }
        Self::from_json(&std::fs::read(path).map_err(read_err)?)
    }

    /// Pretty JSON for writing a genesis file.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data structs to a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The canonical encoding: namespaces filled in, then JSON with object keys sorted at every
    /// level and no whitespace. It depends only on the meaning of the file.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut resolved = self.clone();
        resolved.sequencer_namespace = Some(self.effective_sequencer_namespace());
        for rollup in &mut resolved.rollups {
            rollup.namespace = Some(rollup.effective_namespace());
        }
        let value = serde_json::to_value(&resolved).unwrap_or_default();
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        out
    }

    /// sha256 of [`Self::canonical_bytes`]; peers compare it to refuse a different genesis.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }

    /// The sequencer namespace in force.
    pub fn effective_sequencer_namespace(&self) -> Namespace {
        self.sequencer_namespace
            .unwrap_or_else(|| Namespace::for_sequencer(&self.chain_id))
    }

    /// Sum of the validators' voting power (validation guarantees it does not overflow).
    pub fn total_voting_power(&self) -> u64 {
        self.validators.iter().map(|v| v.voting_power).sum()
    }

    /// The rollup with this id.
    pub fn rollup(&self, id: RollupId) -> Option<&RollupGenesis> {
        self.rollups.iter().find(|r| r.id == id)
    }
}

/// Writes `value` as JSON with sorted object keys and no whitespace.
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(key.clone()).to_string().as_bytes());
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// Bytes written as `0x`-prefixed lowercase hex (the prefix is optional on input).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex(pub Vec<u8>);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let digits = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(digits)
            .map(Hex)
            .map_err(|e| serde::de::Error::custom(format!("bad hex: {e}")))
    }
}

/// A point in time with millisecond precision, written as RFC 3339.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl Timestamp {
    /// The current wall-clock time (for `babel init`, never for execution).
    pub fn now() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self { unix_ms }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(self.unix_ms);
        s.serialize_str(&humantime::format_rfc3339_millis(t).to_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = humantime::parse_rfc3339(&s)
            .map_err(|e| serde::de::Error::custom(format!("bad RFC 3339 time {s:?}: {e}")))?;
        let ms = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| serde::de::Error::custom("time before 1970"))?
            .as_millis();
        let unix_ms = u64::try_from(ms).map_err(|_| serde::de::Error::custom("time too large"))?;
        Ok(Self { unix_ms })
    }
}
