//! [`TxMemo`]: what a node established about a signed transaction (its recovered signer, or
//! that its signature holds), remembered by transaction hash so the work is done once.
//!
//! A hash names the signed bytes exactly, so a remembered answer is the one the same check
//! would give again. The memo only saves work and never decides anything: it is bounded, and
//! a forgotten entry is computed again.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

/// Answers by transaction hash, in two generations of at most `capacity / 2` each: when the
/// newer is full it becomes the older, so a flood of transactions evicts the memo gradually,
/// never all at once.
#[derive(Debug)]
pub struct TxMemo<V> {
    generations: Mutex<Generations<V>>,
    capacity: usize,
}

#[derive(Debug)]
struct Generations<V> {
    newer: HashMap<[u8; 32], V>,
    older: HashMap<[u8; 32], V>,
}

impl<V: Copy> TxMemo<V> {
    /// A memo of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: Mutex::new(Generations {
                newer: HashMap::new(),
                older: HashMap::new(),
            }),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations<V>> {
        // Two maps of plain values: a panic elsewhere cannot leave them half-changed.
        self.generations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer remembered for `hash`.
    pub fn get(&self, hash: &[u8; 32]) -> Option<V> {
        let memo = self.lock();
        memo.newer
            .get(hash)
            .or_else(|| memo.older.get(hash))
            .copied()
    }

    /// Remember `value` for `hash`.
    pub fn insert(&self, hash: [u8; 32], value: V) {
        self.extend([hash], value);
    }

    /// Remember `value` for each of `hashes`, under one lock.
    pub fn extend(&self, hashes: impl IntoIterator<Item = [u8; 32]>, value: V) {
        let mut memo = self.lock();
        for hash in hashes {
            if memo.newer.len() >= self.capacity / 2 {
                memo.older = std::mem::take(&mut memo.newer);
            }
            memo.newer.insert(hash, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_generation_ages_and_the_older_one_is_forgotten() {
        let memo = TxMemo::new(4);
        memo.extend([[1; 32], [2; 32]], 7u8);
        assert_eq!(memo.get(&[1; 32]), Some(7));
        // The newer generation (2 entries) is full: it becomes the older.
        memo.insert([3; 32], 8);
        assert_eq!(memo.get(&[1; 32]), Some(7), "still in the older generation");
        assert_eq!(memo.get(&[3; 32]), Some(8));
        memo.insert([4; 32], 9);
        memo.insert([5; 32], 10);
        assert_eq!(memo.get(&[1; 32]), None, "two generations later it is gone");
        assert_eq!(memo.get(&[3; 32]), Some(8));
        assert_eq!(memo.get(&[5; 32]), Some(10));
        assert_eq!(memo.get(&[6; 32]), None);
    }
}
