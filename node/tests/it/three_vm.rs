//! One transaction through three VMs, on the node's own executor: a Solidity contract on the
//! EVM rollup calls the WASM relay, which calls a Cairo contract, and the answer flows back up;
//! a failure at the Cairo end undoes all three rollups, a caught one keeps only the caller's
//! side; and an asset locked on the EVM rollup is minted on the Cairo rollup with no bridge,
//! its supply conserved across rollups whatever happens.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue, sol};
use babel_cairo::{
    Felt252,
    felt::{bytes_to_felts, caller_felt, selector},
};
use babel_genesis::Genesis;

use crate::world::World;
use babel_proto::v1;
use proptest::{prelude::*, test_runner::Config};

sol! {
    function lockAndMint(uint64 rollup, bytes token, bytes32 to, uint256 amount) external returns (uint256);
    function relay(uint64 rollup, bytes target, bytes data) external returns (bytes);
    function tryRelay(uint64 rollup, bytes target, bytes data) external returns (bool, bytes);
    function relays() external view returns (uint256);
    function failedRelays() external view returns (uint256);
    function locked() external view returns (uint256);
    function balanceOf(address account) external view returns (uint256);
    function increment(uint256 by) external returns (uint256);
}

const EVM: u64 = 1;
const WASM: u64 = 2;
const CAIRO: u64 = 3;
const SIGNER: [u8; 32] = [0x3E; 32];
const RELAY: [u8; 20] = [0xBB; 20];
/// The Cairo counter's address at genesis.
const COUNTER: [u8; 32] = {
    let mut a = [0; 32];
    a[31] = 0xC0;
    a
};
const SUPPLY: u64 = 1_000;
const CAP: u64 = 600;

fn cairo_class(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../execution-adapters/cairo/contracts/compiled/{name}.sierra.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Calldata felts as a `CairoCall` carries them: 32 big-endian bytes each.
fn felts(values: &[u64]) -> Vec<bytes::Bytes> {
    values
        .iter()
        .map(|v| Felt252::from(*v).to_bytes_be().to_vec().into())
        .collect()
}

fn genesis() -> Genesis {
    let relay = wat::parse_str(include_str!(
        "../../../execution-adapters/wasm/contracts/relay.wat"
    ))
    .unwrap();
    let json = serde_json::json!({
        "chain_id": "three-vm",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": hex::encode(
                             ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes()),
                         "voting_power": 1,
                         "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [
            { "id": EVM, "name": "evm", "vm": "evm", "initial_state": { "evm_chain_id": 7 } },
            { "id": WASM, "name": "wasm", "vm": "wasm", "initial_state": { "contracts": [
                { "id": hex::encode(RELAY), "code": hex::encode(&relay) }
            ] } },
            // The counter starts at 10: its one storage variable `value` lives at the
            // Starknet storage address of its name.
            { "id": CAIRO, "name": "cairo", "vm": "cairo", "initial_state": { "contracts": [
                { "address": format!("0x{}", hex::encode(COUNTER)),
                  "sierra_class": cairo_class("counter"),
                  "storage": [{ "key": format!("0x{}", hex::encode(selector("value").to_bytes_be())),
                                "value": format!("0x{:064x}", 10) }] }
            ] } }
        ]
    });
    Genesis::from_json(json.to_string().as_bytes()).unwrap()
}

/// The world of [`genesis`], with the signer's transactions.
fn world() -> World {
    World::new(&genesis(), SIGNER, 20_000_000, EVM)
}

/// Deploy the `Locker` with the signer holding its whole supply; its address.
fn deploy_locker(w: &mut World) -> Vec<u8> {
    w.deploy_evm("Locker", U256::from(SUPPLY).abi_encode())
}

/// Call `entrypoint` of the Cairo contract `contract`.
fn cairo(w: &mut World, contract: &[u8], entrypoint: &str, calldata: Vec<Felt252>) -> v1::Receipt {
    w.send(
        CAIRO,
        v1::transaction::Payload::Cairo(v1::CairoCall {
            contract: contract.to_vec().into(),
            entrypoint: entrypoint.into(),
            calldata: calldata
                .iter()
                .map(|f| f.to_bytes_be().to_vec().into())
                .collect(),
            class: Default::default(),
        }),
    )
}

