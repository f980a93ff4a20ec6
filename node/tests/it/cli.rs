//! The CLI: help, errors, `init`, `testnet`, `keys show`, `genesis validate`.

use babel_genesis::Genesis;
use babel_node::config::Config;

use crate::support::{babel, stderr, stdout, testnet_homes};

#[test]
fn help_works_for_every_command() {
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["testnet", "--help"],
        vec!["start", "--help"],
        vec!["devnet", "--help"],
        vec!["tx", "--help"],
        vec!["tx", "send", "--help"],
        vec!["bench", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "show", "--help"],
        vec!["genesis", "--help"],
        vec!["genesis", "validate", "--help"],
    ] {
        let out = babel(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
    assert!(babel(&["--version"]).status.success());
}

#[test]
fn missing_and_malformed_genesis_give_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let out = babel(&["genesis", "validate", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot read genesis file"), "{err}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"chain_id\": \"x\",\n \"validators\": [}").unwrap();
    let out = babel(&["genesis", "validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("malformed genesis at line 2"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn unknown_command_and_bad_flags_are_usage_errors() {
    assert_eq!(babel(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        babel(&["testnet", "--validators", "0", "--output", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn init_creates_a_home_that_validates_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let h = home.to_str().unwrap();
    let out = babel(&["init", "--home", h, "--chain-id", "babel-test-9"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let genesis = Genesis::load(&home.join("genesis.json")).unwrap();
    assert_eq!(genesis.chain_id, "babel-test-9");
    assert_eq!(genesis.validators.len(), 1);
    let out = babel(&[
        "genesis",
        "validate",
        home.join("genesis.json").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(&hex::encode(genesis.hash())));

    let out = babel(&["keys", "show", "--home", h]);
    assert!(out.status.success());
    let key_line = stdout(&out);
    assert!(
        key_line.contains(&hex::encode(&genesis.validators[0].public_key.0)),
        "{key_line}"
    );

    let again = babel(&["init", "--home", h]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already initialised"));
    // --force starts a new chain, so the old chain's data goes too.
    std::fs::create_dir_all(home.join("data/store")).unwrap();
    std::fs::write(home.join("data/store/CURRENT"), "old").unwrap();
    assert!(babel(&["init", "--home", h, "--force"]).status.success());
    assert!(!home.join("data/store").exists());
    let new = Genesis::load(&home.join("genesis.json")).unwrap();
    assert_ne!(
        new.validators[0].public_key,
        genesis.validators[0].public_key
    );
}

#[test]
fn testnet_homes_share_genesis_and_peer_with_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, "babel-local-1");
    let genesis: Vec<Genesis> = homes
        .iter()
        .map(|h| Genesis::load(&h.join("genesis.json")).unwrap())
        .collect();
    assert!(genesis.iter().all(|g| g.hash() == genesis[0].hash()));
    assert_eq!(genesis[0].validators.len(), 4);
    for (i, home) in homes.iter().enumerate() {
        let out = babel(&[
            "genesis",
            "validate",
            home.join("genesis.json").to_str().unwrap(),
        ]);
        assert!(out.status.success());
        let config = Config::load(&home.join("config.toml")).unwrap();
        assert_eq!(config.p2p.listen_addr, genesis[0].validators[i].p2p_address);
        assert_eq!(config.p2p.persistent_peers.len(), 3);
        assert!(
            !config
                .p2p
                .persistent_peers
                .contains(&config.p2p.listen_addr)
        );
        let key = babel(&["keys", "show", "--home", home.to_str().unwrap()]);
        assert!(stdout(&key).contains(&hex::encode(&genesis[0].validators[i].public_key.0)));
    }
}

#[test]
fn start_with_a_missing_home_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = babel(&["start", "--home", dir.path().join("none").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: cannot read config"),
        "{}",
        stderr(&out)
    );
}

/// `babel bench --workload wasm-transfer` on its own one-validator network: every transfer of
/// the WASM token is finalized, the sampled receipts all succeeded, and the report says where
/// the validator's time went.
/// Run `babel bench` with `workload` on its own network; its report, once every transaction was
/// sent, accepted and finalized and every sampled receipt succeeded.
fn bench_report(workload: &str, txs: u32, senders: u32) -> String {
    let base = crate::support::free_port_range(3);
    let (p2p, grpc, ops) = (
        base.to_string(),
        (base + 1).to_string(),
        (base + 2).to_string(),
    );
    let (txs, senders) = (txs.to_string(), senders.to_string());
    let out = babel(&[
        "bench",
        "--workload",
        workload,
        "--txs",
        &txs,
        "--senders",
        &senders,
        "--batch",
        "100",
        "--p2p-port",
        &p2p,
        "--grpc-port",
        &grpc,
        "--ops-port",
        &ops,
    ]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}\n{}", stderr(&out));
    assert!(
        report.contains(&format!("{txs} sent, {txs} accepted, {txs} finalized")),
        "{report}"
    );
    let sampled = report
        .lines()
        .find_map(|l| l.strip_prefix("receipts"))
        .unwrap_or_default();
    assert!(sampled.trim().ends_with(" 0 failed"), "{report}");
    assert!(!sampled.trim().starts_with("0 sampled"), "{report}");
    report
}

#[test]
fn e2e_bench_runs_the_three_vm_workload() {
    // Every transaction finalized and every sampled receipt succeeded: the Locker reverts
    // unless the WASM relay and the Cairo counter both answered.
    bench_report("three-vm", 200, 20);
}

#[test]
fn e2e_bench_runs_the_ethereum_transfer_workload() {
    // Signed Ethereum transactions, admitted, executed and finalized like native ones, with
    // every sampled receipt a success.
    bench_report("eth-transfer", 400, 20);
}

#[test]
fn e2e_bench_runs_the_wasm_token_workload() {
    let report = bench_report("wasm-transfer", 600, 30);
    // Every transfer was admitted, signature-checked, executed and written: each of those
    // phases took some time per transaction, and the validator some CPU.
    let line = |prefix: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_default()
            .to_string()
    };
    let micros = |text: &str, name: &str| -> f64 {
        text.split(", ")
            .find_map(|part| part.trim().strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text:?}"))
    };
    let phases = line("phases per tx");
    for phase in [
        "admission",
        "signatures",
        "build",
        "execute",
        "tree",
        "commit",
        "store write",
    ] {
        assert!(micros(&phases, phase) > 0.0, "{phase}: {report}");
    }
    assert!(
        micros(&phases, "build") >= micros(&phases, "tree"),
        "{report}"
    );
    let cpu = line("cpu per tx");
    let cpu_us: f64 = cpu
        .trim()
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(cpu_us > 0.0, "{report}");
    assert!(line("peak memory").contains(" MiB"), "{report}");
    // Memory is sampled from the first submission on, so the trace starts at 0 s.
    assert!(
        line("memory over run").trim().starts_with("0 s "),
        "{report}"
    );

    // Against a running network there is no token: refused before anything is sent.
    let out = babel(&[
        "bench",
        "--workload",
        "wasm-transfer",
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("needs the bench's own network"));
}
