//! A driver over an in-memory application and three silent peers, for the driver's unit tests.

use std::{collections::BTreeMap, time::Duration};

use bytes::Bytes;
use malachitebft_app_channel::app::{
    streaming::StreamMessage,
    types::{
        Keypair, PeerId, ProposedValue,
        core::{Context as _, Round},
    },
};
use prost::Message;
use tokio::sync::mpsc;

use super::{Behaviour, Driver, STREAM_BUFFER_BLOCKS, proposals::validator_peers};
use crate::{
    Application, BabelContext, BabelSigner, Height, ProposalPart, Validator, ValidatorSet,
    parts::parts_sign_bytes,
    streaming::{PartStreams, stream_messages},
    test_utils::{MemApp, secret},
};

/// Validators in the test network (the driver is validator 0).
pub(super) const N: usize = 4;
const BLOCK_LIMIT: usize = 1 << 20;

pub(super) struct Net {
    pub(super) driver: Driver<MemApp>,
    pub(super) app: MemApp,
    pub(super) signers: Vec<BabelSigner>,
    pub(super) peers: Vec<PeerId>,
    _network: mpsc::Receiver<malachitebft_app_channel::NetworkMsg<BabelContext>>,
}

pub(super) fn net() -> Net {
    let signers: Vec<_> = (0..N)
        .map(|i| BabelSigner::new("test", secret(i)))
        .collect();
    let vset = ValidatorSet::new(
        signers
            .iter()
            .map(|s| Validator::new(s.public_key(), 1))
            .collect(),
    )
    .unwrap();
    let peers = (0..N)
        .map(|i| {
            let key = Keypair::ed25519_from_bytes(secret(i)).unwrap();
            PeerId::from_bytes(&key.public().to_peer_id().to_bytes()).unwrap()
        })
        .collect();
    let (network, rx) = mpsc::channel(16);
    let app = MemApp::new();
    let driver = Driver {
        app: app.clone(),
        signer: signers[0].clone(),
        address: signers[0].address(),
        peers: validator_peers(&vset).unwrap(),
        height_params: malachitebft_app_channel::app::engine::host::HeightParams::new(
            vset.clone(),
            Default::default(),
            None,
        ),
        vset,
        streams: PartStreams::new(BLOCK_LIMIT, BLOCK_LIMIT * STREAM_BUFFER_BLOCKS),
        pending: BTreeMap::new(),
        height: Height(1),
        round: Round::new(0),
        equivocation_logged: None,
        settled: Default::default(),
        network,
        metrics: Default::default(),
        height_started: None,
        empty_block_wait: Duration::ZERO,
        synced_up_to: None,
        behaviour: Behaviour::Honest,
    };
    Net {
        driver,
        app,
        signers,
        peers,
        _network: rx,
    }
}

impl Net {
    /// Index of the proposer of (height, round).
    pub(super) fn proposer(&self, height: Height, round: Round) -> usize {
        let address = BabelContext
            .select_proposer(&self.driver.vset, height, round)
            .address;
        self.signers
            .iter()
            .position(|s| s.address() == address)
            .unwrap()
    }

    /// A block for `height` built by validator `by`, with its time shifted by `salt`.
    pub(super) fn block(&mut self, height: Height, by: usize, salt: u64) -> Bytes {
        let mut block = self
            .app
            .clone()
            .build_block(height, self.signers[by].address())
            .unwrap();
        block.header.as_mut().unwrap().time_ms += salt;
        block.encode_to_vec().into()
    }

    /// The stream of `block` for (height, round), signed by validator `signer`.
    pub(super) fn stream(
        &self,
        height: Height,
        round: Round,
        signer: usize,
        block: &Bytes,
    ) -> Vec<StreamMessage<ProposalPart>> {
        let proposer = self.proposer(height, round);
        let signature =
            self.signers[signer].sign_bytes(&parts_sign_bytes(height, round, Round::Nil, block));
        stream_messages(
            height,
            round,
            Round::Nil,
            self.signers[proposer].address(),
            block,
            signature,
        )
    }

    /// Feed `msgs` as published by validator `from`; the values completed.
    pub(super) fn feed(
        &mut self,
        from: usize,
        msgs: Vec<StreamMessage<ProposalPart>>,
    ) -> Vec<ProposedValue<BabelContext>> {
        let peer = self.peers[from];
        msgs.into_iter()
            .filter_map(|m| self.driver.on_part(peer, m).unwrap())
            .collect()
    }
}
