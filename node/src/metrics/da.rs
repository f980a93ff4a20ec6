//! Metrics of posting to and following the DA layer (`babel_da_*`).

use std::time::Duration;

use prometheus_client::{
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use super::{Label, Metrics, gauge};

/// Why a post failed, as the `reason` label.
const FAILURES: [&str; 3] = ["unavailable", "refused", "layout"];

/// The DA metrics of a node.
#[derive(Clone, Debug)]
pub(super) struct DaMetrics {
    posted_through: Gauge,
    lag: Gauge,
    scanned: Gauge,
    submit_seconds: Histogram,
    submitted_bytes: Counter,
    submissions: Counter,
    failures: Family<Label, Counter>,
    duplicates: Counter,
}

impl DaMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let m = Self {
            posted_through: Gauge::default(),
            lag: Gauge::default(),
            scanned: Gauge::default(),
            // 10 ms to about 80 s: a Celestia submission waits for its block.
            submit_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            submitted_bytes: Counter::default(),
            submissions: Counter::default(),
            failures: Family::default(),
            duplicates: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("da");
        r.register(
            "posted_height",
            "Height through which every block is known to be posted to the DA",
            m.posted_through.clone(),
        );
        r.register(
            "posting_lag_blocks",
            "Committed blocks not yet known to be posted",
            m.lag.clone(),
        );
        r.register(
            "scanned_height",
            "DA height through which the follower has read the sequencer namespace",
            m.scanned.clone(),
        );
        r.register(
            "submit_seconds",
            "Time for one DA submission to be included",
            m.submit_seconds.clone(),
        );
        r.register(
            "submitted_bytes",
            "Blob bytes this node posted",
            m.submitted_bytes.clone(),
        );
        r.register(
            "submissions",
            "DA submissions this node made",
            m.submissions.clone(),
        );
        r.register(
            "post_failures",
            "Failed posts by reason",
            m.failures.clone(),
        );
        r.register(
            "duplicate_posts",
            "Posts found of blocks already posted",
            m.duplicates.clone(),
        );
        for reason in FAILURES {
            let _ = m.failures.get_or_create(&[("reason", reason)]);
        }
        m
    }
}

impl Metrics {
    /// Every block through `through` is posted; `committed` is the committed height.
    pub fn da_posted(&self, through: u64, committed: u64) {
        self.da.posted_through.set(gauge(through));
        self.da.lag.set(gauge(committed.saturating_sub(through)));
    }

    /// The follower has read through DA height `height`.
    pub fn da_scanned(&self, height: u64) {
        self.da.scanned.set(gauge(height));
    }

    /// A submission of `bytes` blob bytes was included after `elapsed`.
    pub fn da_submitted(&self, bytes: usize, elapsed: Duration) {
        self.da.submissions.inc();
        self.da.submitted_bytes.inc_by(bytes as u64);
        self.da.submit_seconds.observe(elapsed.as_secs_f64());
    }

    /// A post failed; `reason` is one of `unavailable`, `refused`, `layout`.
    pub fn da_failed(&self, reason: &'static str) {
        self.da.failures.get_or_create(&[("reason", reason)]).inc();
    }

    /// A second post of an already posted block was found.
    pub fn da_duplicate(&self) {
        self.da.duplicates.inc();
    }
}
