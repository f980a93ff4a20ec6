//! EVM and WASM rollups calling each other in one transaction, on the node's own executor: a
//! Solidity token (EVM, rollup 1) deposits into a WASM vault (rollup 2) that decodes the
//! Solidity ABI, all or nothing; and re-entering the WASM rollup through the EVM is refused.

use crate::world::World;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolValue, sol};
use babel_genesis::Genesis;
use babel_proto::v1;

sol! {
    function credit(address account, uint256 amount) external returns (uint256);
    function depositTo(uint64 rollup, address vault, uint256 amount) external returns (uint256);
    function tryDepositTo(uint64 rollup, address vault, uint256 amount) external returns (bool);
    function locked() external view returns (uint256);
    function failedDeposits() external view returns (uint256);
    function callBack(uint64 rollup, address target, bytes data) external returns (bytes);
}

const EVM: u64 = 1;
const WASM: u64 = 2;
const SIGNER: [u8; 32] = [0x5A; 32];
const VAULT: [u8; 20] = [0xAA; 20];
const RELAY: [u8; 20] = [0xBB; 20];
const CAP: u64 = 500;

/// The example vault (`execution-adapters/wasm/contracts/vault.wat`): its `call` entry takes
/// the Solidity call `credit(address,uint256)`, credits the account (amounts up to 2^64 - 1)
/// under key `c` ‖ account, adds to the total under `t`, refuses to go past the cap under `p`
/// with `Error("vault cap reached")`, and returns the account's credits as an ABI `uint256`.
fn vault_wat() -> &'static str {
    include_str!("../../../execution-adapters/wasm/contracts/vault.wat")
}

/// The example relay (`execution-adapters/wasm/contracts/relay.wat`): its input is rollup
/// (8 bytes, LE) ‖ target length (1 byte) ‖ target ‖ call data; it makes that call with all its
/// gas and returns the callee's output, or reverts with it if the callee failed.
const RELAY_WAT: &str = include_str!("../../../execution-adapters/wasm/contracts/relay.wat");

fn genesis() -> Genesis {
    let vault = wat::parse_str(vault_wat()).unwrap();
    let relay = wat::parse_str(RELAY_WAT).unwrap();
    let json = serde_json::json!({
        "chain_id": "cross-vm",
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{ "public_key": hex::encode(
                             ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes()),
                         "voting_power": 1,
                         "p2p_address": "/ip4/127.0.0.1/tcp/1" }],
        "rollups": [
            { "id": EVM, "name": "evm", "vm": "evm", "initial_state": { "evm_chain_id": 7 } },
            { "id": WASM, "name": "wasm", "vm": "wasm", "initial_state": { "contracts": [
                { "id": hex::encode(VAULT), "code": hex::encode(&vault),
                  "storage": [{ "key": hex::encode(b"p"), "value": hex::encode(CAP.to_le_bytes()) }] },
                { "id": hex::encode(RELAY), "code": hex::encode(&relay) }
            ] } }
        ]
    });
    Genesis::from_json(json.to_string().as_bytes()).unwrap()
}

/// The world of [`genesis`], with the signer's transactions.
fn world() -> World {
    World::new(&genesis(), SIGNER, 5_000_000, EVM)
}

/// A `u64` (little-endian) of the WASM vault's storage.
fn vault_u64(w: &World, key: &[u8]) -> u64 {
    let full = [babel_wasm::state::storage_prefix(&VAULT).as_slice(), key].concat();
    w.get(WASM, &full)
        .map_or(0, |v| u64::from_le_bytes(v.try_into().unwrap()))
}

fn revert_reason(output: &[u8]) -> Option<String> {
    babel_execution::abi::decode_error_message(output)
}

