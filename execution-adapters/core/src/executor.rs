//! Executing transactions and blocks: nonces and fees on the origin rollup, the top-level
//! frame, the cross-rollup call router, and call-tree receipts.
//!
//! A transaction's life: its nonce is consumed and its maximum fee taken from the signer on
//! the origin rollup; then a checkpoint; then the top-level frame runs, and every cross-rollup
//! call it makes runs as a nested frame with its own checkpoint in the same journal. If the
//! top-level frame fails, everything since the checkpoint goes, on every rollup; nonce and fee
//! stay. The unused part of the fee is returned. A transaction that cannot start (nonce out of
//! order, fee cap too low, signer unable to pay the maximum fee) would pay nothing, so it is
//! reported as invalid: a block holding one is refused. Pure: state in, changes and receipts
//! out.
//!
//! Receipts are bounded (see [`crate::receipt`]): a transaction whose call tree would record
//! too much fails as if it had halted exceptionally, and a block's receipts may add up to a
//! fixed size, which a validator checks and a proposer fills no further.

use std::{collections::HashSet, sync::Arc};

use babel_genesis::Genesis;
use babel_proto::v1;
use bytes::Bytes;
use prost::Message;
use smallvec::SmallVec;

use babel_genesis::REGISTRY_ROLLUP_ID;
use babel_proto::v1::transaction::Payload;

use crate::{
    BlockEnv, Caller, Checkpoint, ExecError, ExecutionAdapter, Frame, FrameInput, FrameOutcome,
    Host, Journal, RollupId, XCall, XResult, abi,
    gas::{MAX_XCALL_DEPTH, MAX_XCALL_TARGET_LEN, forwardable, xcall_output_cost, xcall_overhead},
    receipt::{MAX_BLOCK_RECEIPT_BYTES, Overflow, Recorder},
    registry::{self, Chain, Registry},
    rollups::{Rollup, Rollups},
    state::{Changes, Overlay, StateView, decode_nonce, nonce_key},
};

/// The signer of `tx` (its key length is checked by admission).
fn sender_of(tx: &v1::Transaction) -> Result<[u8; 32], ExecError> {
    tx.sender_pubkey
        .as_ref()
        .try_into()
        .map_err(|_| ExecError::Malformed("sender key is not 32 bytes".into()))
}

/// Runs transactions against the rollups it knows.
#[derive(Clone, Debug, Default)]
pub struct Executor {
    rollups: Rollups,
    /// Shared by clones: admission fills it, block execution reads it.
    pub(crate) signers: Arc<crate::envelope::SignerMemo>,
}

/// One executed transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TxExecution {
    /// Outcome, gas, fee and call tree.
    pub receipt: v1::Receipt,
    /// State changes (nonce and fee even when the transaction failed).
    pub changes: Changes,
    /// Why the transaction may not be in a block, if so: its nonce is out of order, its
    /// `max_fee` is below `gas_limit × gas_price`, or its signer cannot pay that maximum fee.
    /// It then ran as a failure that charges nothing, so including it would be free.
    pub invalid: Option<String>,
}

/// One executed block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockExecution {
    /// One receipt per transaction, in block order.
    pub receipts: Vec<v1::Receipt>,
    /// The block's net state changes, in key order.
    pub changes: Changes,
    /// Commitment to the receipts ([`results_root`]).
    pub results_root: [u8; 32],
    /// The transactions that may not be in a block (see [`TxExecution::invalid`]), by index:
    /// a block with any is invalid, and a proposer leaves them out. So are, here, those whose
    /// receipts take the block's receipts above
    /// [`MAX_BLOCK_RECEIPT_BYTES`](crate::receipt::MAX_BLOCK_RECEIPT_BYTES) (each one past
    /// the bound is listed), though they would be valid in another block.
    pub invalid: Vec<(usize, String)>,
}

/// A block built by a proposer ([`Executor::build_block`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltBlock {
    /// The transactions kept, in candidate order.
    pub txs: Vec<v1::SignedTransaction>,
    /// Their execution.
    pub execution: BlockExecution,
    /// Each sender's first candidate that may not be in a block, by candidate index, and why
    /// (the sender's later candidates are left out too, without a reason of their own).
    pub left_out: Vec<(usize, String)>,
    /// Each sender's first candidate left out only because its receipt did not fit in what
    /// was left of [`MAX_BLOCK_RECEIPT_BYTES`](crate::receipt::MAX_BLOCK_RECEIPT_BYTES), by
    /// candidate index (the sender's later candidates are left out too). They are valid and
    /// may go in a later block: keep them pooled.
    pub deferred: Vec<usize>,
}

