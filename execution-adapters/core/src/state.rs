//! Rollup state as seen by execution: one key-value space per rollup, read through layers.
//!
//! The committed state is a [`StateView`] (the node's store, or [`MemState`] in tests). A block
//! executes over an [`Overlay`] of it that collects the block's changes; each transaction runs
//! over a [`Journal`](crate::Journal) on top of that. Keys are bytes in an adapter-defined
//! layout; keys starting with `babel/` belong to the core (nonces).

use std::{
    borrow::Borrow,
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
    hash::{Hash, Hasher},
};

use crate::{ExecError, RollupId};

/// A key within one rollup.
pub type StateKey = (RollupId, Vec<u8>);

/// A [`StateKey`] seen as its parts, so that maps keyed by owned keys can be searched with
/// borrowed ones (`(rollup, &[u8])`) without allocating.
pub(crate) trait KeyRef {
    fn parts(&self) -> (RollupId, &[u8]);
}

impl KeyRef for StateKey {
    fn parts(&self) -> (RollupId, &[u8]) {
        (self.0, &self.1)
    }
}

impl KeyRef for (RollupId, &[u8]) {
    fn parts(&self) -> (RollupId, &[u8]) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn KeyRef + 'a> for StateKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}

impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// Hashes as a [`StateKey`] does: `(u64, Vec<u8>)` and `(u64, &[u8])` hash the same.
impl Hash for dyn KeyRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

/// Look `key` of `rollup` up in a map keyed by [`StateKey`] without allocating.
pub(crate) fn lookup<'m, V>(
    map: &'m BTreeMap<StateKey, V>,
    rollup: RollupId,
    key: &[u8],
) -> Option<&'m V> {
    map.get(&(rollup, key) as &dyn KeyRef)
}

/// [`lookup`], for writing.
pub(crate) fn lookup_mut<'m, V>(
    map: &'m mut BTreeMap<StateKey, V>,
    rollup: RollupId,
    key: &[u8],
) -> Option<&'m mut V> {
    map.get_mut(&(rollup, key) as &dyn KeyRef)
}

/// Remove `key` of `rollup` from a map keyed by [`StateKey`] without allocating.
pub(crate) fn remove<V>(
    map: &mut BTreeMap<StateKey, V>,
    rollup: RollupId,
    key: &[u8],
) -> Option<V> {
    map.remove(&(rollup, key) as &dyn KeyRef)
}

/// State changes in key order: `None` deletes.
pub type Changes = BTreeMap<StateKey, Option<Vec<u8>>>;

/// Key-value pairs of one rollup (genesis state).
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to rollup state.
pub trait StateView {
    /// The value of `key` in `rollup`'s state.
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError>;
}

impl<S: StateView + ?Sized> StateView for &S {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        (**self).get(rollup, key)
    }
}

const NONCE_PREFIX: &[u8] = b"babel/nonce/";

/// Length of a [`nonce_key`].
pub const NONCE_KEY_LEN: usize = NONCE_PREFIX.len() + 32;

/// The state key of a sender's next nonce on a rollup (built on the stack: every transaction
/// reads and writes one).
pub fn nonce_key(sender: &[u8; 32]) -> [u8; NONCE_KEY_LEN] {
    let mut key = [0u8; NONCE_KEY_LEN];
    key[..NONCE_PREFIX.len()].copy_from_slice(NONCE_PREFIX);
    key[NONCE_PREFIX.len()..].copy_from_slice(sender);
    key
}

/// The sender whose nonce `key` holds, if it is a [`nonce_key`].
pub fn nonce_key_sender(key: &[u8]) -> Option<[u8; 32]> {
    key.strip_prefix(NONCE_PREFIX)?.try_into().ok()
}

/// Decode a stored nonce (absent means 0).
pub fn decode_nonce(value: Option<&[u8]>) -> Result<u64, ExecError> {
    match value {
        None => Ok(0),
        Some(bytes) => bytes
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| ExecError::State(format!("nonce of {} bytes", bytes.len()))),
    }
}

/// Committed state held in memory (tests, benchmarks, genesis construction): a hash map, as an
/// in-memory database would be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemState(HashMap<StateKey, Vec<u8>>);

impl MemState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply committed changes.
    pub fn apply(&mut self, changes: &Changes) {
        for (key, value) in changes {
            match value {
                Some(v) => self.0.insert(key.clone(), v.clone()),
                None => self.0.remove(key),
            };
        }
    }

    /// Apply committed changes, taking them (no copies).
    pub fn commit(&mut self, changes: Changes) {
        for (key, value) in changes {
            match value {
                Some(v) => self.0.insert(key, v),
                None => self.0.remove(&key),
            };
        }
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> BTreeMap<&StateKey, &Vec<u8>> {
        self.0.iter().collect()
    }
}

impl StateView for MemState {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        Ok(self.0.get(&(rollup, key) as &dyn KeyRef).cloned())
    }
}

/// Changes layered over a base state.
#[derive(Debug)]
pub struct Overlay<S> {
    base: S,
    changes: Changes,
}

impl<S: StateView> Overlay<S> {
    /// No changes yet over `base`.
    pub fn new(base: S) -> Self {
        Self {
            base,
            changes: Changes::new(),
        }
    }

    /// Layer `changes` on top (later writes win).
    pub fn extend(&mut self, changes: Changes) {
        self.changes.extend(changes);
    }

    /// The changes made so far.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The accumulated changes.
    pub fn into_changes(self) -> Changes {
        self.changes
    }
}

impl<S: StateView> StateView for Overlay<S> {
    fn get(&self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        match lookup(&self.changes, rollup, key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(rollup, key),
        }
    }
}
