//! The rollup registry: which rollups a chain runs, kept in the state of rollup
//! [`REGISTRY_ROLLUP_ID`] so that it is in the state root, provable, and changed only by
//! ordered transactions.
//!
//! Rollup 0's state holds a [`v1::RollupRecord`] per rollup under [`record_key`], and an index
//! of taken names and namespaces (the sequencer's included). The genesis rollups are written
//! there at genesis; a [`v1::RegistryCall`] approved by the genesis governance keys (at least
//! their threshold) registers a rollup (its record, its indexes and its initial state, all in
//! one transaction) or updates one's gas price or description. A change takes effect from the
//! next block: executors read the *committed* registry ([`Registry`]), which learns each
//! block's records when the block commits.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, RwLock},
};

use babel_genesis::{Genesis, Governance, Namespace, REGISTRY_ROLLUP_ID, RollupGenesis, VmGenesis};
use babel_proto::v1;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::{ExecError, ExecutionAdapter, RollupId, state::Changes, state::KeyValues};

/// Prefix of a rollup's record: `babel/rollup/` ‖ id (8 bytes, big-endian).
pub const RECORD_PREFIX: &[u8] = b"babel/rollup/";
/// Prefix of the name index: `babel/rollup-name/` ‖ name → id.
pub const NAME_PREFIX: &[u8] = b"babel/rollup-name/";
/// Prefix of the namespace index: `babel/rollup-ns/` ‖ 10-byte namespace id → id (the
/// sequencer's namespace maps to `u64::MAX`; the registry's own, that of rollup 0, to 0).
pub const NAMESPACE_PREFIX: &[u8] = b"babel/rollup-ns/";
/// Prefix of the EVM chain id index: `babel/rollup-evm/` ‖ chain id (8 bytes, big-endian) →
/// id. An Ethereum transaction names its rollup by that chain id alone, so no two EVM rollups
/// may share one.
pub const EVM_CHAIN_PREFIX: &[u8] = b"babel/rollup-evm/";
/// Most bytes of a rollup's description.
pub const MAX_METADATA_BYTES: usize = 256;
/// What an approval signs first.
pub const APPROVAL_DOMAIN: &[u8] = b"babel/registry/v1";
/// Gas every registry change uses, besides [`GAS_PER_BYTE`]. Rollup 0 charges no fee: the gas
/// only counts against the block's gas.
pub const BASE_GAS: u64 = 100_000;
/// Gas per byte of an encoded registry change.
pub const GAS_PER_BYTE: u64 = 16;

/// Key of rollup `id`'s record.
pub fn record_key(id: RollupId) -> Vec<u8> {
    [RECORD_PREFIX, &id.to_be_bytes()].concat()
}

fn name_key(name: &str) -> Vec<u8> {
    [NAME_PREFIX, name.as_bytes()].concat()
}

fn namespace_key(namespace: &Namespace) -> Vec<u8> {
    [NAMESPACE_PREFIX, namespace.0.as_slice()].concat()
}

/// The EVM chain id index's key for `rollup`, if it is an EVM rollup.
fn evm_chain_key(rollup: &RollupGenesis) -> Option<Vec<u8>> {
    match &rollup.vm {
        VmGenesis::Evm(evm) => Some([EVM_CHAIN_PREFIX, &evm.evm_chain_id.to_be_bytes()].concat()),
        _ => None,
    }
}

