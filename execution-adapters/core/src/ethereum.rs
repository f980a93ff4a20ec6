//! Ethereum transactions: the second envelope of EVM rollups, so that wallets and libraries
//! that sign secp256k1 transactions work unchanged.
//!
//! A [`v1::SignedTransaction`] whose `ethereum` field is set carries one signed Ethereum
//! transaction in its EIP-2718 encoding: legacy with an EIP-155 chain id, EIP-2930 or EIP-1559.
//! [`decode`] checks it and recovers its signer; [`native`] states it as the native
//! [`v1::Transaction`] the executor runs, so that nonces, fees, gas, cross-rollup calls and
//! receipts follow the same rules for both envelopes:
//!
//! - the rollup is the EVM rollup whose `evm_chain_id` the transaction is signed for;
//! - the sender is the account [`account_id`] of the recovered address (12 zero bytes, then
//!   the address), with its own nonce on that rollup, and the EVM sees the address itself;
//! - the fee follows the rollup's gas price, which the transaction's price cap (`gasPrice`, or
//!   `maxFeePerGas`) must cover; the priority fee is not charged.

use alloy_consensus::{Transaction as _, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use babel_proto::v1;
use bytes::Bytes;

use crate::RollupId;

/// Leading bytes of the account id of an Ethereum sender. Admission and block validation refuse
/// native senders whose key starts so, and they must: some such keys are small-order points
/// (the all-zero key, for one), for which anyone can make a signature ZIP-215 accepts. So the
/// two kinds of account never meet.
pub const ACCOUNT_PREFIX: [u8; 12] = [0; 12];

/// The account id of the Ethereum address `address`: nonces and the mempool know senders by it.
pub fn account_id(address: &[u8; 20]) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[12..].copy_from_slice(address);
    id
}

/// The Ethereum address behind account id `id`, if it is one.
pub fn address_of(id: &[u8; 32]) -> Option<[u8; 20]> {
    if id[..12] != ACCOUNT_PREFIX {
        return None;
    }
    let mut address = [0u8; 20];
    address.copy_from_slice(&id[12..]);
    Some(address)
}

/// Why an Ethereum transaction is refused, in the words Ethereum clients expect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// The bytes are not one EIP-2718 transaction.
    #[error("rlp: {0}")]
    Decode(String),
    /// A transaction type this node does not run (blob and set-code transactions).
    #[error("transaction type {0} not supported")]
    Unsupported(u8),
    /// A legacy transaction without EIP-155 replay protection.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    NotReplayProtected,
    /// An access list: Babel's gas has no use for one, and its bytes would go unpaid.
    #[error("access lists are not supported")]
    AccessList,
    /// No signer can be recovered (a malformed or high-s signature).
    #[error("invalid sender: {0}")]
    Signature(String),
}

/// A checked Ethereum transaction and its recovered signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EthTx {
    /// `keccak256` of the EIP-2718 bytes.
    pub hash: [u8; 32],
    /// The EIP-2718 type: 0 legacy, 1 EIP-2930, 2 EIP-1559.
    pub ty: u8,
    /// The EIP-155 chain id it is signed for.
    pub chain_id: u64,
    /// The recovered signer.
    pub from: [u8; 20],
    /// Its nonce.
    pub nonce: u64,
    /// Its gas limit.
    pub gas_limit: u64,
    /// The most it pays per gas: `gasPrice`, or `maxFeePerGas`.
    pub fee_cap: u128,
    /// The tip it offers per gas (EIP-1559), not charged.
    pub priority_fee: Option<u128>,
    /// The callee; `None` creates a contract.
    pub to: Option<[u8; 20]>,
    /// Wei sent, 32 bytes big-endian.
    pub value: [u8; 32],
    /// Calldata or init code.
    pub input: Bytes,
}

/// Decode `raw` (one EIP-2718 transaction, nothing after it) and recover its signer.
pub fn decode(raw: &[u8]) -> Result<EthTx, EthError> {
    parse(raw)?.check(alloy_primitives::keccak256(raw).0, None)
}

/// An Ethereum transaction decoded from its bytes and not checked yet: what can be read of it
/// cheaply (its chain id) before the costly part, recovering its signer.
#[derive(Debug)]
pub struct Parsed {
    envelope: TxEnvelope,
    /// Bytes after the transaction (refused by [`Parsed::check`]).
    trailing: usize,
}

