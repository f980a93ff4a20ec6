//! [`EvmAdapter`]: one EVM rollup's frames on revm.

use std::{collections::HashMap, sync::Mutex};

use babel_execution::{
    Caller, ExecError, ExecutionAdapter, Frame, FrameInput, FrameOutcome, Host, Log, VmKind, abi,
    state::KeyValues,
};
use babel_genesis::{RollupGenesis, VmGenesis};
use babel_proto::v1::transaction::Payload;
use bytes::Bytes;
use revm::{
    context::{
        BlockEnv, CfgEnv, Context, Evm, Journal, TxEnv,
        result::{EVMError, ExecutionResult, Output},
    },
    context_interface::{Cfg, JournalTr, cfg::GasParams},
    inspector::InspectEvm,
    primitives::{Address, AddressSet, KECCAK_EMPTY, TxKind, U256, hardfork::SpecId, keccak256},
    state::EvmState,
};
use smallvec::SmallVec;

use crate::{
    db::HostDb,
    halt::{halt_text, invalid_text},
    host::Shared,
    inspector::FrameSync,
    instructions::Instructions,
    precompile::{Precompiles, warm_set},
    state::{
        Account, RESERVED_CODE_PREFIX, account_key, code_key, sender_address, storage_key,
        xcaller_address,
    },
};

/// revm's per-frame working memory, kept per thread between frames: building it afresh
/// (journal maps, the 4 KiB shared memory buffer, eight preallocated interpreters, about
/// 300 KiB) would cost more than a simple frame. A nested xcall takes another set.
mod pool {
    use std::cell::RefCell;

    use babel_execution::Checkpoint;
    use revm::{
        context::{JournalInner, LocalContext},
        context_interface::journaled_state::entry::JournalEntry,
        context_interface::{FrameStack, LocalContextTr},
        handler::EthFrame,
    };

    /// One frame's revm working memory.
    pub(super) struct Parts {
        pub(super) journal: JournalInner<JournalEntry>,
        pub(super) local: LocalContext,
        pub(super) frames: FrameStack<EthFrame>,
        pub(super) checkpoints: Vec<Checkpoint>,
    }

    thread_local! {
        static POOL: RefCell<Vec<Parts>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take() -> Parts {
        POOL.with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| Parts {
                journal: JournalInner::new(),
                local: LocalContext::default(),
                frames: FrameStack::new_prealloc(8),
                checkpoints: Vec::new(),
            })
    }

    /// Return `parts`, emptied: nothing of one frame may leak into the next.
    pub(super) fn put(mut parts: Parts) {
        // Reset the journal to its initial state, loaded accounts included (keeping the spec
        // and precompile addresses, the same for every frame). `inspect_tx` already does so on
        // every path; doing it here keeps the guarantee with the pool, whatever revm entry
        // point a frame used.
        drop(parts.journal.finalize());
        parts.local.clear();
        POOL.with(|p| p.borrow_mut().push(parts));
    }
}

/// The EVM hard fork Babel's EVM rollups follow.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// Runs an EVM rollup on revm over the transaction-wide journal.
#[derive(Debug)]
pub struct EvmAdapter {
    warm: AddressSet,
    /// The configuration every frame runs with: chain id, and the gas table (shared, not
    /// rebuilt per frame) that admission's intrinsic-gas check uses too.
    cfg: CfgEnv,
    /// Signers' EVM addresses (a keccak each), remembered: most signers send many times.
    addresses: Mutex<HashMap<[u8; 32], Address>>,
}

/// Signer addresses remembered before the cache starts over.
const ADDRESS_CACHE: usize = 1 << 16;

/// What an EVM frame asks revm to run.
struct Message {
    caller: Address,
    kind: TxKind,
    data: Bytes,
    value: U256,
}

impl EvmAdapter {
    /// An adapter reporting `chain_id` to contracts (`CHAINID`).
    pub fn new(chain_id: u64) -> Self {
        let mut cfg = CfgEnv::new_with_spec_and_gas_params(SPEC, GasParams::new_spec(SPEC));
        cfg.chain_id = chain_id;
        // Babel keeps the nonce that orders transactions; the EVM nonce only numbers contract
        // creations.
        cfg.disable_nonce_check = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        Self {
            warm: warm_set(SPEC),
            cfg,
            addresses: Mutex::default(),
        }
    }

