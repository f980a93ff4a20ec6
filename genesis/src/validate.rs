//! The rules a parsed genesis must satisfy. Each failure names the offending field.

use std::collections::HashSet;

use crate::{
    Genesis, GenesisError, Governance, Namespace, REGISTRY_ROLLUP_ID, RollupGenesis, VmGenesis,
};

/// Longest chain id accepted.
const MAX_CHAIN_ID_LEN: usize = 64;
/// Largest `max_block_bytes`: a block, its certificate and framing must fit one DA submission
/// (6 MiB of blobs, 8 MiB after base64 in the celestia-node client's 10 MiB requests).
pub(crate) const MAX_BLOCK_BYTES_LIMIT: u64 = 4 * 1024 * 1024;
/// Largest `max_block_txs`: it bounds what a reader of the DA sets up for one block.
pub(crate) const MAX_BLOCK_TXS_LIMIT: u64 = 100_000;
/// Longest `empty_block_wait_ms`: Malachite hands a waiting node's application nothing else,
/// so sync requests its peers make of it wait too, and they give up after 10 s.
pub(crate) const MAX_EMPTY_BLOCK_WAIT_MS: u64 = 5_000;
/// Longest rollup name accepted.
const MAX_ROLLUP_NAME_LEN: usize = 64;
/// Largest allowed contract id of a WASM contract.
const MAX_WASM_CONTRACT_ID_LEN: usize = 32;
/// The WebAssembly binary magic number.
const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// The first byte EIP-3541 forbids deployed EVM code to start with.
const EVM_RESERVED_CODE_PREFIX: u8 = 0xEF;
/// felt252 values are below 2^251 + 17·2^192 + 1, so the top byte of a 32-byte felt is ≤ 0x08.
const FELT_MAX_TOP_BYTE: u8 = 0x08;

pub(crate) fn validate(g: &Genesis) -> Result<(), GenesisError> {
    if g.chain_id.is_empty() || g.chain_id.len() > MAX_CHAIN_ID_LEN {
        return Err(GenesisError::invalid(
            "chain_id",
            format!("must be 1 to {MAX_CHAIN_ID_LEN} characters"),
        ));
    }
    if !g
        .chain_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(GenesisError::invalid(
            "chain_id",
            "only ASCII letters, digits, '-', '_' and '.' allowed",
        ));
    }
    validate_consensus(g)?;
    validate_validators(g)?;
    validate_rollups(g)?;
    if let Some(governance) = &g.governance {
        validate_governance(governance)?;
    }
    Ok(())
}

fn validate_governance(g: &Governance) -> Result<(), GenesisError> {
    if g.keys.is_empty() || g.keys.len() > Governance::MAX_KEYS {
        return Err(GenesisError::invalid(
            "governance.keys",
            format!("must list 1 to {} keys", Governance::MAX_KEYS),
        ));
    }
    for (i, key) in g.keys.iter().enumerate() {
        let valid = <[u8; 32]>::try_from(key.0.as_slice())
            .ok()
            .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
        let Some(valid) = valid else {
            return Err(GenesisError::invalid(
                format!("governance.keys[{i}]"),
                "not a 32-byte ed25519 public key",
            ));
        };
        // A small-order key verifies a forged signature of any message (ZIP-215 accepts it).
        if valid.is_weak() {
            return Err(GenesisError::invalid(
                format!("governance.keys[{i}]"),
                "a weak (small-order) key, whose signatures anyone can forge",
            ));
        }
    }
    if has_duplicate(g.keys.iter()) {
        return Err(GenesisError::invalid("governance.keys", "duplicate key"));
    }
    if g.threshold == 0 || g.threshold as usize > g.keys.len() {
        return Err(GenesisError::invalid(
            "governance.threshold",
            format!("must be 1 to {} (the number of keys)", g.keys.len()),
        ));
    }
    Ok(())
}

