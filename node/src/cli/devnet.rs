//! `babel devnet`: a local validator network in one command.
//!
//! Creates (or reuses) N validator homes under one directory, runs one shared DA server
//! (`babel da serve`, its data in `DIR/da`, a token every request must carry) and each
//! validator as its own `babel start` process on 127.0.0.1, prints where everything is, and
//! reports progress until interrupted. Validators that die are reported and the devnet stops, so a crash is never
//! hidden.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use babel_genesis::ConsensusParams;

use crate::{
    config::{Config, DaBackend, DaConfig},
    home::{Home, NetworkOptions, create_network},
};

/// Devnet options.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// Directory holding the validator homes.
    pub dir: PathBuf,
    /// Number of validators.
    pub validators: u16,
    /// First p2p port.
    pub p2p_port: u16,
    /// First gRPC port.
    pub grpc_port: u16,
    /// Metrics and health port of the first validator.
    pub ops_port: u16,
    /// Port of the shared DA server (`babel da serve`) the validators post to.
    pub da_port: u16,
    /// Ethereum JSON-RPC port of the EVM rollup on the first validator.
    pub jsonrpc_port: u16,
    /// Throw away existing state and start a new chain.
    pub reset: bool,
    /// Stop after this long (for scripted runs); `None` runs until interrupted.
    pub duration: Option<Duration>,
}

/// Timeouts for a loopback network: quick rounds, one block per second.
pub fn devnet_params() -> ConsensusParams {
    ConsensusParams {
        timeout_propose_ms: 1_000,
        timeout_prevote_ms: 300,
        timeout_precommit_ms: 300,
        block_interval_ms: 1_000,
        ..ConsensusParams::default()
    }
}

/// A validator running as a `babel start` child process.
#[derive(Debug)]
pub struct Process {
    /// Its home directory.
    pub home: Home,
    /// Its log file (`node.log` in the home, appended to).
    pub log: PathBuf,
    /// The child process.
    pub child: Child,
}

/// Start `babel start --home HOME` (this same executable), logging to `HOME/node.log`.
pub fn spawn_validator(home: Home) -> anyhow::Result<Process> {
    let log = home.root().join("node.log");
    let child = spawn_babel(
        &["start", "--home", &home.root().display().to_string()],
        &log,
        &[],
    )
    .context("starting a validator")?;
    Ok(Process { home, log, child })
}

/// Start `babel da serve` on `port` with its data in `dir` (log `dir/da.log`), requiring
/// `token`.
pub fn spawn_da(dir: &Path, port: u16, token: &str) -> anyhow::Result<Child> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let listen = format!("127.0.0.1:{port}");
    let data = dir.join("data").display().to_string();
    spawn_babel(
        &["da", "serve", "--listen", &listen, "--dir", &data],
        &dir.join("da.log"),
        &[("BABEL_DA_AUTH_TOKEN", token)],
    )
    .context("starting the DA server")
}

/// Run this same executable with `args`, its stderr appended to `log`.
fn spawn_babel(args: &[&str], log: &Path, env: &[(&str, &str)]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the babel binary")?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    Ok(Command::new(&exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()?)
}

/// Point every home's config at the DA server on `port`, with a new random token; returns it.
pub fn share_da(homes: &[Home], port: u16) -> anyhow::Result<String> {
    use rand::RngCore as _;
    let mut secret = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = hex::encode(secret);
    for home in homes {
        let mut config = Config::load(&home.config())?;
        config.da = DaConfig {
            backend: DaBackend::Celestia,
            url: format!("http://127.0.0.1:{port}"),
            auth_token: token.clone(),
        };
        std::fs::write(home.config(), config.to_toml())
            .with_context(|| format!("writing {}", home.config().display()))?;
    }
    Ok(token)
}

