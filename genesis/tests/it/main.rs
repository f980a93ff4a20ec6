//! Genesis integration tests: golden hash, round trip, and one test per validation rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use babel_genesis::{Genesis, GenesisError, Namespace, VmKind};

const GOLDEN: &str = include_str!("../fixtures/golden.json");

/// The canonical hash of `fixtures/golden.json`. If this changes, every existing chain's genesis
/// hash changes: that is a breaking change and needs a migration note.
const GOLDEN_HASH: &str = "dc1bd58a1498ec6693ed9103fbc24611ee39601e0b0f2af0a2c532433cf137e8";

fn golden() -> Genesis {
    Genesis::from_json(GOLDEN.as_bytes()).expect("golden genesis is valid")
}

/// Applies `edit` to the golden genesis as JSON and returns the error from parsing the result.
fn error_after(edit: impl FnOnce(&mut serde_json::Value)) -> GenesisError {
    let mut value: serde_json::Value = serde_json::from_str(GOLDEN).expect("json");
    edit(&mut value);
    Genesis::from_json(value.to_string().as_bytes()).expect_err("edit must make genesis invalid")
}

fn invalid_field(err: GenesisError) -> (String, String) {
    match err {
        GenesisError::Invalid { field, reason } => (field, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn golden_hash_is_stable() {
    assert_eq!(hex::encode(golden().hash()), GOLDEN_HASH);
}

#[test]
fn an_empty_block_wait_is_hashed_only_when_set() {
    let mut g = golden();
    assert!(
        !String::from_utf8(g.canonical_bytes())
            .unwrap()
            .contains("empty_block_wait_ms")
    );
    g.consensus.empty_block_wait_ms = 500;
    let text = String::from_utf8(g.canonical_bytes()).unwrap();
    assert!(text.contains(r#""empty_block_wait_ms":500"#), "{text}");
    assert_ne!(hex::encode(g.hash()), GOLDEN_HASH);
}

#[test]
fn an_empty_block_wait_of_half_the_propose_timeout_up_to_5_s_is_accepted() {
    for (propose, wait) in [(2_000u64, 1_000u64), (20_000, 5_000)] {
        let mut value: serde_json::Value = serde_json::from_str(GOLDEN).expect("json");
        value["consensus"]["timeout_propose_ms"] = propose.into();
        value["consensus"]["empty_block_wait_ms"] = wait.into();
        let g = Genesis::from_json(value.to_string().as_bytes()).expect("valid");
        assert_eq!(g.consensus.empty_block_wait_ms, wait);
    }
}

#[test]
fn canonical_bytes_are_sorted_compact_json() {
    let bytes = golden().canonical_bytes();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with(r#"{"chain_id":"babel-golden-1","consensus":{"block_interval_ms":0,"#),
        "{text}"
    );
    assert!(!text.contains(' ') && !text.contains('\n'));
    // Derived namespaces are spelled out, so the hash covers them.
    assert!(text.contains(&format!(r#""namespace":"{}""#, Namespace::for_rollup(1))));
    assert!(text.contains(r#""sequencer_namespace":""#));
}

#[test]
fn golden_parses_with_expected_content() {
    let g = golden();
    assert_eq!(g.chain_id, "babel-golden-1");
    assert_eq!(g.genesis_time.unix_ms, 1_767_225_600_000);
    assert_eq!(g.total_voting_power(), 15);
    let kinds: Vec<VmKind> = g.rollups.iter().map(|r| r.vm.kind()).collect();
    assert_eq!(kinds, [VmKind::Evm, VmKind::Wasm, VmKind::Cairo]);
    assert_eq!(
        g.rollup(1).map(|r| r.effective_namespace()),
        Some(Namespace::for_rollup(1))
    );
    assert_eq!(
        g.rollup(2)
            .map(|r| r.effective_namespace().to_string())
            .as_deref(),
        Some("0102030405060708090a")
    );
}

#[test]
fn round_trip_through_pretty_json_keeps_value_and_hash() {
    let g = golden();
    let again = Genesis::from_json(g.to_json_pretty().as_bytes()).expect("re-parse");
    assert_eq!(again, g);
    assert_eq!(again.hash(), g.hash());
}

#[test]
fn hash_ignores_formatting_and_spelled_out_defaults() {
    let g = golden();
    let mut value: serde_json::Value = serde_json::from_str(GOLDEN).expect("json");
    value["rollups"][0]["namespace"] = Namespace::for_rollup(1).to_string().into();
    let compact = Genesis::from_json(value.to_string().as_bytes()).expect("valid");
    assert_eq!(compact.hash(), g.hash());
}

#[test]
fn hash_changes_with_content() {
    let mut other = golden();
    other.validators[1].voting_power += 1;
    assert_ne!(other.hash(), golden().hash());
}

#[test]
fn malformed_json_reports_position() {
    match Genesis::from_json(b"{\n  \"chain_id\": \"x\",\n  oops\n}") {
        Err(GenesisError::Parse { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected parse error, got {other:?}"),
    }
}

#[test]
fn unknown_field_is_refused() {
    let err = error_after(|v| v["validators"][0]["powr"] = 1.into());
    assert!(matches!(err, GenesisError::Parse { ref message, .. } if message.contains("powr")));
}

#[test]
fn missing_file_is_a_read_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Genesis::load(&dir.path().join("nope.json")).expect_err("missing");
    assert!(matches!(err, GenesisError::Read { .. }), "{err}");
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("genesis.json");
    std::fs::write(&path, GOLDEN).expect("write");
    assert_eq!(Genesis::load(&path).expect("load"), golden());
}

#[test]
fn validation_rules_name_the_field() {
    type Edit = fn(&mut serde_json::Value);
    let cases: &[(Edit, &str, &str)] = &[
        (|v| v["chain_id"] = "".into(), "chain_id", "1 to 64"),
        (|v| v["chain_id"] = "a b".into(), "chain_id", "only ASCII"),
        (
            |v| v["validators"] = serde_json::json!([]),
            "validators",
            "at least one",
        ),
        (
            |v| v["validators"][1]["voting_power"] = 0.into(),
            "validators[1].voting_power",
            "greater than 0",
        ),
        (
            |v| v["validators"][0]["voting_power"] = u64::MAX.into(),
            "validators[1].voting_power",
            "overflows",
        ),
        (
            |v| v["validators"][1]["public_key"] = "0x1234".into(),
            "validators[1].public_key",
            "32 bytes",
        ),
        (
            |v| v["validators"][1]["public_key"] = v["validators"][0]["public_key"].clone(),
            "validators[1].public_key",
            "duplicate",
        ),
        (
            |v| v["validators"][0]["p2p_address"] = "127.0.0.1:1".into(),
            "validators[0].p2p_address",
            "multiaddress",
        ),
        (
            |v| v["validators"][1]["p2p_address"] = v["validators"][0]["p2p_address"].clone(),
            "validators[1].p2p_address",
            "duplicate",
        ),
        (
            |v| v["consensus"]["timeout_propose_ms"] = 0.into(),
            "consensus.timeout_propose_ms",
            "greater than 0",
        ),
        (
            |v| v["consensus"]["empty_block_wait_ms"] = 1_001.into(),
            "consensus.empty_block_wait_ms",
            "half of timeout_propose_ms",
        ),
        (
            |v| {
                v["consensus"]["timeout_propose_ms"] = 20_000.into();
                v["consensus"]["empty_block_wait_ms"] = 5_001.into();
            },
            "consensus.empty_block_wait_ms",
            "at most 5000",
        ),
        (
            |v| v["consensus"]["max_tx_bytes"] = (1u64 << 40).into(),
            "consensus.max_tx_bytes",
            "exceeds",
        ),
        (
            |v| v["rollups"][1]["id"] = 1.into(),
            "rollups[1].id",
            "duplicate rollup id",
        ),
        (
            |v| v["rollups"][1]["name"] = "evm-demo".into(),
            "rollups[1].name",
            "duplicate",
        ),
        (
            |v| v["rollups"][1]["name"] = "Bad Name".into(),
            "rollups[1].name",
            "a-z",
        ),
        (
            |v| v["rollups"][1]["namespace"] = "00000000000000000005".into(),
            "rollups[1].namespace",
            "reserved",
        ),
        (
            |v| v["rollups"][1]["namespace"] = Namespace::for_rollup(1).to_string().into(),
            "rollups[1].namespace",
            "already used",
        ),
        (
            |v| {
                let mut twin = v["rollups"][0].clone();
                twin["id"] = 9.into();
                twin["name"] = "evm-twin".into();
                twin["namespace"] = Namespace::for_rollup(9).to_string().into();
                v["rollups"].as_array_mut().unwrap().push(twin);
            },
            "rollups[3].initial_state.evm_chain_id",
            "used by another rollup",
        ),
        (
            |v| {
                let alloc = &mut v["rollups"][0]["initial_state"]["alloc"];
                let first = alloc[0].clone();
                alloc.as_array_mut().unwrap().push(first);
            },
            "rollups[0].initial_state.alloc[1].address",
            "duplicate",
        ),
        (
            |v| v["rollups"][1]["initial_state"]["contracts"][0]["code"] = "0x00".into(),
            "rollups[1].initial_state.contracts[0].code",
            "WebAssembly",
        ),
        (
            |v| v["rollups"][1]["initial_state"]["contracts"][0]["id"] = "0x".into(),
            "rollups[1].initial_state.contracts[0].id",
            "1 to 32",
        ),
        (
            |v| {
                v["rollups"][2]["initial_state"]["contracts"][0]["address"] =
                    format!("0x{}", "ff".repeat(32)).into()
            },
            "rollups[2].initial_state.contracts[0].address",
            "felt252",
        ),
        (
            |v| v["rollups"][2]["initial_state"]["contracts"][0]["sierra_class"] = 1.into(),
            "rollups[2].initial_state.contracts[0].sierra_class",
            "Sierra",
        ),
    ];
    for (edit, want_field, want_reason) in cases {
        let (field, reason) = invalid_field(error_after(edit));
        assert_eq!(&field, want_field, "reason was: {reason}");
        assert!(
            reason.contains(want_reason),
            "{field}: {reason:?} lacks {want_reason:?}"
        );
    }
}

#[test]
fn evm_code_starting_with_0xef_is_refused() {
    let golden = golden();
    let address = match &golden.rollups[0].vm {
        babel_genesis::VmGenesis::Evm(evm) => evm.alloc[0].address,
        other => panic!("golden rollup 0 is EVM, got {other:?}"),
    };
    // A malformed EIP-7702 delegation (which revm's plain loader panics on), a well-formed
    // one, and the lone reserved byte.
    for code in [
        "0xef01",
        "0xef0100aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "0xef",
    ] {
        let err =
            error_after(|v| v["rollups"][0]["initial_state"]["alloc"][0]["code"] = code.into());
        match err {
            GenesisError::EvmCodeReserved { field, address: at } => {
                assert_eq!(field, "rollups[0].initial_state.alloc[0].code", "{code}");
                assert_eq!(at, address, "{code}");
            }
            other => panic!("{code}: expected EvmCodeReserved, got {other:?}"),
        }
    }
    // 0xEF elsewhere is ordinary code.
    let mut value: serde_json::Value = serde_json::from_str(GOLDEN).expect("json");
    value["rollups"][0]["initial_state"]["alloc"][0]["code"] = "0x60ef".into();
    assert!(Genesis::from_json(value.to_string().as_bytes()).is_ok());
}

#[test]
fn bad_public_key_point_is_refused() {
    // y = 2 does not decompress to a curve point.
    let mut bad = [0u8; 32];
    bad[0] = 2;
    let (field, reason) = invalid_field(error_after(|v| {
        v["validators"][0]["public_key"] = hex::encode(bad).into();
    }));
    assert_eq!(field, "validators[0].public_key");
    assert!(reason.contains("ed25519"), "{reason}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; (Genesis::MAX_FILE_BYTES + 1) as usize];
    assert!(matches!(
        Genesis::from_json(&big),
        Err(GenesisError::TooLarge { .. })
    ));
}

/// A valid ed25519 public key (of the secret seed `[n; 32]`), hex.
fn governance_key(n: u8) -> String {
    hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[n; 32])
            .verifying_key()
            .as_bytes(),
    )
}

#[test]
fn governance_is_optional_and_checked() {
    assert_eq!(golden().governance, None);
    let mut value: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    value["governance"] =
        serde_json::json!({ "keys": [governance_key(1), governance_key(2)], "threshold": 2 });
    let governed = Genesis::from_json(value.to_string().as_bytes()).unwrap();
    let governance = governed.governance.as_ref().unwrap();
    assert_eq!(governance.threshold, 2);
    assert!(governance.has_key(&hex::decode(governance_key(2)).unwrap()));
    assert!(!governance.has_key(&hex::decode(governance_key(3)).unwrap()));
    assert_ne!(
        governed.hash(),
        golden().hash(),
        "governance is in the hash"
    );
    let refused = |governance: serde_json::Value, field: &str, why: &str| {
        let (f, reason) = invalid_field(error_after(|v| v["governance"] = governance));
        assert_eq!(f, field);
        assert!(reason.contains(why), "{reason}");
    };
    refused(
        serde_json::json!({ "keys": [], "threshold": 1 }),
        "governance.keys",
        "1 to 32 keys",
    );
    refused(
        serde_json::json!({ "keys": [governance_key(1)], "threshold": 2 }),
        "governance.threshold",
        "1 to 1",
    );
    refused(
        serde_json::json!({ "keys": [governance_key(1)], "threshold": 0 }),
        "governance.threshold",
        "1 to 1",
    );
    refused(
        serde_json::json!({ "keys": [governance_key(1), governance_key(1)], "threshold": 1 }),
        "governance.keys",
        "duplicate",
    );
    refused(
        serde_json::json!({ "keys": ["abcd"], "threshold": 1 }),
        "governance.keys[0]",
        "32-byte",
    );
    // The identity point: a signature (R = identity, s = 0) verifies for any message.
    let identity = format!("01{}", "00".repeat(31));
    refused(
        serde_json::json!({ "keys": [identity], "threshold": 1 }),
        "governance.keys[0]",
        "weak",
    );
}

#[test]
fn the_sequencer_may_not_take_the_registrys_namespace() {
    let registry = Namespace::for_rollup(0).to_string();
    let (field, reason) =
        invalid_field(error_after(|v| v["sequencer_namespace"] = registry.into()));
    assert_eq!(field, "sequencer_namespace");
    assert!(reason.contains("registry"), "{reason}");
}

#[test]
fn rollup_id_zero_is_the_registrys() {
    let (field, reason) = invalid_field(error_after(|v| v["rollups"][0]["id"] = 0.into()));
    assert_eq!(field, "rollups[0].id");
    assert!(reason.contains("registry"), "{reason}");
}

#[test]
fn one_rollup_entry_parses_and_is_checked_alone() {
    let entry = serde_json::json!({ "id": 9, "name": "late", "vm": "evm",
                                    "initial_state": { "evm_chain_id": 99 } });
    let rollup =
        babel_genesis::RollupGenesis::from_json(entry.to_string().as_bytes(), 1 << 20).unwrap();
    assert_eq!((rollup.id, rollup.vm.kind()), (9, VmKind::Evm));
    let refused = |entry: serde_json::Value, max: usize| {
        babel_genesis::RollupGenesis::from_json(entry.to_string().as_bytes(), max).unwrap_err()
    };
    assert!(matches!(
        refused(entry.clone(), 10),
        GenesisError::TooLarge { limit: 10, .. }
    ));
    let mut bad = entry.clone();
    bad["name"] = "Bad Name".into();
    assert_eq!(invalid_field(refused(bad, 1 << 20)).0, "rollup.name");
    let mut zero = entry.clone();
    zero["id"] = 0.into();
    assert_eq!(invalid_field(refused(zero, 1 << 20)).0, "rollup.id");
    let mut reserved = entry;
    reserved["namespace"] = "00000000000000000001".into();
    assert_eq!(
        invalid_field(refused(reserved, 1 << 20)).0,
        "rollup.namespace"
    );
}