/// What running a block's transactions produced.
#[derive(Default)]
struct BlockRun {
    receipts: Vec<v1::Receipt>,
    changes: Changes,
    invalid: Vec<(usize, String)>,
    /// Indices of the transactions applied.
    kept: Vec<usize>,
    /// Indices of the transactions a proposer leaves for a later block: the block's receipts
    /// were full.
    deferred: Vec<usize>,
}

impl Executor {
    /// An executor with no rollups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run rollup `id` with `adapter`, charging `gas_price` native units per gas.
    pub fn with_rollup(
        mut self,
        id: RollupId,
        adapter: Arc<dyn ExecutionAdapter>,
        gas_price: u64,
    ) -> Self {
        self.rollups.give(id, adapter, gas_price);
        self
    }

    /// Also run the rollups `registry` lists (it is shared: a node's executors all follow the
    /// one its blocks update), making their adapters with `chain`'s factory, and apply
    /// registry changes ([`crate::registry`]) approved by `chain`'s governance.
    pub fn following(mut self, registry: Arc<Registry>, chain: Chain) -> Self {
        self.rollups.follow(registry, chain);
        self
    }

    /// Share `other`'s memo of recovered Ethereum signers, so that a signer recovered by one
    /// (admission) is not recovered again by the other (blocks).
    pub fn sharing_signers(mut self, other: &Executor) -> Self {
        self.signers = other.signers.clone();
        self
    }

    /// The committed registry this executor follows.
    pub fn registry(&self) -> &Arc<Registry> {
        self.rollups.registry()
    }

    /// The chain id of the chain it follows (empty if it follows none).
    pub fn chain_id(&self) -> &str {
        self.rollups.chain().map_or("", |c| c.chain_id.as_str())
    }

    /// Every rollup it runs.
    pub fn rollup_ids(&self) -> Vec<RollupId> {
        self.rollups.ids()
    }

    fn rollup(&self, id: RollupId) -> Result<Rollup, ExecError> {
        self.rollups.get(id)
    }

    /// The adapter of rollup `id`.
    pub fn adapter(&self, id: RollupId) -> Option<Arc<dyn ExecutionAdapter>> {
        self.rollups.get(id).ok().map(|r| r.adapter)
    }

    /// Rollup `id`'s gas price, if it runs it.
    pub fn gas_price(&self, id: RollupId) -> Option<u64> {
        self.priced_adapter(id).map(|(_, price)| price)
    }

    /// Rollup `id`'s adapter and gas price, in one lookup, if it runs it.
    pub fn priced_adapter(&self, id: RollupId) -> Option<(Arc<dyn ExecutionAdapter>, u64)> {
        self.rollups.get(id).ok().map(|r| (r.adapter, r.gas_price))
    }

    /// Whether rollup `id` charges for gas (a signer there may be unable to pay).
    pub fn charges_fees(&self, id: RollupId) -> bool {
        self.gas_price(id).is_some_and(|price| price > 0)
    }

    /// The genesis state of every rollup this executor runs, and the registry's, as changes
    /// over an empty state (rollups it has no adapter for start empty).
    pub fn genesis_changes(&self, genesis: &Genesis) -> Result<Changes, ExecError> {
        let mut changes = Changes::new();
        for (key, value) in registry::genesis_entries(genesis) {
            changes.insert((REGISTRY_ROLLUP_ID, key), Some(value));
        }
        for rollup in &genesis.rollups {
            let Some(adapter) = self.adapter(rollup.id) else {
                continue;
            };
            for (key, value) in adapter.genesis_state(rollup)? {
                changes.insert((rollup.id, key), Some(value));
            }
        }
        Ok(changes)
    }

    /// Tell every adapter its rollup's share of `changes`, which are now committed (see
    /// [`ExecutionAdapter::committed`]).
    /// Rollups they register are run from now on.
    pub fn committed(&self, changes: &Changes) {
        self.rollups.committed(changes);
    }

