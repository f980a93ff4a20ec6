//! `babel verify`: check a proof as a light client would, trusting only a genesis file (its
//! chain id and validators): the header must be final under a certificate of more than two
//! thirds of the voting power, and the claimed state value, transaction, receipt or outgoing
//! message must be proven against it. The proof comes from a node over gRPC or from a file saved earlier.

use std::time::Duration;

use anyhow::bail;
use babel_genesis::Genesis;
use babel_proto::{message::message_key, v1};
use babel_settlement::{Finality, ValidatorSet, VerifyError};
use prost::Message as _;

/// How long connecting and asking may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the proof must establish.
#[derive(Clone, Debug)]
pub enum Claim {
    /// Rollup `rollup`'s state `key` at `height` (0: the node's latest).
    State {
        /// Rollup id.
        rollup: u64,
        /// State key.
        key: Vec<u8>,
        /// Height; 0 asks the node for its latest.
        height: u64,
    },
    /// The transaction with this hash is committed.
    Transaction {
        /// Transaction hash.
        hash: [u8; 32],
    },
    /// The receipt of the transaction with this hash.
    Receipt {
        /// Transaction hash.
        hash: [u8; 32],
    },
    /// Message `index` of rollup `rollup`'s outgoing-message log at `height` (0: the node's
    /// latest): a state proof of its key.
    Message {
        /// Rollup id.
        rollup: u64,
        /// Index in the log.
        index: u64,
        /// Height; 0 asks the node for its latest.
        height: u64,
    },
}

/// A proof as a node serves it.
#[derive(Clone, Debug, PartialEq)]
pub enum Proof {
    /// `GetStateProof`'s answer.
    State(v1::GetStateProofResponse),
    /// `GetTransactionProof`'s answer.
    Transaction(v1::GetTransactionProofResponse),
    /// `GetReceiptProof`'s answer.
    Receipt(v1::GetReceiptProofResponse),
}

impl Proof {
    /// The protobuf encoding (what `--save` writes).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::State(p) => p.encode_to_vec(),
            Self::Transaction(p) => p.encode_to_vec(),
            Self::Receipt(p) => p.encode_to_vec(),
        }
    }

    /// Decode a proof of the kind `claim` needs.
    pub fn decode(claim: &Claim, bytes: &[u8]) -> anyhow::Result<Self> {
        Ok(match claim {
            Claim::State { .. } | Claim::Message { .. } => {
                Self::State(v1::GetStateProofResponse::decode(bytes)?)
            }
            Claim::Transaction { .. } => {
                Self::Transaction(v1::GetTransactionProofResponse::decode(bytes)?)
            }
            Claim::Receipt { .. } => Self::Receipt(v1::GetReceiptProofResponse::decode(bytes)?),
        })
    }
}

/// The validators `genesis` trusts.
pub fn trusted(genesis: &Genesis) -> anyhow::Result<ValidatorSet> {
    let validators = babel_consensus::ValidatorSet::from_genesis(genesis)?;
    Ok(crate::app::light_client_set(
        &genesis.chain_id,
        &validators,
    )?)
}

/// Ask the node at `endpoint` for the proof of `claim`.
pub async fn fetch(endpoint: &str, claim: &Claim) -> anyhow::Result<Proof> {
    let mut client = super::node_client(endpoint, TIMEOUT).await?;
    let ask = |hash: &[u8; 32]| v1::GetTransactionProofRequest {
        hash: hash.to_vec().into(),
    };
    Ok(match claim {
        Claim::Message {
            rollup,
            index,
            height,
        } => Proof::State(
            client
                .get_state_proof(v1::GetStateProofRequest {
                    rollup_id: *rollup,
                    key: message_key(*index).to_vec().into(),
                    height: *height,
                })
                .await?
                .into_inner(),
        ),
        Claim::State {
            rollup,
            key,
            height,
        } => Proof::State(
            client
                .get_state_proof(v1::GetStateProofRequest {
                    rollup_id: *rollup,
                    key: key.clone().into(),
                    height: *height,
                })
                .await?
                .into_inner(),
        ),
        Claim::Transaction { hash } => {
            Proof::Transaction(client.get_transaction_proof(ask(hash)).await?.into_inner())
        }
        Claim::Receipt { hash } => {
            Proof::Receipt(client.get_receipt_proof(ask(hash)).await?.into_inner())
        }
    })
}

fn parts<'a>(
    header: &'a Option<v1::Header>,
    certificate: &'a Option<v1::CommitCertificate>,
) -> Result<(&'a v1::Header, &'a v1::CommitCertificate), VerifyError> {
    Ok((
        header.as_ref().ok_or(VerifyError::Missing("header"))?,
        certificate
            .as_ref()
            .ok_or(VerifyError::Missing("certificate"))?,
    ))
}

