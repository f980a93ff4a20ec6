//! Compiled modules, by code hash: in memory (bounded in count and in compiled bytes) and, on a
//! node, on disk for good.
//!
//! Compiling is the expensive step, so a call never compiles a module this node has compiled
//! before. A module's code goes to disk once its deploy commits (never for a deploy that is
//! reverted or whose block is not decided: those would cost every node disk for free); until
//! then a node's block executor holds it in memory apart from the bounded part. In memory, the least recently used modules are evicted beyond the bounds; their
//! compiled code stays in the code directory ([`CodeDir`]), and a call to one of them reads it
//! back, which costs about a thousandth of compiling. Otherwise anyone could deploy more
//! modules than the memory holds and call them in turn, making every node compile on every
//! call for the price of a load. The cache is a node's own business: gas never depends on it
//! (every call pays the same load gas per byte, and a deploy pays for its compile).

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use lru::LruCache;
use sha2::{Digest, Sha256};
use wasmtime::{Engine, InstancePre, Linker, Module};

use crate::{WasmError, runtime::Guest};

/// Most compiled modules kept in memory.
pub const MAX_CACHED_MODULES: usize = 256;
/// Most bytes of compiled code kept in memory.
pub const MAX_CACHED_BYTES: usize = 256 * 1024 * 1024;

/// A compiled module, linked to the host functions, ready to instantiate.
pub(crate) type Ready = Arc<InstancePre<Guest>>;

/// How often modules were compiled, and read back from the code directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeStats {
    /// Modules compiled (deploys, genesis, and modules this node had no code for).
    pub compiled: u64,
    /// Modules read back from the code directory instead of compiled.
    pub read_back: u64,
}

struct Inner {
    modules: LruCache<[u8; 32], (Ready, usize)>,
    bytes: usize,
    /// Modules compiled since the last commit, which are not on disk yet (code goes there when
    /// its deploy commits): held apart from the LRU so that no eviction makes a call in the
    /// same block compile one again. Only a node's block executor keeps them (it is told of
    /// every commit); what executions compile between two commits is bounded by their gas.
    fresh: std::collections::HashMap<[u8; 32], Ready>,
    /// Modules whose file was found damaged and removed. Files hold committed modules only,
    /// so the next compile of one writes it back at once.
    damaged: std::collections::HashSet<[u8; 32]>,
}

/// The cache.
pub(crate) struct ModuleCache {
    inner: Mutex<Inner>,
    dir: Option<CodeDir>,
    compiled: AtomicU64,
    read_back: AtomicU64,
}

impl std::fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("ModuleCache")
            .field("modules", &inner.modules.len())
            .field("bytes", &inner.bytes)
            .field("dir", &self.dir.as_ref().map(|d| &d.path))
            .finish()
    }
}