    /// Execute a block's transactions in order over `base`. Transactions that may not be in
    /// a block run as charge-free failures and are listed in [`BlockExecution::invalid`], as
    /// are those that take the block's receipts above
    /// [`MAX_BLOCK_RECEIPT_BYTES`](crate::receipt::MAX_BLOCK_RECEIPT_BYTES) (the block is
    /// invalid either way).
    pub fn execute_block(
        &self,
        base: &impl StateView,
        env: &BlockEnv,
        txs: &[v1::SignedTransaction],
    ) -> Result<BlockExecution, ExecError> {
        let run = self.run_block(base, env, txs, false)?;
        Ok(BlockExecution {
            results_root: babel_proto::results_root(txs, &run.receipts),
            receipts: run.receipts,
            changes: run.changes,
            invalid: run.invalid,
        })
    }

    /// Execute `candidates` as a proposer building a block, in one pass: a transaction that
    /// may not be in a block is left out (nothing of it applies), and so is every later one
    /// of its sender on its rollup, whose nonce would now leave a gap. A transaction whose
    /// receipt does not fit in what is left of the block's receipt bytes is left out the same
    /// way, but as [`BuiltBlock::deferred`], not as invalid: it may go in the next block. What
    /// remains is a valid block: [`Executor::execute_block`] of [`BuiltBlock::txs`] gives the
    /// same execution.
    pub fn build_block(
        &self,
        base: &impl StateView,
        env: &BlockEnv,
        candidates: &[v1::SignedTransaction],
    ) -> Result<BuiltBlock, ExecError> {
        let run = self.run_block(base, env, candidates, true)?;
        let txs: Vec<v1::SignedTransaction> =
            run.kept.iter().map(|&i| candidates[i].clone()).collect();
        Ok(BuiltBlock {
            execution: BlockExecution {
                results_root: babel_proto::results_root(&txs, &run.receipts),
                receipts: run.receipts,
                changes: run.changes,
                invalid: Vec::new(),
            },
            txs,
            left_out: run.invalid,
            deferred: run.deferred,
        })
    }

    /// The transactions of a block in order; with `build`, invalid ones and those whose
    /// receipts do not fit (and their senders' later ones) are left out instead of applied.
    fn run_block(
        &self,
        base: &impl StateView,
        env: &BlockEnv,
        txs: &[v1::SignedTransaction],
        build: bool,
    ) -> Result<BlockRun, ExecError> {
        let mut overlay = Overlay::new(base);
        let mut run = BlockRun::default();
        let mut blocked: HashSet<(RollupId, [u8; 32])> = HashSet::new();
        let mut receipt_bytes = 0usize;
        for (i, signed) in txs.iter().enumerate() {
            let tx = self
                .open(signed)
                .map_err(|e| ExecError::Malformed(e.to_string()))?
                .tx;
            let account = (tx.rollup_id, sender_of(&tx)?);
            if build && blocked.contains(&account) {
                continue;
            }
            let executed = self.execute_tx(&overlay, env, &tx)?;
            if let Some(why) = executed.invalid {
                run.invalid.push((i, why));
                if build {
                    blocked.insert(account);
                    continue;
                }
            }
            // Every node encodes a receipt to the same bytes, so all agree on the total.
            let total = receipt_bytes.saturating_add(executed.receipt.encoded_len());
            if total > MAX_BLOCK_RECEIPT_BYTES {
                if build {
                    run.deferred.push(i);
                    blocked.insert(account);
                    continue;
                }
                run.invalid.push((
                    i,
                    format!("receipts of the block above {MAX_BLOCK_RECEIPT_BYTES} bytes"),
                ));
            }
            receipt_bytes = total;
            overlay.extend(executed.changes);
            run.receipts.push(executed.receipt);
            run.kept.push(i);
        }
        run.changes = overlay.into_changes();
        Ok(run)
    }