fn validate_consensus(g: &Genesis) -> Result<(), GenesisError> {
    let c = &g.consensus;
    let positive = [
        ("consensus.timeout_propose_ms", c.timeout_propose_ms),
        ("consensus.timeout_prevote_ms", c.timeout_prevote_ms),
        ("consensus.timeout_precommit_ms", c.timeout_precommit_ms),
        ("consensus.max_block_bytes", c.max_block_bytes),
        ("consensus.max_block_txs", c.max_block_txs),
        ("consensus.max_tx_bytes", c.max_tx_bytes),
    ];
    for (field, value) in positive {
        if value == 0 {
            return Err(GenesisError::invalid(field, "must be greater than 0"));
        }
    }
    if c.empty_block_wait_ms.saturating_mul(2) > c.timeout_propose_ms {
        return Err(GenesisError::invalid(
            "consensus.empty_block_wait_ms",
            format!(
                "at most half of timeout_propose_ms ({}): a proposer that waits longer \
                 than the others may miss its round",
                c.timeout_propose_ms
            ),
        ));
    }
    if c.empty_block_wait_ms > MAX_EMPTY_BLOCK_WAIT_MS {
        return Err(GenesisError::invalid(
            "consensus.empty_block_wait_ms",
            format!(
                "at most {MAX_EMPTY_BLOCK_WAIT_MS} (a waiting node holds up the sync \
                 requests peers make of it)"
            ),
        ));
    }
    if c.max_block_bytes > MAX_BLOCK_BYTES_LIMIT {
        return Err(GenesisError::invalid(
            "consensus.max_block_bytes",
            format!("at most {MAX_BLOCK_BYTES_LIMIT} (a block must fit one DA submission)"),
        ));
    }
    if c.max_block_txs > MAX_BLOCK_TXS_LIMIT {
        return Err(GenesisError::invalid(
            "consensus.max_block_txs",
            format!("at most {MAX_BLOCK_TXS_LIMIT}"),
        ));
    }
    if c.max_tx_bytes > c.max_block_bytes {
        return Err(GenesisError::invalid(
            "consensus.max_tx_bytes",
            format!(
                "{} exceeds max_block_bytes {}",
                c.max_tx_bytes, c.max_block_bytes
            ),
        ));
    }
    Ok(())
}

fn validate_validators(g: &Genesis) -> Result<(), GenesisError> {
    if g.validators.is_empty() {
        return Err(GenesisError::invalid(
            "validators",
            "at least one validator is required",
        ));
    }
    let mut keys = HashSet::new();
    let mut addresses = HashSet::new();
    let mut total: u64 = 0;
    for (i, v) in g.validators.iter().enumerate() {
        let field = |name: &str| format!("validators[{i}].{name}");
        let key: [u8; 32] = v.public_key.0.as_slice().try_into().map_err(|_| {
            GenesisError::invalid(
                field("public_key"),
                format!("must be 32 bytes, got {}", v.public_key.0.len()),
            )
        })?;
        ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| GenesisError::invalid(field("public_key"), "not a valid ed25519 point"))?;
        if !keys.insert(key) {
            return Err(GenesisError::invalid(
                field("public_key"),
                "duplicate validator key",
            ));
        }
        if v.voting_power == 0 {
            return Err(GenesisError::invalid(
                field("voting_power"),
                "must be greater than 0",
            ));
        }
        total = total.checked_add(v.voting_power).ok_or_else(|| {
            GenesisError::invalid(field("voting_power"), "total voting power overflows u64")
        })?;
        if !is_multiaddr_like(&v.p2p_address) {
            return Err(GenesisError::invalid(
                field("p2p_address"),
                format!(
                    "{:?} is not a multiaddress like /ip4/127.0.0.1/tcp/27000",
                    v.p2p_address
                ),
            ));
        }
        if !addresses.insert(v.p2p_address.as_str()) {
            return Err(GenesisError::invalid(
                field("p2p_address"),
                "duplicate p2p address",
            ));
        }
    }
    Ok(())
}

/// A cheap structural check; the p2p layer parses the address fully when dialing.
fn is_multiaddr_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() >= 5
        && parts[0].is_empty()
        && matches!(parts[1], "ip4" | "ip6" | "dns" | "dns4" | "dns6")
        && !parts[2].is_empty()
        && matches!(parts[3], "tcp" | "udp")
        && parts[4].parse::<u16>().is_ok()
}

fn validate_rollups(g: &Genesis) -> Result<(), GenesisError> {
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let sequencer_ns = g.effective_sequencer_namespace();
    if sequencer_ns.is_reserved() {
        return Err(GenesisError::invalid(
            "sequencer_namespace",
            "reserved by Celestia",
        ));
    }
    // The rollup registry's transactions are posted under the namespace of rollup 0.
    let registry_ns = Namespace::for_rollup(REGISTRY_ROLLUP_ID);
    if sequencer_ns == registry_ns {
        return Err(GenesisError::invalid(
            "sequencer_namespace",
            "the rollup registry's (rollup 0's) namespace",
        ));
    }
    let mut namespaces = HashSet::from([sequencer_ns, registry_ns]);
    let mut evm_chains = HashSet::new();
    for (i, r) in g.rollups.iter().enumerate() {
        let field = |name: &str| format!("rollups[{i}].{name}");
        validate_rollup(r, &format!("rollups[{i}]"))?;
        if !ids.insert(r.id) {
            return Err(GenesisError::invalid(
                field("id"),
                format!("duplicate rollup id {}", r.id),
            ));
        }
        if !names.insert(r.name.as_str()) {
            return Err(GenesisError::invalid(
                field("name"),
                format!("duplicate name {:?}", r.name),
            ));
        }
        let ns = r.effective_namespace();
        if !namespaces.insert(ns) {
            return Err(GenesisError::invalid(
                field("namespace"),
                format!("namespace {ns} is already used by another rollup or the sequencer"),
            ));
        }
        // An Ethereum transaction names its rollup by its chain id alone.
        if let VmGenesis::Evm(evm) = &r.vm
            && !evm_chains.insert(evm.evm_chain_id)
        {
            return Err(GenesisError::invalid(
                format!("rollups[{i}].initial_state.evm_chain_id"),
                format!(
                    "EVM chain id {} is used by another rollup",
                    evm.evm_chain_id
                ),
            ));
        }
    }
    Ok(())
}

