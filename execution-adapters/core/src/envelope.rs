//! Opening a signed transaction of either envelope (native or Ethereum) into the native
//! [`v1::Transaction`] the executor runs: the one place admission and block execution agree on
//! what a transaction says and who signed it.

use babel_proto::v1;
use prost::Message;

use crate::{
    Executor, RollupId,
    ethereum::{self, EthError, EthTx},
    memo::TxMemo,
    registry::Registry,
};

/// How many recovered Ethereum signers a node keeps (about 60 bytes each). Past it the memo
/// starts over: it only saves work, it never decides anything.
const MEMO_ENTRIES: usize = 1 << 17;

/// Why a signed transaction cannot be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The native body does not decode.
    #[error("body does not decode: {0}")]
    Body(String),
    /// Both envelopes at once: the hash would not cover one of them.
    #[error(
        "a transaction carries either a native body and signature or an Ethereum transaction, not both"
    )]
    BothEnvelopes,
    /// The Ethereum transaction is refused.
    #[error(transparent)]
    Ethereum(#[from] EthError),
    /// No EVM rollup of this chain has the transaction's chain id.
    #[error("invalid chain id {0}: no EVM rollup of this chain has it")]
    UnknownChain(u64),
}

/// A signed transaction, opened.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    /// The transaction as the executor runs it.
    pub tx: v1::Transaction,
    /// The Ethereum transaction it came from, if it did.
    pub ethereum: Option<EthTx>,
}

/// Recovered Ethereum signers by transaction hash, at most [`MEMO_ENTRIES`].
#[derive(Debug)]
pub(crate) struct SignerMemo(TxMemo<[u8; 20]>);

impl Default for SignerMemo {
    fn default() -> Self {
        Self(TxMemo::new(MEMO_ENTRIES))
    }
}

impl std::ops::Deref for SignerMemo {
    type Target = TxMemo<[u8; 20]>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Executor {
    /// Open `signed`: decode a native body, or decode an Ethereum transaction, recover its
    /// signer (once per node for the same bytes) and find the EVM rollup it is signed for.
    /// A native signature is not checked here (admission batches those).
    pub fn open(&self, signed: &v1::SignedTransaction) -> Result<Opened, OpenError> {
        if signed.ethereum.is_empty() {
            let tx = v1::Transaction::decode(signed.body.clone())
                .map_err(|e| OpenError::Body(e.to_string()))?;
            return Ok(Opened { tx, ethereum: None });
        }
        if !signed.body.is_empty() || !signed.signature.is_empty() {
            return Err(OpenError::BothEnvelopes);
        }
        let parsed = ethereum::parse(&signed.ethereum)?;
        // The rollup first: a transaction for no rollup of this chain costs no recovery.
        let rollup = match parsed.chain_id() {
            Some(chain_id) => Some(
                self.evm_rollup(chain_id)
                    .ok_or(OpenError::UnknownChain(chain_id))?,
            ),
            None => None,
        };
        let hash = babel_proto::tx_hash(signed);
        let known = self.signers.get(&hash);
        let eth = parsed.check(hash, known)?;
        if known.is_none() {
            self.signers.insert(hash, eth.from);
        }
        // A checked transaction has a chain id, so its rollup was found above.
        let rollup = rollup.ok_or(OpenError::UnknownChain(eth.chain_id))?;
        let tx = ethereum::native(&eth, self.chain_id(), rollup);
        Ok(Opened {
            tx,
            ethereum: Some(eth),
        })
    }

    /// The signer of the Ethereum transaction `envelope` whose hash is `hash`, for reads of
    /// committed transactions: from the memo when admission or a block put it there, else
    /// recovered and not remembered, so that reads never crowd out what blocks need.
    pub fn ethereum_signer(
        &self,
        envelope: &alloy_consensus::TxEnvelope,
        hash: &[u8; 32],
    ) -> Result<[u8; 20], EthError> {
        match self.signers.get(hash) {
            Some(from) => Ok(from),
            None => ethereum::recover(envelope),
        }
    }

    /// The EVM rollup whose `evm_chain_id` is `chain_id`.
    pub fn evm_rollup(&self, chain_id: u64) -> Option<RollupId> {
        self.registry().evm_rollup(chain_id)
    }
}

/// The rollup `signed` runs on, read cheaply (no signer recovery): for where a committed
/// transaction is filed (DA namespaces, per-rollup streams). `None` if it does not open.
pub fn rollup_of(signed: &v1::SignedTransaction, registry: &Registry) -> Option<RollupId> {
    if signed.ethereum.is_empty() {
        return v1::Transaction::decode(signed.body.clone())
            .ok()
            .map(|t| t.rollup_id);
    }
    registry.evm_rollup(ethereum::parse(&signed.ethereum).ok()?.chain_id()?)
}
