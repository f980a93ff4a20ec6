//! Where a run's time went, for a network the bench started: each validator's CPU time and
//! peak memory (from `/proc`, Linux only), and the first validator's time per phase of the
//! transaction and block path (from its `/metrics`), each divided by the finalized
//! transactions. Sampled just before the first submission and after the last finalization.
//! Resident memory is also traced through the run, to show whether it stays flat under load.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{metrics::Phase, ops::http_get};

/// What the bench can observe of the validators it started.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    /// The validators' process ids.
    pub(super) pids: Vec<u32>,
    /// The DA server's process id, if the bench started one.
    pub(super) da_pid: Option<u32>,
    /// The first validator's metrics server.
    pub(super) ops: SocketAddr,
}

/// The probe's readings at one moment.
#[derive(Clone, Debug)]
pub(super) struct Sample {
    /// CPU time (user + system) per validator, if `/proc` has it.
    cpu: Vec<Option<Duration>>,
    /// The DA server's CPU time.
    da_cpu: Option<Duration>,
    /// Seconds spent per phase (the histograms' sums), and in store writes, on validator 0.
    phases: BTreeMap<String, f64>,
}

/// Where the time went between two samples, per finalized transaction.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    /// CPU time per validator, per transaction.
    pub cpu: Vec<Option<Duration>>,
    /// The DA server's CPU time per transaction.
    pub da_cpu: Option<Duration>,
    /// Peak resident memory per validator, in bytes.
    pub peak_rss: Vec<Option<u64>>,
    /// Validator 0's time per phase, per transaction, in path order (`store write` last).
    pub phases: Vec<(String, Duration)>,
}

/// The name under which store writes appear beside the phases.
const STORE_WRITE: &str = "store write";

impl Probe {
    /// Read the validators' CPU times and validator 0's metrics.
    pub(super) fn sample(&self) -> Sample {
        let ticks = clock_ticks();
        let cpu_of = |pid: u32| cpu_time(&read_proc(pid, "stat")?, ticks?);
        let cpu = self.pids.iter().map(|pid| cpu_of(*pid)).collect();
        let da_cpu = self.da_pid.and_then(cpu_of);
        let phases = http_get(self.ops, "/metrics")
            .ok()
            .map(|(_, body)| phase_sums(&body))
            .unwrap_or_default();
        Sample {
            cpu,
            da_cpu,
            phases,
        }
    }

    /// The costs between `before` and `after`, over `txs` transactions.
    pub(super) fn costs(&self, before: &Sample, after: &Sample, txs: usize) -> Costs {
        let per_tx = |seconds: f64| Duration::from_secs_f64(seconds.max(0.0) / txs.max(1) as f64);
        let spent = |b: Option<Duration>, a: Option<Duration>| {
            Some(per_tx(a?.saturating_sub(b?).as_secs_f64()))
        };
        let cpu = before
            .cpu
            .iter()
            .zip(&after.cpu)
            .map(|(b, a)| spent(*b, *a))
            .collect();
        let da_cpu = spent(before.da_cpu, after.da_cpu);
        let peak_rss = self.memory("VmHWM:");
        let names = Phase::ALL.iter().map(|p| p.as_str()).chain([STORE_WRITE]);
        let phases = names
            .filter_map(|name| {
                let spent = after.phases.get(name)? - before.phases.get(name).unwrap_or(&0.0);
                Some((name.to_string(), per_tx(spent)))
            })
            .collect();
        Costs {
            cpu,
            da_cpu,
            peak_rss,
            phases,
        }
    }

    /// Each validator's memory `field` of `/proc/PID/status` (see [`status_bytes`]), in bytes.
    fn memory(&self, field: &str) -> Vec<Option<u64>> {
        self.pids
            .iter()
            .map(|pid| status_bytes(&read_proc(*pid, "status")?, field))
            .collect()
    }

    /// Record every validator's resident memory now and then every `every`, until the
    /// returned watch is finished.
    pub(super) fn watch_memory(&self, every: Duration) -> MemoryWatch {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let probe = self.clone();
        let task = {
            let samples = samples.clone();
            let start = Instant::now();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                loop {
                    ticks.tick().await;
                    let rss = probe.memory("VmRSS:");
                    let store = http_get(probe.ops, "/metrics")
                        .ok()
                        .and_then(|(_, body)| store_memory(&body));
                    samples
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(MemorySample {
                            at: start.elapsed(),
                            rss,
                            store,
                        });
                }
            })
        };
        MemoryWatch { task, samples }
    }
}

/// One reading of a memory trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemorySample {
    /// Time since sampling began.
    pub at: Duration,
    /// Each validator's resident bytes.
    pub rss: Vec<Option<u64>>,
    /// What validator 0's store keeps in memory (`babel_store_memory_bytes`, all parts).
    pub store: Option<u64>,
}

