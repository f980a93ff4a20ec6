//! What `babel bench` sends: EVM value transfers, transfers of a WASM token, or transactions
//! through three VMs.

use std::{fmt, str::FromStr};

use alloy_consensus::TxEip1559;
use alloy_primitives::{TxKind, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, sol};
use anyhow::Context as _;
use babel_genesis::{CairoContract, EvmAccount, Hex, WasmContract, WasmStorageEntry};
use babel_proto::v1;
use ed25519_dalek::SigningKey;
use sha2::{Digest as _, Sha256};

use crate::txpath::admission::{sign, sign_ethereum};

/// The transactions of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workload {
    /// EVM value transfers of 1 wei (0 against an external network) to distinct recipients.
    #[default]
    EvmTransfer,
    /// Transfers of 1 unit of the WASM token (`execution-adapters/wasm/contracts/token.wat`,
    /// at genesis on the bench's own network) to distinct recipients: a contract call with
    /// two storage reads and two writes each.
    WasmTransfer,
    /// EVM value transfers as [`Workload::EvmTransfer`], but signed Ethereum transactions
    /// (EIP-1559, secp256k1): the cost of recovering signers against checking ed25519.
    EthTransfer,
    /// One transaction through three VMs: the EVM `Locker` relays to the WASM relay, which
    /// calls the Cairo counter's `increment(1)` in Solidity ABI, and the answer flows back
    /// (all three at genesis on the bench's own network).
    ThreeVm,
}

impl Workload {
    /// The VM of the rollup it loads, as `Status` names it.
    pub fn vm(self) -> &'static str {
        match self {
            Self::EvmTransfer | Self::EthTransfer => "evm",
            Self::WasmTransfer => "wasm",
            Self::ThreeVm => "evm",
        }
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "evm-transfer" => Ok(Self::EvmTransfer),
            "eth-transfer" => Ok(Self::EthTransfer),
            "wasm-transfer" => Ok(Self::WasmTransfer),
            "three-vm" => Ok(Self::ThreeVm),
            other => Err(format!(
                "unknown workload {other:?} (evm-transfer, eth-transfer, wasm-transfer or three-vm)"
            )),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EvmTransfer => "evm-transfer",
            Self::EthTransfer => "eth-transfer",
            Self::WasmTransfer => "wasm-transfer",
            Self::ThreeVm => "three-vm",
        })
    }
}

/// Id of the bench's WASM token on the WASM rollup.
pub(super) const TOKEN: [u8; 20] = [0x70; 20];
/// Each sender's opening token balance.
const TOKEN_BALANCE: u64 = 1 << 40;
/// Gas limit of a token transfer: the transaction, loading the module, an instance, two reads,
/// two writes of new keys, and its instructions, with room to spare.
const TOKEN_TRANSFER_GAS: u64 = 200_000;

/// The token module.
fn token_code() -> anyhow::Result<Vec<u8>> {
    Ok(wat::parse_str(include_str!(
        "../../../../execution-adapters/wasm/contracts/token.wat"
    ))?)
}

sol! {
    function relay(uint64 rollup, bytes target, bytes data) external returns (bytes);
    function increment(uint256 by) external returns (uint256);
}

/// Rollup ids of the bench's network (the default genesis).
const WASM_ROLLUP: u64 = 2;
const CAIRO_ROLLUP: u64 = 3;
/// Where the three-VM workload's contracts are: the EVM `Locker`, the WASM relay and the Cairo
/// counter (a felt of 32 bytes).
const LOCKER: [u8; 20] = [0x10; 20];
const RELAY: [u8; 20] = [0xBB; 20];
const COUNTER: [u8; 32] = {
    let mut a = [0; 32];
    a[31] = 0xC0;
    a
};
/// Gas limit of a three-VM transaction: the EVM frame, two xcalls, the WASM relay and the
/// Cairo counter (about 150 000 in all), with room to spare.
const THREE_VM_GAS: u64 = 400_000;

/// Genesis accounts funding every sender on the EVM rollup, and the `Locker` contract.
pub(super) fn evm_alloc(keys: &[SigningKey]) -> anyhow::Result<Vec<EvmAccount>> {
    let fixtures: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../execution-adapters/evm/tests/fixtures/contracts.json"
    ))?;
    let locker = fixtures["contracts"]["Locker"]["deployedBytecode"]
        .as_str()
        .context("the Locker fixture")?;
    // Each sender's native address and its Ethereum twin's.
    let mut alloc: Vec<EvmAccount> = keys
        .iter()
        .flat_map(|key| {
            [
                babel_evm::sender_address(key.verifying_key().as_bytes()),
                ethereum_signer(key).address(),
            ]
        })
        .map(|address| EvmAccount {
            address,
            balance: U256::from(10u64).pow(U256::from(24u64)),
            nonce: 0,
            code: Hex(Vec::new()),
            storage: Vec::new(),
        })
        .collect();
    alloc.push(EvmAccount {
        address: LOCKER.into(),
        balance: U256::ZERO,
        nonce: 0,
        code: Hex(hex::decode(locker.trim_start_matches("0x"))?),
        storage: Vec::new(),
    });
    Ok(alloc)
}

/// The Cairo counter at genesis.
pub(super) fn cairo_contracts() -> anyhow::Result<Vec<CairoContract>> {
    Ok(vec![CairoContract {
        address: COUNTER.into(),
        sierra_class: serde_json::from_str(include_str!(
            "../../../../execution-adapters/cairo/contracts/compiled/counter.sierra.json"
        ))?,
        storage: Vec::new(),
    }])
}

