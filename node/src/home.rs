//! A node's home directory and the commands that create them (`init`, `testnet`).
//!
//! ```text
//! HOME/config.toml                 node configuration
//! HOME/genesis.json                the chain's genesis
//! HOME/keys/validator_key.json     the validator's ed25519 key (0600)
//! HOME/data/store/                 RocksDB
//! HOME/data/wal/                   Malachite's consensus write-ahead log
//! HOME/data/wasm-code/             compiled WASM modules (a cache: safe to delete)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use babel_genesis::{
    CairoContract, CairoGenesis, ConsensusParams, EvmAccount, EvmGenesis, Genesis, Governance,
    RollupGenesis, Timestamp, ValidatorGenesis, VmGenesis, WasmContract, WasmGenesis,
};
use ed25519_dalek::SigningKey;

use crate::{
    config::{Config, JsonRpcEndpoint},
    keys,
};

/// Paths inside a home directory.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// A home rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }

    /// The validator key file.
    pub fn validator_key(&self) -> PathBuf {
        self.root.join("keys").join("validator_key.json")
    }

    /// The RocksDB directory.
    pub fn store(&self) -> PathBuf {
        self.root.join("data").join("store")
    }

    /// Malachite's WAL directory.
    pub fn wal(&self) -> PathBuf {
        self.root.join("data").join("wal")
    }

    /// The embedded DA (config `[da] backend = "local"`).
    pub fn local_da(&self) -> PathBuf {
        self.root.join("data").join("da")
    }

    /// Compiled WASM modules, kept so that no module is compiled twice.
    pub fn wasm_code(&self) -> PathBuf {
        self.root.join("data").join("wasm-code")
    }

    fn create_dirs(&self, force: bool) -> anyhow::Result<()> {
        if self.config().exists() && !force {
            bail!(
                "{} is already initialised (use --force to overwrite)",
                self.root.display()
            );
        }
        if force {
            for file in [self.config(), self.genesis(), self.validator_key()] {
                if file.exists() {
                    std::fs::remove_file(&file)
                        .with_context(|| format!("removing {}", file.display()))?;
                }
            }
            // The old chain's blocks and WAL cannot be used with a new genesis.
            let data = self.root.join("data");
            if data.exists() {
                std::fs::remove_dir_all(&data)
                    .with_context(|| format!("removing {}", data.display()))?;
            }
        }
        for dir in [self.root.join("keys"), self.root.join("data")] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(())
    }
}

/// Options shared by `init` and `testnet`.
#[derive(Clone, Debug)]
pub struct NetworkOptions {
    /// Chain id of the new genesis.
    pub chain_id: String,
    /// First p2p port; validator `i` listens on `p2p_port + i`.
    pub p2p_port: u16,
    /// First gRPC port; validator `i` serves on `grpc_port + i`.
    pub grpc_port: u16,
    /// First metrics and health port; validator `i` serves on `ops_port + i`.
    pub ops_port: u16,
    /// First Ethereum JSON-RPC port of the EVM rollup (id 1); validator `i` serves on
    /// `jsonrpc_port + i`. `None` serves none.
    pub jsonrpc_port: Option<u16>,
    /// Overwrite existing homes.
    pub force: bool,
    /// Consensus timeouts and limits of the new genesis.
    pub consensus: ConsensusParams,
    /// Accounts of the EVM rollup (id 1) at genesis.
    pub evm_alloc: Vec<EvmAccount>,
    /// Contracts of the WASM rollup (id 2) at genesis.
    pub wasm_contracts: Vec<WasmContract>,
    /// Contracts of the Cairo rollup (id 3) at genesis.
    pub cairo_contracts: Vec<CairoContract>,
}