impl ModuleCache {
    /// A cache in memory only, or backed by the code directory `dir`.
    pub(crate) fn new(dir: Option<CodeDir>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                modules: LruCache::unbounded(),
                bytes: 0,
                fresh: Default::default(),
                damaged: Default::default(),
            }),
            dir,
            compiled: AtomicU64::new(0),
            read_back: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stats(&self) -> CodeStats {
        CodeStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            read_back: self.read_back.load(Ordering::Relaxed),
        }
    }

    /// The compiled module with code hash `hash`, from memory or read back from the code
    /// directory; `None` if it has to be compiled.
    pub(crate) fn get(
        &self,
        engine: &Engine,
        linker: &Linker<Guest>,
        hash: &[u8; 32],
    ) -> Option<Ready> {
        {
            let mut inner = self.lock();
            if let Some((ready, _)) = inner.modules.get(hash) {
                return Some(ready.clone());
            }
            if let Some(ready) = inner.fresh.get(hash) {
                return Some(ready.clone());
            }
        }
        let dir = self.dir.as_ref()?;
        let module = match dir.read(engine, hash) {
            Ok(module) => module?,
            Err(Damaged) => {
                self.lock().damaged.insert(*hash);
                return None;
            }
        };
        let ready = match linker.instantiate_pre(&module) {
            Ok(ready) => Arc::new(ready),
            Err(e) => {
                tracing::warn!(hash = %hex::encode(hash), "stored WASM code does not link: {e:#}");
                return None;
            }
        };
        self.read_back.fetch_add(1, Ordering::Relaxed);
        self.insert(*hash, ready.clone(), compiled_size(&module));
        Some(ready)
    }

    /// Compile `code` (whose hash is `hash`), link it and cache it in memory. `Err` is
    /// wasmtime's refusal of the code.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        linker: &Linker<Guest>,
        hash: [u8; 32],
        code: &[u8],
    ) -> Result<Ready, wasmtime::Error> {
        // Compiled outside the lock: other frames may use the cache meanwhile.
        let module = Module::new(engine, code)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        let ready = Arc::new(linker.instantiate_pre(&module)?);
        self.insert(hash, ready.clone(), compiled_size(&module));
        let (repair, pin) = {
            let mut inner = self.lock();
            let pin = self.dir.as_ref().is_some_and(|d| d.writes);
            if pin {
                inner.fresh.insert(hash, ready.clone());
            }
            (inner.damaged.remove(&hash), pin)
        };
        if repair && pin {
            self.keep(&hash, || Some(module));
        }
        Ok(ready)
    }

    /// A block committed: modules compiled since the last one are on disk now, if theirs
    /// committed, or never needed again, if not.
    pub(crate) fn settle(&self) {
        self.lock().fresh.clear();
    }

    /// Keep the code of the module with code hash `hash` (`module` makes it) in the code
    /// directory, unless it is there already. Called for committed modules only: what a deploy
    /// that never commits compiled stays in memory, bounded, and leaves nothing on disk.
    pub(crate) fn keep(&self, hash: &[u8; 32], module: impl FnOnce() -> Option<Module>) {
        let Some(dir) = self.dir.as_ref().filter(|d| d.writes) else {
            return;
        };
        if dir.file(hash).exists() {
            return;
        }
        if let Some(module) = module() {
            dir.write(hash, &module);
        }
    }

    /// Keep `ready`, evicting the least recently used modules beyond the bounds.
    fn insert(&self, hash: [u8; 32], ready: Ready, len: usize) {
        let mut inner = self.lock();
        if let Some((_, old)) = inner.modules.put(hash, (ready, len)) {
            inner.bytes -= old;
        }
        inner.bytes += len;
        while inner.modules.len() > MAX_CACHED_MODULES || inner.bytes > MAX_CACHED_BYTES {
            match inner.modules.pop_lru() {
                Some((_, (_, len))) => inner.bytes -= len,
                None => break,
            }
        }
    }
}

/// Bytes of `module`'s compiled code and data in memory.
fn compiled_size(module: &Module) -> usize {
    let range = module.image_range();
    (range.end as usize).saturating_sub(range.start as usize)
}

/// The sources that shape compiled code: the engine's configuration, the limits, and the
/// rewrite (the stack counter and the fuel of sized work).
const FINGERPRINTED: [&str; 4] = [
    include_str!("engine.rs"),
    include_str!("limits.rs"),
    include_str!("stack.rs"),
    include_str!("bulk.rs"),
];

