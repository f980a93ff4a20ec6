//! Where a run's time went, for a network the bench started: each validator's CPU time and
//! peak memory (from `/proc`, Linux only), and the first validator's time per phase of the
//! transaction and block path (from its `/metrics`), each divided by the finalized
//! transactions. Sampled just before the first submission and after the last finalization.

use std::{collections::BTreeMap, fmt, net::SocketAddr, time::Duration};

use crate::{metrics::Phase, ops::http_get};

/// What the bench can observe of the validators it started.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    /// The validators' process ids.
    pub(super) pids: Vec<u32>,
    /// The first validator's metrics server.
    pub(super) ops: SocketAddr,
}

/// The probe's readings at one moment.
#[derive(Clone, Debug)]
pub(super) struct Sample {
    /// CPU time (user + system) per validator, if `/proc` has it.
    cpu: Vec<Option<Duration>>,
    /// Seconds spent per phase (the histograms' sums), and in store writes, on validator 0.
    phases: BTreeMap<String, f64>,
}

/// Where the time went between two samples, per finalized transaction.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    /// CPU time per validator, per transaction.
    pub cpu: Vec<Option<Duration>>,
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
        let cpu = self
            .pids
            .iter()
            .map(|pid| Some(cpu_time(&read_proc(*pid, "stat")?, ticks?)))
            .map(Option::flatten)
            .collect();
        let phases = http_get(self.ops, "/metrics")
            .ok()
            .map(|(_, body)| phase_sums(&body))
            .unwrap_or_default();
        Sample { cpu, phases }
    }

    /// The costs between `before` and `after`, over `txs` transactions.
    pub(super) fn costs(&self, before: &Sample, after: &Sample, txs: usize) -> Costs {
        let per_tx = |seconds: f64| Duration::from_secs_f64(seconds.max(0.0) / txs.max(1) as f64);
        let cpu = before
            .cpu
            .iter()
            .zip(&after.cpu)
            .map(|(b, a)| Some(per_tx((*a)?.saturating_sub((*b)?).as_secs_f64())))
            .collect();
        let peak_rss = self
            .pids
            .iter()
            .map(|pid| peak_rss(&read_proc(*pid, "status")?))
            .collect();
        let names = Phase::ALL.iter().map(|p| p.as_str()).chain([STORE_WRITE]);
        let phases = names
            .filter_map(|name| {
                let spent = after.phases.get(name)? - before.phases.get(name).unwrap_or(&0.0);
                Some((name.to_string(), per_tx(spent)))
            })
            .collect();
        Costs {
            cpu,
            peak_rss,
            phases,
        }
    }
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

/// `VmHWM` (peak resident set) from the text of `/proc/PID/status`, in bytes.
fn peak_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
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
        writeln!(
            f,
            "cpu per tx        {} (per validator, user + system)",
            cpu.join(", ")
        )?;
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
    fn peak_rss_is_vm_hwm_in_bytes() {
        let status = "Name:\tbabel\nVmPeak:\t  900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(peak_rss(status), Some(2 * 1024 * 1024));
        assert_eq!(peak_rss("Name:\tbabel\n"), None);
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
            ops: "127.0.0.1:1".parse().unwrap(),
        };
        let sample = |text: &str| Sample {
            cpu: vec![Some(Duration::from_secs(1)), None],
            phases: phase_sums(text),
        };
        let costs = probe.costs(&sample(before), &sample(after), 1000);
        assert_eq!(
            costs.phases,
            vec![
                ("execute".to_string(), Duration::from_millis(2)),
                ("tree".to_string(), Duration::from_micros(400)),
                (STORE_WRITE.to_string(), Duration::from_millis(1)),
            ]
        );
        assert_eq!(costs.cpu, vec![Some(Duration::ZERO), None]);
        let text = costs.to_string();
        assert!(text.contains("execute 2000.0 µs"), "{text}");
        assert!(text.contains("store write 1000.0 µs"), "{text}");
    }
}