/// The header of a state proof, final under `validators`, at `height` if it is not 0.
fn final_state<'a>(
    validators: &ValidatorSet,
    p: &'a v1::GetStateProofResponse,
    height: u64,
) -> anyhow::Result<(&'a v1::Header, Finality)> {
    let (header, certificate) = parts(&p.header, &p.certificate)?;
    if height != 0 && header.height != height {
        bail!("the proof is for height {}, not {height}", header.height);
    }
    let finality = babel_settlement::verify_commit(validators, header, certificate)?;
    Ok((header, finality))
}

fn final_at(finality: &Finality, height: u64) -> String {
    format!(
        "at height {height}, block 0x{}, final: precommits of {} of {} voting power",
        hex::encode(finality.block_hash),
        finality.signed_power,
        finality.total_power
    )
}

/// Check that `proof` establishes `claim` under `validators`: a line saying what holds, or why
/// the proof does not.
pub fn verify(validators: &ValidatorSet, claim: &Claim, proof: &Proof) -> anyhow::Result<String> {
    let hash_of = |tx: &Option<v1::SignedTransaction>| -> anyhow::Result<v1::SignedTransaction> {
        tx.clone()
            .ok_or_else(|| VerifyError::Missing("transaction").into())
    };
    match (claim, proof) {
        (
            Claim::State {
                rollup,
                key,
                height,
            },
            Proof::State(p),
        ) => {
            let (header, finality) = final_state(validators, p, *height)?;
            let value = p.exists.then_some(p.value.as_ref());
            babel_settlement::verify_state(header, *rollup, key, value, &p.proof)?;
            let what = match value {
                Some(v) => format!("holds 0x{}", hex::encode(v)),
                None => "is absent".to_string(),
            };
            Ok(format!(
                "valid: rollup {rollup} key 0x{} {what}\n  {}",
                hex::encode(key),
                final_at(&finality, header.height)
            ))
        }
        (Claim::Transaction { hash }, Proof::Transaction(p)) => {
            let (header, certificate) = parts(&p.header, &p.certificate)?;
            let tx = hash_of(&p.transaction)?;
            if babel_proto::tx_hash(&tx) != *hash {
                bail!("the proof is for another transaction");
            }
            let finality = babel_settlement::verify_commit(validators, header, certificate)?;
            babel_settlement::verify_transaction(header, p.index, &tx, &p.proof)?;
            Ok(format!(
                "valid: transaction 0x{} is number {} of its block\n  {}",
                hex::encode(hash),
                p.index,
                final_at(&finality, header.height)
            ))
        }
        (Claim::Receipt { hash }, Proof::Receipt(p)) => {
            let (header, certificate) = parts(&p.header, &p.certificate)?;
            let tx = hash_of(&p.transaction)?;
            if babel_proto::tx_hash(&tx) != *hash {
                bail!("the proof is for another transaction");
            }
            let receipt = p.receipt.as_ref().ok_or(VerifyError::Missing("receipt"))?;
            let finality = babel_settlement::verify_commit(validators, header, certificate)?;
            babel_settlement::verify_receipt(header, p.index, &tx, receipt, &p.proof)?;
            Ok(format!(
                "valid: transaction 0x{} {} using {} gas, output 0x{}\n  {}",
                hex::encode(hash),
                if receipt.success {
                    "succeeded"
                } else {
                    "failed"
                },
                receipt.gas_used,
                hex::encode(&receipt.output),
                final_at(&finality, header.height)
            ))
        }
        (
            Claim::Message {
                rollup,
                index,
                height,
            },
            Proof::State(p),
        ) => {
            let (header, finality) = final_state(validators, p, *height)?;
            if !p.exists {
                babel_settlement::verify_state(
                    header,
                    *rollup,
                    &message_key(*index),
                    None,
                    &p.proof,
                )?;
                bail!(
                    "rollup {rollup} had no message {index} as of height {} ({}; the proof of \
                     its absence holds there, a later height may hold it)",
                    header.height,
                    if *height == 0 {
                        "the height the node chose"
                    } else {
                        "the height asked for"
                    }
                );
            }
            let message =
                babel_settlement::verify_message(header, *rollup, *index, &p.value, &p.proof)?;
            Ok(format!(
                "valid: message {index} of rollup {rollup}, emitted at height {} by 0x{}: 0x{}\n  {}",
                message.height,
                hex::encode(&message.sender),
                hex::encode(&message.payload),
                final_at(&finality, header.height)
            ))
        }
        _ => bail!("the proof is not of the kind the claim needs"),
    }
}