    /// Whether `tx`'s fee cap covers `gas_limit × gas_price` at the rollup's current price and
    /// its signer could pay that maximum fee on its origin rollup in `state`: admission's
    /// check, so that a transaction that cannot pay does not take a block's space for free.
    /// Nothing is written.
    pub fn can_pay(
        &self,
        state: &impl StateView,
        env: &BlockEnv,
        tx: &v1::Transaction,
    ) -> Result<bool, ExecError> {
        if tx.rollup_id == REGISTRY_ROLLUP_ID {
            return Ok(true);
        }
        let rollup = self.rollup(tx.rollup_id)?;
        let max_fee = rollup.max_fee(tx.gas_limit.min(env.max_tx_gas));
        // A fee cap below the price (raised since it was admitted) can never pay either.
        if max_fee > u128::from(tx.max_fee) {
            return Ok(false);
        }
        if max_fee == 0 {
            return Ok(true);
        }
        let sender = sender_of(tx)?;
        let mut ctx = TxContext::new(self, state, env, (tx.rollup_id, sender));
        rollup
            .adapter
            .debit(&mut ctx.host(tx.rollup_id, 0), &sender, max_fee)
    }

    /// Execute one transaction over `state`.
    pub fn execute_tx(
        &self,
        state: &impl StateView,
        env: &BlockEnv,
        tx: &v1::Transaction,
    ) -> Result<TxExecution, ExecError> {
        let origin = tx.rollup_id;
        let sender = sender_of(tx)?;
        let payload = tx
            .payload
            .as_ref()
            .ok_or_else(|| ExecError::Malformed("no payload".into()))?;
        let mut ctx = TxContext::new(self, state, env, (origin, sender));
        if let Err(why) = ctx.take_nonce(tx)? {
            return Ok(ctx.early_failure(why));
        }
        if origin == REGISTRY_ROLLUP_ID {
            return ctx.registry_change(tx.gas_limit.min(env.max_tx_gas), payload);
        }
        let rollup = self.rollup(origin)?;

        let gas_limit = tx.gas_limit.min(env.max_tx_gas);
        let max_fee = rollup.max_fee(gas_limit);
        if max_fee > u128::from(tx.max_fee) {
            return Ok(ctx.early_failure(format!(
                "max_fee {} below gas {gas_limit} at {} per gas",
                tx.max_fee, rollup.gas_price
            )));
        }
        if max_fee > 0 {
            let paid = rollup
                .adapter
                .debit(&mut ctx.host(origin, 0), &sender, max_fee)?;
            if !paid {
                return Ok(ctx.early_failure(format!(
                    "balance below the maximum fee {max_fee} (gas {gas_limit} at {})",
                    rollup.gas_price
                )));
            }
        }

        let start = ctx.journal.checkpoint();
        let (outcome, mut root) = ctx.run_frame(
            Frame {
                rollup: origin,
                caller: Caller::Account(sender),
                input: FrameInput::Transaction(payload),
                gas_limit,
                depth: 0,
                nonce: tx.nonce,
            },
            Bytes::new(),
        )?;
        // At least the intrinsic cost, even when the VM refused to start the frame (an EVM
        // transfer of more than the balance, say): a transaction in a block never runs free.
        let mut gas_used = outcome
            .gas_used
            .max(rollup.adapter.min_gas(payload))
            .min(gas_limit);
        // The call tree's root is the transaction's own frame: it shows what was charged.
        root.gas_used = gas_used;
        let (mut success, mut output) = (outcome.success, outcome.output);
        if let Err(overflow) = ctx.recorder.finish(&mut root, output.len()) {
            // As an exceptional halt: everything since the fee goes, all the gas is used, and
            // the receipt says only why.
            ctx.journal.revert_to(start);
            gas_used = gas_limit;
            success = false;
            output = overflow.message();
            root = v1::CallFrame {
                rollup_id: origin,
                gas_used,
                success,
                output: output.clone(),
                ..Default::default()
            };
        }
        let fee = rollup.max_fee(gas_used);
        if max_fee > fee {
            rollup
                .adapter
                .credit(&mut ctx.host(origin, 0), &sender, max_fee - fee)?;
        }
        Ok(TxExecution {
            receipt: v1::Receipt {
                success,
                gas_used,
                fee_paid: u64::try_from(fee).unwrap_or(u64::MAX),
                output,
                root: Some(root),
            },
            changes: ctx.journal.into_changes(),
            invalid: None,
        })
    }
}

impl<S: StateView> registry::Access for TxContext<'_, S> {
    fn get(&mut self, rollup: RollupId, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        self.journal.get(self.state, rollup, key)
    }

    fn set(&mut self, rollup: RollupId, key: &[u8], value: Option<Vec<u8>>) {
        self.journal.set(rollup, key, value);
    }
}

