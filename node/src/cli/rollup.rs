//! `babel rollup register|update|approve|list`: change the rollups of a running chain with the
//! approvals of its governance keys (`docs/GENESIS.md`), and list them.
//!
//! A change is a transaction of the rollup registry (rollup 0) signed by the home's key, which
//! must be a governance key. It carries one approval per governance key that agrees: the
//! home's own, those of `--approver` key files, and those other holders made with
//! `babel rollup approve` and passed as `--approval`.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context as _, bail};
use babel_execution::registry;
use babel_genesis::{Genesis, REGISTRY_ROLLUP_ID};
use babel_proto::v1::{self, registry_call::Action, transaction::Payload};
use ed25519_dalek::{Signer as _, SigningKey};

use crate::{config::Config, home::Home, keys, txpath::admission::sign};

/// A registration, as given on the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct RegisterArgs {
    /// The rollup entry (JSON, as in a genesis file): id, name, vm, optional namespace and
    /// gas_price, initial_state.
    #[arg(long)]
    pub rollup: PathBuf,
    /// Free-form description (at most 256 bytes).
    #[arg(long, default_value = "")]
    pub metadata: String,
}

/// An update, as given on the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct UpdateArgs {
    /// The rollup.
    #[arg(long)]
    pub rollup_id: u64,
    /// Its record's current version (`babel rollup list` shows it): an approval applies to
    /// that version only.
    #[arg(long)]
    pub record_version: u64,
    /// New gas price.
    #[arg(long)]
    pub gas_price: Option<u64>,
    /// New description.
    #[arg(long)]
    pub metadata: Option<String>,
}

/// A registry change.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Change {
    /// Register a rollup, usable from the next block on.
    Register(RegisterArgs),
    /// Change a rollup's gas price or description.
    Update(UpdateArgs),
}

impl Change {
    /// The registry action.
    fn action(&self) -> anyhow::Result<Action> {
        Ok(match self {
            Self::Register(RegisterArgs { rollup, metadata }) => {
                let json = std::fs::read(rollup)
                    .with_context(|| format!("reading {}", rollup.display()))?;
                // Checked here as every node will, so that a typo costs no transaction.
                babel_genesis::RollupGenesis::from_json(&json, usize::MAX)
                    .with_context(|| format!("{} is not a valid rollup entry", rollup.display()))?;
                Action::Register(v1::RegisterRollup {
                    rollup: json.into(),
                    metadata: metadata.clone(),
                })
            }
            Self::Update(UpdateArgs {
                rollup_id,
                record_version,
                gas_price,
                metadata,
            }) => Action::Update(v1::UpdateRollup {
                rollup_id: *rollup_id,
                version: *record_version,
                gas_price: *gas_price,
                metadata: metadata.clone(),
            }),
        })
    }
}

/// What to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Home whose key sends and approves.
    pub home: Home,
    /// gRPC endpoint; the home's own server when `None`.
    pub node: Option<String>,
    /// The sender's nonce on the registry.
    pub nonce: u64,
    /// Key files of other governance keys that approve.
    pub approvers: Vec<PathBuf>,
    /// Approvals made elsewhere, `PUBLIC_KEY:SIGNATURE` in hex.
    pub approvals: Vec<String>,
    /// Wait until the change is in a committed block (and fail if it was refused).
    pub wait: bool,
}

/// `key`'s approval of `call` on chain `chain_id`.
pub fn approve(chain_id: &str, call: &v1::RegistryCall, key: &SigningKey) -> v1::Approval {
    let signature = key.sign(&registry::approval_bytes(chain_id, call));
    v1::Approval {
        public_key: key.verifying_key().as_bytes().to_vec().into(),
        signature: signature.to_bytes().to_vec().into(),
    }
}

/// An approval given as `PUBLIC_KEY:SIGNATURE` (hex).
fn parse_approval(text: &str) -> anyhow::Result<v1::Approval> {
    let Some((key, signature)) = text.split_once(':') else {
        bail!("--approval {text:?}: expected PUBLIC_KEY:SIGNATURE in hex");
    };
    let key = hex::decode(key.trim_start_matches("0x")).context("--approval public key")?;
    let signature =
        hex::decode(signature.trim_start_matches("0x")).context("--approval signature")?;
    if key.len() != 32 || signature.len() != 64 {
        bail!("--approval {text:?}: a 32-byte key and a 64-byte signature");
    }
    Ok(v1::Approval {
        public_key: key.into(),
        signature: signature.into(),
    })
}