#[test]
fn a_solidity_token_deposits_into_a_wasm_vault_all_or_nothing() {
    let mut w = world();
    let token = w.deploy_evm("Token", U256::from(1_000).abi_encode());
    let me = babel_evm::sender_address(&SIGNER);
    let vault = Address::from_slice(&VAULT);
    let account_key = [b"c".as_slice(), me.as_slice()].concat();

    // Success: locked on the EVM, credited in the WASM vault, one transaction.
    let deposit = depositToCall {
        rollup: WASM,
        vault,
        amount: U256::from(300),
    };
    let receipt = w.evm(&token, deposit.abi_encode());
    assert!(receipt.success, "{:?}", revert_reason(&receipt.output));
    let credited = depositToCall::abi_decode_returns(&receipt.output).unwrap();
    assert_eq!(credited, U256::from(300));
    assert_eq!(vault_u64(&w, &account_key), 300);
    assert_eq!(vault_u64(&w, b"t"), 300);
    let child = &receipt.root.as_ref().unwrap().children[0];
    assert_eq!(
        (child.rollup_id, child.target.as_ref()),
        (WASM, VAULT.as_slice())
    );
    assert_eq!(w.view(&token, lockedCall {}), U256::from(300));

    // Over the cap: the vault refuses, both rollups are undone, the reason reaches the client.
    let over = depositToCall {
        rollup: WASM,
        vault,
        amount: U256::from(CAP),
    };
    let receipt = w.evm(&token, over.abi_encode());
    assert!(!receipt.success);
    assert_eq!(
        revert_reason(&receipt.output).as_deref(),
        Some("vault cap reached")
    );
    assert_eq!(vault_u64(&w, b"t"), 300);
    assert_eq!(w.view(&token, lockedCall {}), U256::from(300));

    // Caught: the token undoes its lock and counts the failure; the vault is unchanged.
    let tried = tryDepositToCall {
        rollup: WASM,
        vault,
        amount: U256::from(CAP),
    };
    let receipt = w.evm(&token, tried.abi_encode());
    assert!(receipt.success);
    assert!(!tryDepositToCall::abi_decode_returns(&receipt.output).unwrap());
    assert_eq!(w.view(&token, failedDepositsCall {}), U256::from(1));
    assert_eq!(w.view(&token, lockedCall {}), U256::from(300));
    assert_eq!(vault_u64(&w, b"t"), 300);
}

#[test]
fn wasm_to_evm_back_to_wasm_is_refused_as_reentrant() {
    let mut w = world();
    let evm_vault = w.deploy_evm("Vault", U256::from(1_000).abi_encode());
    // WASM relay → EVM Vault.callBack → back into the WASM rollup: refused.
    let back = callBackCall {
        rollup: WASM,
        target: Address::from_slice(&VAULT),
        data: creditCall {
            account: Address::ZERO,
            amount: U256::from(1),
        }
        .abi_encode()
        .into(),
    }
    .abi_encode();
    let mut input = EVM.to_le_bytes().to_vec();
    input.push(20);
    input.extend(&evm_vault);
    input.extend(back);
    let receipt = w.send(
        WASM,
        v1::transaction::Payload::Wasm(v1::WasmCall {
            contract: RELAY.to_vec().into(),
            method: "relay".into(),
            input: input.into(),
            code: Default::default(),
        }),
    );
    assert!(!receipt.success);
    let why = revert_reason(&receipt.output).unwrap_or_default();
    assert!(why.contains("reentrant"), "{why:?}");
    assert_eq!(vault_u64(&w, b"t"), 0, "nothing of the refused call ran");
}