/// What the compiled code depends on: the engine's configuration, the limits and the
/// rewrite, and wasmtime itself (its version, settings and target, as the engine tells them:
/// wasmtime would refuse to read back code of another). Code compiled by a node that differs
/// in any of these lives in another directory and is never read; a node that starts with a
/// new fingerprint compiles its committed modules again before it executes a block.
fn fingerprint() -> Result<String, WasmError> {
    /// Feeds what a `Hash` writes into SHA-256.
    struct Feed(Sha256);
    impl std::hash::Hasher for Feed {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut h = Sha256::new();
    for source in FINGERPRINTED {
        h.update((source.len() as u64).to_be_bytes());
        h.update(source);
    }
    let mut feed = Feed(h);
    std::hash::Hash::hash(
        &crate::engine::engine()?.precompile_compatibility_hash(),
        &mut feed,
    );
    Ok(hex::encode(&feed.0.finalize()[..8]))
}

/// A code file that is damaged or that wasmtime cannot read.
struct Damaged;

/// Starts every code file, before the CRC-32 of the rest.
const MAGIC: &[u8; 8] = b"babelwc1";

/// A directory of compiled modules, one file per code hash: what wasmtime serializes, after a
/// magic and a checksum. Files are written whole (to a temporary file, then renamed), so a
/// crash leaves a file or none; a file that is damaged anyway is compiled again.
#[derive(Debug)]
pub struct CodeDir {
    path: PathBuf,
    /// Whether this adapter adds the code it compiles. Adapters that run clients' read-only
    /// calls only read: a call may deploy (to estimate its gas), and what it compiles must
    /// not cost every node disk for free.
    writes: bool,
}

impl CodeDir {
    /// The code directory under `root` for this build, created if missing. Directories of
    /// other builds under `root` are removed: their code can never be read by this one.
    pub fn open(root: &Path) -> Result<Self, WasmError> {
        let current = fingerprint()?;
        let path = root.join(&current);
        let io = |e: std::io::Error| WasmError::CodeDir(format!("{}: {e}", root.display()));
        std::fs::create_dir_all(&path).map_err(io)?;
        for entry in std::fs::read_dir(root).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let stale = name.to_str().is_some_and(|n| {
                n != current && n.len() == current.len() && hex::decode(n).is_ok()
            });
            if stale && entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path()).map_err(io)?;
            }
        }
        Ok(Self { path, writes: true })
    }

    /// The code directory under `root` for this build, only read: code compiled through it
    /// stays in memory.
    pub fn read_only(root: &Path) -> Result<Self, WasmError> {
        Ok(Self {
            path: root.join(fingerprint()?),
            writes: false,
        })
    }

    fn file(&self, hash: &[u8; 32]) -> PathBuf {
        self.path.join(format!("{}.cwasm", hex::encode(hash)))
    }

    /// The module compiled for `hash`, if this directory holds code for it (`Err` if the code
    /// it holds is damaged or unreadable: the file is removed).
    fn read(&self, engine: &Engine, hash: &[u8; 32]) -> Result<Option<Module>, Damaged> {
        let path = self.file(hash);
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(None);
        };
        let Some(code) = bytes
            .strip_prefix(MAGIC.as_slice())
            .and_then(|rest| rest.split_first_chunk::<4>())
            .filter(|(crc, code)| u32::from_be_bytes(**crc) == crc32fast::hash(code))
            .map(|(_, code)| code)
        else {
            tracing::warn!(file = %path.display(), "damaged compiled WASM code: compiling again");
            self.discard(&path);
            return Err(Damaged);
        };
        // SAFETY: wasmtime runs these bytes as machine code, so they must be what
        // `Module::serialize` produced. They are: this node wrote them (`write`) into its own
        // data directory, under the fingerprint of the sources that shape the code, and the
        // checksum shows they are the bytes it wrote. wasmtime refuses code of another
        // version or configuration.
        #[allow(unsafe_code)]
        let module = unsafe { Module::deserialize(engine, code) };
        module.map(Some).map_err(|e| {
            tracing::warn!(file = %path.display(), "unreadable compiled WASM code: {e:#}");
            self.discard(&path);
            Damaged
        })
    }

    /// Remove a file that cannot be read, so that the next start compiles its module again
    /// (see `ExecutionAdapter::kept_prefix`) rather than every call compiling it in memory.
    fn discard(&self, path: &Path) {
        if self.writes
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::warn!(file = %path.display(), "removing damaged compiled WASM code: {e}");
        }
    }

    /// Keep `module`'s code for `hash`. Failing to is not fatal: the module is compiled
    /// again when it is next needed and not in memory.
    fn write(&self, hash: &[u8; 32], module: &Module) {
        let result = module
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))
            .and_then(|code| {
                let mut file = tempfile::NamedTempFile::new_in(&self.path)?;
                file.write_all(MAGIC)?;
                file.write_all(&crc32fast::hash(&code).to_be_bytes())?;
                file.write_all(&code)?;
                file.persist(self.file(hash)).map_err(|e| e.error)?;
                Ok(())
            });
        if let Err(e) = result {
            tracing::warn!(hash = %hex::encode(hash), "keeping compiled WASM code: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_every_module_the_rewrite_uses() {
        let stack = include_str!("stack.rs");
        let line = stack
            .lines()
            .find(|l| l.starts_with("use crate::{"))
            .expect("stack.rs imports from the crate");
        let used: Vec<&str> = line
            .trim_start_matches("use crate::{")
            .trim_end_matches("};")
            .split(',')
            .map(|item| item.trim().split("::").next().unwrap_or_default())
            .filter(|m| !m.is_empty())
            .collect();
        assert!(used.contains(&"bulk"), "{used:?}");
        // `module` gives the rewrite only its refusal type, which shapes no code.
        let sources = [
            ("bulk", include_str!("bulk.rs")),
            ("engine", include_str!("engine.rs")),
            ("limits", include_str!("limits.rs")),
        ];
        for module in used.into_iter().filter(|m| *m != "module") {
            let (_, source) = sources
                .iter()
                .find(|(name, _)| *name == module)
                .unwrap_or_else(|| panic!("stack.rs uses crate::{module}, unknown to this test"));
            assert!(
                FINGERPRINTED.contains(source),
                "crate::{module} shapes compiled code but is not fingerprinted"
            );
        }
        assert!(FINGERPRINTED.contains(&stack));
    }
}