/// A Cairo view's answer as felts.
fn cairo_view(
    w: &mut World,
    contract: &[u8],
    entrypoint: &str,
    calldata: Vec<Felt252>,
) -> Vec<Felt252> {
    let receipt = cairo(w, contract, entrypoint, calldata);
    assert!(receipt.success, "{receipt:?}");
    receipt
        .output
        .chunks(32)
        .map(Felt252::from_bytes_be_slice)
        .collect()
}

/// The WASM relay's count of relays it made.
fn wasm_relays(w: &World) -> u64 {
    let key = [babel_wasm::state::storage_prefix(&RELAY).as_slice(), b"n"].concat();
    w.get(WASM, &key)
        .map_or(0, |v| u64::from_le_bytes(v.try_into().unwrap()))
}

/// The WASM relay's input: rollup (u64 LE) ‖ target length ‖ target ‖ call data.
fn via_wasm(rollup: u64, target: &[u8], data: &[u8]) -> Vec<u8> {
    let mut input = rollup.to_le_bytes().to_vec();
    input.push(u8::try_from(target.len()).unwrap());
    input.extend(target);
    input.extend(data);
    input
}

fn reason(output: &[u8]) -> Option<String> {
    babel_execution::abi::decode_error_message(output)
}

/// EVM → WASM → Cairo `increment(by)`, made by `Locker.relay` or `Locker.tryRelay`.
fn three_hops(by: u64, catch: bool) -> Vec<u8> {
    let data = via_wasm(
        CAIRO,
        &COUNTER,
        &incrementCall { by: U256::from(by) }.abi_encode(),
    );
    if catch {
        tryRelayCall {
            rollup: WASM,
            target: RELAY.to_vec().into(),
            data: data.into(),
        }
        .abi_encode()
    } else {
        relayCall {
            rollup: WASM,
            target: RELAY.to_vec().into(),
            data: data.into(),
        }
        .abi_encode()
    }
}

#[test]
fn one_transaction_runs_evm_then_wasm_then_cairo_and_the_answer_flows_back() {
    let mut w = world();
    let locker = deploy_locker(&mut w);
    let receipt = w.evm(&locker, three_hops(5, false));
    assert!(receipt.success, "{:?}", reason(&receipt.output));
    // Cairo answered a uint256 in ABI; WASM and the EVM passed it up unchanged.
    let answer = relayCall::abi_decode_returns(&receipt.output).unwrap();
    assert_eq!(U256::abi_decode(&answer).unwrap(), U256::from(15));
    // The call tree: EVM → WASM → Cairo.
    let root = receipt.root.as_ref().unwrap();
    let wasm = &root.children[0];
    let cairo = &wasm.children[0];
    assert_eq!((wasm.rollup_id, cairo.rollup_id), (WASM, CAIRO));
    assert_eq!(cairo.target.as_ref(), COUNTER.as_slice());
    // Every rollup's side is kept.
    assert_eq!(w.view(&locker, relaysCall {}), U256::from(1));
    assert_eq!(wasm_relays(&w), 1);
    assert_eq!(
        cairo_view(&mut w, &COUNTER, "get", vec![]),
        vec![Felt252::from(15u64)]
    );
}

#[test]
fn a_failure_at_the_cairo_end_undoes_all_three_rollups() {
    let mut w = world();
    let locker = deploy_locker(&mut w);
    let receipt = w.evm(&locker, three_hops(0, false));
    assert!(!receipt.success);
    // The Cairo assert's message reaches the client through WASM and the EVM.
    assert_eq!(reason(&receipt.output).as_deref(), Some("zero increment"));
    assert_eq!(w.view(&locker, relaysCall {}), U256::ZERO);
    assert_eq!(wasm_relays(&w), 0);
    assert_eq!(
        cairo_view(&mut w, &COUNTER, "get", vec![]),
        vec![Felt252::from(10u64)]
    );
}

