//! Compiled classes, by class hash: compiled once (at deploy, at genesis, or when a node
//! starts and finds a committed class it has not compiled), shared by every call.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use lru::LruCache;

use crate::class::{ClassRefusal, Compiled};

/// Most compiled classes kept in memory; one evicted is compiled again when next called.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(256) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// The compiled-class cache of one adapter.
#[derive(Debug)]
pub struct Classes {
    compiled: Mutex<LruCache<[u8; 32], Arc<Compiled>>>,
}

impl Default for Classes {
    fn default() -> Self {
        Self {
            compiled: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
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
        let compiled = Compiled::compile(json)?;
        self.lock().put(hash, compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], Arc<Compiled>>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}
