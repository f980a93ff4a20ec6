//! Compiled modules, by code hash, bounded in count and in source bytes.
//!
//! Compiling is the expensive step, so a call never compiles a module this node has compiled
//! before, unless it was evicted. The cache is a node's own business: gas never depends on
//! whether a module was in it (every call pays the same load gas per byte, and a deploy pays
//! for its compile), and the bounds keep memory finite whatever is deployed.

use std::sync::{Arc, Mutex};

use lru::LruCache;
use wasmtime::{Engine, InstancePre, Linker, Module};

use crate::runtime::Guest;

/// Most compiled modules kept.
pub const MAX_CACHED_MODULES: usize = 256;
/// Most source bytes of the modules kept (compiled code is a few times larger).
pub const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// A compiled module, linked to the host functions, ready to instantiate.
pub(crate) type Ready = Arc<InstancePre<Guest>>;

struct Inner {
    modules: LruCache<[u8; 32], (Ready, usize)>,
    bytes: usize,
}

/// The cache.
pub(crate) struct ModuleCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("ModuleCache")
            .field("modules", &inner.modules.len())
            .field("bytes", &inner.bytes)
            .finish()
    }
}

impl ModuleCache {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                modules: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compiled module with code hash `hash`, if cached (it becomes the most recent).
    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<Ready> {
        self.lock()
            .modules
            .get(hash)
            .map(|(ready, _)| ready.clone())
    }

    /// Compile `code` (whose hash is `hash`), link it and cache it, evicting the least recently
    /// used modules beyond the bounds. `Err` is wasmtime's refusal of the code.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        linker: &Linker<Guest>,
        hash: [u8; 32],
        code: &[u8],
    ) -> Result<Ready, wasmtime::Error> {
        // Compiled outside the lock: other frames may use the cache meanwhile.
        let module = Module::new(engine, code)?;
        let ready = Arc::new(linker.instantiate_pre(&module)?);
        let mut inner = self.lock();
        if let Some((_, old)) = inner.modules.put(hash, (ready.clone(), code.len())) {
            inner.bytes -= old;
        }
        inner.bytes += code.len();
        while inner.modules.len() > MAX_CACHED_MODULES || inner.bytes > MAX_CACHED_BYTES {
            match inner.modules.pop_lru() {
                Some((_, (_, len))) => inner.bytes -= len,
                None => break,
            }
        }
        Ok(ready)
    }
}

impl Default for ModuleCache {
    fn default() -> Self {
        Self::new()
    }
}