/// The three-VM workload's call data for the `Locker`.
fn three_vm_call() -> Vec<u8> {
    let mut via_wasm = CAIRO_ROLLUP.to_le_bytes().to_vec();
    via_wasm.push(32);
    via_wasm.extend(COUNTER);
    via_wasm.extend(incrementCall { by: U256::from(1) }.abi_encode());
    relayCall {
        rollup: WASM_ROLLUP,
        target: RELAY.to_vec().into(),
        data: via_wasm.into(),
    }
    .abi_encode()
}

/// The WASM token at genesis, with a balance for every sender, and the relay.
pub(super) fn wasm_contracts(keys: &[SigningKey]) -> anyhow::Result<Vec<WasmContract>> {
    let storage = keys
        .iter()
        .map(|key| WasmStorageEntry {
            key: Hex([b"b".as_slice(), key.verifying_key().as_bytes()].concat()),
            value: Hex(TOKEN_BALANCE.to_le_bytes().to_vec()),
        })
        .collect();
    Ok(vec![
        WasmContract {
            id: Hex(TOKEN.to_vec()),
            code: Hex(token_code()?),
            storage,
        },
        WasmContract {
            id: Hex(RELAY.to_vec()),
            code: Hex(wat::parse_str(include_str!(
                "../../../../execution-adapters/wasm/contracts/relay.wat"
            ))?),
            storage: Vec::new(),
        },
    ])
}

/// The account receiving transfer `i`: distinct for every transfer, so each writes a new key.
fn recipient(i: usize) -> [u8; 20] {
    let mut to = [0x42; 20];
    to[12..].copy_from_slice(&(i as u64).to_be_bytes());
    to
}

/// The Ethereum key a bench sender signs `eth-transfer` transactions with: derived from its
/// ed25519 key, so a seed gives both.
pub(super) fn ethereum_signer(key: &SigningKey) -> PrivateKeySigner {
    let secret: [u8; 32] = Sha256::digest(key.to_bytes()).into();
    // A digest is a valid secp256k1 scalar but with negligible probability.
    PrivateKeySigner::from_bytes(&secret.into()).unwrap_or_else(|_| PrivateKeySigner::random())
}

/// An EIP-1559 transfer of `value` wei to `to`, signed by `signer`.
fn ethereum_transfer(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: [u8; 20],
    value: u64,
) -> Result<v1::SignedTransaction, alloy_signer::Error> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        to: TxKind::Call(to.into()),
        value: U256::from(value),
        ..Default::default()
    };
    sign_ethereum(tx, signer)
}

/// What one transaction of the run is.
pub(super) struct TxShape<'a> {
    /// Workload.
    pub(super) workload: Workload,
    /// Chain id.
    pub(super) chain_id: &'a str,
    /// Rollup loaded.
    pub(super) rollup_id: u64,
    /// Wei per EVM transfer.
    pub(super) value: u64,
    /// Extra EVM calldata bytes.
    pub(super) payload_bytes: usize,
    /// The loaded rollup's EIP-155 chain id (Ethereum transactions).
    pub(super) evm_chain_id: u64,
}

/// Sign `count` transactions: nonce-major order, so a prefix of the list holds every sender's
/// first nonces.
pub(super) fn sign_all(
    shape: &TxShape<'_>,
    keys: &[SigningKey],
    count: usize,
) -> anyhow::Result<Vec<v1::SignedTransaction>> {
    let per_sender = count.div_ceil(keys.len().max(1));
    let three_vm = three_vm_call();
    let signers: Vec<PrivateKeySigner> = if shape.workload == Workload::EthTransfer {
        keys.iter().map(ethereum_signer).collect()
    } else {
        Vec::new()
    };
    let native = |key: &SigningKey, nonce: u64, gas_limit: u64, payload| {
        let tx = v1::Transaction {
            chain_id: shape.chain_id.to_string(),
            rollup_id: shape.rollup_id,
            sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
            nonce,
            gas_limit,
            max_fee: 0,
            payload: Some(payload),
        };
        sign(&tx, key)
    };
    let mut out = Vec::with_capacity(count);
    'all: for nonce in 0..per_sender as u64 {
        for (k, key) in keys.iter().enumerate() {
            if out.len() == count {
                break 'all;
            }
            let to = recipient(out.len());
            out.push(match shape.workload {
                Workload::EthTransfer => {
                    ethereum_transfer(&signers[k], shape.evm_chain_id, nonce, to, shape.value)?
                }
                Workload::EvmTransfer => native(
                    key,
                    nonce,
                    // Intrinsic gas, with the calldata floor for non-zero bytes.
                    21_000 + 40 * shape.payload_bytes as u64,
                    v1::transaction::Payload::Evm(v1::EvmCall {
                        to: to.to_vec().into(),
                        value: shape.value.to_be_bytes().to_vec().into(),
                        data: vec![0xAB; shape.payload_bytes].into(),
                    }),
                ),
                Workload::ThreeVm => native(
                    key,
                    nonce,
                    THREE_VM_GAS,
                    v1::transaction::Payload::Evm(v1::EvmCall {
                        to: LOCKER.to_vec().into(),
                        value: Default::default(),
                        data: three_vm.clone().into(),
                    }),
                ),
                Workload::WasmTransfer => native(
                    key,
                    nonce,
                    TOKEN_TRANSFER_GAS,
                    v1::transaction::Payload::Wasm(v1::WasmCall {
                        contract: TOKEN.to_vec().into(),
                        method: "transfer".into(),
                        input: [1u64.to_le_bytes().as_slice(), &to].concat().into(),
                        code: Default::default(),
                    }),
                ),
            });
        }
    }
    Ok(out)
}
