//! What the driver tells operators: the height and round consensus is in, how long heights
//! take to decide, and what became of proposals. Registered under `babel_consensus_` by the
//! node; an unregistered [`ConsensusMetrics`] (the default) counts into the void.

use std::time::Instant;

use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::{Height, Refusal};

/// A metric label: (name, value).
type Label = [(&'static str, &'static str); 1];

/// Decide latencies, in seconds: 10 ms to about 40 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 13)
}

/// The driver's metrics. Cheap to clone: every clone updates the same values.
#[derive(Clone, Debug)]
pub struct ConsensusMetrics {
    height: Gauge,
    round: Gauge,
    decide_latency: Histogram,
    built: Counter,
    accepted: Counter,
    refused: Family<Label, Counter>,
}

impl Default for ConsensusMetrics {
    fn default() -> Self {
        Self {
            height: Gauge::default(),
            round: Gauge::default(),
            decide_latency: Histogram::new(latency_buckets()),
            built: Counter::default(),
            accepted: Counter::default(),
            refused: Family::default(),
        }
    }
}

impl ConsensusMetrics {
    /// New metrics, registered in `registry` (which the caller may have prefixed).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register("height", "Height consensus is deciding", m.height.clone());
        registry.register(
            "round",
            "Round of the height being decided",
            m.round.clone(),
        );
        registry.register(
            "decide_latency_seconds",
            "From the start of a height to its decision",
            m.decide_latency.clone(),
        );
        registry.register(
            "proposals_built",
            "Blocks this validator built as a round's proposer",
            m.built.clone(),
        );
        registry.register(
            "proposals_accepted",
            "Proposals of other validators found valid",
            m.accepted.clone(),
        );
        registry.register(
            "proposals_refused",
            "Proposals refused, by reason",
            m.refused.clone(),
        );
        // Every reason appears from the start, at zero, so that rates and alerts see it.
        for kind in Refusal::ALL {
            let _ = m.refused.get_or_create(&[("reason", kind.as_str())]);
        }
        m
    }

    pub(crate) fn started_round(&self, height: Height, round: u32) {
        self.height.set(i64::try_from(height.0).unwrap_or(i64::MAX));
        self.round.set(i64::from(round));
    }

    pub(crate) fn decided(&self, started: Instant) {
        self.decide_latency.observe(started.elapsed().as_secs_f64());
    }

    pub(crate) fn built(&self) {
        self.built.inc();
    }

    /// Proposals refused for `kind` so far.
    #[cfg(test)]
    pub(crate) fn refused(&self, kind: Refusal) -> u64 {
        self.refused
            .get_or_create(&[("reason", kind.as_str())])
            .get()
    }

    pub(crate) fn judged(&self, refusal: Option<Refusal>) {
        match refusal {
            None => {
                self.accepted.inc();
            }
            Some(kind) => {
                self.refused
                    .get_or_create(&[("reason", kind.as_str())])
                    .inc();
            }
        }
    }
}

/// The engine's own metrics (Malachite's consensus, network and sync, labelled by moniker)
/// in Prometheus text format, ending with the `# EOF` marker.
pub fn engine_metrics() -> String {
    let mut out = String::new();
    malachitebft_app_channel::app::metrics::export(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap_or_default();
        out
    }

    #[test]
    fn every_refusal_reason_is_exported_and_counts() {
        let mut registry = Registry::with_prefix("babel_consensus");
        let m = ConsensusMetrics::register(&mut registry);
        for kind in Refusal::ALL {
            let line = format!(
                "babel_consensus_proposals_refused_total{{reason=\"{}\"}} 0",
                kind.as_str()
            );
            assert!(text(&registry).contains(&line), "{line} missing");
        }
        m.judged(Some(Refusal::Execution));
        m.judged(Some(Refusal::Execution));
        m.judged(None);
        m.started_round(Height(7), 2);
        let out = text(&registry);
        assert!(
            out.contains("babel_consensus_proposals_refused_total{reason=\"execution\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("babel_consensus_proposals_accepted_total 1"),
            "{out}"
        );
        assert!(out.contains("babel_consensus_height 7"), "{out}");
        assert!(out.contains("babel_consensus_round 2"), "{out}");
    }
}
