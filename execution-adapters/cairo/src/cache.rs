//! Compiled classes, by class hash. A class is compiled once and kept for as long as the node
//! runs, but only once it is committed: at genesis, in a decided block, or when a node starts
//! and finds it in committed state. What a deploy compiles before its block commits (or what a
//! simulated deploy compiles, which never commits) is *staged*, so that no one can grow the
//! node's memory with classes that never reach state: a deploy that fails, a block that is not
//! decided, a `Call` that deploys. Memory grows with the committed classes alone, and every
//! deploy pays for its class by the byte, by the unit of compile work and by the felt of its
//! bytecode.
//!
//! The committed classes ([`Committed`]) are shared between the adapter that runs blocks and
//! the one that runs clients' simulations, so that no call of a committed contract ever
//! compiles, whoever makes it. Each keeps its own staged classes:
//!
//! - blocks ([`Classes::for_blocks`]) keep everything staged since the last commit, and drop it
//!   at the next: within a block nothing staged is dropped, so a class deployed earlier in the
//!   block is never compiled twice, however many others are deployed after it (each paid for).
//!   [`MAX_STAGED_PER_COMMIT`] bounds what a run of blocks that never commit can stage;
//! - simulations ([`Classes::for_queries`]) keep the last [`MAX_STAGED_QUERIES`].

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::class::{Checked, ClassRefusal, Compiled};

/// Most classes staged between two commits by the adapter that runs blocks. Past this the
/// oldest is dropped: a block paying for this many deploys (32 000 gas each at least) is
/// close to full, so at most one such churn fits between commits.
pub const MAX_STAGED_PER_COMMIT: usize = 4_096;

/// Most classes the adapter that runs simulations keeps staged (the oldest is dropped).
pub const MAX_STAGED_QUERIES: usize = 64;

/// The committed classes, compiled: shared by every adapter of one rollup.
#[derive(Clone, Debug, Default)]
pub struct Committed(Arc<RwLock<HashMap<[u8; 32], Arc<Compiled>>>>);

impl Committed {
    fn get(&self, hash: &[u8; 32]) -> Option<Arc<Compiled>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    fn insert(&self, hash: [u8; 32], compiled: Arc<Compiled>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, compiled);
    }

    fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The compiled-class cache of one adapter.
#[derive(Debug)]
pub struct Classes {
    committed: Committed,
    staged: Mutex<VecDeque<([u8; 32], Arc<Compiled>)>>,
    max_staged: usize,
    /// Whether a commit drops what is staged (blocks) or not (simulations, which never commit).
    per_commit: bool,
    compiles: AtomicU64,
}

impl Default for Classes {
    fn default() -> Self {
        Self::for_blocks(Committed::default())
    }
}

impl Classes {
    /// The cache of the adapter that runs blocks, keeping committed classes in `committed`.
    pub fn for_blocks(committed: Committed) -> Self {
        Self::new(committed, MAX_STAGED_PER_COMMIT, true)
    }

    /// The cache of an adapter that runs simulations, reading the committed classes another
    /// adapter keeps in `committed`.
    pub fn for_queries(committed: Committed) -> Self {
        Self::new(committed, MAX_STAGED_QUERIES, false)
    }

    fn new(committed: Committed, max_staged: usize, per_commit: bool) -> Self {
        Self {
            committed,
            staged: Mutex::default(),
            max_staged,
            per_commit,
            compiles: AtomicU64::new(0),
        }
    }

    /// The committed classes this cache reads.
    pub fn committed(&self) -> &Committed {
        &self.committed
    }

