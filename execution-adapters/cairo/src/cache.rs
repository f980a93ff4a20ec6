//! Compiled classes, by class hash: compiled once (at deploy, at genesis, or when a node
//! starts and finds a committed class) and kept for as long as the node runs, so that no
//! call ever waits for a compile, whichever classes it reaches. Memory grows with the classes
//! deployed, which every deploy pays for by the byte.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::class::{ClassRefusal, Compiled};

/// The compiled-class cache of one adapter.
#[derive(Debug, Default)]
pub struct Classes {
    compiled: Mutex<HashMap<[u8; 32], Arc<Compiled>>>,
    compiles: std::sync::atomic::AtomicU64,
}

impl Classes {
    /// The compiled class of hash `hash`, if it is cached.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<Compiled>> {
        self.lock().get(hash).cloned()
    }

    /// The compiled class of hash `hash`, compiled from `json` if it is not cached.
    pub fn get_or_compile(
        &self,
        hash: [u8; 32],
        json: &[u8],
    ) -> Result<Arc<Compiled>, ClassRefusal> {
        if let Some(compiled) = self.get(&hash) {
            return Ok(compiled);
        }
        self.compiles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let compiled = Compiled::compile(json)?;
        self.lock().insert(hash, compiled.clone());
        Ok(compiled)
    }

    /// How many classes this cache has compiled (refused ones included).
    pub fn compiles(&self) -> u64 {
        self.compiles.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Compiled>>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}
