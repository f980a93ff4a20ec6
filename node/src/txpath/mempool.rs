//! The mempool: admitted transactions waiting for a block, bounded in count and bytes.
//!
//! Transactions are kept per (rollup, sender) in nonce order. Only a run of consecutive nonces
//! starting at the sender's committed nonce is ready for a block; later nonces wait for the gap
//! to fill (at most [`MAX_NONCE_GAP`] ahead). After a block commits, included and stale
//! transactions are evicted. Transactions waiting behind a gap may fill at most half of the
//! pool (in count and in bytes), so they can never lock out the ones that can be included,
//! and an admitted transaction is never displaced. Pure data structure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// How far ahead of the committed nonce a transaction may be.
pub const MAX_NONCE_GAP: u64 = 64;

/// Dropped transactions remembered for status queries; older ones are forgotten.
pub const REMEMBER_DROPPED: usize = 10_000;

/// Identifies a sender on one rollup.
pub type Account = (u64, [u8; 32]);

/// A transaction as the mempool sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolTx {
    /// Transaction hash.
    pub hash: [u8; 32],
    /// Origin rollup and sender.
    pub account: Account,
    /// Nonce.
    pub nonce: u64,
    /// Encoded size of the signed transaction.
    pub size: usize,
    /// Gas the transaction may use (counts against the block's gas limit).
    pub gas: u64,
    /// The signed transaction.
    pub tx: babel_proto::v1::SignedTransaction,
    /// Whether the store's pending set holds it: a client's submission is written there before
    /// it is acknowledged; a peer's forward is not (the peer that acknowledged it holds it).
    pub durable: bool,
}

/// Why the mempool refused a transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Already in the pool.
    #[error("transaction already in the mempool")]
    Duplicate,
    /// Nonce already used (committed, or another pooled transaction has it).
    #[error("nonce {nonce} too low: next is {expected}")]
    NonceTooLow {
        /// Offered nonce.
        nonce: u64,
        /// Lowest acceptable nonce.
        expected: u64,
    },
    /// Nonce too far ahead of the committed one.
    #[error("nonce {nonce} too high: at most {max}")]
    NonceTooHigh {
        /// Offered nonce.
        nonce: u64,
        /// Highest acceptable nonce.
        max: u64,
    },
    /// The pool is at its count or byte limit.
    #[error("mempool full")]
    Full,
}

/// What one block may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Most transactions.
    pub txs: usize,
    /// Most encoded bytes.
    pub bytes: usize,
    /// Most gas (sum of the transactions' gas limits).
    pub gas: u64,
}

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
}

/// The mempool.
#[derive(Debug)]
pub struct Mempool {
    limits: PoolLimits,
    by_account: HashMap<Account, BTreeMap<u64, PoolTx>>,
    by_hash: HashMap<[u8; 32], (Account, u64)>,
    /// Each pooled account's committed nonce, as last learned.
    committed: HashMap<Account, u64>,
    /// Count and bytes of transactions waiting behind a gap.
    held: (usize, usize),
    bytes: usize,
    /// Recently dropped transactions and why.
    dropped: DropLog,
}

/// Recently dropped transactions and why, at most [`REMEMBER_DROPPED`]; the oldest are
/// forgotten first.
#[derive(Debug, Default)]
struct DropLog {
    /// Why each was dropped, with the sequence number of that drop.
    reasons: HashMap<[u8; 32], (u64, String)>,
    /// Drops in order; an entry whose sequence number no longer matches is stale.
    order: VecDeque<([u8; 32], u64)>,
    next: u64,
}

impl DropLog {
    fn record(&mut self, hash: [u8; 32], why: String) {
        let seq = self.next;
        self.next += 1;
        self.reasons.insert(hash, (seq, why));
        self.order.push_back((hash, seq));
        while self.order.len() > REMEMBER_DROPPED {
            if let Some((old, seq)) = self.order.pop_front()
                && self.reasons.get(&old).is_some_and(|(s, _)| *s == seq)
            {
                self.reasons.remove(&old);
            }
        }
    }

