//! `babel`: the command-line entry point of a Babel node.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use babel_genesis::Genesis;
use babel_node::{
    cli::devnet::DevnetOptions,
    home::{Home, NetworkOptions, create_network},
    keys,
};
use clap::{Args, Parser, Subcommand};

/// Babel: a shared sequencer that executes EVM, WASM and Cairo rollups atomically together.
#[derive(Parser, Debug)]
#[command(name = "babel", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a one-validator home directory: key, config and a new genesis.
    Init(InitArgs),
    /// Create N validator homes sharing one genesis, peered on 127.0.0.1.
    Testnet(TestnetArgs),
    /// Run a validator from a home directory.
    Start(StartArgs),
    /// Run a local validator network (creates it on first use) until Ctrl-C.
    Devnet(DevnetArgs),
    /// Sign and submit transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Register and update rollups on a running chain (governance keys), and list them.
    #[command(subcommand)]
    Rollup(RollupCommand),
    /// Inspect the validator key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Work with genesis files.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Load generator: sign and submit transactions over gRPC, report throughput and latency.
    Bench(BenchArgs),
    /// Summarise a running node: height, last commit, readiness, peers, mempool.
    Status(StatusArgs),
    /// The data-availability layer.
    #[command(subcommand)]
    Da(DaCommand),
    /// Rebuild every rollup's state from the DA layer alone, checking every block's
    /// certificate against the genesis validators and every state root against re-execution.
    Replay(ReplayArgs),
    /// Check a proof as a light client: trusting only a genesis file, the header must be final
    /// under a certificate of more than 2/3 of the voting power and the claim proven against it.
    Verify(VerifyArgs),
}

#[derive(Subcommand, Debug)]
enum DaCommand {
    /// Serve an embedded DA over the celestia-node JSON-RPC subset, for validators to share.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:26658")]
        listen: std::net::SocketAddr,
        /// Directory of the DA's database (created on first use).
        #[arg(long, default_value = "da-data")]
        dir: PathBuf,
        /// Bearer token every request must carry (or set BABEL_DA_AUTH_TOKEN).
        #[arg(long, env = "BABEL_DA_AUTH_TOKEN", hide_env_values = true)]
        auth_token: Option<String>,
    },
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// celestia-node JSON-RPC endpoint (a Celestia node, or `babel da serve`).
    #[arg(long)]
    da: String,
    /// Bearer token for the endpoint (or set BABEL_DA_AUTH_TOKEN).
    #[arg(long, env = "BABEL_DA_AUTH_TOKEN", hide_env_values = true)]
    auth_token: Option<String>,
    /// The chain's genesis file.
    #[arg(long)]
    genesis: PathBuf,
    /// Stop after this block height (default: at the DA head).
    #[arg(long)]
    to: Option<u64>,
    /// First DA height to read.
    #[arg(long, default_value_t = 1)]
    from_da_height: u64,
    /// Where the rebuilt state goes (a store like a node's; an earlier replay's is resumed).
    /// Default: a temporary directory, deleted afterwards.
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// Genesis file whose chain id and validators are trusted.
    #[arg(long)]
    genesis: PathBuf,
    /// Ask this node for the proof over gRPC, e.g. http://127.0.0.1:9090.
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    endpoint: Option<String>,
    /// Verify a proof saved earlier with --save instead.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Also write the proof fetched from --endpoint to this file.
    #[arg(long, requires = "endpoint")]
    save: Option<PathBuf>,
    #[command(subcommand)]
    claim: VerifyClaim,
}

#[derive(Subcommand, Debug)]
enum VerifyClaim {
    /// A rollup's state key holds a value, or is absent.
    State {
        /// Rollup id.
        #[arg(long)]
        rollup: u64,
        /// State key, hex.
        #[arg(long, value_parser = parse_hex)]
        key: HexArg,
        /// Height (0: the node's latest).
        #[arg(long, default_value_t = 0)]
        height: u64,
    },
    /// A transaction is committed, at its index in its block.
    Tx {
        /// Transaction hash, 32 bytes hex.
        #[arg(long, value_parser = parse_hex)]
        hash: HexArg,
    },
    /// A committed transaction's receipt.
    Receipt {
        /// Transaction hash, 32 bytes hex.
        #[arg(long, value_parser = parse_hex)]
        hash: HexArg,
    },
    /// A message in a rollup's outgoing-message log: who emitted it, when, and its payload.
    Message {
        /// Rollup id.
        #[arg(long)]
        rollup: u64,
        /// The message's index in the rollup's log (from 0).
        #[arg(long)]
        index: u64,
        /// Height (0: the node's latest).
        #[arg(long, default_value_t = 0)]
        height: u64,
    },
}