/// The rollup whose record `key` (of rollup 0) is, if it is one.
fn record_id(key: &[u8]) -> Option<RollupId> {
    let id = key.strip_prefix(RECORD_PREFIX)?;
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// The record of `rollup`, registered at `height` (0: the genesis).
pub fn record(rollup: &RollupGenesis, metadata: &str, height: u64) -> v1::RollupRecord {
    v1::RollupRecord {
        id: rollup.id,
        name: rollup.name.clone(),
        vm: rollup.vm.kind().to_string(),
        namespace: rollup.effective_namespace().0.to_vec().into(),
        gas_price: rollup.gas_price,
        evm_chain_id: record_evm_chain_id(rollup),
        metadata: metadata.to_owned(),
        version: 0,
        registered_at: height,
    }
}

fn record_evm_chain_id(rollup: &RollupGenesis) -> u64 {
    match &rollup.vm {
        VmGenesis::Evm(evm) => evm.evm_chain_id,
        _ => 0,
    }
}

/// A stored record.
pub fn decode_record(bytes: &[u8]) -> Result<v1::RollupRecord, ExecError> {
    v1::RollupRecord::decode(bytes)
        .map_err(|e| ExecError::State(format!("a rollup record does not decode: {e}")))
}

/// The bytes a governance key signs to approve `call` on chain `chain_id` (its approvals left
/// out).
pub fn approval_bytes(chain_id: &str, call: &v1::RegistryCall) -> Vec<u8> {
    let unapproved = v1::RegistryCall {
        action: call.action.clone(),
        approvals: Vec::new(),
    };
    let digest = Sha256::digest(unapproved.encode_to_vec());
    let chain_len = u32::try_from(chain_id.len()).unwrap_or(u32::MAX);
    [
        APPROVAL_DOMAIN,
        &chain_len.to_be_bytes(),
        chain_id.as_bytes(),
        digest.as_slice(),
    ]
    .concat()
}

/// Gas `call` uses.
pub fn gas(call: &v1::RegistryCall) -> u64 {
    BASE_GAS.saturating_add(GAS_PER_BYTE.saturating_mul(call.encoded_len() as u64))
}

/// Rollup 0's state at genesis: a record of every genesis rollup and the indexes.
pub fn genesis_entries(genesis: &Genesis) -> KeyValues {
    let mut entries = vec![
        (
            namespace_key(&genesis.effective_sequencer_namespace()),
            u64::MAX.to_be_bytes().to_vec(),
        ),
        (
            namespace_key(&Namespace::for_rollup(REGISTRY_ROLLUP_ID)),
            REGISTRY_ROLLUP_ID.to_be_bytes().to_vec(),
        ),
    ];
    for rollup in &genesis.rollups {
        let id = rollup.id.to_be_bytes().to_vec();
        entries.push((record_key(rollup.id), record(rollup, "", 0).encode_to_vec()));
        entries.push((name_key(&rollup.name), id.clone()));
        entries.push((namespace_key(&rollup.effective_namespace()), id.clone()));
        if let Some(key) = evm_chain_key(rollup) {
            entries.push((key, id));
        }
    }
    entries
}

/// The rollups whose records `changes` (a block's) write: those it registers, and those it
/// updates.
pub fn registered_in(changes: &Changes) -> BTreeSet<RollupId> {
    changes
        .iter()
        .filter(|((rollup, _), value)| *rollup == REGISTRY_ROLLUP_ID && value.is_some())
        .filter_map(|((_, key), _)| record_id(key))
        .collect()
}

/// Makes the adapter of a rollup registered on a running chain.
pub trait AdapterFactory: Send + Sync + std::fmt::Debug {
    /// The adapter that runs `rollup`. An error is the node's (fatal), never the rollup's.
    fn adapter(&self, rollup: &v1::RollupRecord) -> Result<Arc<dyn ExecutionAdapter>, ExecError>;
}

/// What registry changes need to know about the chain.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The chain id approvals are bound to.
    pub chain_id: String,
    /// Who approves changes (none: every change is refused).
    pub governance: Option<Governance>,
    /// Makes adapters for registered rollups.
    pub factory: Arc<dyn AdapterFactory>,
}

/// The committed registry in memory, shared by the executors of a node: what blocks and
/// clients' calls execute against. It changes only when a block commits.
#[derive(Debug, Default)]
pub struct Registry {
    records: RwLock<BTreeMap<RollupId, v1::RollupRecord>>,
}