/// Resident memory being sampled in the background (see [`Probe::watch_memory`]).
#[derive(Debug)]
pub(super) struct MemoryWatch {
    task: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<Vec<MemorySample>>>,
}

impl MemoryWatch {
    /// Stop sampling and return what was seen.
    pub(super) fn finish(self) -> MemoryTrace {
        self.task.abort();
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        MemoryTrace { samples }
    }
}

/// Resident memory of each validator through a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryTrace {
    /// Time since sampling began, and each validator's resident bytes then.
    pub samples: Vec<MemorySample>,
}

/// At most this many points of a memory trace are printed.
const TRACE_POINTS: usize = 8;

impl MemoryTrace {
    /// The largest validator's resident bytes at each sample.
    fn largest(&self) -> Vec<(Duration, u64)> {
        self.samples
            .iter()
            .filter_map(|s| Some((s.at, s.rss.iter().flatten().copied().max()?)))
            .collect()
    }

    /// How much the largest validator's memory grew over the second half of the run, as a
    /// fraction of its size at the half-way sample (`None` with fewer than two samples).
    pub fn second_half_growth(&self) -> Option<f64> {
        let points = self.largest();
        let (_, last) = *points.last()?;
        let (_, mid) = *points.get(points.len().checked_sub(1)? / 2)?;
        (points.len() >= 2 && mid > 0).then(|| (last as f64 - mid as f64) / mid as f64)
    }
}

impl fmt::Display for MemoryTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let points = self.largest();
        if points.is_empty() {
            return write!(f, "memory over run   ? (no samples)");
        }
        write!(
            f,
            "memory over run   {} (largest validator's resident memory)",
            spaced(&points).join(", ")
        )?;
        if let Some(growth) = self.second_half_growth() {
            write!(f, "; second half {:+.1} %", growth * 100.0)?;
        }
        let store: Vec<(Duration, u64)> = self
            .samples
            .iter()
            .filter_map(|s| Some((s.at, s.store?)))
            .collect();
        if !store.is_empty() {
            write!(
                f,
                "\nstore memory      {} (validator 0's RocksDB: memtables, table readers, block \
                 cache)",
                spaced(&store).join(", ")
            )?;
        }
        Ok(())
    }
}

/// At most [`TRACE_POINTS`] evenly spaced points, always with the first and the last.
fn spaced(points: &[(Duration, u64)]) -> Vec<String> {
    let n = points.len();
    let count = TRACE_POINTS.min(n);
    (0..count)
        .map(|k| {
            let i = if count == 1 {
                0
            } else {
                k * (n - 1) / (count - 1)
            };
            let (at, bytes) = points[i];
            format!("{} s {} MiB", at.as_secs(), bytes / (1024 * 1024))
        })
        .collect()
}

/// The sum of `babel_store_memory_bytes` over its parts in a metrics exposition.
fn store_memory(text: &str) -> Option<u64> {
    let parts: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("babel_store_memory_bytes{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    (!parts.is_empty()).then(|| parts.iter().sum())
}

fn read_proc(pid: u32, file: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()
}

/// Clock ticks per second, the unit of `/proc/PID/stat`'s CPU times.
fn clock_ticks() -> Option<u64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// User plus system time from the text of `/proc/PID/stat`, whose fields after the command
/// name (in parentheses, which may hold spaces) start with the state, field 3; utime and
/// stime are fields 14 and 15.
fn cpu_time(stat: &str, ticks: u64) -> Option<Duration> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks.max(1) as f64,
    ))
}

/// A memory field of `/proc/PID/status` (`VmHWM:` the peak resident set, `VmRSS:` the
/// current one), in bytes.
fn status_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Each phase's total seconds (`babel_block_phase_seconds_sum{phase="..."}`) and the store
/// writes' (`babel_store_write_seconds_sum`) from a metrics exposition.
fn phase_sums(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if let Some(rest) = name.strip_prefix("babel_block_phase_seconds_sum{phase=\"") {
            if let Some(phase) = rest.strip_suffix("\"}") {
                out.insert(phase.to_string(), value);
            }
        } else if name == "babel_store_write_seconds_sum" {
            out.insert(STORE_WRITE.to_string(), value);
        }
    }
    out
}