    /// [`sender_address`], remembered.
    fn signer_address(&self, key: &[u8; 32]) -> Address {
        let mut cache = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(address) = cache.get(key) {
            return *address;
        }
        if cache.len() >= ADDRESS_CACHE {
            cache.clear();
        }
        let address = sender_address(key);
        cache.insert(*key, address);
        address
    }

    /// The adapter for a rollup of the genesis (`None` if it is not an EVM rollup).
    pub fn for_rollup(rollup: &RollupGenesis) -> Option<Self> {
        match &rollup.vm {
            VmGenesis::Evm(evm) => Some(Self::new(evm.evm_chain_id)),
            _ => None,
        }
    }

    fn message(&self, frame: &Frame<'_>) -> Result<Message, String> {
        match &frame.input {
            FrameInput::Transaction(Payload::Evm(call)) => {
                let Caller::Account(signer) = &frame.caller else {
                    return Err("a transaction frame is called by its signer".into());
                };
                let kind = match call.to.len() {
                    0 => TxKind::Create,
                    20 => TxKind::Call(Address::from_slice(&call.to)),
                    n => return Err(format!("`to` is {n} bytes, not 20")),
                };
                if call.value.len() > 32 {
                    return Err("`value` is longer than 32 bytes".into());
                }
                Ok(Message {
                    caller: self.signer_address(signer),
                    kind,
                    data: call.data.clone(),
                    value: U256::from_be_slice(&call.value),
                })
            }
            FrameInput::Transaction(_) => Err("not an EVM payload".into()),
            FrameInput::XCall { target, input } => {
                if target.len() != 20 {
                    return Err(format!("EVM target is {} bytes, not 20", target.len()));
                }
                let caller = match &frame.caller {
                    Caller::Contract { rollup, address } => xcaller_address(*rollup, address),
                    Caller::Account(signer) => self.signer_address(signer),
                };
                Ok(Message {
                    caller,
                    kind: TxKind::Call(Address::from_slice(target)),
                    data: input.clone(),
                    value: U256::ZERO,
                })
            }
        }
    }

    fn read_account(host: &mut dyn Host, address: &Address) -> Result<Account, ExecError> {
        match host.get(&account_key(address))? {
            None => Ok(Account::default()),
            Some(bytes) => Account::decode(&bytes)
                .ok_or_else(|| ExecError::State("corrupt EVM account record".into())),
        }
    }
}

fn failed(why: &str, gas_used: u64) -> FrameOutcome {
    FrameOutcome::failed(abi::error_message(&format!("babel: {why}")), gas_used)
}

impl ExecutionAdapter for EvmAdapter {
    fn vm(&self) -> VmKind {
        VmKind::Evm
    }

    fn check_payload(&self, payload: &Payload) -> Result<(), String> {
        match payload {
            Payload::Evm(call) if !matches!(call.to.len(), 0 | 20) => {
                Err(format!("`to` is {} bytes, not 0 or 20", call.to.len()))
            }
            Payload::Evm(call) if call.value.len() > 32 => {
                Err("`value` is longer than 32 bytes".into())
            }
            Payload::Evm(_) => Ok(()),
            _ => Err("an EVM rollup takes EVM payloads".into()),
        }
    }

    fn max_target_len(&self) -> usize {
        Address::len_bytes()
    }

    fn min_gas(&self, payload: &Payload) -> u64 {
        let Payload::Evm(call) = payload else {
            return 0;
        };
        let gas = self
            .cfg
            .gas_params
            .initial_tx_gas(&call.data, call.to.is_empty(), 0, 0, 0, None);
        gas.initial_total_gas().max(gas.floor_gas())
    }