    /// The compiled class of hash `hash`, if it is cached (committed or staged).
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<Compiled>> {
        if let Some(compiled) = self.committed.get(hash) {
            return Some(compiled);
        }
        lock(&self.staged)
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, compiled)| compiled.clone())
    }

    /// The compiled class of hash `hash`, compiled from `json` (and staged until it commits)
    /// if it is not cached; `None` if `pay` refuses its compile work (`Compiled::work`,
    /// asked whether the class is cached or not, before any compiling).
    pub fn get_or_stage(
        &self,
        hash: [u8; 32],
        json: &[u8],
        pay: impl FnOnce(u64) -> bool,
    ) -> Result<Option<Arc<Compiled>>, ClassRefusal> {
        if let Some(compiled) = self.get(&hash) {
            return Ok(pay(compiled.work).then_some(compiled));
        }
        let checked = Compiled::check(json)?;
        if !pay(checked.work) {
            return Ok(None);
        }
        self.stage(hash, checked).map(Some)
    }

    /// [`Classes::get_or_stage`] of a class already paid for: one in state (genesis, or a
    /// deploy's earlier in the block) that this cache lacks.
    pub fn get_or_compile(
        &self,
        hash: [u8; 32],
        json: &[u8],
    ) -> Result<Arc<Compiled>, ClassRefusal> {
        match self.get(&hash) {
            Some(compiled) => Ok(compiled),
            None => self.stage(hash, Compiled::check(json)?),
        }
    }

    fn stage(&self, hash: [u8; 32], checked: Checked) -> Result<Arc<Compiled>, ClassRefusal> {
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let compiled = Compiled::build(checked)?;
        let mut staged = lock(&self.staged);
        if staged.len() >= self.max_staged {
            staged.pop_front();
        }
        staged.push_back((hash, compiled.clone()));
        Ok(compiled)
    }

    /// Keep the class of hash `hash` for good: it is in committed state. Compiled from `json`
    /// only if it is neither kept nor staged.
    pub fn commit(&self, hash: [u8; 32], json: &[u8]) -> Result<(), ClassRefusal> {
        if self.committed.get(&hash).is_some() {
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
            None => {
                self.compiles.fetch_add(1, Ordering::Relaxed);
                Compiled::compile(json)?
            }
        };
        self.committed.insert(hash, compiled);
        Ok(())
    }

    /// A block committed (after [`Classes::commit`] of each class it holds): what else was
    /// staged was a deploy that failed, a block not decided or one already committed, and is
    /// dropped (blocks' cache only).
    pub fn end_commit(&self) {
        if self.per_commit {
            lock(&self.staged).clear();
        }
    }

    /// How many classes this cache has compiled (refused ones included).
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// How many classes are committed and how many staged.
    pub fn len(&self) -> (usize, usize) {
        (self.committed.len(), lock(&self.staged).len())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTER: &[u8] = include_bytes!("../contracts/compiled/counter.sierra.json");

    fn stage(classes: &Classes, hash: [u8; 32]) -> Arc<Compiled> {
        classes
            .get_or_stage(hash, COUNTER, |_| true)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn committing_keeps_a_staged_class_without_compiling_it_again() {
        let classes = Classes::default();
        let hash = [7; 32];
        let compiled = stage(&classes, hash);
        assert!(compiled.work > 0, "a class's compile work is measured");
        assert_eq!(classes.len(), (0, 1));
        classes.commit(hash, COUNTER).unwrap();
        assert_eq!(classes.len(), (1, 0));
        assert_eq!(
            classes.compiles(),
            1,
            "the staged class moved, it was not compiled again"
        );
        // A class refused is neither kept nor staged.
        assert!(classes.get_or_stage([200; 32], b"{}", |_| true).is_err());
        assert!(classes.commit([201; 32], b"{}").is_err());
        assert!(classes.get(&[200; 32]).is_none() && classes.get(&[201; 32]).is_none());
    }

    #[test]
    fn a_deploy_that_cannot_pay_the_compile_work_compiles_nothing() {
        let classes = Classes::default();
        let mut asked = None;
        let refused = classes.get_or_stage([1; 32], COUNTER, |work| {
            asked = Some(work);
            false
        });
        assert!(refused.unwrap().is_none());
        assert_eq!((classes.compiles(), classes.len()), (0, (0, 0)));
        // The same work is asked of a cached class: gas never depends on the cache.
        let compiled = stage(&classes, [1; 32]);
        assert_eq!(asked, Some(compiled.work));
        let cached = classes.get_or_stage([1; 32], COUNTER, |work| work == compiled.work);
        assert!(cached.unwrap().is_some());
        assert_eq!(classes.compiles(), 1);
    }

    #[test]
    fn blocks_never_drop_a_class_staged_since_the_last_commit_and_drop_the_rest_at_it() {
        let classes = Classes::default();
        let first = [1; 32];
        stage(&classes, first);
        // However many deploys follow in the block, the first class stays staged.
        for i in 0..MAX_STAGED_QUERIES + 8 {
            stage(&classes, [10 + i as u8; 32]);
        }
        let compiles = classes.compiles();
        stage(&classes, first);
        assert_eq!(classes.compiles(), compiles, "not compiled again");
        classes.commit(first, COUNTER).unwrap();
        classes.end_commit();
        assert_eq!(classes.len(), (1, 0), "what did not commit is dropped");
    }

    #[test]
    fn simulations_read_the_committed_classes_and_keep_few_of_their_own() {
        let blocks = Classes::default();
        blocks.commit([9; 32], COUNTER).unwrap();
        let queries = Classes::for_queries(blocks.committed().clone());
        stage(&queries, [9; 32]);
        assert_eq!(
            queries.compiles(),
            0,
            "a committed class is never compiled for a call"
        );
        for i in 0..=MAX_STAGED_QUERIES {
            stage(&queries, [100 + i as u8; 32]);
        }
        assert_eq!(queries.len(), (1, MAX_STAGED_QUERIES));
        assert!(queries.get(&[100; 32]).is_none(), "the oldest was dropped");
        queries.end_commit();
        assert_eq!(queries.len(), (1, MAX_STAGED_QUERIES));
        assert_eq!(
            blocks.len(),
            (1, 0),
            "a simulation stages nothing for blocks"
        );
    }
}