/// The registry call of `change`, unapproved.
fn unapproved(change: &Change) -> anyhow::Result<v1::RegistryCall> {
    Ok(v1::RegistryCall {
        action: Some(change.action()?),
        approvals: Vec::new(),
    })
}

/// `babel rollup approve`: the home key's approval of `change`, as `--approval` takes it.
pub fn approval(home: &Home, change: &Change) -> anyhow::Result<String> {
    let genesis = Genesis::load(&home.genesis())?;
    let key = keys::read_key(&home.validator_key())?;
    let made = approve(&genesis.chain_id, &unapproved(change)?, &key);
    Ok(format!(
        "{}:{}",
        hex::encode(&made.public_key),
        hex::encode(&made.signature)
    ))
}

/// `babel rollup register|update`: sign `change` with the home's key and the approvers',
/// submit it to the registry, and optionally wait for its receipt.
pub async fn send(opts: SendOptions, change: &Change) -> anyhow::Result<()> {
    let config = Config::load(&opts.home.config())?;
    let genesis = Genesis::load(&opts.home.genesis())?;
    let key = keys::read_key(&opts.home.validator_key())?;
    let Some(governance) = &genesis.governance else {
        bail!("this chain has no governance: its rollups are fixed in the genesis");
    };
    if !governance.has_key(key.verifying_key().as_bytes()) {
        bail!("the home's key is not a governance key: only those may send registry changes");
    }
    let mut call = unapproved(change)?;
    let mut approvals = vec![approve(&genesis.chain_id, &call, &key)];
    for path in &opts.approvers {
        let approver = keys::read_key(path)?;
        approvals.push(approve(&genesis.chain_id, &call, &approver));
    }
    for text in &opts.approvals {
        approvals.push(parse_approval(text)?);
    }
    call.approvals = approvals;
    let tx = v1::Transaction {
        chain_id: genesis.chain_id.clone(),
        rollup_id: REGISTRY_ROLLUP_ID,
        sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
        nonce: opts.nonce,
        gas_limit: registry::gas(&call),
        max_fee: 0,
        payload: Some(Payload::Registry(call)),
    };
    let endpoint = opts
        .node
        .unwrap_or_else(|| format!("http://{}", config.grpc.listen_addr));
    super::tx::submit(&endpoint, sign(&tx, &key), opts.wait).await
}

/// `babel rollup list`: the rollups of the node at `endpoint`, one per line.
pub async fn list(endpoint: &str) -> anyhow::Result<String> {
    let mut client = super::node_client(endpoint, Duration::from_secs(10)).await?;
    let listed = client
        .list_rollups(v1::ListRollupsRequest {})
        .await?
        .into_inner();
    let mut out = format!("height {}\n", listed.height);
    out.push_str("id\tname\tvm\tnamespace\tgas_price\tversion\tregistered_at\tmetadata\n");
    for r in listed.rollups {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.id,
            r.name,
            r.vm,
            hex::encode(&r.namespace),
            r.gas_price,
            r.version,
            r.registered_at,
            r.metadata
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_parse_or_say_what_is_wrong() {
        let good = format!("{}:{}", "ab".repeat(32), "cd".repeat(64));
        let approval = parse_approval(&good).unwrap();
        assert_eq!(approval.public_key.len(), 32);
        for bad in ["nocolon", "ab:cd", "zz:zz"] {
            assert!(parse_approval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_approval_made_elsewhere_is_the_one_send_would_make() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let change = Change::Update(UpdateArgs {
            rollup_id: 1,
            record_version: 0,
            gas_price: Some(3),
            metadata: None,
        });
        let call = unapproved(&change).unwrap();
        let made = approve("c", &call, &key);
        let text = format!(
            "{}:{}",
            hex::encode(&made.public_key),
            hex::encode(&made.signature)
        );
        assert_eq!(parse_approval(&text).unwrap(), made);
    }
}