#[test]
fn a_caught_failure_keeps_only_the_caller_side() {
    let mut w = world();
    let locker = deploy_locker(&mut w);
    let receipt = w.evm(&locker, three_hops(0, true));
    assert!(receipt.success, "{:?}", reason(&receipt.output));
    let (ok, why) = tryRelayCall::abi_decode_returns(&receipt.output)
        .map(|r| (r._0, r._1))
        .unwrap();
    assert!(!ok);
    assert_eq!(reason(&why).as_deref(), Some("zero increment"));
    assert_eq!(w.view(&locker, relaysCall {}), U256::from(1));
    assert_eq!(w.view(&locker, failedRelaysCall {}), U256::from(1));
    assert_eq!(
        wasm_relays(&w),
        0,
        "the WASM frame failed with the Cairo one"
    );
    assert_eq!(
        cairo_view(&mut w, &COUNTER, "get", vec![]),
        vec![Felt252::from(10u64)]
    );
}

/// The bridgeless asset: a Locker on the EVM rollup and the Cairo asset it mints on.
struct Asset {
    w: World,
    locker: Vec<u8>,
    asset: Vec<u8>,
    me: Address,
}

impl Asset {
    fn new() -> Self {
        let mut w = world();
        let locker = deploy_locker(&mut w);
        // Only the Locker, calling from the EVM rollup, may mint.
        let minter = caller_felt(EVM, &locker);
        let receipt = w.send(
            CAIRO,
            v1::transaction::Payload::Cairo(v1::CairoCall {
                class: serde_json::to_vec(&cairo_class("asset")).unwrap().into(),
                calldata: [minter, Felt252::from(CAP), Felt252::ZERO]
                    .iter()
                    .map(|f| f.to_bytes_be().to_vec().into())
                    .collect(),
                ..Default::default()
            }),
        );
        assert!(receipt.success, "{receipt:?}");
        let asset = receipt.output.to_vec();
        let me = babel_evm::sender_address(&SIGNER);
        Self {
            w,
            locker,
            asset,
            me,
        }
    }

    fn lock_and_mint(&mut self, amount: u64) -> v1::Receipt {
        let call = lockAndMintCall {
            rollup: CAIRO,
            token: self.asset.clone().into(),
            to: B256::with_last_byte(0x42),
            amount: U256::from(amount),
        };
        self.w.evm(&self.locker, call.abi_encode())
    }

    /// (EVM balance of the signer, EVM locked, Cairo supply, Cairo balance of the recipient).
    fn books(&mut self) -> (u64, u64, u64, u64) {
        let balance = self
            .w
            .view(&self.locker, balanceOfCall { account: self.me });
        let locked = self.w.view(&self.locker, lockedCall {});
        let asset = self.asset.clone();
        let supply = cairo_view(&mut self.w, &asset, "total_supply", vec![]);
        let held = cairo_view(
            &mut self.w,
            &asset,
            "balance_of",
            vec![Felt252::from(0x42u64)],
        );
        let low = |f: &[Felt252]| u64::try_from(f[0]).unwrap();
        (balance.to(), locked.to(), low(&supply), low(&held))
    }
}

