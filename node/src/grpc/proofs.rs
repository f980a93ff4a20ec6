//! Proofs for light clients: a state value, a transaction or a receipt, each with the header it
//! is proven against and the certificate that makes that header final, so a response verifies
//! on its own (see `babel-settlement`).

use babel_proto::v1;
use tonic::Status;

use super::{NodeService, internal};

/// The 32-byte hash a proof request names.
pub(super) fn tx_hash_of(request: &v1::GetTransactionProofRequest) -> Result<[u8; 32], Status> {
    request
        .hash
        .as_ref()
        .try_into()
        .map_err(|_| Status::invalid_argument("hash must be 32 bytes"))
}

/// The RFC 6962 audit path of leaf `index`, which `locate` found inside the block.
fn audit_path(leaves: &[[u8; 32]], index: usize) -> Result<bytes::Bytes, Status> {
    babel_proto::merkle_proof(leaves, index)
        .map(Into::into)
        .ok_or_else(|| Status::internal("no proof for an index inside the block"))
}

/// A committed block and where one transaction is in it.
struct Located {
    height: u64,
    index: usize,
    block: v1::Block,
    header: v1::Header,
    certificate: v1::CommitCertificate,
}

impl NodeService {
    /// The committed block at `height` with its header and certificate.
    fn committed(
        &self,
        height: u64,
    ) -> Result<(v1::Block, v1::Header, v1::CommitCertificate), Status> {
        let missing = || Status::internal(format!("block {height} is missing from the store"));
        let block = self
            .store
            .block(height)
            .map_err(internal)?
            .ok_or_else(missing)?;
        let header = block.header.clone().ok_or_else(missing)?;
        let certificate = self
            .store
            .certificate(height)
            .map_err(internal)?
            .ok_or_else(missing)?;
        Ok((block, header, certificate))
    }

    fn locate(&self, hash: &[u8; 32]) -> Result<Located, Status> {
        let location = self
            .store
            .tx_location(hash)
            .map_err(internal)?
            .ok_or_else(|| {
                Status::not_found(format!(
                    "transaction {} is not in a committed block",
                    hex::encode(hash)
                ))
            })?;
        let (block, header, certificate) = self.committed(location.height)?;
        let index = location.index as usize;
        if index >= block.txs.len() {
            return Err(Status::internal(
                "the transaction index is outside its block",
            ));
        }
        Ok(Located {
            height: location.height,
            index,
            block,
            header,
            certificate,
        })
    }

    /// A state value with its proof against the rollup's root in the header at a height.
    pub(super) fn prove_state(
        &self,
        request: v1::GetStateProofRequest,
    ) -> Result<v1::GetStateProofResponse, Status> {
        if request.rollup_id != babel_genesis::REGISTRY_ROLLUP_ID
            && self.registry().get(request.rollup_id).is_none()
        {
            return Err(Status::not_found(format!(
                "rollup {} does not exist",
                request.rollup_id
            )));
        }
        let latest = self.latest()?;
        let height = if request.height == 0 {
            latest
        } else {
            request.height
        };
        if height == 0 || height > latest {
            return Err(Status::not_found(format!(
                "no block at height {height} (latest is {latest})"
            )));
        }
        let (_, header, certificate) = self.committed(height)?;
        let state_root = header
            .state_roots
            .iter()
            .find(|r| r.rollup_id == request.rollup_id)
            .map(|r| r.root.clone())
            .ok_or_else(|| Status::internal("header lacks the rollup's state root"))?;
        let (value, proof) = babel_execution::commitment::prove(
            &self.store.tree(request.rollup_id),
            height,
            &request.key,
        )
        .map_err(internal)?;
        Ok(v1::GetStateProofResponse {
            height,
            exists: value.is_some(),
            value: value.unwrap_or_default().into(),
            state_root,
            proof: borsh::to_vec(&proof).map_err(internal)?.into(),
            header: Some(header),
            certificate: Some(certificate),
        })
    }

    /// A committed transaction with its proof against the header's `tx_root`.
    pub(super) fn prove_transaction(
        &self,
        hash: &[u8; 32],
    ) -> Result<v1::GetTransactionProofResponse, Status> {
        let found = self.locate(hash)?;
        let leaves: Vec<[u8; 32]> = found.block.txs.iter().map(babel_proto::tx_hash).collect();
        Ok(v1::GetTransactionProofResponse {
            height: found.height,
            index: found.index as u64,
            proof: audit_path(&leaves, found.index)?,
            transaction: found.block.txs.get(found.index).cloned(),
            header: Some(found.header),
            certificate: Some(found.certificate),
        })
    }

    /// A committed transaction's receipt with its proof against the header's `results_root`.
    pub(super) fn prove_receipt(
        &self,
        hash: &[u8; 32],
    ) -> Result<v1::GetReceiptProofResponse, Status> {
        let found = self.locate(hash)?;
        let mut leaves = Vec::with_capacity(found.block.txs.len());
        let mut receipt = None;
        for (i, tx) in found.block.txs.iter().enumerate() {
            let tx_hash = babel_proto::tx_hash(tx);
            let stored = self
                .store
                .receipt(&tx_hash)
                .map_err(internal)?
                .ok_or_else(|| Status::internal("a committed transaction has no receipt"))?;
            leaves.push(babel_proto::receipt_leaf(&tx_hash, &stored));
            if i == found.index {
                receipt = Some(stored);
            }
        }
        Ok(v1::GetReceiptProofResponse {
            height: found.height,
            index: found.index as u64,
            proof: audit_path(&leaves, found.index)?,
            transaction: found.block.txs.get(found.index).cloned(),
            receipt,
            header: Some(found.header),
            certificate: Some(found.certificate),
        })
    }
}
