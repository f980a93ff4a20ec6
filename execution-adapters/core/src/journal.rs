//! The transaction-wide journal: every write of one transaction, on every rollup it touches,
//! with nested checkpoints.
//!
//! A checkpoint is taken when a frame starts; if the frame fails, [`Journal::revert_to`] undoes
//! exactly the writes made since, on all rollups at once. That single mechanism is what makes a
//! cross-rollup call tree all-or-nothing: a callee's writes live in the same journal as its
//! caller's and go away with the caller's frame.

use smallvec::SmallVec;

use crate::{
    ExecError, RollupId,
    state::{Changes, StateView, lookup, lookup_mut, remove},
};

/// A point to revert to: the journal's length and, for a frame's own checkpoints, how many
/// cross-rollup calls the frame had made (their records lose their logs if it reverts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint {
    journal: usize,
    pub(crate) calls: usize,
}

/// Keys up to this long are kept inline in the undo log (every key Babel's adapters write
/// is; longer ones spill to the heap).
const INLINE_KEY: usize = 56;

#[derive(Debug)]
struct Undo {
    rollup: RollupId,
    /// A copy of the written key: the map owns the other one.
    key: SmallVec<[u8; INLINE_KEY]>,
    /// The journal's entry before the write (`None`: the key was not in the journal).
    previous: Option<Option<Vec<u8>>>,
}

/// Writes of one transaction over a base state.
#[derive(Debug, Default)]
pub struct Journal {
    writes: Changes,
    undo: Vec<Undo>,
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// `key` of `rollup` as the transaction sees it: its own writes, else `base`.
    pub fn get(
        &self,
        base: &impl StateView,
        rollup: RollupId,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, ExecError> {
        match lookup(&self.writes, rollup, key) {
            Some(value) => Ok(value.clone()),
            None => base.get(rollup, key),
        }
    }

    /// Write (`Some`) or delete (`None`) `key` of `rollup`.
    pub fn set(&mut self, rollup: RollupId, key: &[u8], value: Option<Vec<u8>>) {
        let previous = match lookup_mut(&mut self.writes, rollup, key) {
            Some(entry) => Some(std::mem::replace(entry, value)),
            None => {
                self.writes.insert((rollup, key.to_vec()), value);
                None
            }
        };
        self.undo.push(Undo {
            rollup,
            key: SmallVec::from_slice(key),
            previous,
        });
    }

    /// The current point, to revert to later.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.undo.len(),
            calls: 0,
        }
    }

    /// Undo every write made since `checkpoint`, newest first.
    pub fn revert_to(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.journal {
            let Some(Undo {
                rollup,
                key,
                previous,
            }) = self.undo.pop()
            else {
                break;
            };
            match previous {
                Some(value) => {
                    if let Some(entry) = lookup_mut(&mut self.writes, rollup, &key) {
                        *entry = value;
                    }
                }
                None => {
                    remove(&mut self.writes, rollup, &key);
                }
            }
        }
    }

    /// The transaction's net writes, in key order.
    pub fn into_changes(self) -> Changes {
        self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemState;

    #[test]
    fn nested_checkpoints_undo_exactly_their_writes_on_every_rollup() {
        let mut base = MemState::new();
        let mut seed = Changes::new();
        seed.insert((1, b"a".to_vec()), Some(b"base".to_vec()));
        base.apply(&seed);

        let mut j = Journal::new();
        j.set(1, b"a", Some(b"tx".to_vec()));
        let outer = j.checkpoint();
        j.set(2, b"b", Some(b"outer".to_vec()));
        let inner = j.checkpoint();
        j.set(1, b"a", None);
        j.set(3, b"c", Some(b"inner".to_vec()));
        assert_eq!(j.get(&base, 1, b"a").unwrap(), None);

        j.revert_to(inner);
        assert_eq!(j.get(&base, 1, b"a").unwrap(), Some(b"tx".to_vec()));
        assert_eq!(j.get(&base, 3, b"c").unwrap(), None);
        assert_eq!(j.get(&base, 2, b"b").unwrap(), Some(b"outer".to_vec()));

        j.revert_to(outer);
        assert_eq!(j.get(&base, 2, b"b").unwrap(), None);
        let changes = j.into_changes();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[&(1, b"a".to_vec())], Some(b"tx".to_vec()));
    }

    #[test]
    fn reverting_to_the_start_leaves_nothing() {
        let mut j = Journal::new();
        let start = j.checkpoint();
        for i in 0..10u8 {
            j.set(u64::from(i % 3), &[i], Some(vec![i]));
        }
        j.revert_to(start);
        assert!(j.into_changes().is_empty());
    }
}