/// A frame that is running: its rollup and the calls it has made so far.
struct Running {
    rollup: RollupId,
    calls: Vec<v1::CallFrame>,
}

/// The state of one transaction's execution: the journal, the cross-rollup call stack and the
/// call tree being recorded.
struct TxContext<'a, S> {
    exec: &'a Executor,
    state: &'a S,
    env: &'a BlockEnv,
    /// The transaction's origin rollup and signer.
    origin: (RollupId, [u8; 32]),
    journal: Journal,
    /// Frames running, outermost first (inline: most transactions nest a few deep at most).
    running: SmallVec<[Running; 4]>,
    /// How much the call tree has recorded, against the receipt's bounds.
    recorder: Recorder,
}

impl<'a, S: StateView> TxContext<'a, S> {
    fn new(
        exec: &'a Executor,
        state: &'a S,
        env: &'a BlockEnv,
        origin: (RollupId, [u8; 32]),
    ) -> Self {
        Self {
            exec,
            state,
            env,
            origin,
            journal: Journal::new(),
            running: SmallVec::new(),
            recorder: Recorder::new(),
        }
    }

    fn host(&mut self, rollup: RollupId, depth: u32) -> FrameHost<'_, 'a, S> {
        FrameHost {
            ctx: self,
            rollup,
            depth,
        }
    }

    /// Consume the signer's nonce on the origin rollup, or say why `tx`'s nonce is out of
    /// order (validators refuse such blocks; kept total so that execution never panics).
    fn take_nonce(&mut self, tx: &v1::Transaction) -> Result<Result<(), String>, ExecError> {
        let (origin, sender) = self.origin;
        let key = nonce_key(&sender);
        let nonce = decode_nonce(self.journal.get(self.state, origin, &key)?.as_deref())?;
        if tx.nonce != nonce {
            return Ok(Err(format!("nonce {} but next is {nonce}", tx.nonce)));
        }
        self.journal
            .set(origin, &key, Some((nonce + 1).to_be_bytes().to_vec()));
        Ok(Ok(()))
    }

    /// Apply a change to the rollup registry (see [`crate::registry`]): no fee, a gas that
    /// counts against the block, and a failed receipt with the reason if it is refused.
    fn registry_change(
        mut self,
        gas_limit: u64,
        payload: &Payload,
    ) -> Result<TxExecution, ExecError> {
        let Payload::Registry(call) = payload else {
            return Ok(self.early_failure("rollup 0 takes registry changes only".into()));
        };
        let gas_used = registry::gas(call).min(gas_limit);
        let start = self.journal.checkpoint();
        let outcome = if registry::gas(call) > gas_limit {
            Err(format!(
                "gas limit {gas_limit} below {}",
                registry::gas(call)
            ))
        } else if let Some(chain) = self.exec.rollups.chain().cloned() {
            let height = self.env.height;
            registry::apply(&mut self, &chain, height, call)?
        } else {
            Err("this node cannot change rollups".into())
        };
        let output = match &outcome {
            Ok(record) => Bytes::from(record.clone()),
            Err(why) => {
                self.journal.revert_to(start);
                abi::error_message(&format!("babel: {why}"))
            }
        };
        Ok(TxExecution {
            receipt: v1::Receipt {
                success: outcome.is_ok(),
                gas_used,
                fee_paid: 0,
                output: output.clone(),
                root: Some(v1::CallFrame {
                    rollup_id: REGISTRY_ROLLUP_ID,
                    gas_used,
                    success: outcome.is_ok(),
                    output,
                    ..Default::default()
                }),
            },
            changes: self.journal.into_changes(),
            invalid: None,
        })
    }

    /// A failed receipt for a transaction that never ran and may not be in a block: only the
    /// nonce (if consumed) stays.
    fn early_failure(self, reason: String) -> TxExecution {
        TxExecution {
            receipt: v1::Receipt {
                success: false,
                output: abi::error_message(&format!("babel: {reason}")),
                ..Default::default()
            },
            changes: self.journal.into_changes(),
            invalid: Some(reason),
        }
    }