    fn genesis_state(&self, rollup: &RollupGenesis) -> Result<KeyValues, ExecError> {
        let VmGenesis::Evm(evm) = &rollup.vm else {
            return Err(ExecError::Genesis {
                rollup: rollup.id,
                message: "not an EVM rollup".into(),
            });
        };
        let mut out = KeyValues::new();
        for account in &evm.alloc {
            // Genesis validation refuses such code; checked again here because a rollup's
            // genesis can be built without it, and revm cannot run such code (see `db`).
            if account.code.0.first() == Some(&RESERVED_CODE_PREFIX) {
                return Err(ExecError::Genesis {
                    rollup: rollup.id,
                    message: format!(
                        "code of {} starts with 0xEF (reserved by EIP-3541)",
                        account.address
                    ),
                });
            }
            let code_hash = if account.code.0.is_empty() {
                KECCAK_EMPTY
            } else {
                let hash = keccak256(&account.code.0);
                out.push((code_key(&hash).to_vec(), account.code.0.clone()));
                hash
            };
            let record = Account {
                balance: account.balance,
                nonce: account.nonce,
                code_hash,
            };
            out.push((account_key(&account.address).to_vec(), record.encode()));
            for slot in &account.storage {
                if !slot.value.is_zero() {
                    out.push((
                        storage_key(&account.address, &slot.key.into()).to_vec(),
                        slot.value.to_vec(),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn debit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<bool, ExecError> {
        let address = self.signer_address(account);
        let mut record = Self::read_account(host, &address)?;
        let amount = U256::from(amount);
        if record.balance < amount {
            return Ok(false);
        }
        record.balance -= amount;
        host.set(&account_key(&address), Some(record.encode()));
        Ok(true)
    }

    fn credit(
        &self,
        host: &mut dyn Host,
        account: &[u8; 32],
        amount: u128,
    ) -> Result<(), ExecError> {
        let address = self.signer_address(account);
        let mut record = Self::read_account(host, &address)?;
        record.balance = record.balance.saturating_add(U256::from(amount));
        host.set(&account_key(&address), Some(record.encode()));
        Ok(())
    }

    fn execute(&self, host: &mut dyn Host, frame: &Frame<'_>) -> Result<FrameOutcome, ExecError> {
        let message = match self.message(frame) {
            Ok(m) => m,
            Err(why) => return Ok(failed(&why, 0)),
        };
        // An Ethereum sender's account nonce is its transaction's, as in Ethereum, so that its
        // contracts land where wallets predict: a transaction the EVM refused or reverted
        // still spent its nonce (Babel's), which the account's would otherwise miss.
        if let (0, FrameInput::Transaction(_), Caller::Account(signer)) =
            (frame.depth, &frame.input, &frame.caller)
            && babel_execution::ethereum::address_of(signer).is_some()
        {
            let mut account = Self::read_account(host, &message.caller)?;
            if account.nonce != frame.nonce {
                account.nonce = frame.nonce;
                host.set(&account_key(&message.caller), Some(account.encode()));
            }
        }
        // A top-level create derives its address from the account's nonce; calls do not look
        // at it (revm bumps the caller's nonce from state either way).
        let nonce = match message.kind {
            TxKind::Create => Self::read_account(host, &message.caller)?.nonce,
            TxKind::Call(_) => 0,
        };
        let tx = TxEnv::builder()
            .caller(message.caller)
            .kind(message.kind)
            .data(message.data.into())
            .value(message.value)
            .gas_limit(frame.gas_limit)
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(self.cfg.chain_id))
            .build();
        let tx = match tx {
            Ok(tx) => tx,
            // Not reachable with the fields set above; a fixed text keeps receipts stable.
            Err(_) => return Ok(failed("invalid EVM message", 0)),
        };
        let block = BlockEnv {
            number: U256::from(host.env().height),
            timestamp: U256::from(host.env().time_ms / 1000),
            gas_limit: u64::MAX,
            basefee: 0,
            ..BlockEnv::default()
        };
        let shared = Shared::new(host);
        let result = {
            let parts = pool::take();
            let mut journal = Journal::new_with_inner(HostDb { shared: &shared }, parts.journal);
            journal.set_spec_id(SPEC);
            journal.set_eip7708_config(
                self.cfg.is_eip7708_disabled(),
                self.cfg.is_eip8246_delayed_clear_disabled(),
            );
            // What `build_mainnet_with_inspector` makes, but from reused working memory.
            let mut evm = Evm {
                ctx: Context {
                    block,
                    tx: TxEnv::default(),
                    cfg: self.cfg.clone(),
                    journaled_state: journal,
                    chain: (),
                    local: parts.local,
                    error: Ok(()),
                },
                inspector: FrameSync::new(&shared, parts.checkpoints),
                instruction: Instructions::new(),
                precompiles: Precompiles::new(&shared, SPEC, &self.warm),
                frame_stack: parts.frames,
            };
            let result = evm.inspect_tx(tx);
            pool::put(pool::Parts {
                journal: evm.ctx.journaled_state.inner,
                local: evm.ctx.local,
                frames: evm.frame_stack,
                checkpoints: evm.inspector.into_memory(),
            });
            result
        };
        let outcome = match result {
            Ok(done) => {
                if done.result.is_success() {
                    apply(&shared, &done.state)?;
                }
                outcome(done.result)
            }
            Err(EVMError::Transaction(invalid)) => failed(invalid_text(&invalid), 0),
            Err(e) => {
                return Err(shared.take_fatal().unwrap_or(ExecError::Adapter {
                    vm: VmKind::Evm,
                    message: e.to_string(),
                }));
            }
        };
        Ok(outcome)
    }
}

fn outcome(result: ExecutionResult) -> FrameOutcome {
    let gas_used = result.tx_gas_used();
    match result {
        ExecutionResult::Success { logs, output, .. } => {
            let (output, created) = match output {
                Output::Call(bytes) => (bytes, None),
                Output::Create(bytes, address) => {
                    (bytes, address.map(|a| Bytes::copy_from_slice(a.as_slice())))
                }
            };
            FrameOutcome {
                success: true,
                output: output.into(),
                gas_used,
                logs: logs
                    .into_iter()
                    .map(|log| Log {
                        address: Bytes::copy_from_slice(log.address.as_slice()),
                        topics: log
                            .topics()
                            .iter()
                            .map(|t| Bytes::copy_from_slice(t.as_slice()))
                            .collect(),
                        data: log.data.data.clone().into(),
                    })
                    .collect(),
                created,
            }
        }
        ExecutionResult::Revert { output, .. } => FrameOutcome::failed(output.into(), gas_used),
        ExecutionResult::Halt { reason, .. } => {
            failed(&format!("EVM halted: {}", halt_text(&reason)), gas_used)
        }
    }
}

/// Write a successful frame's state diff into the journal.
fn apply(shared: &Shared<'_>, state: &EvmState) -> Result<(), ExecError> {
    let fault = |e: crate::host::HostFault| shared.take_fatal().unwrap_or(ExecError::State(e.0));
    // Address order, so that the journal's write order is the same on every node.
    let mut accounts: SmallVec<[_; 8]> = state.iter().filter(|(_, a)| a.is_touched()).collect();
    accounts.sort_by_key(|(address, _)| **address);
    for (address, account) in accounts {
        let key = account_key(address);
        let mut slots: Vec<_> = account.changed_storage_slots().collect();
        slots.sort_by_key(|(slot, _)| **slot);
        if account.is_selfdestructed() || account.is_empty() {
            if account.is_loaded_as_not_existing() && !account.is_selfdestructed() {
                // Touched but never existed (the fee recipient of a free transfer): nothing
                // to delete.
                continue;
            }
            // Gone (EIP-161 for touched empty accounts); only delete what exists.
            if shared.get(&key).map_err(fault)?.is_some() {
                shared.set(&key, None);
            }
            for (slot, _) in slots {
                let k = storage_key(address, slot);
                if shared.get(&k).map_err(fault)?.is_some() {
                    shared.set(&k, None);
                }
            }
            continue;
        }
        let record = Account {
            balance: account.info.balance,
            nonce: account.info.nonce,
            code_hash: account.info.code_hash,
        };
        shared.set(&key, Some(record.encode()));
        if account.is_created()
            && let Some(code) = &account.info.code
            && account.info.code_hash != KECCAK_EMPTY
        {
            shared.set(
                &code_key(&account.info.code_hash),
                Some(code.original_bytes().to_vec()),
            );
        }
        for (slot, value) in slots {
            let k = storage_key(address, slot);
            if value.present_value.is_zero() {
                if shared.get(&k).map_err(fault)?.is_some() {
                    shared.set(&k, None);
                }
            } else {
                shared.set(&k, Some(value.present_value.to_be_bytes::<32>().to_vec()));
            }
        }
    }
    Ok(())
}
