//! Liveness and readiness.
//!
//! A node is *ready* when it is caught up and the chain is moving: it has committed a block
//! since it started, its last commit is recent, and that block's own time is recent too. The
//! last condition is what tells a node catching up (from sync, after downtime: committing
//! fast, but old blocks) from one at the tip; the second is what makes a stalled node, or one
//! whose network lost its quorum, not ready. "Recent" is [`max_block_age`] (a few block
//! intervals and round timeouts of the chain) by this node's monotonic clock; a block's time
//! comes from its proposer's clock, so it is compared with a further [`MAX_CLOCK_DRIFT_MS`]
//! of slack, the drift validators accept: a node whose clock runs a few seconds ahead of a
//! proposer's stays ready. [`assess`] is a pure function of the last commit and the clocks;
//! [`Health`] holds what it needs.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use babel_consensus::Peers;
use babel_genesis::ConsensusParams;

use crate::params::MAX_CLOCK_DRIFT_MS;

/// The least [`max_block_age`] derived from genesis.
const MIN_BLOCK_AGE: Duration = Duration::from_secs(10);
/// Rounds of timeouts a height may take before the node counts as stalled.
const ROUNDS: u64 = 3;

/// The last block this process committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastCommit {
    /// Its height.
    pub height: u64,
    /// Its header time (the proposer's clock, Unix milliseconds).
    pub block_time_ms: u64,
    /// When this node committed it.
    pub at: Instant,
}

/// Whether a node is ready, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Caught up and committing.
    Ready,
    /// No block committed since the node started.
    Starting,
    /// Committing, but blocks older than the limit (and the clock drift allowed): catching up
    /// after downtime.
    CatchingUp {
        /// How old the last committed block is.
        behind: Duration,
    },
    /// Nothing committed for longer than the limit: the node or its network is stuck
    /// (a lost quorum looks like this).
    Stalled {
        /// Since the last commit.
        since: Duration,
    },
}

impl Readiness {
    /// Whether this is [`Readiness::Ready`].
    pub fn is_ready(self) -> bool {
        self == Readiness::Ready
    }
}

impl std::fmt::Display for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Readiness::Ready => f.write_str("ready"),
            Readiness::Starting => f.write_str("starting: no block committed yet"),
            Readiness::CatchingUp { behind } => {
                write!(f, "catching up: last block is {} s old", behind.as_secs())
            }
            Readiness::Stalled { since } => {
                write!(f, "stalled: no block committed for {} s", since.as_secs())
            }
        }
    }
}

/// How long ago the last commit may be for a node to count as caught up: `configured_ms` when
/// set (non-zero), else three rounds of the genesis (a block interval, the wait for
/// transactions between heights and the three round timeouts each), and at least 10 s.
pub fn max_block_age(params: &ConsensusParams, configured_ms: u64) -> Duration {
    if configured_ms > 0 {
        return Duration::from_millis(configured_ms);
    }
    let round = params
        .block_interval_ms
        .saturating_add(params.empty_block_wait_ms)
        .saturating_add(params.timeout_propose_ms)
        .saturating_add(params.timeout_prevote_ms)
        .saturating_add(params.timeout_precommit_ms);
    Duration::from_millis(round.saturating_mul(ROUNDS)).max(MIN_BLOCK_AGE)
}