impl Registry {
    /// The genesis rollups' records.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let records = genesis
            .rollups
            .iter()
            .map(|r| (r.id, record(r, "", 0)))
            .collect();
        Self {
            records: RwLock::new(records),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<RollupId, v1::RollupRecord>> {
        self.records.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Rollup `id`'s record.
    pub fn get(&self, id: RollupId) -> Option<v1::RollupRecord> {
        self.read().get(&id).cloned()
    }

    /// The EVM rollup whose `evm_chain_id` is `chain_id` (ids are unique: the genesis and
    /// registrations refuse a taken one).
    pub fn evm_rollup(&self, chain_id: u64) -> Option<RollupId> {
        let evm = babel_genesis::VmKind::Evm.to_string();
        self.read()
            .values()
            .find(|r| r.vm == evm && r.evm_chain_id == chain_id)
            .map(|r| r.id)
    }

    /// Rollup `id`'s gas price.
    pub fn gas_price(&self, id: RollupId) -> Option<u64> {
        self.read().get(&id).map(|r| r.gas_price)
    }

    /// Every record, by id.
    pub fn records(&self) -> Vec<v1::RollupRecord> {
        self.read().values().cloned().collect()
    }

    /// Every rollup's id.
    pub fn ids(&self) -> Vec<RollupId> {
        self.read().keys().copied().collect()
    }

    /// Take in the records written by committed `changes` (or read back from a store): the
    /// ids of rollups it did not know.
    pub fn learn<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Vec<RollupId> {
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        let mut new = Vec::new();
        for (key, value) in entries {
            if record_id(key).is_none() {
                continue;
            }
            // A record is only ever written by this crate: one that does not decode is left
            // out rather than stopping a commit that already happened.
            let Ok(record) = v1::RollupRecord::decode(value) else {
                continue;
            };
            if records.insert(record.id, record.clone()).is_none() {
                new.push(record.id);
            }
        }
        new
    }

    /// [`Registry::learn`] of a block's committed `changes`.
    pub fn learn_changes(&self, changes: &Changes) -> Vec<RollupId> {
        self.learn(
            changes
                .iter()
                .filter(|((rollup, _), _)| *rollup == REGISTRY_ROLLUP_ID)
                .filter_map(|((_, key), value)| Some((key.as_slice(), value.as_deref()?))),
        )
    }
}

/// Reads and writes of one transaction, on any rollup.
pub(crate) trait Access {
    fn get(&mut self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError>;
    fn set(&mut self, rollup: RollupId, key: &[u8], value: Option<Vec<u8>>);
}

/// Apply `call` at `height` through `access`: the rollup's record as it now stands, encoded
/// (the receipt's output), or `Ok(Err(reason))` when it is refused (nothing written); `Err`
/// only for faults that are not the transaction's.
pub(crate) fn apply(
    access: &mut dyn Access,
    chain: &Chain,
    height: u64,
    call: &v1::RegistryCall,
) -> Result<Result<Vec<u8>, String>, ExecError> {
    if let Err(why) = approved(&chain.chain_id, chain.governance.as_ref(), call) {
        return Ok(Err(why));
    }
    match &call.action {
        None => Ok(Err("no action".into())),
        Some(v1::registry_call::Action::Register(register)) => {
            register_rollup(access, chain, height, register)
        }
        Some(v1::registry_call::Action::Update(update)) => update_rollup(access, update),
    }
}

/// Whether at least the threshold of distinct `governance` keys approved `call` on chain
/// `chain_id`. Needs no state: admission checks it too, so that an unapproved change never
/// takes a block's space.
pub fn approved(
    chain_id: &str,
    governance: Option<&Governance>,
    call: &v1::RegistryCall,
) -> Result<(), String> {
    let Some(governance) = governance else {
        return Err("this chain has no governance: its rollups are fixed".into());
    };
    if call.approvals.len() > Governance::MAX_KEYS {
        return Err(format!(
            "{} approvals, more than the {} keys a governance may have",
            call.approvals.len(),
            Governance::MAX_KEYS
        ));
    }
    let message = approval_bytes(chain_id, call);
    let mut seen = BTreeSet::new();
    for approval in &call.approvals {
        let key = approval.public_key.as_ref();
        let name = hex::encode(key.get(..32).unwrap_or(key));
        if !governance.has_key(key) {
            return Err(format!("approval by {name}, not a governance key"));
        }
        if !seen.insert(key) {
            return Err(format!("{name} approved twice"));
        }
        let valid = <[u8; 32]>::try_from(key)
            .ok()
            .and_then(|k| ed25519_zebra::VerificationKey::try_from(k).ok())
            .zip(ed25519_zebra::Signature::try_from(approval.signature.as_ref()).ok())
            .is_some_and(|(k, s)| k.verify(&s, &message).is_ok());
        if !valid {
            return Err(format!("bad approval signature by {name}"));
        }
    }
    if seen.len() < governance.threshold as usize {
        return Err(format!(
            "{} approvals, {} needed",
            seen.len(),
            governance.threshold
        ));
    }
    Ok(())
}

/// `reason` cut to 256 bytes: it goes in a receipt and may quote the submitted entry.
fn cut(mut reason: String) -> String {
    const MAX: usize = 256;
    if reason.len() > MAX {
        reason.truncate(reason.floor_char_boundary(MAX));
        reason.push('…');
    }
    reason
}

fn register_rollup(
    access: &mut dyn Access,
    chain: &Chain,
    height: u64,
    register: &v1::RegisterRollup,
) -> Result<Result<Vec<u8>, String>, ExecError> {
    let rollup = match RollupGenesis::from_json(&register.rollup, usize::MAX) {
        Ok(rollup) => rollup,
        Err(e) => return Ok(Err(cut(format!("invalid rollup: {e}")))),
    };
    if register.metadata.len() > MAX_METADATA_BYTES {
        return Ok(Err(format!(
            "metadata is {} bytes, at most {MAX_METADATA_BYTES}",
            register.metadata.len()
        )));
    }
    let registry = REGISTRY_ROLLUP_ID;
    let namespace = rollup.effective_namespace();
    if access.get(registry, &record_key(rollup.id))?.is_some() {
        return Ok(Err(format!("rollup id {} is taken", rollup.id)));
    }
    if access.get(registry, &name_key(&rollup.name))?.is_some() {
        return Ok(Err(format!("name {:?} is taken", rollup.name)));
    }
    if access.get(registry, &namespace_key(&namespace))?.is_some() {
        return Ok(Err(format!("namespace {namespace} is taken")));
    }
    let evm_chain = evm_chain_key(&rollup);
    if let Some(key) = &evm_chain
        && access.get(registry, key)?.is_some()
    {
        return Ok(Err(format!(
            "EVM chain id {} is taken",
            record_evm_chain_id(&rollup)
        )));
    }
    let record = record(&rollup, &register.metadata, height);
    let adapter = chain.factory.adapter(&record)?;
    let state = match adapter.genesis_state(&rollup) {
        Ok(state) => state,
        Err(ExecError::Genesis { message, .. }) => {
            return Ok(Err(cut(format!("invalid initial state: {message}"))));
        }
        Err(fault) => return Err(fault),
    };
    let id = rollup.id.to_be_bytes().to_vec();
    access.set(
        registry,
        &record_key(rollup.id),
        Some(record.encode_to_vec()),
    );
    access.set(registry, &name_key(&rollup.name), Some(id.clone()));
    access.set(registry, &namespace_key(&namespace), Some(id.clone()));
    if let Some(key) = evm_chain {
        access.set(registry, &key, Some(id));
    }
    for (key, value) in state {
        access.set(rollup.id, &key, Some(value));
    }
    Ok(Ok(record.encode_to_vec()))
}

fn update_rollup(
    access: &mut dyn Access,
    update: &v1::UpdateRollup,
) -> Result<Result<Vec<u8>, String>, ExecError> {
    let key = record_key(update.rollup_id);
    let Some(stored) = access.get(REGISTRY_ROLLUP_ID, &key)? else {
        return Ok(Err(format!("no rollup {}", update.rollup_id)));
    };
    let mut record = decode_record(&stored)?;
    if update.version != record.version {
        return Ok(Err(format!(
            "the update is for version {}, rollup {} is at {}",
            update.version, update.rollup_id, record.version
        )));
    }
    if let Some(metadata) = &update.metadata {
        if metadata.len() > MAX_METADATA_BYTES {
            return Ok(Err(format!(
                "metadata is {} bytes, at most {MAX_METADATA_BYTES}",
                metadata.len()
            )));
        }
        record.metadata.clone_from(metadata);
    }
    if let Some(gas_price) = update.gas_price {
        record.gas_price = gas_price;
    }
    record.version += 1;
    let encoded = record.encode_to_vec();
    access.set(REGISTRY_ROLLUP_ID, &key, Some(encoded.clone()));
    Ok(Ok(encoded))
}