/// Decode the transaction `raw` starts with.
pub fn parse(raw: &[u8]) -> Result<Parsed, EthError> {
    let mut rest = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut rest).map_err(|e| EthError::Decode(e.to_string()))?;
    Ok(Parsed {
        envelope,
        trailing: rest.len(),
    })
}

impl Parsed {
    /// The chain id it is signed for, if any.
    pub fn chain_id(&self) -> Option<u64> {
        self.envelope.chain_id()
    }

    /// The envelope, unchecked.
    pub fn into_envelope(self) -> TxEnvelope {
        self.envelope
    }

    /// Check it (nothing after it, a supported type, an EIP-155 chain id, no access list) and
    /// take its signer: `known` when this node recovered it from these very bytes before
    /// (recovering is the costly part, tens of µs, and its result a function of the bytes;
    /// see [`crate::Executor::open`]), else recovered. `hash` is keccak256 of the bytes.
    pub fn check(self, hash: [u8; 32], known: Option<[u8; 20]>) -> Result<EthTx, EthError> {
        let envelope = self.envelope;
        if self.trailing > 0 {
            return Err(EthError::Decode(format!(
                "{} bytes after the transaction",
                self.trailing
            )));
        }
        let ty = envelope.tx_type() as u8;
        if !matches!(
            envelope,
            TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_)
        ) {
            return Err(EthError::Unsupported(ty));
        }
        let chain_id = envelope.chain_id().ok_or(EthError::NotReplayProtected)?;
        // The intrinsic gas of a Babel EVM transaction counts calldata only: list entries would
        // be bytes every node stores, gossips and posts for free.
        if envelope.access_list().is_some_and(|list| !list.is_empty()) {
            return Err(EthError::AccessList);
        }
        let from = match known {
            Some(from) => from,
            None => recover(&envelope)?,
        };
        Ok(EthTx {
            hash,
            ty,
            chain_id,
            from,
            nonce: envelope.nonce(),
            gas_limit: envelope.gas_limit(),
            fee_cap: envelope.max_fee_per_gas(),
            priority_fee: envelope.max_priority_fee_per_gas(),
            to: envelope.to().map(|a| a.into_array()),
            value: envelope.value().to_be_bytes(),
            input: Bytes::copy_from_slice(envelope.input()),
        })
    }
}

/// The signer of `envelope` (libsecp256k1; high-s signatures are refused).
pub fn recover(envelope: &TxEnvelope) -> Result<[u8; 20], EthError> {
    envelope
        .recover_signer()
        .map(|a| a.into_array())
        .map_err(|e| EthError::Signature(e.to_string()))
}

