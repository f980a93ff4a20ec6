//! Babel's blocks, transactions and receipts as Ethereum's RPC types: a rollup's slice of a
//! Babel block is its block.

use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, Sealed, TxEnvelope, TxType,
    transaction::Recovered,
};
use alloy_primitives::{Address, B256, Bloom, Bytes, LogData, U256};
use alloy_rpc_types_eth::{Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt};
use babel_execution::{Executor, RollupId, ethereum};
use babel_proto::v1;

/// Gas a rollup block may use, as reported in headers (Babel limits whole blocks).
pub(super) const BLOCK_GAS_LIMIT: u64 = crate::params::MAX_BLOCK_GAS;

/// One Ethereum transaction of a rollup's block.
pub(super) struct SliceTx {
    /// The envelope, decoded.
    pub(super) envelope: TxEnvelope,
    /// Its hash.
    pub(super) hash: B256,
}

impl SliceTx {
    /// Its signer (from the memo, or recovered: tens of µs).
    pub(super) fn from(&self, executor: &Executor) -> Result<Address, ethereum::EthError> {
        executor
            .ethereum_signer(&self.envelope, &self.hash.0)
            .map(Address::from)
    }
}

/// The Ethereum transactions of `rollup` in `block`, in block order: decoded and told apart by
/// their chain id, without recovering anyone's signer (reads pay for the signers they show).
pub(super) fn slice(executor: &Executor, rollup: RollupId, block: &v1::Block) -> Vec<SliceTx> {
    block
        .txs
        .iter()
        .filter(|t| !t.ethereum.is_empty())
        .filter_map(|t| {
            let parsed = ethereum::parse(&t.ethereum).ok()?;
            if executor.evm_rollup(parsed.chain_id()?) != Some(rollup) {
                return None;
            }
            Some(SliceTx {
                envelope: parsed.into_envelope(),
                hash: B256::from(babel_proto::tx_hash(t)),
            })
        })
        .collect()
}

/// Where a transaction sits: its Babel block and its index in the rollup's slice.
#[derive(Clone, Copy)]
pub(super) struct Place {
    /// The Babel block's hash.
    pub(super) block_hash: B256,
    /// Its height.
    pub(super) height: u64,
    /// Its time, in seconds.
    pub(super) timestamp: u64,
    /// Index in the rollup's slice.
    pub(super) index: u64,
}

impl Place {
    /// Index `index` of the slice of the block whose header is `header`.
    pub(super) fn new(header: &v1::Header, index: usize) -> Self {
        Self {
            block_hash: B256::from(babel_proto::block_hash(header)),
            height: header.height,
            timestamp: header.time_ms / 1000,
            index: index as u64,
        }
    }

    /// Index `index` of the same slice.
    pub(super) fn at(self, index: usize) -> Self {
        Self {
            index: index as u64,
            ..self
        }
    }
}

/// `inner`, the `log_index`-th log of the slice, emitted by the transaction `tx_hash` at
/// `place`, as an RPC log.
pub(super) fn rpc_log(
    inner: alloy_primitives::Log,
    place: Place,
    tx_hash: B256,
    log_index: u64,
) -> Log {
    Log {
        inner,
        block_hash: Some(place.block_hash),
        block_number: Some(place.height),
        block_timestamp: Some(place.timestamp),
        transaction_hash: Some(tx_hash),
        transaction_index: Some(place.index),
        log_index: Some(log_index),
        removed: false,
    }
}

/// `tx`, signed by `from`, as an RPC transaction, placed if it is in a block.
pub(super) fn transaction(
    tx: SliceTx,
    from: Address,
    place: Option<Place>,
    gas_price: u64,
) -> Transaction {
    Transaction {
        inner: Recovered::new_unchecked(tx.envelope, from),
        block_hash: place.map(|p| p.block_hash),
        block_number: place.map(|p| p.height),
        transaction_index: place.map(|p| p.index),
        effective_gas_price: Some(u128::from(gas_price)),
        block_timestamp: place.map(|p| p.timestamp),
    }
}