/// The default genesis of a new network: the given validators (power 1 each), an EVM rollup
/// with id 1, a WASM rollup with id 2 and a Cairo rollup with id 3, with the accounts and
/// contracts `opts` gives. The validators' keys govern the rollups: more than two thirds of
/// them approve each registration or update.
fn new_genesis(
    opts: &NetworkOptions,
    validators: Vec<ValidatorGenesis>,
) -> anyhow::Result<Genesis> {
    let genesis = Genesis {
        chain_id: opts.chain_id.clone(),
        genesis_time: Timestamp::now(),
        consensus: opts.consensus.clone(),
        sequencer_namespace: None,
        governance: Some(Governance {
            keys: validators.iter().map(|v| v.public_key.clone()).collect(),
            threshold: u32::try_from(validators.len() * 2 / 3 + 1).unwrap_or(u32::MAX),
        }),
        validators,
        rollups: vec![
            RollupGenesis {
                id: 1,
                name: "evm".into(),
                namespace: None,
                gas_price: 0,
                vm: VmGenesis::Evm(EvmGenesis {
                    evm_chain_id: 1001,
                    alloc: opts.evm_alloc.clone(),
                }),
            },
            RollupGenesis {
                id: 2,
                name: "wasm".into(),
                namespace: None,
                gas_price: 0,
                vm: VmGenesis::Wasm(WasmGenesis {
                    contracts: opts.wasm_contracts.clone(),
                }),
            },
            RollupGenesis {
                id: 3,
                name: "cairo".into(),
                namespace: None,
                gas_price: 0,
                vm: VmGenesis::Cairo(CairoGenesis {
                    contracts: opts.cairo_contracts.clone(),
                }),
            },
        ],
    };
    // Validate exactly as `start` will, so a bad --chain-id fails here and not later.
    Genesis::from_json(genesis.to_json_pretty().as_bytes()).context("generated genesis")
}

/// Create `count` validator homes under `output` (`node-0`, `node-1`, ...) sharing one genesis,
/// each peered with all others on 127.0.0.1. `init` is the one-validator case with the home
/// at `output` itself.
pub fn create_network(homes: &[Home], opts: &NetworkOptions) -> anyhow::Result<Genesis> {
    let count = u16::try_from(homes.len()).context("too many validators")?;
    if count == 0 {
        bail!("at least one validator is needed");
    }
    let last_port = |base: u16| {
        base.checked_add(count - 1)
            .context("port range exceeds 65535")
    };
    last_port(opts.p2p_port)?;
    last_port(opts.grpc_port)?;
    last_port(opts.ops_port)?;
    if let Some(port) = opts.jsonrpc_port {
        last_port(port)?;
    }
    let p2p_addr = |i: u16| format!("/ip4/127.0.0.1/tcp/{}", opts.p2p_port + i);

    let mut validators = Vec::new();
    let mut keys = Vec::new();
    for (i, home) in (0..count).zip(homes) {
        home.create_dirs(opts.force)?;
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        validators.push(ValidatorGenesis {
            name: format!("validator-{i}"),
            public_key: babel_genesis::Hex(key.verifying_key().as_bytes().to_vec()),
            voting_power: 1,
            p2p_address: p2p_addr(i),
        });
        keys.push(key);
    }
    let genesis = new_genesis(opts, validators)?;

    for ((i, home), key) in (0..count).zip(homes).zip(&keys) {
        keys::write_key(&home.validator_key(), key)?;
        let mut config = Config {
            moniker: format!("validator-{i}"),
            ..Config::default()
        };
        config.p2p.listen_addr = p2p_addr(i);
        config.p2p.persistent_peers = (0..count).filter(|j| *j != i).map(p2p_addr).collect();
        config.grpc.listen_addr.set_port(opts.grpc_port + i);
        config.ops.listen_addr.set_port(opts.ops_port + i);
        if let Some(port) = opts.jsonrpc_port {
            config.jsonrpc.endpoints = vec![JsonRpcEndpoint {
                rollup_id: 1,
                listen_addr: std::net::SocketAddr::from(([127, 0, 0, 1], port + i)),
            }];
        }
        config.mempool.gossip_peers = (0..count)
            .filter(|j| *j != i)
            .map(|j| format!("http://127.0.0.1:{}", opts.grpc_port + j))
            .collect();
        write_file(&home.config(), &config.to_toml())?;
        write_file(&home.genesis(), &genesis.to_json_pretty())?;
    }
    Ok(genesis)
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}