    /// Run `frame` with its own checkpoint; a failed frame's writes (and those of every call it
    /// made) are undone and the logs of its subtree dropped.
    fn run_frame(
        &mut self,
        frame: Frame<'_>,
        target: Bytes,
    ) -> Result<(FrameOutcome, v1::CallFrame), ExecError> {
        let adapter = self.exec.rollup(frame.rollup)?.adapter;
        let checkpoint = self.journal.checkpoint();
        self.running.push(Running {
            rollup: frame.rollup,
            calls: Vec::new(),
        });
        let result = adapter.execute(&mut self.host(frame.rollup, frame.depth), &frame);
        let mut children = self.running.pop().map(|r| r.calls).unwrap_or_default();
        let mut outcome = result?;
        outcome.gas_used = outcome.gas_used.min(frame.gas_limit);
        if !outcome.success {
            self.journal.revert_to(checkpoint);
            outcome.logs.clear();
            children.iter_mut().for_each(strip_logs);
        }
        let record = v1::CallFrame {
            rollup_id: frame.rollup,
            target: outcome.created.clone().unwrap_or(target),
            gas_used: outcome.gas_used,
            success: outcome.success,
            output: outcome.output.clone(),
            logs: outcome.logs.iter().map(log_to_proto).collect(),
            children,
        };
        Ok((outcome, record))
    }

    /// A cross-rollup call from a frame on `from` at `depth`.
    ///
    /// It never costs more than `call.gas_limit`: a refused call costs its overhead, or all it
    /// was offered if that is less; a call that runs costs the overhead, the callee's gas (at
    /// most 63/64 of what the overhead leaves) and the charge for the callee's output, or all
    /// it was offered if that charge does not fit.
    fn xcall(
        &mut self,
        from: RollupId,
        depth: u32,
        caller: &[u8],
        call: XCall,
    ) -> Result<XResult, ExecError> {
        if let Err(overflow) = self.recorder.room() {
            return Ok(over_receipt(overflow, &call));
        }
        let overhead = xcall_overhead(call.input.len(), call.target.len());
        let refused_cost = overhead.min(call.gas_limit);
        let target_len = call.target.len();
        // Checked before anything else, so no refusal records a target longer than this.
        if target_len > MAX_XCALL_TARGET_LEN {
            let why =
                format!("xcall target is {target_len} bytes, more than {MAX_XCALL_TARGET_LEN}");
            return Ok(self.refuse(&call, Bytes::new(), why, refused_cost));
        }
        if call.gas_limit < overhead {
            let why = "out of gas for xcall".to_string();
            return Ok(self.refuse(&call, call.target.clone(), why, refused_cost));
        }
        if depth + 1 > MAX_XCALL_DEPTH {
            let why = format!("xcall depth above {MAX_XCALL_DEPTH}");
            return Ok(self.refuse(&call, call.target.clone(), why, overhead));
        }
        let adapter = match self.exec.rollup(call.target_rollup) {
            Ok(rollup) => rollup.adapter,
            Err(ExecError::UnknownRollup(_)) => {
                let why = format!("unknown rollup {}", call.target_rollup);
                return Ok(self.refuse(&call, call.target.clone(), why, overhead));
            }
            // This node could not make the rollup's adapter: its fault, never a receipt.
            Err(fault) => return Err(fault),
        };
        let max_target = adapter.max_target_len();
        if target_len > max_target {
            let why = format!(
                "xcall target is {target_len} bytes, rollup {} takes at most {max_target}",
                call.target_rollup
            );
            return Ok(self.refuse(&call, Bytes::new(), why, overhead));
        }
        if self.running.iter().any(|r| r.rollup == call.target_rollup) {
            let why = format!(
                "reentrant xcall into rollup {} (it has a frame running)",
                call.target_rollup
            );
            return Ok(self.refuse(&call, call.target.clone(), why, overhead));
        }
        let checkpoint = self.journal.checkpoint();
        let (outcome, mut record) = self.run_frame(
            Frame {
                rollup: call.target_rollup,
                caller: Caller::Contract {
                    rollup: from,
                    address: Bytes::copy_from_slice(caller),
                },
                input: FrameInput::XCall {
                    target: call.target.clone(),
                    input: call.input.clone(),
                },
                gas_limit: forwardable(call.gas_limit - overhead),
                depth: depth + 1,
                nonce: 0,
            },
            call.target.clone(),
        )?;
        // The callee's gas is capped at what it was given, so `overhead + gas` fits the limit;
        // the output's charge may not.
        let paid = overhead
            .saturating_add(outcome.gas_used)
            .checked_add(xcall_output_cost(outcome.output.len()))
            .filter(|&gas| gas <= call.gas_limit);
        let result = match paid {
            Some(gas_used) => XResult {
                success: outcome.success,
                output: outcome.output,
                gas_used,
            },
            None => {
                // Out of gas as if the callee had run out: its changes go, and the caller
                // gets the reason, not the output it could not pay for.
                self.journal.revert_to(checkpoint);
                let output = abi::error_message("babel: out of gas for xcall output");
                record.success = false;
                record.output = output.clone();
                strip_logs(&mut record);
                XResult {
                    success: false,
                    output,
                    gas_used: call.gas_limit,
                }
            }
        };
        if let Err(overflow) = self.record(record) {
            self.journal.revert_to(checkpoint);
            return Ok(over_receipt(overflow, &call));
        }
        Ok(result)
    }

