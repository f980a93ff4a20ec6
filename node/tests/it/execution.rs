//! Execution through the node: a proposer lying about a state root is never decided, and
//! contracts deployed and called over gRPC leave receipts, answer read-only calls and prove
//! their state against the header.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy_sol_types::SolCall as _;
use babel_consensus::{
    Address, Application, BlockOrigin, ConsensusError, Height, StoredProposals, Verdict,
    test_utils::{net_configs, stop_all, wait_until},
};
use babel_genesis::{EvmGenesis, Genesis, RollupGenesis, Timestamp, VmGenesis};
use babel_node::{
    app::{NodeApp, ensure_genesis_state},
    params::executor_for,
    store::Store,
    txpath::{
        SharedPool,
        admission::sign,
        mempool::{Mempool, PoolLimits},
    },
};
use babel_proto::v1;
use ed25519_dalek::SigningKey;
use tokio_stream::StreamExt as _;

use crate::support::{
    Validator, client, grpc_addr, runtime, testnet_homes, wait_finalized, wait_for,
};

/// An honest node that, as proposer, corrupts rollup 1's state root in its blocks (and
/// counts its lies).
#[derive(Clone)]
struct Liar(NodeApp, Arc<AtomicUsize>);

impl Application for Liar {
    fn committed_height(&self) -> Result<Height, ConsensusError> {
        self.0.committed_height()
    }

    fn build_block(
        &mut self,
        height: Height,
        proposer: Address,
    ) -> Result<v1::Block, ConsensusError> {
        let mut block = self.0.build_block(height, proposer)?;
        if let Some(h) = block.header.as_mut() {
            h.state_roots[0].root = vec![0x66; 32].into();
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        Ok(block)
    }

    fn validate_block(
        &mut self,
        block: &v1::Block,
        origin: BlockOrigin,
    ) -> Result<Verdict, ConsensusError> {
        self.0.validate_block(block, origin)
    }

    fn store_proposal(
        &mut self,
        height: Height,
        round: u32,
        block_hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<(), ConsensusError> {
        self.0.store_proposal(height, round, block_hash, bytes)
    }

    fn proposals(&self, height: Height, round: u32) -> Result<StoredProposals, ConsensusError> {
        self.0.proposals(height, round)
    }

    fn proposal_by_hash(
        &self,
        height: Height,
        block_hash: [u8; 32],
    ) -> Result<Option<Vec<u8>>, ConsensusError> {
        self.0.proposal_by_hash(height, block_hash)
    }

    fn commit(
        &mut self,
        block: v1::Block,
        certificate: v1::CommitCertificate,
    ) -> Result<(), ConsensusError> {
        self.0.commit(block, certificate)
    }

    fn decided(
        &self,
        height: Height,
    ) -> Result<Option<(v1::Block, v1::CommitCertificate)>, ConsensusError> {
        self.0.decided(height)
    }
}

#[test]
fn e2e_a_proposer_lying_about_a_state_root_is_never_decided() {
    let dir = tempfile::tempdir().unwrap();
    let cfgs = net_configs(4, &dir.path().join("wal"));
    let genesis = Arc::new(Genesis {
        chain_id: cfgs[0].chain_id.clone(),
        genesis_time: Timestamp { unix_ms: 0 },
        consensus: cfgs[0].params.clone(),
        sequencer_namespace: None,
        governance: None,
        validators: Vec::new(),
        rollups: vec![RollupGenesis {
            id: 1,
            name: "evm".into(),
            namespace: None,
            gas_price: 0,
            vm: VmGenesis::Evm(EvmGenesis::default()),
        }],
    });
    let apps: Vec<NodeApp> = (0..4)
        .map(|i| {
            let store = Arc::new(Store::open(&dir.path().join(format!("store-{i}"))).unwrap());
            let executor = Arc::new(executor_for(&genesis).unwrap());
            ensure_genesis_state(&store, &executor, &genesis).unwrap();
            let pool = SharedPool::new(Mempool::new(PoolLimits {
                max_txs: 10,
                max_bytes: 1 << 20,
            }));
            NodeApp::new(
                store,
                genesis.clone(),
                cfgs[i].validator_set.clone(),
                pool,
                executor,
            )
            .unwrap()
        })
        .collect();
    let liar_address = cfgs[3]
        .validator_set
        .validators()
        .iter()
        .find(|v| {
            v.public_key.as_bytes()
                == SigningKey::from_bytes(&cfgs[3].secret_key)
                    .verifying_key()
                    .as_bytes()
        })
        .unwrap()
        .address;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lies = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut nodes = Vec::new();
        for (i, app) in apps.iter().enumerate() {
            let handle = if i == 3 {
                babel_consensus::start(cfgs[i].clone(), Liar(app.clone(), lies.clone())).await
            } else {
                babel_consensus::start(cfgs[i].clone(), app.clone()).await
            };
            nodes.push(handle.unwrap());
        }
        // Enough heights that the liar's turn as proposer comes several times.
        let reached = wait_until(Duration::from_secs(120), || {
            apps.iter()
                .all(|a| a.committed_height().map(|h| h.0).unwrap_or(0) >= 12)
        })
        .await;
        stop_all(nodes).await;
        assert!(reached, "the honest three keep deciding");
    });

    assert!(
        lies.load(Ordering::SeqCst) > 0,
        "the liar had its turns as proposer"
    );
    let honest = &apps[0];
    for height in 1..=12 {
        let (block, _) = honest.decided(Height(height)).unwrap().unwrap();
        let header = block.header.unwrap();
        assert_ne!(
            header.proposer.as_ref(),
            liar_address.0.as_slice(),
            "height {height} was proposed by the liar"
        );
        assert!(header.state_roots[0].root.as_ref() != [0x66; 32]);
        for other in &apps[1..] {
            let (b, _) = other.decided(Height(height)).unwrap().unwrap();
            assert_eq!(
                b.header.unwrap(),
                header,
                "every store holds the same header"
            );
        }
    }
}