/// Readiness given the last commit, the monotonic and wall clocks now, and the age limit.
pub fn assess(last: Option<LastCommit>, now: Instant, now_ms: u64, max_age: Duration) -> Readiness {
    let Some(last) = last else {
        return Readiness::Starting;
    };
    let since = now.saturating_duration_since(last.at);
    if since > max_age {
        return Readiness::Stalled { since };
    }
    // A block time ahead of this clock is recent; one behind it may be, by the drift
    // validators allow between their clocks.
    let behind = Duration::from_millis(now_ms.saturating_sub(last.block_time_ms));
    if behind > max_age + Duration::from_millis(MAX_CLOCK_DRIFT_MS) {
        return Readiness::CatchingUp { behind };
    }
    Readiness::Ready
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a running node knows of its own health: the last commit and its peer count. Cheap to
/// clone: every clone sees the same values.
#[derive(Clone, Debug)]
pub struct Health {
    last: Arc<Mutex<Option<LastCommit>>>,
    /// Connected peers, or `u64::MAX` while unknown.
    peers: Arc<AtomicU64>,
    /// Connected validators of the set, or `u64::MAX` while unknown.
    validator_peers: Arc<AtomicU64>,
    max_age: Duration,
}

impl Health {
    /// Health of a node whose blocks may be at most `max_age` old.
    pub fn new(max_age: Duration) -> Self {
        Self {
            last: Arc::default(),
            peers: Arc::new(AtomicU64::new(u64::MAX)),
            validator_peers: Arc::new(AtomicU64::new(u64::MAX)),
            max_age,
        }
    }

    /// The age limit.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The node committed the block at `height` with header time `block_time_ms`.
    pub fn committed(&self, height: u64, block_time_ms: u64) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(LastCommit {
            height,
            block_time_ms,
            at: Instant::now(),
        });
    }

    /// The last commit of this process.
    pub fn last_commit(&self) -> Option<LastCommit> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Readiness now.
    pub fn readiness(&self) -> Readiness {
        assess(self.last_commit(), Instant::now(), now_ms(), self.max_age)
    }

    /// The node's peers (`None`: unknown).
    pub fn set_peers(&self, peers: Option<Peers>) {
        let store = |to: &AtomicU64, n: Option<usize>| {
            let v = n.map_or(u64::MAX, |n| u64::try_from(n).unwrap_or(u64::MAX - 1));
            to.store(v, Ordering::Relaxed);
        };
        store(&self.peers, peers.map(|p| p.connected));
        store(&self.validator_peers, peers.map(|p| p.validators));
    }

    /// Connected peers (anyone may connect), if known.
    pub fn peers(&self) -> Option<u64> {
        let v = self.peers.load(Ordering::Relaxed);
        (v != u64::MAX).then_some(v)
    }

    /// Connected validators of the set, if known.
    pub fn validator_peers(&self) -> Option<u64> {
        let v = self.validator_peers.load(Ordering::Relaxed);
        (v != u64::MAX).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Duration = Duration::from_secs(10);

    fn commit(at: Instant, block_time_ms: u64) -> Option<LastCommit> {
        Some(LastCommit {
            height: 5,
            block_time_ms,
            at,
        })
    }

    #[test]
    fn readiness_follows_the_last_commit_and_its_block_time() {
        let t0 = Instant::now();
        let wall = 1_000_000_000_000;
        assert_eq!(assess(None, t0, wall, AGE), Readiness::Starting);
        // Just committed a block made a second ago: ready.
        assert!(assess(commit(t0, wall - 1_000), t0, wall, AGE).is_ready());
        // A block from the proposer's clock slightly ahead of ours: still ready.
        assert!(assess(commit(t0, wall + 2_000), t0, wall, AGE).is_ready());
        // A block 15 s behind this clock: within the limit and the drift proposers' clocks
        // may have, so ready.
        assert!(assess(commit(t0, wall - 15_000), t0, wall, AGE).is_ready());
        // Just committed, but a block a minute old: syncing after downtime.
        assert_eq!(
            assess(commit(t0, wall - 60_000), t0, wall, AGE),
            Readiness::CatchingUp {
                behind: Duration::from_secs(60)
            }
        );
        // The last commit was 11 s ago (its block then recent): stalled, however the block
        // time compares.
        let later = t0 + Duration::from_secs(11);
        assert_eq!(
            assess(commit(t0, wall), later, wall + 11_000, AGE),
            Readiness::Stalled {
                since: Duration::from_secs(11)
            }
        );
        // At the limit exactly: still ready.
        let edge = t0 + AGE;
        assert!(assess(commit(t0, wall), edge, wall + 10_000, AGE).is_ready());
    }

    #[test]
    fn the_age_limit_comes_from_genesis_unless_configured() {
        let devnet = ConsensusParams {
            timeout_propose_ms: 1_000,
            timeout_prevote_ms: 300,
            timeout_precommit_ms: 300,
            block_interval_ms: 1_000,
            ..ConsensusParams::default()
        };
        assert_eq!(max_block_age(&devnet, 0), MIN_BLOCK_AGE);
        let slow = ConsensusParams {
            block_interval_ms: 2_000,
            ..devnet.clone()
        };
        assert_eq!(max_block_age(&slow, 0), Duration::from_millis(10_800));
        let waiting = ConsensusParams {
            empty_block_wait_ms: 500,
            ..slow.clone()
        };
        assert_eq!(max_block_age(&waiting, 0), Duration::from_millis(12_300));
        let fast = ConsensusParams {
            timeout_propose_ms: 100,
            timeout_prevote_ms: 50,
            timeout_precommit_ms: 50,
            block_interval_ms: 0,
            ..ConsensusParams::default()
        };
        assert_eq!(max_block_age(&fast, 0), MIN_BLOCK_AGE);
        assert_eq!(max_block_age(&fast, 1_500), Duration::from_millis(1_500));
    }

    #[test]
    fn peers_are_unknown_until_set() {
        let h = Health::new(AGE);
        assert_eq!((h.peers(), h.validator_peers()), (None, None));
        h.set_peers(Some(Peers {
            connected: 5,
            validators: 3,
        }));
        assert_eq!((h.peers(), h.validator_peers()), (Some(5), Some(3)));
        h.set_peers(None);
        assert_eq!((h.peers(), h.validator_peers()), (None, None));
        assert_eq!(h.readiness(), Readiness::Starting);
        h.committed(1, now_ms());
        assert!(h.readiness().is_ready());
    }
}
