//! The `eth_`, `net_` and `web3_` methods of one EVM rollup's endpoint.

use std::sync::Arc;

use alloy_eips::BlockId;
use alloy_primitives::{Address, B256, Bloom, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::{
    Block, BlockNumberOrTag, FeeHistory, Filter, FilterBlockOption, Log, Transaction,
    TransactionReceipt, TransactionRequest,
};
use babel_evm::state::{Account, account_key, code_key, storage_key};
use babel_execution::{RollupId, ethereum, state::Changes};
use babel_proto::v1::{self, RejectReason};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use tokio::sync::Semaphore;

use super::{
    convert::{self, BlockParts, Place, ReceiptParts, SliceTx},
    error,
};
use crate::{grpc::NodeService, params::MAX_TX_GAS, query};

/// Ethereum JSON-RPC of one EVM rollup.
#[rpc(server)]
pub trait EthApi {
    /// The rollup's EIP-155 chain id.
    #[method(name = "eth_chainId")]
    fn chain_id(&self) -> RpcResult<U64>;

    /// The chain id, in decimal.
    #[method(name = "net_version")]
    fn net_version(&self) -> RpcResult<String>;

    /// `babel/<version>`.
    #[method(name = "web3_clientVersion")]
    fn client_version(&self) -> RpcResult<String>;

    /// The latest committed height.
    #[method(name = "eth_blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;

    /// Balance in wei.
    #[method(name = "eth_getBalance")]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;

    /// The next nonce of an Ethereum sender (`pending` counts its pooled transactions).
    #[method(name = "eth_getTransactionCount")]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;

    /// Runtime code.
    #[method(name = "eth_getCode")]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;

    /// One storage slot.
    #[method(name = "eth_getStorageAt")]
    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256>;

    /// The rollup's gas price.
    #[method(name = "eth_gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;

    /// Zero: the rollup charges its gas price and no tip.
    #[method(name = "eth_maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;

    /// Admit a signed transaction (EIP-2718 bytes); its hash.
    #[method(name = "eth_sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;

    /// A transaction by hash (`null` if unknown).
    #[method(name = "eth_getTransactionByHash")]
    async fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>>;

    /// The receipt of a committed transaction (`null` until then).
    #[method(name = "eth_getTransactionReceipt")]
    async fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;

    /// Run a call on the latest state; its output, or the revert.
    #[method(name = "eth_call")]
    async fn call(&self, request: TransactionRequest, block: Option<BlockId>) -> RpcResult<Bytes>;

    /// The least gas limit with which the call succeeds.
    #[method(name = "eth_estimateGas")]
    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<U64>;

    /// A block by height or tag.
    #[method(name = "eth_getBlockByNumber")]
    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block>>;

    /// A block by hash.
    #[method(name = "eth_getBlockByHash")]
    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block>>;

    /// The rollup's logs that match `filter`, over at most [`MAX_LOG_BLOCKS`] blocks.
    #[method(name = "eth_getLogs")]
    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;

    /// Base fees (the rollup's gas price), gas used ratios and zero rewards of up to
    /// [`MAX_FEE_HISTORY`] blocks ending at `newest`.
    #[method(name = "eth_feeHistory")]
    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;

    /// A committed transaction's whole call tree, across every rollup it touched (`null` if
    /// unknown): Babel's own method.
    #[method(name = "babel_getCallTree")]
    async fn call_tree(&self, hash: B256) -> RpcResult<Option<convert::CallTree>>;
}

/// Most blocks one `eth_feeHistory` covers.
pub(super) const MAX_FEE_HISTORY: u64 = 1_024;

/// Most blocks one `eth_getLogs` reads.
pub(super) const MAX_LOG_BLOCKS: u64 = 1_000;
/// Most logs one `eth_getLogs` returns.
pub(super) const MAX_LOGS: usize = 10_000;

/// One rollup's endpoint state.
#[derive(Clone)]
pub(super) struct EthApi {
    rollup: RollupId,
    evm_chain_id: u64,
    service: NodeService,
    calls: Arc<Semaphore>,
}

impl EthApi {
    /// The endpoint of `rollup` (EIP-155 chain id `evm_chain_id`) over `service`, running its
    /// queries (simulations, block and receipt reads) on `calls`' permits, which the node's
    /// servers share.
    pub(super) fn new(
        rollup: RollupId,
        evm_chain_id: u64,
        service: NodeService,
        calls: Arc<Semaphore>,
    ) -> Self {
        Self {
            rollup,
            evm_chain_id,
            service,
            calls,
        }
    }

    fn latest(&self) -> RpcResult<u64> {
        Ok(self
            .service
            .store()
            .latest_height()
            .map_err(error::internal)?
            .unwrap_or(0))
    }

    /// State is served at the latest height only: refuse another.
    fn at_latest(&self, block: Option<BlockId>) -> RpcResult<()> {
        let Some(BlockId::Number(BlockNumberOrTag::Number(n))) = block else {
            return match block {
                Some(BlockId::Hash(_)) => {
                    Err(error::invalid("state is served at the latest block only"))
                }
                // Every tag names the latest block: Babel blocks are final when committed.
                _ => Ok(()),
            };
        };
        if n == self.latest()? {
            return Ok(());
        }
        Err(error::server(format!(
            "state at block {n} is not served: use \"latest\""
        )))
    }

    fn state(&self, key: &[u8]) -> RpcResult<Option<Vec<u8>>> {
        self.service
            .store()
            .state(self.rollup, key)
            .map_err(error::internal)
    }

    fn account(&self, address: &Address) -> RpcResult<Account> {
        Ok(self
            .state(&account_key(address))?
            .and_then(|bytes| Account::decode(&bytes))
            .unwrap_or_default())
    }

    fn price(&self) -> u64 {
        self.service
            .txpool()
            .executor()
            .gas_price(self.rollup)
            .unwrap_or(0)
    }

    /// The request as the native transaction a simulation runs.
    fn simulated(&self, request: &TransactionRequest, gas: u64) -> v1::Transaction {
        let from = request.from.unwrap_or_default();
        v1::Transaction {
            chain_id: self.service.txpool().executor().chain_id().to_owned(),
            rollup_id: self.rollup,
            sender_pubkey: ethereum::account_id(&from.into_array()).to_vec().into(),
            gas_limit: gas,
            payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
                to: match request.to {
                    Some(TxKind::Call(to)) => to.to_vec().into(),
                    _ => Default::default(),
                },
                value: request
                    .value
                    .map(|v| v.to_be_bytes::<32>().to_vec().into())
                    .unwrap_or_default(),
                data: request
                    .input
                    .input()
                    .map(|d| d.0.clone())
                    .unwrap_or_default(),
            })),
            ..Default::default()
        }
    }

    /// Run `work` off the async threads, on one of the node's query permits.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> RpcResult<T> + Send + 'static,
    ) -> RpcResult<T> {
        let api = self.clone();
        query::blocking(&self.calls, move || work(&api))
            .await
            .map_err(error::internal)?
    }

    /// Simulate `request` with `gas`.
    async fn simulate(&self, request: &TransactionRequest, gas: u64) -> RpcResult<v1::Receipt> {
        let tx = self.simulated(request, gas);
        let (rollup, price) = (self.rollup, self.price());
        let result = self
            .blocking(move |api| {
                Ok(query::simulate_over(
                    api.service.store(),
                    api.service.txpool().executor(),
                    tx,
                    // As geth runs a call at gas price 0, the sender can always pay for it: its
                    // balance is raised by the fee the simulation takes (and refunds).
                    |state, tx| {
                        let mut changes = Changes::new();
                        if price == 0 {
                            return Ok(changes);
                        }
                        let from = Address::from_slice(&tx.sender_pubkey[12..]);
                        let key = account_key(&from);
                        let mut account = state
                            .get(rollup, &key)
                            .map_err(|e| query::QueryError::Internal(e.to_string()))?
                            .and_then(|b| Account::decode(&b))
                            .unwrap_or_default();
                        let fee = U256::from(tx.gas_limit).saturating_mul(U256::from(price));
                        account.balance = account.balance.saturating_add(fee);
                        changes.insert((rollup, key.to_vec()), Some(account.encode()));
                        Ok(changes)
                    },
                ))
            })
            .await?;
        match result {
            Ok((receipt, _)) => Ok(receipt),
            Err(query::QueryError::Internal(m)) => Err(error::internal(m)),
            Err(e) => Err(error::invalid(e.to_string())),
        }
    }

    /// The header of committed block `height` and this rollup's slice of it.
    fn sliced(&self, height: u64) -> RpcResult<Option<(v1::Header, Vec<SliceTx>)>> {
        let Some(block) = self
            .service
            .store()
            .block(height)
            .map_err(error::internal)?
        else {
            return Ok(None);
        };
        let txs = convert::slice(self.service.txpool().executor(), self.rollup, &block);
        Ok(block.header.map(|header| (header, txs)))
    }

    /// The stored receipt of each of `txs`, in order.
    fn receipts_of(&self, txs: &[SliceTx]) -> RpcResult<Vec<Option<v1::Receipt>>> {
        let store = self.service.store();
        txs.iter()
            .map(|t| store.receipt(&t.hash.0).map_err(error::internal))
            .collect()
    }

    /// A committed block's RPC form.
    fn block_at(&self, height: u64, full: bool) -> RpcResult<Option<Block>> {
        let Some((header, txs)) = self.sliced(height)? else {
            return Ok(None);
        };
        let mut gas_used = 0u64;
        let mut bloom = Bloom::default();
        for r in self.receipts_of(&txs)?.into_iter().flatten() {
            gas_used = gas_used.saturating_add(r.gas_used);
            bloom.accrue_bloom(&convert::bloom_of(&convert::logs_of(
                r.root.as_ref(),
                self.rollup,
            )));
        }
        let signers = if full {
            let executor = self.service.txpool().executor();
            let signers: Result<Vec<Address>, _> = txs.iter().map(|t| t.from(executor)).collect();
            Some(signers.map_err(error::internal)?)
        } else {
            None
        };
        let state_root = header
            .state_roots
            .iter()
            .find(|r| r.rollup_id == self.rollup)
            .and_then(|r| <[u8; 32]>::try_from(r.root.as_ref()).ok())
            .map(B256::from)
            .unwrap_or_default();
        Ok(Some(convert::block(BlockParts {
            header,
            state_root,
            txs,
            gas_used,
            bloom,
            signers,
            gas_price: self.price(),
        })))
    }

    /// The heights `option` covers.
    fn log_range(&self, option: &FilterBlockOption) -> RpcResult<Option<(u64, u64)>> {
        let latest = self.latest()?;
        let number = |tag: Option<BlockNumberOrTag>| match tag {
            Some(BlockNumberOrTag::Number(n)) => n.min(latest),
            Some(BlockNumberOrTag::Earliest) => 0,
            _ => latest,
        };
        let (from, to) = match option {
            FilterBlockOption::AtBlockHash(hash) => {
                let height = self
                    .service
                    .store()
                    .height_of(&hash.0)
                    .map_err(error::internal)?;
                match height {
                    Some(h) => (h, h),
                    None => return Err(error::server("unknown block")),
                }
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => (number(*from_block), number(*to_block)),
        };
        if from > to {
            return Ok(None);
        }
        if to - from >= MAX_LOG_BLOCKS {
            return Err(error::server(format!(
                "query exceeds max block range {MAX_LOG_BLOCKS}"
            )));
        }
        Ok(Some((from, to)))
    }

    /// The logs of blocks `from..=to` that match `filter`.
    fn collect_logs(&self, filter: &Filter, from: u64, to: u64) -> RpcResult<Vec<Log>> {
        let mut out = Vec::new();
        for height in from..=to {
            let Some((header, txs)) = self.sliced(height)? else {
                continue;
            };
            let block = Place::new(&header, 0);
            let mut log_index = 0u64;
            for (index, (tx, receipt)) in txs.iter().zip(self.receipts_of(&txs)?).enumerate() {
                let Some(receipt) = receipt else {
                    continue;
                };
                for inner in convert::logs_of(receipt.root.as_ref(), self.rollup) {
                    let at = log_index;
                    log_index += 1;
                    if !filter.matches_address(inner.address)
                        || !filter.matches_topics(inner.topics())
                    {
                        continue;
                    }
                    if out.len() == MAX_LOGS {
                        return Err(error::server(format!(
                            "query returned more than {MAX_LOGS} results"
                        )));
                    }
                    out.push(convert::rpc_log(inner, block.at(index), tx.hash, at));
                }
            }
        }
        Ok(out)
    }

    /// A committed Ethereum transaction of this rollup: the slice it is in, its index there,
    /// and its block's header.
    fn locate(&self, hash: &B256) -> RpcResult<Option<(Vec<SliceTx>, usize, v1::Header)>> {
        let location = self
            .service
            .store()
            .tx_location(&hash.0)
            .map_err(error::internal)?;
        let Some(location) = location else {
            return Ok(None);
        };
        let Some((header, txs)) = self.sliced(location.height)? else {
            return Ok(None);
        };
        let Some(index) = txs.iter().position(|t| &t.hash == hash) else {
            return Ok(None);
        };
        Ok(Some((txs, index, header)))
    }

    /// A committed or pooled Ethereum transaction of this rollup.
    fn transaction(&self, hash: &B256) -> RpcResult<Option<Transaction>> {
        let executor = self.service.txpool().executor();
        if let Some((txs, index, header)) = self.locate(hash)? {
            let Some(tx) = txs.into_iter().nth(index) else {
                return Ok(None);
            };
            let from = tx.from(executor).map_err(error::internal)?;
            let place = Some(Place::new(&header, index));
            return Ok(Some(convert::transaction(tx, from, place, self.price())));
        }
        // Pooled, not yet in a block.
        let pooled = self
            .service
            .txpool()
            .pool()
            .lock()
            .by_hash(&hash.0)
            .map(|t| t.tx.clone());
        let Some(signed) = pooled else {
            return Ok(None);
        };
        let block = v1::Block {
            txs: vec![signed],
            ..Default::default()
        };
        let Some(tx) = convert::slice(executor, self.rollup, &block)
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let from = tx.from(executor).map_err(error::internal)?;
        Ok(Some(convert::transaction(tx, from, None, self.price())))
    }

    /// The receipt of a committed Ethereum transaction of this rollup.
    fn receipt(&self, hash: &B256) -> RpcResult<Option<TransactionReceipt>> {
        let Some((txs, index, header)) = self.locate(hash)? else {
            return Ok(None);
        };
        let mut receipts = self.receipts_of(&txs[..=index])?;
        let Some(receipt) = receipts.pop().flatten() else {
            return Ok(None);
        };
        let mut cumulative_gas = 0u64;
        let mut logs_before = 0u64;
        for r in receipts.into_iter().flatten() {
            cumulative_gas = cumulative_gas.saturating_add(r.gas_used);
            logs_before += convert::logs_of(r.root.as_ref(), self.rollup).len() as u64;
        }
        let from = txs[index]
            .from(self.service.txpool().executor())
            .map_err(error::internal)?;
        Ok(Some(convert::receipt(ReceiptParts {
            tx: &txs[index],
            from,
            receipt: &receipt,
            place: Place::new(&header, index),
            cumulative_gas: cumulative_gas.saturating_add(receipt.gas_used),
            logs_before,
            gas_price: self.price(),
            rollup: self.rollup,
        })))
    }
}