/// Highest height a validator's log reports as committed (0 if none yet).
pub fn logged_height(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains("committed block"))
        .filter_map(|l| {
            l.split("height=")
                .nth(1)?
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

/// Run the devnet until Ctrl-C (or `duration`).
#[allow(clippy::print_stdout)]
pub fn run(opts: &DevnetOptions) -> anyhow::Result<()> {
    let homes: Vec<Home> = (0..opts.validators)
        .map(|i| Home::new(opts.dir.join(format!("node-{i}"))))
        .collect();
    let exists = homes.iter().all(|h| h.config().exists());
    if opts.reset && opts.dir.exists() {
        std::fs::remove_dir_all(&opts.dir)
            .with_context(|| format!("removing {}", opts.dir.display()))?;
    }
    if opts.reset || !exists {
        let network = NetworkOptions {
            evm_alloc: Vec::new(),
            wasm_contracts: Vec::new(),
            cairo_contracts: Vec::new(),
            chain_id: "babel-devnet-1".into(),
            p2p_port: opts.p2p_port,
            grpc_port: opts.grpc_port,
            ops_port: opts.ops_port,
            jsonrpc_port: Some(opts.jsonrpc_port),
            force: false,
            consensus: devnet_params(),
        };
        let genesis = create_network(&homes, &network)?;
        share_da(&homes, opts.da_port)?;
        println!(
            "created devnet {} in {}",
            genesis.chain_id,
            opts.dir.display()
        );
    } else {
        println!(
            "resuming devnet in {} (use --reset for a new chain)",
            opts.dir.display()
        );
    }

    // The DA first: validators post to it from their first block.
    let da_config = Config::load(&homes[0].config())?.da;
    let mut da = spawn_da(&opts.dir.join("da"), opts.da_port, &da_config.auth_token)?;
    println!(
        "DA: {} (celestia-node JSON-RPC; token in the validators' config.toml)  log {}",
        da_config.url,
        opts.dir.join("da").join("da.log").display()
    );
    let mut processes = Vec::new();
    for home in homes {
        let config = Config::load(&home.config())?;
        let process = spawn_validator(home)?;
        let jsonrpc: Vec<String> = config
            .jsonrpc
            .endpoints
            .iter()
            .map(|e| {
                format!(
                    "  JSON-RPC (rollup {}) http://{}",
                    e.rollup_id, e.listen_addr
                )
            })
            .collect();
        println!(
            "validator {}: gRPC {}{}  metrics http://{}/metrics  p2p {}  home {}  log {}",
            config.moniker,
            config.grpc.listen_addr,
            jsonrpc.concat(),
            config.ops.listen_addr,
            config.p2p.listen_addr,
            process.home.root().display(),
            process.log.display()
        );
        processes.push(process);
    }
    println!("press Ctrl-C to stop");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(monitor(&mut processes, &mut da, opts.duration));
    for p in &mut processes {
        stop(&mut p.child);
    }
    stop(&mut da);
    println!(
        "stopped at heights {:?}",
        processes
            .iter()
            .map(|p| logged_height(&p.log))
            .collect::<Vec<_>>()
    );
    result
}

#[allow(clippy::print_stdout)]
async fn monitor(
    processes: &mut [Process],
    da: &mut Child,
    duration: Option<Duration>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = ticker.tick() => {}
        }
        if let Some(status) = da.try_wait()? {
            bail!("the DA server exited ({status})");
        }
        for p in processes.iter_mut() {
            if let Some(status) = p.child.try_wait()? {
                bail!(
                    "validator {} exited ({status}); see {}; its log ends:\n{}",
                    p.home.root().display(),
                    p.log.display(),
                    log_tail(&p.log, LOG_TAIL_BYTES)
                );
            }
        }
        let heights: Vec<u64> = processes.iter().map(|p| logged_height(&p.log)).collect();
        println!("heights {heights:?}");
        if duration.is_some_and(|d| started.elapsed() >= d) {
            return Ok(());
        }
    }
}

/// How much of a validator's log an exit report quotes.
const LOG_TAIL_BYTES: u64 = 2048;

/// The last `bytes` of the log at `path` (from its first whole line), however long the log.
pub fn log_tail(path: &std::path::Path, bytes: u64) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut tail = Vec::new();
    if file
        .seek(SeekFrom::Start(len.saturating_sub(bytes)))
        .is_err()
        || file.read_to_end(&mut tail).is_err()
    {
        return String::new();
    }
    let text = String::from_utf8_lossy(&tail);
    match (len > bytes, text.find('\n')) {
        (true, Some(cut)) => text[cut + 1..].to_string(),
        _ => text.into_owned(),
    }
}

/// SIGTERM, then SIGKILL if the validator has not exited within five seconds.
pub fn stop(child: &mut Child) {
    // The shell's own `kill`: a minimal system may have no kill program.
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_report_quotes_the_end_of_the_log_from_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("node.log");
        let lines: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, &lines).unwrap();
        let tail = log_tail(&log, 64);
        assert!(tail.starts_with("line "), "{tail:?}");
        assert!(tail.ends_with("line 999\n"));
        assert!(tail.len() <= 64);
        std::fs::write(&log, "short\n").unwrap();
        assert_eq!(log_tail(&log, 64), "short\n");
        assert_eq!(log_tail(&dir.path().join("missing"), 64), "");
    }
}