fn token_bytecode() -> Vec<u8> {
    let json: serde_json::Value = serde_json::from_str(include_str!(
        "../../../execution-adapters/evm/tests/fixtures/contracts.json"
    ))
    .unwrap();
    let code = json["contracts"]["Token"]["bytecode"].as_str().unwrap();
    hex::decode(code.trim_start_matches("0x")).unwrap()
}

alloy_sol_types::sol! {
    function transfer(address to, uint256 amount) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
}

fn word_u64(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

#[test]
fn e2e_contracts_over_grpc_leave_receipts_answer_calls_and_prove_state() {
    let chain = "babel-exec";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, chain);
    let addr = grpc_addr(&homes[0]);
    let mut node = Validator::start(&homes[0], 0);
    assert!(wait_for(Duration::from_secs(60), || node.logged_height() >= 1));
    let key = SigningKey::from_bytes(&[0x5A; 32]);
    let me = babel_evm::sender_address(key.verifying_key().as_bytes());
    let tx = |nonce: u64, to: Vec<u8>, data: Vec<u8>| v1::Transaction {
        chain_id: chain.into(),
        rollup_id: 1,
        sender_pubkey: key.verifying_key().as_bytes().to_vec().into(),
        nonce,
        gas_limit: 2_000_000,
        max_fee: 0,
        payload: Some(v1::transaction::Payload::Evm(v1::EvmCall {
            to: to.into(),
            value: Default::default(),
            data: data.into(),
        })),
    };
    let rt = runtime();
    rt.block_on(async {
        let mut client = client(addr).await;
        let submitter = client.clone();
        let submit = |t: v1::Transaction| {
            let mut c = submitter.clone();
            let signed = sign(&t, &key);
            async move {
                let r = c
                    .submit_transaction(v1::SubmitTransactionRequest {
                        transaction: Some(signed),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert!(r.accepted, "{}", r.message);
                r.hash
            }
        };
        // Deploy the token with a supply of 1000.
        let mut code = token_bytecode();
        code.extend_from_slice(&word_u64(1_000));
        let hash = submit(tx(0, Vec::new(), code)).await;
        let deployed = wait_finalized(&mut client, &hash).await;
        let receipt = deployed.receipt.unwrap();
        assert!(receipt.success, "{receipt:?}");
        let token = receipt.root.unwrap().target.to_vec();
        assert_eq!(token.len(), 20);

        // Transfer 250 and read the Transfer log from the receipt.
        let transfer = transferCall {
            to: [0x77u8; 20].into(),
            amount: alloy_primitives::U256::from(250),
        }
        .abi_encode();
        let hash = submit(tx(1, token.clone(), transfer)).await;
        let done = wait_finalized(&mut client, &hash).await;
        let receipt = done.receipt.unwrap();
        assert!(receipt.success);
        let logs = &receipt.root.as_ref().unwrap().logs;
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].address.as_ref(), token.as_slice());
        assert_eq!(logs[0].data.as_ref(), word_u64(250));

        // A read-only call sees the balances and changes nothing.
        let balance_of = balanceOfCall { owner: me }.abi_encode();
        let call = client
            .call(v1::CallRequest {
                transaction: Some(tx(99, token.clone(), balance_of)),
            })
            .await
            .unwrap()
            .into_inner();
        let answer = call.receipt.unwrap();
        assert!(answer.success);
        assert_eq!(answer.output.as_ref(), word_u64(750));
        assert!(call.height >= done.height);

        // The sender's nonce is 2, provably, under the header's root for rollup 1.
        let nonce_key = babel_execution::state::nonce_key(key.verifying_key().as_bytes());
        let (proof, root, decoded) =
            crate::support::verified_state_proof(&mut client, 1, &nonce_key, 0).await;
        assert!(proof.exists);
        assert_eq!(proof.value.as_ref(), 2u64.to_be_bytes());
        assert!(!babel_execution::commitment::verify(
            root,
            &nonce_key,
            Some(&[0; 8]),
            &decoded
        ));

        // The rollup's own view: its transactions per block, every height once.
        let mut batches = client
            .stream_rollup_batches(v1::StreamRollupBatchesRequest {
                rollup_id: 1,
                from_height: 1,
                posted: false,
            })
            .await
            .unwrap()
            .into_inner();
        let mut seen = Vec::new();
        let mut height = 0;
        while height < done.height {
            let batch = tokio::time::timeout(Duration::from_secs(30), batches.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!((batch.rollup_id, batch.height), (1, height + 1));
            height = batch.height;
            seen.extend(
                batch
                    .txs
                    .iter()
                    .map(|t| (batch.height, babel_proto::tx_hash(t))),
            );
        }
        let deploy_hash: [u8; 32] = deployed
            .transaction
            .as_ref()
            .map(babel_proto::tx_hash)
            .unwrap();
        let transfer_hash: [u8; 32] = done.transaction.as_ref().map(babel_proto::tx_hash).unwrap();
        assert_eq!(
            seen,
            vec![(deployed.height, deploy_hash), (done.height, transfer_hash)]
        );
        let unknown = client
            .stream_rollup_batches(v1::StreamRollupBatchesRequest {
                rollup_id: 9,
                from_height: 1,
                posted: false,
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound);

        let (absent, absent_root, _) =
            crate::support::verified_state_proof(&mut client, 1, b"nothing here", proof.height)
                .await;
        assert!(!absent.exists);
        assert_eq!(absent_root, root);
    });
    node.kill();
}