#[derive(Args, Debug)]
struct StatusArgs {
    /// gRPC endpoint of the node.
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    endpoint: String,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Validators of the loopback network the bench starts (a fresh chain, deleted after).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=20))]
    validators: u16,
    /// Load a running network at this gRPC endpoint instead (repeat for several validators).
    #[arg(long = "endpoint")]
    endpoints: Vec<String>,
    /// P2P port of the first validator of the started network.
    #[arg(long, default_value_t = 27100)]
    p2p_port: u16,
    /// gRPC port of the first validator of the started network.
    #[arg(long, default_value_t = 9190)]
    grpc_port: u16,
    /// Metrics and health port of the first validator of the started network.
    #[arg(long, default_value_t = 26760)]
    ops_port: u16,
    /// Port of the DA server (`babel da serve`) the started network shares.
    #[arg(long, default_value_t = 26690)]
    da_port: u16,
    /// Transactions to send.
    #[arg(long, default_value_t = 100_000)]
    txs: usize,
    /// Distinct senders (each sends consecutive nonces).
    #[arg(long, default_value_t = 2_000)]
    senders: usize,
    /// Transactions per SubmitTransactions request (at most 1024).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// Offered load in transactions per second (default: as fast as the network accepts).
    #[arg(long)]
    rate: Option<u64>,
    /// What to send: evm-transfer (value transfers), eth-transfer (the same as signed Ethereum
    /// transactions), wasm-transfer (calls of a WASM token
    /// contract at genesis) or three-vm (an EVM contract calling a WASM relay calling a Cairo
    /// counter, all at genesis); the last two only on the bench's own network.
    #[arg(long, default_value_t = babel_node::cli::bench::Workload::EvmTransfer)]
    workload: babel_node::cli::bench::Workload,
    /// Calldata bytes per EVM transfer (gas limit grows to match).
    #[arg(long, default_value_t = 0)]
    payload_bytes: usize,
    /// Seed of the sender keys (change it to run again against the same chain).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds to wait for finality after the last submission.
    #[arg(long, default_value_t = 60)]
    finality_timeout_secs: u64,
    /// Block pacing of the started network (genesis `block_interval_ms`): the least time
    /// from one decision to the next proposal; 0 proposes as soon as the previous height is
    /// decided.
    #[arg(long, default_value_t = 0)]
    block_interval_ms: u64,
    /// How long the started network's validators, with no transaction to include, wait for
    /// one before starting the next height (genesis `empty_block_wait_ms`; at most 1 500, half
    /// the propose timeout); 0 never waits.
    #[arg(long, default_value_t = 0)]
    empty_block_wait_ms: u64,
}

#[derive(Args, Debug)]
struct NetworkArgs {
    /// Chain id of the new genesis.
    #[arg(long, default_value = "babel-local-1")]
    chain_id: String,
    /// P2P port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 27000)]
    p2p_port: u16,
    /// gRPC port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 9090)]
    grpc_port: u16,
    /// Metrics and health port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 26660)]
    ops_port: u16,
    /// Ethereum JSON-RPC port of the EVM rollup on the first validator (others take the next
    /// ports).
    #[arg(long, default_value_t = 8545)]
    jsonrpc_port: u16,
    /// Overwrite existing config, genesis and key files, and delete the old chain data.
    #[arg(long)]
    force: bool,
}

impl NetworkArgs {
    fn options(&self) -> NetworkOptions {
        NetworkOptions {
            evm_alloc: Vec::new(),
            wasm_contracts: Vec::new(),
            cairo_contracts: Vec::new(),
            chain_id: self.chain_id.clone(),
            p2p_port: self.p2p_port,
            grpc_port: self.grpc_port,
            ops_port: self.ops_port,
            jsonrpc_port: Some(self.jsonrpc_port),
            force: self.force,
            consensus: babel_genesis::ConsensusParams::default(),
        }
    }
}

#[derive(Args, Debug)]
struct InitArgs {
    /// Home directory to create.
    #[arg(long, env = "BABEL_HOME")]
    home: PathBuf,
    #[command(flatten)]
    network: NetworkArgs,
}

#[derive(Args, Debug)]
struct TestnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=100))]
    validators: u16,
    /// Directory that receives one home per validator (node-0, node-1, ...).
    #[arg(long)]
    output: PathBuf,
    #[command(flatten)]
    network: NetworkArgs,
}