/// `tx` as the native transaction the executor runs on rollup `rollup_id` of chain `chain_id`.
/// Its `max_fee` is its gas limit at its price cap (saturating), so the executor's fee rules
/// (cap covers limit × the rollup's price; refund of what is unused) apply unchanged.
pub fn native(tx: &EthTx, chain_id: &str, rollup_id: RollupId) -> v1::Transaction {
    let max_fee = u128::from(tx.gas_limit).saturating_mul(tx.fee_cap);
    v1::Transaction {
        chain_id: chain_id.to_owned(),
        rollup_id,
        sender_pubkey: Bytes::copy_from_slice(&account_id(&tx.from)),
        nonce: tx.nonce,
        gas_limit: tx.gas_limit,
        max_fee: u64::try_from(max_fee).unwrap_or(u64::MAX),
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: tx
                .to
                .map_or_else(Bytes::new, |a| Bytes::copy_from_slice(&a)),
            value: Bytes::copy_from_slice(&tx.value),
            data: tx.input.clone(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEip2930, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::{Address, Signature, TxKind, U256};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    use super::*;

    fn signer() -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&[0x42; 32].into()).expect("key")
    }

    fn signed<T>(tx: T) -> Vec<u8>
    where
        T: SignableTransaction<Signature>,
        Signed<T>: Into<TxEnvelope>,
    {
        let signature = signer().sign_hash_sync(&tx.signature_hash()).expect("sign");
        tx.into_signed(signature).into().encoded_2718()
    }

    fn legacy(chain_id: Option<u64>) -> TxLegacy {
        TxLegacy {
            chain_id,
            nonce: 5,
            gas_price: 7,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(1234),
            input: vec![1, 2, 3].into(),
        }
    }

    #[test]
    fn each_supported_type_decodes_with_its_signer() {
        let from = signer().address().into_array();
        let raw = signed(legacy(Some(77)));
        let tx = decode(&raw).expect("legacy");
        assert_eq!((tx.ty, tx.chain_id, tx.from, tx.nonce), (0, 77, from, 5));
        assert_eq!(
            (tx.gas_limit, tx.fee_cap, tx.priority_fee),
            (21_000, 7, None)
        );
        assert_eq!(tx.to, Some([9; 20]));
        assert_eq!(U256::from_be_bytes(tx.value), U256::from(1234));
        assert_eq!(tx.input.as_ref(), [1, 2, 3]);
        assert_eq!(tx.hash, alloy_primitives::keccak256(&raw).0);

        let raw = signed(TxEip2930 {
            chain_id: 77,
            nonce: 1,
            gas_price: 3,
            gas_limit: 30_000,
            to: TxKind::Create,
            ..Default::default()
        });
        let tx = decode(&raw).expect("2930");
        assert_eq!((tx.ty, tx.from, tx.to, tx.fee_cap), (1, from, None, 3));

        let raw = signed(TxEip1559 {
            chain_id: 77,
            nonce: 2,
            gas_limit: 40_000,
            max_fee_per_gas: 11,
            max_priority_fee_per_gas: 4,
            to: TxKind::Call(Address::repeat_byte(1)),
            ..Default::default()
        });
        let tx = decode(&raw).expect("1559");
        assert_eq!(
            (tx.ty, tx.from, tx.fee_cap, tx.priority_fee),
            (2, from, 11, Some(4))
        );
        assert_eq!(parse(&raw).expect("parses").chain_id(), Some(77));
        // A known signer skips recovery and gives the same transaction.
        let hash = alloy_primitives::keccak256(&raw).0;
        assert_eq!(parse(&raw).expect("parses").check(hash, Some(from)), Ok(tx));
    }

    #[test]
    fn unprotected_tampered_and_trailing_transactions_are_refused() {
        assert_eq!(
            decode(&signed(legacy(None))),
            Err(EthError::NotReplayProtected)
        );
        let mut raw = signed(legacy(Some(77)));
        raw.push(0);
        assert!(matches!(decode(&raw), Err(EthError::Decode(_))));
        // A changed field is signed by someone else, or by no one.
        let mut raw = signed(legacy(Some(77)));
        let at = raw.len() - 70;
        raw[at] ^= 1;
        match decode(&raw) {
            Ok(tx) => assert_ne!(tx.from, signer().address().into_array()),
            Err(e) => assert!(matches!(e, EthError::Decode(_) | EthError::Signature(_))),
        }
    }

    #[test]
    fn an_access_list_is_refused() {
        let listed = signed(TxEip1559 {
            chain_id: 77,
            gas_limit: 40_000,
            to: TxKind::Call(Address::repeat_byte(1)),
            access_list: vec![alloy_eips::eip2930::AccessListItem {
                address: Address::repeat_byte(2),
                storage_keys: vec![Default::default(); 3],
            }]
            .into(),
            ..Default::default()
        });
        assert_eq!(decode(&listed), Err(EthError::AccessList));
    }

    #[test]
    fn the_native_form_carries_the_call_and_a_saturating_fee_cap() {
        let tx = decode(&signed(legacy(Some(77)))).expect("legacy");
        let native = native(&tx, "chain", 4);
        assert_eq!(
            (native.rollup_id, native.nonce, native.gas_limit),
            (4, 5, 21_000)
        );
        assert_eq!(native.max_fee, 21_000 * 7);
        assert_eq!(
            address_of(&native.sender_pubkey[..].try_into().expect("32")),
            Some(tx.from)
        );
        let Some(v1::transaction::Payload::Evm(call)) = native.payload else {
            panic!("an EVM call");
        };
        assert_eq!(call.to.as_ref(), [9; 20]);
        let rich = EthTx {
            fee_cap: u128::MAX,
            ..tx
        };
        assert_eq!(super::native(&rich, "chain", 4).max_fee, u64::MAX);
    }

    #[test]
    fn account_ids_round_trip_and_native_keys_are_not_addresses() {
        let address = [7u8; 20];
        assert_eq!(address_of(&account_id(&address)), Some(address));
        let mut key = [0u8; 32];
        key[11] = 1;
        assert_eq!(address_of(&key), None);
    }

    #[test]
    fn garbage_and_trailing_bytes_are_refused() {
        assert!(matches!(decode(&[]), Err(EthError::Decode(_))));
        assert!(matches!(decode(&[0x02, 0xc0]), Err(EthError::Decode(_))));
        assert!(matches!(decode(&[0xff; 40]), Err(EthError::Decode(_))));
    }
}