impl fmt::Display for Costs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |d: &Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
        let cpu: Vec<String> = self
            .cpu
            .iter()
            .map(|c| c.as_ref().map_or("?".into(), us))
            .collect();
        write!(
            f,
            "cpu per tx        {} (per validator, user + system)",
            cpu.join(", ")
        )?;
        match &self.da_cpu {
            Some(da) => writeln!(f, "; DA server {}", us(da))?,
            None => writeln!(f)?,
        }
        let rss: Vec<String> = self
            .peak_rss
            .iter()
            .map(|r| r.map_or("?".into(), |b| format!("{} MiB", b / (1024 * 1024))))
            .collect();
        writeln!(f, "peak memory       {} (per validator)", rss.join(", "))?;
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(name, d)| format!("{name} {}", us(d)))
            .collect();
        write!(
            f,
            "phases per tx     {} (validator 0; build and validate include execute, which \
             includes tree; commit includes store write)",
            phases.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_reads_past_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (babel (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9";
        assert_eq!(cpu_time(stat, 100), Some(Duration::from_millis(3250)));
        assert_eq!(cpu_time("4242 (babel) S 1", 100), None);
    }

    #[test]
    fn memory_fields_are_read_in_bytes() {
        let status = "Name:\tbabel\nVmPeak:\t  900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(status_bytes(status, "VmHWM:"), Some(2 * 1024 * 1024));
        assert_eq!(status_bytes(status, "VmRSS:"), Some(1024 * 1024));
        assert_eq!(status_bytes("Name:\tbabel\n", "VmHWM:"), None);
    }

    #[test]
    fn a_memory_trace_shows_spaced_points_and_the_second_half_growth() {
        const MIB: u64 = 1024 * 1024;
        // Twenty samples 10 s apart; the largest validator grows from 100 to 119 MiB.
        let trace = MemoryTrace {
            samples: (0..20u64)
                .map(|i| MemorySample {
                    at: Duration::from_secs(10 * i),
                    rss: vec![Some((100 + i) * MIB), Some(50 * MIB), None],
                    store: None,
                })
                .collect(),
        };
        // Half-way is sample 9 (109 MiB), the last 119 MiB.
        let growth = trace.second_half_growth().unwrap();
        assert!((growth - 10.0 / 109.0).abs() < 1e-9, "{growth}");
        let text = trace.to_string();
        assert!(
            text.starts_with("memory over run   0 s 100 MiB, "),
            "{text}"
        );
        assert!(text.contains("190 s 119 MiB"), "{text}");
        assert_eq!(text.matches(" MiB").count(), TRACE_POINTS, "{text}");
        assert!(text.ends_with("second half +9.2 %"), "{text}");

        assert!(!text.contains("store memory"), "no store readings: {text}");

        let one = MemoryTrace {
            samples: vec![MemorySample {
                at: Duration::ZERO,
                rss: vec![Some(MIB)],
                store: Some(3 * MIB),
            }],
        };
        assert_eq!(one.second_half_growth(), None);
        let text = one.to_string();
        assert!(text.contains("0 s 1 MiB"), "{text}");
        assert!(text.contains("\nstore memory      0 s 3 MiB"), "{text}");
        assert!(MemoryTrace::default().to_string().contains("no samples"));
    }

    #[test]
    fn store_memory_sums_its_parts() {
        let text = "babel_store_memory_bytes{part=\"memtables\"} 100\n\
                    babel_store_memory_bytes{part=\"block_cache\"} 20\n\
                    babel_store_write_seconds_sum 0.5\n";
        assert_eq!(store_memory(text), Some(120));
        assert_eq!(store_memory("babel_store_write_seconds_sum 0.5\n"), None);
    }

    #[test]
    fn phase_sums_and_costs_per_transaction() {
        let before = "babel_block_phase_seconds_sum{phase=\"execute\"} 1.0\n\
                      babel_block_phase_seconds_count{phase=\"execute\"} 3\n\
                      babel_store_write_seconds_sum 0.5\n";
        let after = "babel_block_phase_seconds_sum{phase=\"execute\"} 3.0\n\
                     babel_block_phase_seconds_sum{phase=\"tree\"} 0.4\n\
                     babel_store_write_seconds_sum 1.5\n# EOF\n";
        let probe = Probe {
            pids: vec![],
            da_pid: None,
            ops: "127.0.0.1:1".parse().unwrap(),
        };
        let sample = |text: &str, da: u64| Sample {
            cpu: vec![Some(Duration::from_secs(1)), None],
            da_cpu: Some(Duration::from_secs(da)),
            phases: phase_sums(text),
        };
        let costs = probe.costs(&sample(before, 1), &sample(after, 3), 1000);
        assert_eq!(
            costs.phases,
            vec![
                ("execute".to_string(), Duration::from_millis(2)),
                ("tree".to_string(), Duration::from_micros(400)),
                (STORE_WRITE.to_string(), Duration::from_millis(1)),
            ]
        );
        assert_eq!(costs.cpu, vec![Some(Duration::ZERO), None]);
        assert_eq!(costs.da_cpu, Some(Duration::from_millis(2)));
        let text = costs.to_string();
        assert!(text.contains("execute 2000.0 µs"), "{text}");
        assert!(text.contains("store write 1000.0 µs"), "{text}");
        assert!(text.contains("; DA server 2000.0 µs"), "{text}");
    }
}