#[derive(Args, Debug)]
struct StartArgs {
    /// Home directory of the validator.
    #[arg(long, env = "BABEL_HOME")]
    home: PathBuf,
}

#[derive(Args, Debug)]
struct DevnetArgs {
    /// Directory holding the validator homes (reused across runs).
    #[arg(long, default_value = "devnet-data")]
    dir: PathBuf,
    /// Number of validators.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=20))]
    validators: u16,
    /// P2P port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 27000)]
    p2p_port: u16,
    /// gRPC port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 9090)]
    grpc_port: u16,
    /// Metrics and health port of the first validator (others take the next ports).
    #[arg(long, default_value_t = 26660)]
    ops_port: u16,
    /// Port of the shared DA server (`babel da serve`) the devnet runs.
    #[arg(long, default_value_t = 26658)]
    da_port: u16,
    /// Ethereum JSON-RPC port of the EVM rollup on the first validator (others take the next
    /// ports).
    #[arg(long, default_value_t = 8545)]
    jsonrpc_port: u16,
    /// Delete existing devnet state and start a new chain.
    #[arg(long)]
    reset: bool,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration_secs: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum RollupCommand {
    /// Register a rollup (a genesis rollup entry), usable from the next block on. Signed by
    /// the home's key (a governance key) and approved by it, by each --approver key file and
    /// by each --approval: at least the genesis threshold.
    Register {
        #[command(flatten)]
        sender: RollupSender,
        #[command(flatten)]
        args: babel_node::cli::rollup::RegisterArgs,
    },
    /// Change a rollup's gas price or description, from the next block on; approved as
    /// `register` is.
    Update {
        #[command(flatten)]
        sender: RollupSender,
        #[command(flatten)]
        args: babel_node::cli::rollup::UpdateArgs,
    },
    /// Print the home key's approval of a change, as `PUBLIC_KEY:SIGNATURE` for --approval.
    Approve {
        /// Home directory whose key approves.
        #[arg(long, env = "BABEL_HOME")]
        home: PathBuf,
        #[command(subcommand)]
        change: babel_node::cli::rollup::Change,
    },
    /// List the rollups the chain runs, as the node's committed registry has them.
    List {
        /// gRPC endpoint of the node.
        #[arg(long, default_value = "http://127.0.0.1:9090")]
        endpoint: String,
    },
}

#[derive(Args, Debug)]
struct RollupSender {
    /// Home directory whose key signs and approves (and whose gRPC server is used by default).
    #[arg(long, env = "BABEL_HOME")]
    home: PathBuf,
    /// gRPC endpoint to submit to, e.g. http://127.0.0.1:9090.
    #[arg(long)]
    node: Option<String>,
    /// The sender's nonce on the registry (rollup 0).
    #[arg(long, default_value_t = 0)]
    nonce: u64,
    /// Key file of another governance key that approves (repeatable).
    #[arg(long = "approver")]
    approvers: Vec<PathBuf>,
    /// An approval `babel rollup approve` made elsewhere: PUBLIC_KEY:SIGNATURE (repeatable).
    #[arg(long = "approval")]
    approvals: Vec<String>,
    /// Wait until the change is in a committed block; fail if it was refused.
    #[arg(long)]
    wait: bool,
}

impl From<RollupSender> for babel_node::cli::rollup::SendOptions {
    fn from(sender: RollupSender) -> Self {
        Self {
            home: Home::new(sender.home),
            node: sender.node,
            nonce: sender.nonce,
            approvers: sender.approvers,
            approvals: sender.approvals,
            wait: sender.wait,
        }
    }
}

#[derive(Subcommand, Debug)]
enum TxCommand {
    /// Sign a call or deploy with the home's key and submit it over gRPC. The origin rollup's
    /// VM (from the genesis) decides which arguments apply: EVM `--to`/`--data`; WASM
    /// `--to`/`--method`/`--data`, or `--code`; Cairo `--to`/`--method`/`--felts`, or `--code`.
    Send {
        /// Home directory whose key signs (and whose gRPC server is used by default).
        #[arg(long, env = "BABEL_HOME")]
        home: PathBuf,
        /// gRPC endpoint to submit to, e.g. http://127.0.0.1:9090.
        #[arg(long)]
        node: Option<String>,
        /// Origin rollup id.
        #[arg(long, default_value_t = 1)]
        rollup: u64,
        /// The sender's nonce on that rollup (0 for its first transaction).
        #[arg(long)]
        nonce: u64,
        /// Callee, hex: an EVM address (20 bytes; omit to create a contract from --data), a WASM
        /// contract id or a Cairo contract address (1–32 bytes).
        #[arg(long, value_parser = parse_hex, default_value = "")]
        to: HexArg,
        /// EVM calldata (or init code), or WASM input; hex.
        #[arg(long, value_parser = parse_hex, default_value = "")]
        data: HexArg,
        /// WASM method or Cairo entry point.
        #[arg(long, default_value = "")]
        method: String,
        /// Cairo calldata: comma-separated felts, decimal or 0x hex.
        #[arg(long, value_delimiter = ',')]
        felts: Vec<String>,
        /// File holding a WASM module or a Cairo class (Sierra JSON) to deploy.
        #[arg(long)]
        code: Option<PathBuf>,
        /// Gas budget.
        #[arg(long, default_value_t = 1_000_000)]
        gas_limit: u64,
        /// Highest fee accepted.
        #[arg(long, default_value_t = 0)]
        max_fee: u64,
        /// Wait until the transaction is in a committed block.
        #[arg(long)]
        wait: bool,
    },
}

/// Bytes given on the command line as hex (`0x` optional).
#[derive(Clone, Debug)]
struct HexArg(Vec<u8>);

fn parse_hex(s: &str) -> Result<HexArg, String> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map(HexArg)
        .map_err(|e| format!("not hex: {e}"))
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Print the validator's public key and address.
    Show {
        /// Home directory of the validator.
        #[arg(long, env = "BABEL_HOME")]
        home: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum GenesisCommand {
    /// Check a genesis file and print its canonical hash.
    Validate {
        /// The genesis file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Command output goes to stdout on purpose.
#[allow(clippy::print_stdout)]
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init(args) => {
            let home = Home::new(&args.home);
            let genesis = create_network(std::slice::from_ref(&home), &args.network.options())?;
            println!(
                "initialised {} (chain {})",
                home.root().display(),
                genesis.chain_id
            );
            println!("genesis hash {}", hex::encode(genesis.hash()));
        }
        Command::Testnet(args) => {
            let homes: Vec<Home> = (0..args.validators)
                .map(|i| Home::new(args.output.join(format!("node-{i}"))))
                .collect();
            let genesis = create_network(&homes, &args.network.options())?;
            for home in &homes {
                println!("{}", home.root().display());
            }
            println!(
                "{} validators, chain {}, genesis hash {}",
                homes.len(),
                genesis.chain_id,
                hex::encode(genesis.hash())
            );
        }
        Command::Start(args) => babel_node::run::start(&Home::new(args.home))?,
        Command::Devnet(args) => babel_node::cli::devnet::run(&DevnetOptions {
            dir: args.dir,
            validators: args.validators,
            p2p_port: args.p2p_port,
            grpc_port: args.grpc_port,
            ops_port: args.ops_port,
            da_port: args.da_port,
            jsonrpc_port: args.jsonrpc_port,
            reset: args.reset,
            duration: args.duration_secs.map(std::time::Duration::from_secs),
        })?,
        Command::Tx(TxCommand::Send {
            home,
            node,
            rollup,
            nonce,
            to,
            data,
            method,
            felts,
            code,
            gas_limit,
            max_fee,
            wait,
        }) => {
            let code = code
                .map(|path| {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
                })
                .transpose()?;
            let opts = babel_node::cli::tx::SendOptions {
                home: Home::new(home),
                node,
                rollup,
                nonce,
                call: babel_node::cli::tx::CallArgs {
                    to: to.0,
                    data: data.0,
                    method,
                    felts,
                    code,
                },
                gas_limit,
                max_fee,
                wait,
            };
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(babel_node::cli::tx::send(opts))?;
        }
        Command::Keys(KeysCommand::Show { home }) => {
            let path = Home::new(home).validator_key();
            let key = keys::read_key(&path)?;
            println!("public_key {}", hex::encode(key.verifying_key().as_bytes()));
            println!(
                "address    {}",
                hex::encode(keys::address_of(&key.verifying_key()))
            );
        }
        Command::Bench(args) => {
            let report = babel_node::cli::bench::run(&babel_node::cli::bench::BenchOptions {
                validators: args.validators,
                endpoints: args.endpoints,
                p2p_port: args.p2p_port,
                grpc_port: args.grpc_port,
                ops_port: args.ops_port,
                da_port: args.da_port,
                txs: args.txs,
                senders: args.senders,
                batch: args.batch,
                in_flight: args.in_flight,
                rate: args.rate,
                workload: args.workload,
                payload_bytes: args.payload_bytes,
                seed: args.seed,
                finality_timeout: std::time::Duration::from_secs(args.finality_timeout_secs),
                block_interval_ms: args.block_interval_ms,
                empty_block_wait_ms: args.empty_block_wait_ms,
            })?;
            println!("{report}");
        }
        Command::Verify(args) => {
            use babel_node::cli::verify::{Claim, Proof, fetch, trusted, verify};
            let genesis = Genesis::load(&args.genesis)?;
            let hash = |h: HexArg| -> anyhow::Result<[u8; 32]> {
                h.0.try_into().map_err(|h: Vec<u8>| {
                    anyhow::anyhow!("--hash must be 32 bytes, got {}", h.len())
                })
            };
            let claim = match args.claim {
                VerifyClaim::State {
                    rollup,
                    key,
                    height,
                } => Claim::State {
                    rollup,
                    key: key.0,
                    height,
                },
                VerifyClaim::Tx { hash: h } => Claim::Transaction { hash: hash(h)? },
                VerifyClaim::Receipt { hash: h } => Claim::Receipt { hash: hash(h)? },
                VerifyClaim::Message {
                    rollup,
                    index,
                    height,
                } => Claim::Message {
                    rollup,
                    index,
                    height,
                },
            };
            let proof = match (&args.endpoint, &args.file) {
                (Some(endpoint), _) => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(fetch(endpoint, &claim))?,
                (None, Some(file)) => {
                    let bytes = std::fs::read(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    Proof::decode(&claim, &bytes).with_context(|| {
                        format!("{} is not a proof of this kind", file.display())
                    })?
                }
                (None, None) => anyhow::bail!("give --endpoint or --file"),
            };
            if let Some(save) = &args.save {
                std::fs::write(save, proof.encode())
                    .with_context(|| format!("writing {}", save.display()))?;
            }
            let validators = trusted(&genesis)?;
            let verdict = verify(&validators, &claim, &proof).context("invalid proof")?;
            println!("{verdict}");
        }
        Command::Rollup(command) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            match command {
                RollupCommand::Register { sender, args } => {
                    let change = babel_node::cli::rollup::Change::Register(args);
                    runtime.block_on(babel_node::cli::rollup::send(sender.into(), &change))?;
                }
                RollupCommand::Update { sender, args } => {
                    let change = babel_node::cli::rollup::Change::Update(args);
                    runtime.block_on(babel_node::cli::rollup::send(sender.into(), &change))?;
                }
                RollupCommand::Approve { home, change } => {
                    println!(
                        "{}",
                        babel_node::cli::rollup::approval(&Home::new(home), &change)?
                    );
                }
                RollupCommand::List { endpoint } => {
                    print!(
                        "{}",
                        runtime.block_on(babel_node::cli::rollup::list(&endpoint))?
                    );
                }
            }
        }
        Command::Status(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(babel_node::cli::status::run(&args.endpoint))?,
        Command::Da(DaCommand::Serve {
            listen,
            dir,
            auth_token,
        }) => {
            let _logging = babel_node::logging::init(&Default::default())?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(babel_node::cli::da::serve(
                    &babel_node::cli::da::ServeOptions {
                        dir,
                        listen,
                        auth_token: auth_token.filter(|t| !t.is_empty()),
                    },
                ))?;
        }
        Command::Replay(args) => {
            let _logging = babel_node::logging::init(&Default::default())?;
            let done = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(babel_node::cli::replay::run(
                    &args.da,
                    args.auth_token.as_deref().filter(|t| !t.is_empty()),
                    &args.genesis,
                    args.data.as_deref(),
                    &babel_node::cli::replay::ReplayOptions {
                        from_da_height: args.from_da_height,
                        to: args.to,
                    },
                ))?;
            println!(
                "replayed through block {}: {} transactions from {} DA heights, state root {}",
                done.height,
                done.txs,
                done.da_heights,
                hex::encode(done.state_root)
            );
        }
        Command::Genesis(GenesisCommand::Validate { file }) => {
            let genesis = Genesis::load(&file)?;
            println!(
                "valid: chain {}, {} validators, {} rollups, hash {}",
                genesis.chain_id,
                genesis.validators.len(),
                genesis.rollups.len(),
                hex::encode(genesis.hash())
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Every subcommand's arguments are well formed (clap checks this only when one is used).
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