/// A real validator: a WASM vault deployed by transaction over gRPC, a Solidity token
/// deployed the same way depositing into it, the vault read with `Call` and its storage
/// proven against the block's WASM state root.
#[test]
fn e2e_a_wasm_contract_deployed_over_grpc_is_called_from_the_evm_and_proven() {
    use crate::support::{
        Validator, client, grpc_addr, runtime, testnet_homes, wait_finalized, wait_for,
    };
    use babel_node::txpath::admission::sign;
    use std::time::Duration;

    let chain = "babel-cross";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let mut node = Validator::start(&homes[0], 0);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= 1));
    let key = ed25519_dalek::SigningKey::from_bytes(&SIGNER);
    let pubkey = key.verifying_key().to_bytes();
    let tx = |rollup: u64, nonce: u64, payload: v1::transaction::Payload| {
        sign(
            &v1::Transaction {
                chain_id: chain.into(),
                rollup_id: rollup,
                sender_pubkey: pubkey.to_vec().into(),
                nonce,
                gas_limit: 10_000_000,
                max_fee: 0,
                payload: Some(payload),
            },
            &key,
        )
    };
    runtime().block_on(async {
        let mut client = client(grpc_addr(&homes[0])).await;
        let mut submit = async |signed: v1::SignedTransaction| {
            let r = client
                .submit_transaction(v1::SubmitTransactionRequest {
                    transaction: Some(signed),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(r.accepted, "{}", r.message);
            r.hash
        };
        // Deploy the vault with a cap of 1 000.
        let deploy = v1::transaction::Payload::Wasm(v1::WasmCall {
            contract: Default::default(),
            method: "init".into(),
            input: 1_000u64.to_le_bytes().to_vec().into(),
            code: wat::parse_str(vault_wat()).unwrap().into(),
        });
        let hash = submit(tx(WASM, 0, deploy)).await;
        let mut client = crate::support::client(grpc_addr(&homes[0])).await;
        let deployed = wait_finalized(&mut client, &hash).await.receipt.unwrap();
        assert!(deployed.success, "{:?}", revert_reason(&deployed.output));
        let vault = deployed.output.to_vec();
        assert_eq!(vault.len(), 20);

        // The token, then a deposit of 250 into the vault.
        let json: serde_json::Value = serde_json::from_str(include_str!(
            "../../../execution-adapters/evm/tests/fixtures/contracts.json"
        ))
        .unwrap();
        let code = json["contracts"]["Token"]["bytecode"].as_str().unwrap();
        let mut code = hex::decode(code.trim_start_matches("0x")).unwrap();
        code.extend(U256::from(1_000).abi_encode());
        let evm = |to: Vec<u8>, data: Vec<u8>| {
            v1::transaction::Payload::Evm(v1::EvmCall {
                to: to.into(),
                value: Default::default(),
                data: data.into(),
            })
        };
        let hash = submit(tx(EVM, 0, evm(Vec::new(), code))).await;
        let token = wait_finalized(&mut client, &hash)
            .await
            .receipt
            .unwrap()
            .root
            .unwrap()
            .target
            .to_vec();
        let deposit = depositToCall {
            rollup: WASM,
            vault: Address::from_slice(&vault),
            amount: U256::from(250),
        };
        let hash = submit(tx(EVM, 1, evm(token, deposit.abi_encode()))).await;
        let done = wait_finalized(&mut client, &hash).await;
        let receipt = done.receipt.unwrap();
        assert!(receipt.success, "{:?}", revert_reason(&receipt.output));
        let child = &receipt.root.as_ref().unwrap().children[0];
        assert_eq!(
            (child.rollup_id, child.target.to_vec()),
            (WASM, vault.clone())
        );

        // Read-only: the vault's total through `Call`.
        let call = client
            .call(v1::CallRequest {
                transaction: Some(v1::Transaction {
                    chain_id: chain.into(),
                    rollup_id: WASM,
                    sender_pubkey: pubkey.to_vec().into(),
                    payload: Some(v1::transaction::Payload::Wasm(v1::WasmCall {
                        contract: vault.clone().into(),
                        method: "total".into(),
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
        assert!(call.success, "{:?}", revert_reason(&call.output));
        assert_eq!(call.output.as_ref(), 250u64.to_le_bytes());

        // Proven: the depositor's credit, under the WASM rollup's root of that block.
        let me = babel_evm::sender_address(&pubkey);
        let key = [
            babel_wasm::state::storage_prefix(&vault).as_slice(),
            b"c",
            me.as_slice(),
        ]
        .concat();
        let (proof, _, _) =
            crate::support::verified_state_proof(&mut client, WASM, &key, done.height).await;
        assert!(proof.exists);
        assert_eq!(proof.value.as_ref(), 250u64.to_le_bytes());
    });
    node.kill();
}