    fn forget(&mut self, hash: &[u8; 32]) {
        self.reasons.remove(hash);
    }

    fn get(&self, hash: &[u8; 32]) -> Option<&str> {
        self.reasons.get(hash).map(|(_, why)| why.as_str())
    }
}

impl Mempool {
    /// An empty pool.
    pub fn new(limits: PoolLimits) -> Self {
        Self {
            limits,
            by_account: HashMap::new(),
            by_hash: HashMap::new(),
            committed: HashMap::new(),
            held: (0, 0),
            bytes: 0,
            dropped: DropLog::default(),
        }
    }

    /// Room for at most this many more transactions (ignoring byte limits).
    pub fn room(&self) -> usize {
        self.limits.max_txs.saturating_sub(self.len())
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a transaction with this hash is pooled.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction with this hash, if any.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Option<&PoolTx> {
        let (account, nonce) = self.by_hash.get(hash)?;
        self.get(account, *nonce)
    }

    /// The pooled transaction of `account` with `nonce`, if any.
    pub fn get(&self, account: &Account, nonce: u64) -> Option<&PoolTx> {
        self.by_account.get(account)?.get(&nonce)
    }

    /// Whether the store's pending set may hold `hash`: false only for a pooled transaction
    /// that a peer forwarded (see [`PoolTx::durable`]).
    pub fn maybe_pending(&self, hash: &[u8; 32]) -> bool {
        self.by_hash(hash).is_none_or(|t| t.durable)
    }

    /// Mark a pooled transaction as held (or no longer held) by the store's pending set.
    /// Returns whether that changed anything.
    pub fn set_durable(&mut self, hash: &[u8; 32], durable: bool) -> bool {
        let Some((account, nonce)) = self.by_hash.get(hash) else {
            return false;
        };
        match self
            .by_account
            .get_mut(account)
            .and_then(|q| q.get_mut(nonce))
        {
            Some(tx) if tx.durable != durable => {
                tx.durable = durable;
                true
            }
            _ => false,
        }
    }

    /// Admit `tx`, given its sender's committed nonce (the next nonce a block may use).
    pub fn insert(&mut self, tx: PoolTx, committed_nonce: u64) -> Result<(), PoolError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::Duplicate);
        }
        if tx.nonce < committed_nonce {
            return Err(PoolError::NonceTooLow {
                nonce: tx.nonce,
                expected: committed_nonce,
            });
        }
        let max = committed_nonce.saturating_add(MAX_NONCE_GAP);
        if tx.nonce > max {
            return Err(PoolError::NonceTooHigh {
                nonce: tx.nonce,
                max,
            });
        }
        let queue = self.by_account.get(&tx.account);
        if queue.is_some_and(|q| q.contains_key(&tx.nonce)) {
            return Err(PoolError::NonceTooLow {
                nonce: tx.nonce,
                expected: tx.nonce.saturating_add(1),
            });
        }
        if self.len() >= self.limits.max_txs || self.bytes + tx.size > self.limits.max_bytes {
            return Err(PoolError::Full);
        }
        let account = tx.account;
        // `before` must be measured against the committed nonce the held count was last
        // computed with: measured after the update, a submission that learns of a commit
        // before `evict_committed` does would subtract too little and inflate `held` for good.
        let before = self.held_by(&account);
        let previous = self.committed.insert(account, committed_nonce);
        let (hash, nonce, size) = (tx.hash, tx.nonce, tx.size);
        self.by_account
            .entry(account)
            .or_default()
            .insert(nonce, tx);
        let after = self.held_by(&account);
        let held_txs = self.held.0 - before.0 + after.0;
        let held_bytes = self.held.1 - before.1 + after.1;
        if held_txs > self.limits.max_txs / 2 || held_bytes > self.limits.max_bytes / 2 {
            // Undo: the transaction would wait behind a gap in a pool whose waiting half is full.
            if let Some(queue) = self.by_account.get_mut(&account) {
                queue.remove(&nonce);
                if queue.is_empty() {
                    self.by_account.remove(&account);
                }
            }
            match previous {
                Some(n) => self.committed.insert(account, n),
                None => self.committed.remove(&account),
            };
            return Err(PoolError::Full);
        }
        self.held = (held_txs, held_bytes);
        self.bytes += size;
        self.by_hash.insert(hash, (account, nonce));
        self.dropped.forget(&hash);
        Ok(())
    }

    /// Count and bytes of `account`'s transactions waiting behind a gap.
    fn held_by(&self, account: &Account) -> (usize, usize) {
        let Some(queue) = self.by_account.get(account) else {
            return (0, 0);
        };
        let mut next = self.committed.get(account).copied().unwrap_or(0);
        // The usual queue, one run from the committed nonce, holds nothing: say so without
        // walking it (that walk made each insert cost the length of the sender's queue).
        if let (Some((&first, _)), Some((&last, _))) =
            (queue.first_key_value(), queue.last_key_value())
            && first == next
            && last - first == queue.len() as u64 - 1
        {
            return (0, 0);
        }
        while queue.contains_key(&next) {
            next += 1;
        }
        queue
            .range(next..)
            .fold((0, 0), |(n, b), (_, t)| (n + 1, b + t.size))
    }

    /// Whether some transaction is not waiting behind a gap: a block could take it (unless its
    /// signer can no longer pay).
    pub fn has_ready(&self) -> bool {
        self.len() > self.held.0
    }

    /// Transactions waiting behind a gap: count and bytes.
    pub fn held(&self) -> (usize, usize) {
        self.held
    }

    /// Ready transactions for a block, at most `limits`: for each account the
    /// consecutive run from its committed nonce, accounts visited round-robin in a fixed order
    /// so one busy sender cannot starve the others. `committed_nonce` gives an account's next
    /// nonce.
    pub fn reap(
        &self,
        limits: BlockLimits,
        committed_nonce: impl Fn(&Account) -> u64,
    ) -> Vec<PoolTx> {
        let mut accounts: Vec<&Account> = self.by_account.keys().collect();
        accounts.sort();
        let mut cursors: Vec<(u64, &BTreeMap<u64, PoolTx>)> = accounts
            .into_iter()
            .map(|a| (committed_nonce(a), &self.by_account[a]))
            .collect();
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut gas = 0u64;
        loop {
            let mut progressed = false;
            for (next, queue) in &mut cursors {
                if out.len() >= limits.txs {
                    return out;
                }
                let Some(tx) = queue.get(next) else { continue };
                if bytes + tx.size > limits.bytes || gas.saturating_add(tx.gas) > limits.gas {
                    continue;
                }
                bytes += tx.size;
                gas += tx.gas;
                out.push(tx.clone());
                *next += 1;
                progressed = true;
            }
            if !progressed {
                return out;
            }
        }
    }

    /// Remove these transactions (those absent are ignored).
    pub fn remove(&mut self, hashes: &[[u8; 32]]) {
        for hash in hashes {
            let Some((account, nonce)) = self.by_hash.get(hash).copied() else {
                continue;
            };
            self.change_account(&account, |pool| {
                pool.by_hash.remove(hash);
                if let Some(tx) = pool
                    .by_account
                    .get_mut(&account)
                    .and_then(|q| q.remove(&nonce))
                {
                    pool.bytes -= tx.size;
                }
            });
        }
    }

    /// Remove transactions that cannot be in a block (their signer cannot pay) and remember
    /// why, for [`Mempool::dropped`] (until admitted again).
    pub fn drop_invalid(&mut self, dropped: &[([u8; 32], String)]) {
        let hashes: Vec<[u8; 32]> = dropped.iter().map(|(hash, _)| *hash).collect();
        self.remove(&hashes);
        for (hash, why) in dropped {
            self.dropped.record(*hash, why.clone());
        }
    }

    /// Why a recently dropped transaction was dropped (`None` if it was not, or long ago).
    pub fn dropped(&self, hash: &[u8; 32]) -> Option<&str> {
        self.dropped.get(hash)
    }

    /// After a commit: drop every transaction of the touched accounts whose nonce is below the
    /// account's new committed nonce. Returns those dropped.
    pub fn evict_committed(&mut self, committed: &[(Account, u64)]) -> Vec<PoolTx> {
        let mut dropped = Vec::new();
        for (account, next) in committed {
            if !self.by_account.contains_key(account) {
                continue;
            }
            self.change_account(account, |pool| {
                pool.committed.insert(*account, *next);
                let Some(queue) = pool.by_account.get_mut(account) else {
                    return;
                };
                let stale: Vec<u64> = queue.range(..next).map(|(n, _)| *n).collect();
                for nonce in stale {
                    if let Some(tx) = queue.remove(&nonce) {
                        pool.bytes -= tx.size;
                        pool.by_hash.remove(&tx.hash);
                        dropped.push(tx);
                    }
                }
            });
        }
        dropped
    }

    /// Apply `f` to one account's entries, keeping the held totals and the per-account maps
    /// consistent.
    fn change_account(&mut self, account: &Account, f: impl FnOnce(&mut Self)) {
        let before = self.held_by(account);
        f(self);
        if self.by_account.get(account).is_some_and(BTreeMap::is_empty) {
            self.by_account.remove(account);
        }
        if !self.by_account.contains_key(account) {
            self.committed.remove(account);
        }
        let after = self.held_by(account);
        self.held = (
            self.held.0 - before.0 + after.0,
            self.held.1 - before.1 + after.1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tx(rollup: u64, sender: u8, nonce: u64) -> PoolTx {
        let mut hash = [0u8; 32];
        hash[0] = sender;
        hash[1] = rollup as u8;
        hash[8..16].copy_from_slice(&nonce.to_be_bytes());
        PoolTx {
            hash,
            account: (rollup, [sender; 32]),
            nonce,
            size: 100,
            gas: 1_000,
            tx: Default::default(),
            durable: true,
        }
    }

    fn limits(txs: usize, bytes: usize) -> BlockLimits {
        BlockLimits {
            txs,
            bytes,
            gas: u64::MAX,
        }
    }

    fn pool() -> Mempool {
        Mempool::new(PoolLimits {
            max_txs: 10,
            max_bytes: 10_000,
        })
    }

    #[test]
    fn duplicate_and_nonce_rules() {
        let mut p = pool();
        p.insert(tx(1, 1, 5), 5).unwrap();
        assert_eq!(p.insert(tx(1, 1, 5), 5), Err(PoolError::Duplicate));
        assert!(matches!(
            p.insert(tx(1, 1, 4), 5),
            Err(PoolError::NonceTooLow { .. })
        ));
        assert!(matches!(
            p.insert(tx(1, 1, 5 + MAX_NONCE_GAP + 1), 5),
            Err(PoolError::NonceTooHigh { .. })
        ));
        let mut same_nonce = tx(1, 1, 5);
        same_nonce.hash[31] = 9;
        assert!(matches!(
            p.insert(same_nonce, 5),
            Err(PoolError::NonceTooLow { .. })
        ));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn limits_are_enforced() {
        let mut p = Mempool::new(PoolLimits {
            max_txs: 2,
            max_bytes: 250,
        });
        p.insert(tx(1, 1, 0), 0).unwrap();
        p.insert(tx(1, 2, 0), 0).unwrap();
        assert_eq!(p.insert(tx(1, 3, 0), 0), Err(PoolError::Full));
        let mut p = Mempool::new(PoolLimits {
            max_txs: 10,
            max_bytes: 250,
        });
        p.insert(tx(1, 1, 0), 0).unwrap();
        p.insert(tx(1, 1, 1), 0).unwrap();
        assert_eq!(p.insert(tx(1, 1, 2), 0), Err(PoolError::Full));
        assert_eq!(p.bytes(), 200);
    }

    #[test]
    fn reap_takes_consecutive_nonces_round_robin_and_waits_for_gaps() {
        let mut p = pool();
        for n in [0, 1, 3] {
            p.insert(tx(1, 1, n), 0).unwrap();
        }
        p.insert(tx(1, 2, 7), 7).unwrap();
        p.insert(tx(2, 1, 0), 0).unwrap();
        let committed = |a: &Account| if a.1[0] == 2 { 7 } else { 0 };
        let got: Vec<(u64, u8, u64)> = p
            .reap(limits(100, 100_000), committed)
            .iter()
            .map(|t| (t.account.0, t.account.1[0], t.nonce))
            .collect();
        // Round-robin over accounts sorted by (rollup, sender); nonce 3 waits for 2.
        assert_eq!(got, vec![(1, 1, 0), (1, 2, 7), (2, 1, 0), (1, 1, 1)]);
        assert_eq!(p.reap(limits(2, 100_000), committed).len(), 2);
        assert_eq!(p.reap(limits(100, 250), committed).len(), 2);
        let gas_bound = BlockLimits {
            txs: 100,
            bytes: 100_000,
            gas: 2_500,
        };
        assert_eq!(p.reap(gas_bound, committed).len(), 2, "1 000 gas each");
    }

    #[test]
    fn eviction_after_commit_frees_space() {
        let mut p = pool();
        for n in 0..4 {
            p.insert(tx(1, 1, n), 0).unwrap();
        }
        let dropped = p.evict_committed(&[((1, [1; 32]), 3)]);
        assert_eq!(dropped, (0..3).map(|n| tx(1, 1, n)).collect::<Vec<_>>());
        assert_eq!(p.len(), 1);
        assert_eq!(p.bytes(), 100);
        assert!(p.contains(&tx(1, 1, 3).hash));
        assert!(!p.contains(&tx(1, 1, 0).hash));
        p.evict_committed(&[((1, [1; 32]), 4)]);
        assert!(p.is_empty());
    }

    #[test]
    fn only_a_pooled_forward_is_known_to_be_outside_the_pending_set() {
        let mut p = pool();
        let forwarded = PoolTx {
            durable: false,
            ..tx(1, 1, 0)
        };
        p.insert(forwarded.clone(), 0).unwrap();
        p.insert(tx(1, 2, 0), 0).unwrap();
        assert!(!p.maybe_pending(&forwarded.hash));
        assert!(p.maybe_pending(&tx(1, 2, 0).hash));
        // Unknown to the pool: it may be on disk (restored, or pooled and then dropped).
        assert!(p.maybe_pending(&tx(1, 3, 0).hash));
        assert!(p.set_durable(&forwarded.hash, true));
        assert!(
            !p.set_durable(&forwarded.hash, true),
            "no change the second time"
        );
        assert!(p.maybe_pending(&forwarded.hash));
        assert!(!p.set_durable(&tx(1, 3, 0).hash, true), "not pooled");
        let evicted = p.evict_committed(&[((1, [1; 32]), 1)]);
        assert_eq!(evicted.len(), 1);
        assert!(evicted[0].durable);
    }

    #[test]
    fn transactions_behind_a_gap_fill_at_most_half_the_pool() {
        let mut p = pool(); // 10 transactions
        for n in 1..=5 {
            p.insert(tx(1, 1, n), 0).unwrap();
        }
        assert_eq!(p.held(), (5, 500));
        // A sixth waiting transaction (another sender's) is refused...
        assert_eq!(p.insert(tx(1, 2, 3), 0), Err(PoolError::Full));
        // ...but ready ones still get in, up to the whole pool.
        for s in 3..7 {
            p.insert(tx(1, s, 0), 0).unwrap();
        }
        // Filling sender 1's gap makes its five ready: the waiting half is free again.
        p.insert(tx(1, 1, 0), 0).unwrap();
        assert_eq!(p.held(), (0, 0));
        assert_eq!(p.len(), 10);
        assert_eq!(p.insert(tx(1, 7, 0), 0), Err(PoolError::Full));
        assert_eq!(p.reap(limits(100, 100_000), |_| 0).len(), 10);
        // Committing through nonce 2 leaves 3..=5 ready.
        p.evict_committed(&[((1, [1; 32]), 3)]);
        assert_eq!((p.len(), p.held()), (7, (0, 0)));
        p.remove(&[tx(1, 1, 3).hash]);
        assert_eq!(p.held(), (2, 200), "removing nonce 3 strands 4 and 5");
        p.remove(&[tx(1, 1, 4).hash, tx(1, 1, 5).hash]);
        assert_eq!(p.held(), (0, 0));
    }

    #[test]
    fn remove_takes_exactly_the_named_transactions() {
        let mut p = pool();
        for n in 0..3 {
            p.insert(tx(1, 1, n), 0).unwrap();
        }
        p.remove(&[tx(1, 1, 1).hash, tx(9, 9, 9).hash]);
        assert_eq!(p.len(), 2);
        assert_eq!(p.bytes(), 200);
        assert!(!p.contains(&tx(1, 1, 1).hash));
        // The gap at nonce 1 holds nonce 2 back from blocks.
        assert_eq!(p.reap(limits(10, 10_000), |_| 0).len(), 1);
        p.remove(&[tx(1, 1, 0).hash, tx(1, 1, 2).hash]);
        assert!(p.is_empty());
    }

    #[test]
    fn dropped_transactions_leave_and_are_remembered_boundedly() {
        let mut p = pool();
        p.insert(tx(1, 1, 0), 0).unwrap();
        p.insert(tx(1, 1, 1), 0).unwrap();
        let gone = tx(1, 1, 0).hash;
        p.drop_invalid(&[(gone, "cannot pay".into())]);
        assert!(!p.contains(&gone));
        assert_eq!(p.len(), 1);
        assert_eq!(p.dropped(&gone), Some("cannot pay"));
        // Its successor now waits behind the gap; a new nonce 0 can fill it.
        assert!(p.reap(limits(10, 10_000), |_| 0).is_empty());
        p.insert(tx(1, 1, 0), 0).unwrap();
        assert_eq!(p.get(&(1, [1; 32]), 0), Some(&tx(1, 1, 0)));
        assert_eq!(p.dropped(&gone), None, "admitted again");
        assert_eq!(p.reap(limits(10, 10_000), |_| 0).len(), 2);
        p.drop_invalid(&[(gone, "again".into())]);
        assert_eq!(p.dropped(&gone), Some("again"));

        // The first drop's stale entry does not cut the second short: `gone` is forgotten
        // exactly when REMEMBER_DROPPED later drops have been recorded.
        let many: Vec<([u8; 32], String)> = (0..REMEMBER_DROPPED as u64)
            .map(|n| (tx(2, 2, n).hash, String::new()))
            .collect();
        p.drop_invalid(&many[..REMEMBER_DROPPED - 1]);
        assert_eq!(p.dropped(&gone), Some("again"));
        p.drop_invalid(&many[REMEMBER_DROPPED - 1..]);
        assert_eq!(p.dropped(&gone), None, "the oldest are forgotten");
        assert!(p.dropped(&many[REMEMBER_DROPPED - 1].0).is_some());
        assert_eq!(p.dropped.reasons.len(), REMEMBER_DROPPED);
    }

    #[test]
    fn a_submission_that_learns_of_a_commit_first_does_not_inflate_held() {
        let mut p = pool();
        p.insert(tx(1, 1, 6), 5).unwrap();
        p.insert(tx(1, 1, 7), 5).unwrap();
        assert_eq!(p.held(), (2, 200), "6 and 7 wait for 5");
        // Nonces 5 and 6 commit; this submission reads the new nonce before the commit's
        // eviction reaches the pool.
        p.insert(tx(1, 1, 8), 7).unwrap();
        assert_eq!(p.held(), (0, 0), "7 and 8 are ready");
        p.evict_committed(&[((1, [1; 32]), 7)]);
        assert_eq!(p.held(), (0, 0));
        assert_eq!(p.len(), 2);
    }

    /// One step of [`held_always_matches_a_recount`].
    #[derive(Clone, Debug)]
    enum Op {
        /// Insert (account, nonce, variant of the hash, size) with this committed nonce.
        Insert(usize, u64, u8, usize, u64),
        /// A commit moved the account's nonce here.
        Evict(usize, u64),
        /// Remove the transaction (account, nonce, variant), present or not.
        Remove(usize, u64, u8),
        /// Drop it as unpayable.
        Drop(usize, u64, u8),
        /// Reap with every account's committed nonce at this offset from the pool's view.
        Reap(u64),
    }

    const ACCOUNTS: [Account; 4] = [(1, [1; 32]), (1, [2; 32]), (2, [1; 32]), (2, [3; 32])];

    fn sized(account: usize, nonce: u64, variant: u8, size: usize) -> PoolTx {
        let (rollup, sender) = ACCOUNTS[account];
        let mut t = tx(rollup, sender[0], nonce);
        t.hash[31] = variant;
        t.size = size;
        t
    }

    fn op() -> impl Strategy<Value = Op> {
        let account = 0..ACCOUNTS.len();
        prop_oneof![
            4 => (account.clone(), 0..16u64, 0..2u8, 1..400usize, 0..12u64)
                .prop_map(|(a, n, v, s, c)| Op::Insert(a, n, v, s, c)),
            1 => (account.clone(), 0..16u64).prop_map(|(a, c)| Op::Evict(a, c)),
            1 => (account.clone(), 0..16u64, 0..2u8).prop_map(|(a, n, v)| Op::Remove(a, n, v)),
            1 => (account, 0..16u64, 0..2u8).prop_map(|(a, n, v)| Op::Drop(a, n, v)),
            1 => (0..3u64).prop_map(Op::Reap),
        ]
    }

    /// Count and bytes of the transactions waiting behind a gap, recomputed from the pooled
    /// transactions: one is held when a nonce between its account's committed nonce and its
    /// own is missing.
    fn recount(p: &Mempool) -> (usize, usize) {
        let mut held = (0, 0);
        for (account, queue) in &p.by_account {
            let committed = p.committed.get(account).copied().unwrap_or(0);
            for t in queue.values() {
                if (committed..t.nonce).any(|n| !queue.contains_key(&n)) {
                    held = (held.0 + 1, held.1 + t.size);
                }
            }
        }
        held
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(5),
            ..ProptestConfig::default()
        })]

        /// Whatever the order of submissions, commits (with committed nonces that may be stale
        /// or ahead of the pool's view), removals and reaps, the held totals match a recount
        /// and the count and byte totals match the pooled transactions.
        #[test]
        fn held_always_matches_a_recount(ops in proptest::collection::vec(op(), 1..64)) {
            let mut p = Mempool::new(PoolLimits { max_txs: 12, max_bytes: 2_000 });
            for op in ops {
                match op {
                    Op::Insert(a, n, v, s, c) => {
                        let _ = p.insert(sized(a, n, v, s), c);
                    }
                    Op::Evict(a, c) => {
                        p.evict_committed(&[(ACCOUNTS[a], c)]);
                    }
                    Op::Remove(a, n, v) => p.remove(&[sized(a, n, v, 1).hash]),
                    Op::Drop(a, n, v) => p.drop_invalid(&[(sized(a, n, v, 1).hash, "x".into())]),
                    Op::Reap(ahead) => {
                        let view = p.committed.clone();
                        let got = p.reap(limits(100, 100_000), |a| view[a] + ahead);
                        for t in &got {
                            prop_assert!(p.contains(&t.hash));
                        }
                    }
                }
                prop_assert_eq!(p.held(), recount(&p));
                let pooled: Vec<&PoolTx> = p.by_account.values().flat_map(|q| q.values()).collect();
                prop_assert_eq!(p.len(), pooled.len());
                prop_assert_eq!(p.bytes(), pooled.iter().map(|t| t.size).sum::<usize>());
                prop_assert!(p.by_account.keys().all(|a| p.committed.contains_key(a)));
                prop_assert_eq!(p.committed.len(), p.by_account.len());
            }
            // Once every account commits past everything, nothing is left, held or not.
            let all: Vec<(Account, u64)> = ACCOUNTS.iter().map(|a| (*a, u64::MAX)).collect();
            p.evict_committed(&all);
            prop_assert!(p.is_empty());
            prop_assert_eq!((p.held(), p.bytes()), ((0, 0), 0));
        }
    }
}