/// The rules `r` satisfies alone (its fields named under `at`).
pub(crate) fn validate_rollup(r: &RollupGenesis, at: &str) -> Result<(), GenesisError> {
    let field = |name: &str| format!("{at}.{name}");
    if r.id == REGISTRY_ROLLUP_ID {
        return Err(GenesisError::invalid(
            field("id"),
            format!("{REGISTRY_ROLLUP_ID} is the rollup registry's"),
        ));
    }
    let name_ok = !r.name.is_empty()
        && r.name.len() <= MAX_ROLLUP_NAME_LEN
        && r.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c));
    if !name_ok {
        return Err(GenesisError::invalid(
            field("name"),
            format!("must be 1 to {MAX_ROLLUP_NAME_LEN} of a-z, 0-9, '-', '_'"),
        ));
    }
    if r.effective_namespace().is_reserved() {
        return Err(GenesisError::invalid(
            field("namespace"),
            "reserved by Celestia",
        ));
    }
    validate_vm(&r.vm, &field("initial_state"))
}

fn validate_vm(vm: &VmGenesis, field: &str) -> Result<(), GenesisError> {
    match vm {
        VmGenesis::Evm(evm) => {
            let mut seen = HashSet::new();
            for (i, account) in evm.alloc.iter().enumerate() {
                if !seen.insert(account.address) {
                    return Err(GenesisError::invalid(
                        format!("{field}.alloc[{i}].address"),
                        format!("duplicate account {}", account.address),
                    ));
                }
                // Genesis code is deployed code: held to the rule the EVM applies to contracts
                // it creates, which every node's EVM also relies on to load it.
                if account.code.0.first() == Some(&EVM_RESERVED_CODE_PREFIX) {
                    return Err(GenesisError::EvmCodeReserved {
                        field: format!("{field}.alloc[{i}].code"),
                        address: account.address,
                    });
                }
                if has_duplicate(account.storage.iter().map(|s| s.key)) {
                    return Err(GenesisError::invalid(
                        format!("{field}.alloc[{i}].storage"),
                        "duplicate slot",
                    ));
                }
            }
        }
        VmGenesis::Wasm(wasm) => {
            let mut seen = HashSet::new();
            for (i, c) in wasm.contracts.iter().enumerate() {
                let len = c.id.0.len();
                if len == 0 || len > MAX_WASM_CONTRACT_ID_LEN {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].id"),
                        format!("must be 1 to {MAX_WASM_CONTRACT_ID_LEN} bytes, got {len}"),
                    ));
                }
                if !seen.insert(&c.id) {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].id"),
                        "duplicate contract",
                    ));
                }
                if !c.code.0.starts_with(WASM_MAGIC) {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].code"),
                        "not a WebAssembly binary module (missing \\0asm magic)",
                    ));
                }
                if has_duplicate(c.storage.iter().map(|s| &s.key)) {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].storage"),
                        "duplicate key",
                    ));
                }
            }
        }
        VmGenesis::Cairo(cairo) => {
            let mut seen = HashSet::new();
            for (i, c) in cairo.contracts.iter().enumerate() {
                if c.address[0] > FELT_MAX_TOP_BYTE {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].address"),
                        "not a felt252 (too large)",
                    ));
                }
                if !seen.insert(c.address) {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].address"),
                        "duplicate contract",
                    ));
                }
                if !c.sierra_class.is_object() {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].sierra_class"),
                        "must be a Sierra contract class object",
                    ));
                }
                if has_duplicate(c.storage.iter().map(|s| s.key)) {
                    return Err(GenesisError::invalid(
                        format!("{field}.contracts[{i}].storage"),
                        "duplicate slot",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn has_duplicate<T: Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> bool {
    let mut seen = HashSet::new();
    items.into_iter().any(|item| !seen.insert(item))
}