#[test]
fn tokens_locked_on_the_evm_are_minted_on_cairo_in_one_transaction() {
    let mut a = Asset::new();
    let receipt = a.lock_and_mint(400);
    assert!(receipt.success, "{:?}", reason(&receipt.output));
    assert_eq!(
        lockAndMintCall::abi_decode_returns(&receipt.output).unwrap(),
        U256::from(400)
    );
    assert_eq!(a.books(), (600, 400, 400, 400));
    // The Cairo event is in the receipt, under the asset's address.
    let minted = &receipt.root.as_ref().unwrap().children[0];
    assert_eq!(minted.logs.len(), 1);
    assert_eq!(minted.logs[0].address.as_ref(), a.asset.as_slice());

    // Past the cap: the asset refuses, the lock is undone.
    let receipt = a.lock_and_mint(300);
    assert_eq!(reason(&receipt.output).as_deref(), Some("over cap"));
    assert_eq!(a.books(), (600, 400, 400, 400));

    // Minting directly on the Cairo rollup, not through the Locker, is refused.
    let mint = [
        alloy_primitives::hex!("e1856ff4").as_slice(),
        B256::with_last_byte(0x42).as_slice(),
        &U256::from(1).to_be_bytes::<32>(),
    ]
    .concat();
    let asset = a.asset.clone();
    let receipt = cairo(&mut a.w, &asset, "call", bytes_to_felts(&mint));
    assert!(!receipt.success);
    assert_eq!(reason(&receipt.output).as_deref(), Some("not minter"));
    assert_eq!(a.books(), (600, 400, 400, 400));
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .map_or(24, |n: u32| (n / 80).max(16))
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xA55E7),
        ..Config::default()
    })]

    /// Whatever the amounts (within the balance or not, within the cap or not), what is locked
    /// on the EVM rollup is exactly what the Cairo rollup minted, and nothing is created or
    /// lost.
    #[test]
    fn supply_is_conserved_across_rollups_in_every_outcome(
        amounts in prop::collection::vec(0u64..700, 1..6),
    ) {
        let mut a = Asset::new();
        for amount in amounts {
            let (before, _, supply_before, _) = a.books();
            let receipt = a.lock_and_mint(amount);
            // It goes through exactly when the signer holds the amount and the cap allows it.
            prop_assert_eq!(
                receipt.success,
                amount <= before && supply_before + amount <= CAP
            );
            let (balance, locked, supply, held) = a.books();
            prop_assert_eq!(balance + locked, SUPPLY);
            prop_assert_eq!(locked, supply);
            prop_assert_eq!(supply, held);
        }
    }
}