alloy_sol_types::sol! {
    /// What an Ethereum receipt shows of a cross-rollup call made from the rollup, logged by
    /// the `xcall` precompile's address.
    event XCall(uint64 indexed rollup, bytes target, bool success, uint64 gasUsed);
}

/// The logs of a receipt as the EVM rollup `rollup` shows them: its frames' own logs, and one
/// [`XCall`] log (from the precompile's address) for each call they made into another rollup,
/// in call order (a frame's own logs first: the call tree does not record how they interleave
/// with its calls). What the callee emitted stays in the call tree (`babel_getCallTree`).
pub(super) fn logs_of(
    root: Option<&v1::CallFrame>,
    rollup: RollupId,
) -> Vec<alloy_primitives::Log> {
    let mut out = Vec::new();
    let mut stack: Vec<&v1::CallFrame> = root.into_iter().collect();
    while let Some(frame) = stack.pop() {
        if frame.rollup_id == rollup {
            for log in &frame.logs {
                let Ok(address) = <[u8; 20]>::try_from(log.address.as_ref()) else {
                    continue;
                };
                let topics: Vec<B256> = log
                    .topics
                    .iter()
                    .filter_map(|t| <[u8; 32]>::try_from(t.as_ref()).ok().map(B256::from))
                    .collect();
                out.push(alloy_primitives::Log {
                    address: Address::from(address),
                    data: LogData::new_unchecked(topics, Bytes::copy_from_slice(&log.data)),
                });
            }
            for child in frame.children.iter().filter(|c| c.rollup_id != rollup) {
                let event = XCall {
                    rollup: child.rollup_id,
                    target: Bytes::copy_from_slice(&child.target),
                    success: child.success,
                    gasUsed: child.gas_used,
                };
                out.push(alloy_primitives::Log {
                    address: babel_evm::XCALL_ADDRESS,
                    data: alloy_sol_types::SolEvent::encode_log_data(&event),
                });
            }
        }
        stack.extend(frame.children.iter().rev());
    }
    out
}

/// A call frame as `babel_getCallTree` returns it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CallTree {
    rollup_id: u64,
    target: Bytes,
    gas_used: u64,
    success: bool,
    output: Bytes,
    logs: Vec<TreeLog>,
    children: Vec<CallTree>,
}

/// A log in a [`CallTree`], in its VM's own shape.
#[derive(Clone, Debug, serde::Serialize)]
pub(super) struct TreeLog {
    address: Bytes,
    topics: Vec<Bytes>,
    data: Bytes,
}

/// `frame` and its children.
pub(super) fn call_tree(frame: &v1::CallFrame) -> CallTree {
    CallTree {
        rollup_id: frame.rollup_id,
        target: Bytes::copy_from_slice(&frame.target),
        gas_used: frame.gas_used,
        success: frame.success,
        output: Bytes::copy_from_slice(&frame.output),
        logs: frame
            .logs
            .iter()
            .map(|l| TreeLog {
                address: Bytes::copy_from_slice(&l.address),
                topics: l.topics.iter().map(|t| Bytes::copy_from_slice(t)).collect(),
                data: Bytes::copy_from_slice(&l.data),
            })
            .collect(),
        children: frame.children.iter().map(call_tree).collect(),
    }
}

/// The RPC receipt of the `place.index`-th Ethereum transaction of a rollup's block, given
/// the gas its predecessors in the slice used and the logs they emitted.
pub(super) struct ReceiptParts<'a> {
    /// The transaction.
    pub(super) tx: &'a SliceTx,
    /// Its signer.
    pub(super) from: Address,
    /// Its Babel receipt.
    pub(super) receipt: &'a v1::Receipt,
    /// Where it is.
    pub(super) place: Place,
    /// Gas used by the slice up to and including it.
    pub(super) cumulative_gas: u64,
    /// Logs before it in the slice.
    pub(super) logs_before: u64,
    /// The rollup's gas price.
    pub(super) gas_price: u64,
    /// The rollup.
    pub(super) rollup: RollupId,
}