    /// A call refused before its callee ran, costing `gas_used`; the receipt records it with
    /// `target` (the call's own, or empty when that is too long to record).
    fn refuse(&mut self, call: &XCall, target: Bytes, why: String, gas_used: u64) -> XResult {
        let output = abi::error_message(&format!("babel: {why}"));
        let record = v1::CallFrame {
            rollup_id: call.target_rollup,
            target,
            gas_used,
            success: false,
            output: output.clone(),
            ..Default::default()
        };
        match self.record(record) {
            Ok(()) => XResult {
                success: false,
                output,
                gas_used,
            },
            Err(overflow) => over_receipt(overflow, call),
        }
    }

    /// Add `frame` to the calls of the frame running, if the receipt has room for it.
    fn record(&mut self, mut frame: v1::CallFrame) -> Result<(), Overflow> {
        self.recorder.record(&mut frame)?;
        if let Some(caller) = self.running.last_mut() {
            caller.calls.push(frame);
        }
        Ok(())
    }
}

/// The answer to a call made by a transaction whose receipt has gone over its bounds: the
/// transaction will fail whatever happens next, so the call records nothing and uses all it
/// was offered, for the transaction to end soon.
fn over_receipt(overflow: Overflow, call: &XCall) -> XResult {
    XResult {
        success: false,
        output: overflow.message(),
        gas_used: call.gas_limit,
    }
}

/// The [`Host`] of one frame.
struct FrameHost<'c, 'a, S> {
    ctx: &'c mut TxContext<'a, S>,
    rollup: RollupId,
    depth: u32,
}

impl<S: StateView> Host for FrameHost<'_, '_, S> {
    fn env(&self) -> &BlockEnv {
        self.ctx.env
    }

    fn rollup(&self) -> RollupId {
        self.rollup
    }

    fn depth(&self) -> u32 {
        self.depth
    }

    fn origin(&self) -> (RollupId, [u8; 32]) {
        self.ctx.origin
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        self.ctx.journal.get(self.ctx.state, self.rollup, key)
    }

    fn set(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.ctx.journal.set(self.rollup, key, value);
    }

    fn checkpoint(&mut self) -> Checkpoint {
        let mut checkpoint = self.ctx.journal.checkpoint();
        checkpoint.calls = self.ctx.running.last().map_or(0, |r| r.calls.len());
        checkpoint
    }

    fn revert_to(&mut self, checkpoint: Checkpoint) {
        self.ctx.journal.revert_to(checkpoint);
        // Calls made since keep their place in the call tree, but their effects are gone:
        // so are their logs.
        if let Some(frame) = self.ctx.running.last_mut() {
            frame
                .calls
                .iter_mut()
                .skip(checkpoint.calls)
                .for_each(strip_logs);
        }
    }

    fn xcall(&mut self, caller: &[u8], call: XCall) -> Result<XResult, ExecError> {
        self.ctx.xcall(self.rollup, self.depth, caller, call)
    }
}

fn strip_logs(frame: &mut v1::CallFrame) {
    frame.logs.clear();
    frame.children.iter_mut().for_each(strip_logs);
}

fn log_to_proto(log: &crate::Log) -> v1::Log {
    v1::Log {
        address: log.address.clone(),
        topics: log.topics.clone(),
        data: log.data.clone(),
    }
}
