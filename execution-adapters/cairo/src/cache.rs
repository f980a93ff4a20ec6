//! Compiled classes, by class hash. A class is compiled once and kept for as long as the node
//! runs, but only once it is committed: at genesis, in a decided block, or when a node starts
//! and finds it in committed state. What a deploy compiles before its block commits (or what a
//! simulated deploy compiles, which never commits) waits in a short queue of its own, so that
//! no one can grow the node's memory with classes that never reach state: a deploy that fails,
//! a block that is not decided, a `Call` that deploys. Memory grows with the committed classes
//! alone, and every deploy pays for its class by the byte and by the felt of its bytecode.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::class::{ClassRefusal, Compiled};

/// Most classes compiled but not yet committed that the cache keeps. Past this the oldest is
/// dropped; were it committed after all, committing it compiles it again (the same verdict
/// on every node, only slower on this one).
pub const MAX_STAGED: usize = 64;

/// The compiled-class cache of one adapter.
#[derive(Debug, Default)]
pub struct Classes {
    committed: Mutex<HashMap<[u8; 32], Arc<Compiled>>>,
    staged: Mutex<VecDeque<([u8; 32], Arc<Compiled>)>>,
    compiles: AtomicU64,
}

impl Classes {
    /// The compiled class of hash `hash`, if it is cached (committed or staged).
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<Compiled>> {
        if let Some(compiled) = lock(&self.committed).get(hash) {
            return Some(compiled.clone());
        }
        lock(&self.staged)
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, compiled)| compiled.clone())
    }

    /// The compiled class of hash `hash`, compiled from `json` (and staged until it commits)
    /// if it is not cached.
    pub fn get_or_stage(&self, hash: [u8; 32], json: &[u8]) -> Result<Arc<Compiled>, ClassRefusal> {
        if let Some(compiled) = self.get(&hash) {
            return Ok(compiled);
        }
        let compiled = self.compile(json)?;
        let mut staged = lock(&self.staged);
        if staged.len() >= MAX_STAGED {
            staged.pop_front();
        }
        staged.push_back((hash, compiled.clone()));
        Ok(compiled)
    }

    /// Keep the class of hash `hash` for good: it is in committed state. Compiled from `json`
    /// only if it is neither kept nor staged.
    pub fn commit(&self, hash: [u8; 32], json: &[u8]) -> Result<(), ClassRefusal> {
        if lock(&self.committed).contains_key(&hash) {
            return Ok(());
        }
        let staged = {
            let mut staged = lock(&self.staged);
            staged
                .iter()
                .position(|(h, _)| *h == hash)
                .and_then(|i| staged.remove(i))
                .map(|(_, compiled)| compiled)
        };
        let compiled = match staged {
            Some(compiled) => compiled,
            None => self.compile(json)?,
        };
        lock(&self.committed).insert(hash, compiled);
        Ok(())
    }

    /// How many classes this cache has compiled (refused ones included).
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// How many classes are committed and how many staged.
    pub fn len(&self) -> (usize, usize) {
        (lock(&self.committed).len(), lock(&self.staged).len())
    }

    fn compile(&self, json: &[u8]) -> Result<Arc<Compiled>, ClassRefusal> {
        self.compiles.fetch_add(1, Ordering::Relaxed);
        Compiled::compile(json)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTER: &[u8] = include_bytes!("../contracts/compiled/counter.sierra.json");

    #[test]
    fn staged_classes_are_bounded_and_committing_keeps_them_without_compiling_again() {
        let classes = Classes::default();
        let hash = [7; 32];
        classes.get_or_stage(hash, COUNTER).unwrap();
        assert_eq!(classes.len(), (0, 1));
        classes.commit(hash, COUNTER).unwrap();
        assert_eq!(classes.len(), (1, 0));
        assert_eq!(
            classes.compiles(),
            1,
            "the staged class moved, it was not compiled again"
        );

        // Staging more than the bound (same class, other hashes: the compile is what costs)
        // drops the oldest.
        for i in 0..=MAX_STAGED {
            classes.get_or_stage([100 + i as u8; 32], COUNTER).unwrap();
        }
        assert_eq!(classes.len(), (1, MAX_STAGED));
        assert!(
            classes.get(&[100; 32]).is_none(),
            "the oldest staged class was dropped"
        );
        assert!(classes.get(&[100 + MAX_STAGED as u8; 32]).is_some());

        // A class refused is neither kept nor staged.
        assert!(classes.get_or_stage([200; 32], b"{}").is_err());
        assert!(classes.commit([201; 32], b"{}").is_err());
        assert!(classes.get(&[200; 32]).is_none() && classes.get(&[201; 32]).is_none());
    }
}