#[jsonrpsee::core::async_trait]
impl EthApiServer for EthApi {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.evm_chain_id))
    }

    fn net_version(&self) -> RpcResult<String> {
        Ok(self.evm_chain_id.to_string())
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(format!("babel/{}", env!("CARGO_PKG_VERSION")))
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.latest()?))
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        self.at_latest(block)?;
        Ok(self.account(&address)?.balance)
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        let account = (self.rollup, ethereum::account_id(&address.into_array()));
        let committed = self
            .service
            .store()
            .nonce(account.0, &account.1)
            .map_err(error::internal)?;
        if !matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            self.at_latest(block)?;
            return Ok(U64::from(committed));
        }
        let pool = self.service.txpool().pool().lock();
        let mut next = committed;
        while pool.get(&account, next).is_some() {
            next += 1;
        }
        Ok(U64::from(next))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        self.at_latest(block)?;
        let account = self.account(&address)?;
        if account.code_hash == alloy_primitives::KECCAK256_EMPTY {
            return Ok(Bytes::new());
        }
        Ok(self
            .state(&code_key(&account.code_hash))?
            .map(Bytes::from)
            .unwrap_or_default())
    }

    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256> {
        self.at_latest(block)?;
        let value = self
            .state(&storage_key(&address, &slot))?
            .map(|v| convert::word(&v))
            .unwrap_or_default();
        Ok(B256::from(value.to_be_bytes::<32>()))
    }

    fn gas_price(&self) -> RpcResult<U256> {
        Ok(U256::from(self.price()))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::ZERO)
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        let limit = self.service.max_tx_bytes();
        if raw.len() > limit {
            return Err(error::server(format!(
                "oversized data: transaction is {} bytes, limit {limit}",
                raw.len()
            )));
        }
        let signed = v1::SignedTransaction {
            ethereum: raw.0,
            ..Default::default()
        };
        let executor = self.service.txpool().executor();
        let opened = executor
            .open(&signed)
            .map_err(|e| error::server(e.to_string()))?;
        if opened.tx.rollup_id != self.rollup {
            return Err(error::server(format!(
                "invalid chain id: this endpoint serves chain id {}",
                self.evm_chain_id
            )));
        }
        // Ethereum refuses a transaction its sender cannot fully pay: value and all its gas.
        if let Some(eth) = &opened.ethereum {
            // A replay of a committed transaction: its nonce is spent.
            let committed = self.service.store().tx_location(&eth.hash);
            if committed.map_err(error::internal)?.is_some() {
                return Err(error::server("nonce too low"));
            }
            let need = convert::word(&eth.value)
                .saturating_add(U256::from(eth.gas_limit).saturating_mul(U256::from(self.price())));
            if self.account(&Address::from(eth.from))?.balance < need {
                return Err(error::server("insufficient funds for gas * price + value"));
            }
        }
        let answer = self
            .service
            .submit(vec![signed])
            .await
            .pop()
            .ok_or_else(|| error::internal("no admission result"))?;
        if answer.accepted {
            return <[u8; 32]>::try_from(answer.hash.as_ref())
                .map(B256::from)
                .map_err(error::internal);
        }
        let reason = RejectReason::try_from(answer.reason).unwrap_or(RejectReason::Unspecified);
        Err(error::refused(reason, &answer.message))
    }

    async fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>> {
        self.blocking(move |api| api.transaction(&hash)).await
    }

    async fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        self.blocking(move |api| api.receipt(&hash)).await
    }

    async fn call(&self, request: TransactionRequest, block: Option<BlockId>) -> RpcResult<Bytes> {
        self.at_latest(block)?;
        let receipt = self.simulate(&request, request.gas.unwrap_or(0)).await?;
        if receipt.success {
            Ok(Bytes::from(receipt.output))
        } else {
            Err(error::reverted(&receipt.output))
        }
    }

    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<U64> {
        self.at_latest(block)?;
        let cap = request
            .gas
            .filter(|g| *g > 0)
            .unwrap_or(MAX_TX_GAS)
            .min(MAX_TX_GAS);
        let first = self.simulate(&request, cap).await?;
        if !first.success {
            return Err(error::reverted(&first.output));
        }
        // What it used may not be enough as a limit (the 63/64 rule, refunds): search up to
        // the cap for a limit that succeeds, to within 1.5 % of the least (as geth does), so
        // that an estimate costs a handful of simulations.
        if self.simulate(&request, first.gas_used).await?.success {
            return Ok(U64::from(first.gas_used));
        }
        let (mut low, mut high) = (first.gas_used, cap);
        while high - low > 1 && (high - low) * 1000 > high * 15 {
            let mid = low + (high - low) / 2;
            if self.simulate(&request, mid).await?.success {
                high = mid;
            } else {
                low = mid;
            }
        }
        Ok(U64::from(high))
    }

    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block>> {
        let height = match number {
            BlockNumberOrTag::Number(n) => n,
            BlockNumberOrTag::Earliest => 0,
            _ => self.latest()?,
        };
        self.blocking(move |api| api.block_at(height, full)).await
    }

    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block>> {
        let Some(height) = self
            .service
            .store()
            .height_of(&hash.0)
            .map_err(error::internal)?
        else {
            return Ok(None);
        };
        self.blocking(move |api| api.block_at(height, full)).await
    }

    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        let Some((from, to)) = self.log_range(&filter.block_option)? else {
            return Ok(Vec::new());
        };
        self.blocking(move |api| api.collect_logs(&filter, from, to))
            .await
    }

    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let latest = self.latest()?;
        let newest = match newest {
            BlockNumberOrTag::Number(n) => n.min(latest),
            BlockNumberOrTag::Earliest => 0,
            _ => latest,
        };
        let count = block_count.to::<u64>().min(MAX_FEE_HISTORY).min(newest);
        let oldest = newest + 1 - count;
        let price = u128::from(self.price());
        let ratios = self
            .blocking(move |api| {
                let mut ratios = Vec::new();
                for height in oldest..=newest {
                    let Some((_, txs)) = api.sliced(height)? else {
                        ratios.push(0.0);
                        continue;
                    };
                    let gas = api
                        .receipts_of(&txs)?
                        .into_iter()
                        .flatten()
                        .fold(0u64, |gas, r| gas.saturating_add(r.gas_used));
                    ratios.push(gas as f64 / convert::BLOCK_GAS_LIMIT as f64);
                }
                Ok(ratios)
            })
            .await?;
        Ok(FeeHistory {
            base_fee_per_gas: vec![price; ratios.len() + 1],
            reward: percentiles.map(|p| vec![vec![0; p.len()]; ratios.len()]),
            gas_used_ratio: ratios,
            base_fee_per_blob_gas: Vec::new(),
            blob_gas_used_ratio: Vec::new(),
            oldest_block: oldest,
        })
    }

    async fn call_tree(&self, hash: B256) -> RpcResult<Option<convert::CallTree>> {
        let receipt = self
            .service
            .store()
            .receipt(&hash.0)
            .map_err(error::internal)?;
        Ok(receipt
            .and_then(|r| r.root)
            .map(|root| convert::call_tree(&root)))
    }
}
