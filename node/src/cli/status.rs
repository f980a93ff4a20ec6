//! `babel status`: a human summary of a running node, from its gRPC `Status`: height, how long
//! ago it last committed, readiness, peers, mempool, validators and rollups.

use std::{fmt::Write as _, time::Duration};

use anyhow::Context as _;
use babel_proto::v1;

/// How long connecting and asking may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Ask the node at `endpoint` (`http://host:port`) for its status.
pub async fn fetch(endpoint: &str) -> anyhow::Result<v1::StatusResponse> {
    let status = super::node_client(endpoint, TIMEOUT)
        .await?
        .status(v1::StatusRequest {})
        .await
        .with_context(|| format!("Status from {endpoint}"))?
        .into_inner();
    Ok(status)
}

/// Bytes for humans: B, KiB, MiB, GiB.
fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `text` without control characters: what a node sends must not drive the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The summary printed for `status`.
pub fn render(endpoint: &str, s: &v1::StatusResponse) -> String {
    let mut out = String::new();
    let last_commit = match s.last_commit_age_ms {
        Some(ms) => format!("last commit {:.1} s ago", ms as f64 / 1000.0),
        None => "no commit since the node started".to_owned(),
    };
    let peers = match (s.validator_peers, s.peers) {
        (Some(validators), Some(all)) => format!("{validators} validators ({all} connected)"),
        _ => "unknown".to_owned(),
    };
    let rollups: Vec<String> = s
        .rollups
        .iter()
        .map(|r| format!("{} {} ({})", r.id, clean(&r.name), clean(&r.vm)))
        .collect();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "node        {endpoint} (babel {})",
        clean(&s.node_version)
    );
    let _ = writeln!(out, "chain       {}", clean(&s.chain_id));
    let _ = writeln!(out, "height      {} ({last_commit})", s.height);
    let _ = writeln!(out, "readiness   {}", clean(&s.readiness));
    let _ = writeln!(out, "peers       {peers}");
    let _ = writeln!(
        out,
        "mempool     {} transactions, {}",
        s.mempool_size,
        bytes(s.mempool_bytes)
    );
    let _ = writeln!(out, "validators  {}", s.validators.len());
    let _ = writeln!(out, "rollups     {}", rollups.join(", "));
    out
}

/// Fetch and print the summary.
#[allow(clippy::print_stdout)]
pub async fn run(endpoint: &str) -> anyhow::Result<()> {
    let status = fetch(endpoint).await?;
    print!("{}", render(endpoint, &status));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_what_an_operator_checks_first() {
        let status = v1::StatusResponse {
            chain_id: "babel-devnet-1".into(),
            height: 1234,
            mempool_size: 12,
            mempool_bytes: 3 * 1024 + 512,
            node_version: "0.1.0".into(),
            peers: Some(4),
            validator_peers: Some(3),
            ready: false,
            readiness: "catching up: last block is 60 s old".into(),
            last_commit_age_ms: Some(800),
            rollups: vec![v1::RollupInfo {
                id: 1,
                name: "evm".into(),
                vm: "evm".into(),
                namespace: Default::default(),
            }],
            ..Default::default()
        };
        let text = render("http://127.0.0.1:9090", &status);
        for want in [
            "chain       babel-devnet-1",
            "height      1234 (last commit 0.8 s ago)",
            "readiness   catching up: last block is 60 s old",
            "peers       3 validators (4 connected)",
            "mempool     12 transactions, 3.5 KiB",
            "rollups     1 evm (evm)",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        let unknown = render("x", &v1::StatusResponse::default());
        assert!(unknown.contains("peers       unknown"), "{unknown}");
        assert!(
            unknown.contains("no commit since the node started"),
            "{unknown}"
        );
        let hostile = v1::StatusResponse {
            chain_id: "evil\u{1b}[2J\u{7}chain".into(),
            ..Default::default()
        };
        let text = render("x", &hostile);
        assert!(text.contains("chain       evil?[2J?chain"), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