/// An RPC receipt.
pub(super) fn receipt(parts: ReceiptParts<'_>) -> TransactionReceipt {
    let ReceiptParts {
        tx,
        from,
        receipt,
        place,
        cumulative_gas,
        logs_before,
        gas_price,
        rollup,
    } = parts;
    let logs: Vec<Log> = logs_of(receipt.root.as_ref(), rollup)
        .into_iter()
        .enumerate()
        .map(|(i, inner)| rpc_log(inner, place, tx.hash, logs_before + i as u64))
        .collect();
    let bloom = bloom_of(logs.iter().map(|l| &l.inner));
    let consensus = ReceiptWithBloom {
        receipt: Receipt {
            status: Eip658Value::Eip658(receipt.success),
            cumulative_gas_used: cumulative_gas,
            logs,
        },
        logs_bloom: bloom,
    };
    let inner = match tx.envelope.tx_type() {
        TxType::Legacy => ReceiptEnvelope::Legacy(consensus),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(consensus),
        _ => ReceiptEnvelope::Eip1559(consensus),
    };
    let created = alloy_consensus::Transaction::to(&tx.envelope).is_none() && receipt.success;
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(place.index),
        block_hash: Some(place.block_hash),
        block_number: Some(place.height),
        gas_used: receipt.gas_used,
        effective_gas_price: u128::from(gas_price),
        blob_gas_used: None,
        blob_gas_price: None,
        from,
        to: alloy_consensus::Transaction::to(&tx.envelope),
        contract_address: receipt
            .root
            .as_ref()
            .filter(|_| created)
            .and_then(|r| <[u8; 20]>::try_from(r.target.as_ref()).ok())
            .map(Address::from),
    }
}

/// The bloom filter of `logs`.
pub(super) fn bloom_of<'a>(logs: impl IntoIterator<Item = &'a alloy_primitives::Log>) -> Bloom {
    let mut bloom = Bloom::default();
    for log in logs {
        bloom.accrue_log(log);
    }
    bloom
}

/// A rollup's block: the Babel header's hash, height, time and parent, the rollup's state root,
/// and its Ethereum transactions (hashes, or in full).
pub(super) struct BlockParts {
    /// The Babel header.
    pub(super) header: v1::Header,
    /// The rollup's state root in it.
    pub(super) state_root: B256,
    /// The slice.
    pub(super) txs: Vec<SliceTx>,
    /// Gas the slice used.
    pub(super) gas_used: u64,
    /// Bloom of the slice's logs.
    pub(super) bloom: Bloom,
    /// The signers of the transactions, when they are given in full.
    pub(super) signers: Option<Vec<Address>>,
    /// The rollup's gas price.
    pub(super) gas_price: u64,
}

/// An RPC block.
pub(super) fn block(parts: BlockParts) -> Block {
    let h = &parts.header;
    let first = Place::new(h, 0);
    let hash = first.block_hash;
    let to_b256 = |b: &[u8]| <[u8; 32]>::try_from(b).map(B256::from).unwrap_or_default();
    let consensus = alloy_consensus::Header {
        parent_hash: to_b256(&h.parent_hash),
        state_root: parts.state_root,
        transactions_root: to_b256(&h.tx_root),
        receipts_root: to_b256(&h.results_root),
        logs_bloom: parts.bloom,
        number: h.height,
        gas_limit: BLOCK_GAS_LIMIT,
        gas_used: parts.gas_used,
        timestamp: h.time_ms / 1000,
        base_fee_per_gas: Some(parts.gas_price),
        beneficiary: <[u8; 20]>::try_from(h.proposer.as_ref())
            .map(Address::from)
            .unwrap_or_default(),
        ..Default::default()
    };
    let transactions = if let Some(signers) = parts.signers {
        BlockTransactions::Full(
            parts
                .txs
                .into_iter()
                .zip(signers)
                .enumerate()
                .map(|(i, (tx, from))| transaction(tx, from, Some(first.at(i)), parts.gas_price))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(parts.txs.iter().map(|t| t.hash).collect())
    };
    Block {
        header: Header::from_consensus(Sealed::new_unchecked(consensus, hash), None, None),
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    }
}

/// Wei as a `U256` from 32 big-endian bytes (or fewer).
pub(super) fn word(bytes: &[u8]) -> U256 {
    U256::from_be_slice(&bytes[..bytes.len().min(32)])
}