/// A real validator: the counter class deployed by a transaction over gRPC (the node compiles
/// it), incremented by another, read with `Call`, and its storage proven against the block's
/// Cairo state root.
#[test]
fn e2e_a_cairo_contract_deployed_over_grpc_is_called_read_and_proven() {
    use crate::support::{
        Validator, client, grpc_addr, runtime, testnet_homes, verified_state_proof, wait_finalized,
        wait_for,
    };
    use babel_node::txpath::admission::sign;
    use std::time::Duration;

    let chain = "babel-cairo";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let mut node = Validator::start(&homes[0], 0);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= 1));
    let key = ed25519_dalek::SigningKey::from_bytes(&SIGNER);
    let pubkey = key.verifying_key().to_bytes();
    let tx = |nonce: u64, call: v1::CairoCall| {
        sign(
            &v1::Transaction {
                chain_id: chain.into(),
                rollup_id: CAIRO,
                sender_pubkey: pubkey.to_vec().into(),
                nonce,
                // A deploy of the counter class pays about 13.5 M for its bytes alone.
                gas_limit: 30_000_000,
                max_fee: 0,
                payload: Some(v1::transaction::Payload::Cairo(call)),
            },
            &key,
        )
    };
    runtime().block_on(async {
        let mut submitter = client(grpc_addr(&homes[0])).await;
        let mut submit = async |signed: v1::SignedTransaction| {
            let r = submitter
                .submit_transaction(v1::SubmitTransactionRequest {
                    transaction: Some(signed),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(r.accepted, "{}", r.message);
            r.hash
        };
        let class = serde_json::to_vec(&cairo_class("counter")).unwrap();
        let hash = submit(tx(
            0,
            v1::CairoCall {
                class: class.into(),
                calldata: felts(&[7]),
                ..Default::default()
            },
        ))
        .await;
        let mut reader = client(grpc_addr(&homes[0])).await;
        let deployed = wait_finalized(&mut reader, &hash).await.receipt.unwrap();
        assert!(deployed.success, "{:?}", reason(&deployed.output));
        let counter = deployed.output.to_vec();
        assert_eq!(counter.len(), 32);
        let hash = submit(tx(
            1,
            v1::CairoCall {
                contract: counter.clone().into(),
                entrypoint: "increment".into(),
                calldata: felts(&[5]),
                ..Default::default()
            },
        ))
        .await;
        let done = wait_finalized(&mut reader, &hash).await;
        let receipt = done.receipt.unwrap();
        assert!(receipt.success, "{:?}", reason(&receipt.output));
        assert_eq!(receipt.output.as_ref(), Felt252::from(12u64).to_bytes_be());

        // Read-only: `get` through `Call`.
        let call = reader
            .call(v1::CallRequest {
                transaction: Some(v1::Transaction {
                    chain_id: chain.into(),
                    rollup_id: CAIRO,
                    sender_pubkey: pubkey.to_vec().into(),
                    payload: Some(v1::transaction::Payload::Cairo(v1::CairoCall {
                        contract: counter.clone().into(),
                        entrypoint: "get".into(),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .receipt
            .unwrap();
        assert!(call.success, "{:?}", reason(&call.output));
        assert_eq!(call.output.as_ref(), Felt252::from(12u64).to_bytes_be());

        // Proven: the counter's `value` slot under the Cairo rollup's root of that block.
        let key = babel_cairo::state::storage_key(
            &counter.as_slice().try_into().unwrap(),
            &selector("value").to_bytes_be(),
        );
        let (proof, _, _) = verified_state_proof(&mut reader, CAIRO, &key, done.height).await;
        assert!(proof.exists);
        assert_eq!(proof.value.as_ref(), Felt252::from(12u64).to_bytes_be());

        // A class of the usual size (the asset's JSON is larger than 128 KiB) fits in one
        // deploy transaction under the default genesis.
        let class = serde_json::to_vec(&cairo_class("asset")).unwrap();
        assert!(class.len() > 128 * 1024, "{}", class.len());
        let hash = submit(tx(
            2,
            v1::CairoCall {
                class: class.into(),
                calldata: felts(&[1, 1_000, 0]),
                ..Default::default()
            },
        ))
        .await;
        let deployed = wait_finalized(&mut reader, &hash).await.receipt.unwrap();
        assert!(deployed.success, "{:?}", reason(&deployed.output));
        assert_eq!(deployed.output.len(), 32);
    });

    // The same through `babel tx send`, signed by the home's key: deploy, then call.
    let home = homes[0].to_str().unwrap();
    let class = format!(
        "{}/../execution-adapters/cairo/contracts/compiled/counter.sierra.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let send = |args: &[&str]| {
        let mut all = vec!["tx", "send", "--home", home, "--rollup", "3", "--wait"];
        all.extend_from_slice(args);
        let out = crate::support::babel(&all);
        assert!(out.status.success(), "{}", crate::support::stderr(&out));
        let text = crate::support::stdout(&out);
        let output = text
            .split_once("succeeded gas_used ")
            .and_then(|(_, rest)| rest.split_once(" output 0x"))
            .map(|(_, hex)| hex.lines().next().unwrap_or_default().to_string());
        output.unwrap_or_else(|| panic!("no successful receipt in {text}"))
    };
    let address = send(&[
        "--nonce",
        "0",
        "--code",
        &class,
        "--felts",
        "7",
        "--gas-limit",
        "30000000",
    ]);
    assert_eq!(address.len(), 64, "{address}");
    let value = send(&[
        "--nonce",
        "1",
        "--to",
        &address,
        "--method",
        "increment",
        "--felts",
        "0x5",
    ]);
    assert_eq!(value, format!("{:064x}", 12));
    node.kill();
}

/// Four validators: hostile Cairo entry points (an endless loop, endless self-calls, deep
/// recursion, a flood of writes, answers dropped in a loop) each end in a failed receipt that
/// used its gas, the network keeps deciding, and every validator holds the same Cairo state.
#[test]
fn e2e_hostile_cairo_calls_fail_and_four_validators_keep_deciding_and_agree() {
    use crate::support::{
        Validator, client, grpc_addr, runtime, start_all, testnet_homes, verified_state_proof,
        wait_finalized, wait_for,
    };
    use babel_node::txpath::admission::sign;
    use std::time::Duration;

    let chain = "babel-cairo-hostile";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, chain);
    let mut nodes = start_all(&homes, 2, Duration::from_secs(60));
    let key = ed25519_dalek::SigningKey::from_bytes(&SIGNER);
    let pubkey = key.verifying_key().to_bytes();
    let tx = |nonce: u64, gas_limit: u64, call: v1::CairoCall| {
        sign(
            &v1::Transaction {
                chain_id: chain.into(),
                rollup_id: CAIRO,
                sender_pubkey: pubkey.to_vec().into(),
                nonce,
                gas_limit,
                max_fee: 0,
                payload: Some(v1::transaction::Payload::Cairo(call)),
            },
            &key,
        )
    };
    let deploy = |name: &str, calldata| v1::CairoCall {
        class: serde_json::to_vec(&cairo_class(name)).unwrap().into(),
        calldata,
        ..Default::default()
    };
    let call = |contract: &[u8], entrypoint: &str, calldata| v1::CairoCall {
        contract: contract.to_vec().into(),
        entrypoint: entrypoint.into(),
        calldata,
        ..Default::default()
    };
    runtime().block_on(async {
        let mut node = client(grpc_addr(&homes[0])).await;
        let mut submit = async |signed: v1::SignedTransaction| -> (v1::Receipt, u64, Vec<u8>) {
            let r = node
                .submit_transaction(v1::SubmitTransactionRequest {
                    transaction: Some(signed),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(r.accepted, "{}", r.message);
            let mut reader = client(grpc_addr(&homes[0])).await;
            let done = wait_finalized(&mut reader, &r.hash).await;
            (done.receipt.unwrap(), done.height, r.hash.to_vec())
        };
        let (hostile, _, _) = submit(tx(0, 10_000_000, deploy("hostile", Vec::new()))).await;
        assert!(hostile.success, "{:?}", reason(&hostile.output));
        let hostile = hostile.output.to_vec();
        let (counter, _, _) = submit(tx(1, 10_000_000, deploy("counter", felts(&[1])))).await;
        assert!(counter.success, "{:?}", reason(&counter.output));
        let counter = counter.output.to_vec();

        let attacks = [
            ("spin", felts(&[]), "Out of gas"),
            ("self_call", felts(&[0]), "calls nested too deep"),
            ("recurse", felts(&[100_000_000]), "Out of gas"),
            ("write_many", felts(&[1_000_000]), "Out of gas"),
            (
                "call_answer_many",
                felts(&[16_000, 1_000_000]),
                "Out of gas",
            ),
        ];
        for (nonce, (entrypoint, calldata, why)) in (2..).zip(attacks) {
            let (receipt, _, _) =
                submit(tx(nonce, 30_000_000, call(&hostile, entrypoint, calldata))).await;
            assert!(!receipt.success, "{entrypoint}");
            let reason = reason(&receipt.output).unwrap_or_default();
            assert!(reason.contains(why), "{entrypoint}: {reason}");
        }
        let (done, height, last) =
            submit(tx(7, 10_000_000, call(&counter, "increment", felts(&[4])))).await;
        assert!(done.success, "{:?}", reason(&done.output));

        // Every validator proves the same counter value under its own header's Cairo root.
        let key = babel_cairo::state::storage_key(
            &counter.as_slice().try_into().unwrap(),
            &selector("value").to_bytes_be(),
        );
        let mut at_height = Vec::new();
        for home in &homes {
            let mut reader = client(grpc_addr(home)).await;
            wait_finalized(&mut reader, &last).await;
            let (proof, _, _) = verified_state_proof(&mut reader, CAIRO, &key, height).await;
            assert_eq!(proof.value.as_ref(), Felt252::from(5u64).to_bytes_be());
            at_height.push(proof.state_root);
        }
        assert!(at_height.windows(2).all(|w| w[0] == w[1]), "{at_height:?}");
    });
    // And the network keeps deciding.
    let now = nodes.iter().map(Validator::logged_height).max().unwrap();
    assert!(wait_for(Duration::from_secs(60), || nodes
        .iter()
        .all(|n| n.logged_height() >= now + 3)));
    for n in &mut nodes {
        n.kill();
    }
}
