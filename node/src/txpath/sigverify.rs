//! Signature verification batched across concurrent submissions.
//!
//! Every submission hands its transactions to one verifier thread. The thread takes whatever is
//! queued (up to [`MAX_BATCH`] signatures) and checks it as one ed25519 batch, so under load a
//! signature costs a share of a batch, while a lone client pays only a thread hand-off. If a
//! combined batch fails, each submission's share is checked on its own so that one bad
//! signature cannot make other clients' transactions look bad, nor cost them more than their
//! own fallback.

use std::time::Instant;

use super::admission::{CheckedTx, verify_batch, verify_signatures};
use crate::metrics::{Metrics, Phase};
use tokio::sync::{mpsc, oneshot};

/// Most signatures checked in one combined batch.
pub const MAX_BATCH: usize = 1024;
/// Submissions queued for the verifier before submitters wait.
const QUEUE: usize = 256;

struct Job {
    txs: Vec<CheckedTx>,
    reply: oneshot::Sender<(Vec<CheckedTx>, Vec<bool>)>,
}

/// Handle to the verifier thread; cheap to clone. The thread exits when every handle is gone.
#[derive(Clone, Debug)]
pub struct SigVerifier {
    jobs: mpsc::Sender<Job>,
}

/// The verifier thread has stopped (it only stops if it panicked): fatal for the node.
#[derive(Debug, thiserror::Error)]
#[error("the signature verifier has stopped")]
pub struct VerifierStopped;

impl SigVerifier {
    /// Start the verifier thread, which reports the time of each batch to `metrics`.
    pub fn start(metrics: Metrics) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("babel-sigverify".into())
            .spawn(move || run(rx, &metrics))?;
        Ok(Self { jobs })
    }

    /// Check the signatures of `txs`; returns them with one verdict each, in order.
    pub async fn verify(
        &self,
        txs: Vec<CheckedTx>,
    ) -> Result<(Vec<CheckedTx>, Vec<bool>), VerifierStopped> {
        if txs.is_empty() {
            return Ok((txs, Vec::new()));
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { txs, reply })
            .await
            .map_err(|_| VerifierStopped)?;
        answer.await.map_err(|_| VerifierStopped)
    }
}

fn run(mut rx: mpsc::Receiver<Job>, metrics: &Metrics) {
    while let Some(first) = rx.blocking_recv() {
        let mut count = first.txs.len();
        let mut jobs = vec![first];
        while count < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.txs.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let start = Instant::now();
        answer(jobs);
        metrics.phase(Phase::Signatures, start.elapsed());
    }
}

fn answer(jobs: Vec<Job>) {
    let all_good = jobs.len() > 1 && {
        let all: Vec<&CheckedTx> = jobs.iter().flat_map(|j| &j.txs).collect();
        verify_batch(&all)
    };
    for job in jobs {
        let verdicts = if all_good {
            vec![true; job.txs.len()]
        } else {
            verify_signatures(&job.txs)
        };
        let _ = job.reply.send((job.txs, verdicts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txpath::admission::{
        check, sign,
        tests::{genesis, tx as admission_tx},
    };
    use babel_genesis::Genesis;
    use ed25519_dalek::SigningKey;

    fn checked(g: &Genesis, signer: u8, claimed: u8) -> CheckedTx {
        let tx = admission_tx(&SigningKey::from_bytes(&[claimed; 32]), 0);
        check(
            sign(&tx, &SigningKey::from_bytes(&[signer; 32])),
            g,
            &crate::params::executor_for(g).unwrap(),
        )
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submissions_get_their_own_verdicts() {
        let g = genesis();
        let verifier = SigVerifier::start(Metrics::new()).unwrap();
        // 40 concurrent submissions of 5; every third one carries one forged signature.
        let submissions: Vec<Vec<CheckedTx>> = (0..40u8)
            .map(|s| {
                (0..5u8)
                    .map(|i| {
                        let key = 1 + (s * 5 + i) % 200;
                        let forged = s % 3 == 0 && i == 2;
                        checked(&g, if forged { key + 1 } else { key }, key)
                    })
                    .collect()
            })
            .collect();
        let expected: Vec<Vec<[u8; 32]>> = submissions
            .iter()
            .map(|s| s.iter().map(|t| t.hash).collect())
            .collect();
        let handles: Vec<_> = submissions
            .into_iter()
            .map(|txs| {
                let v = verifier.clone();
                tokio::spawn(async move { v.verify(txs).await.unwrap() })
            })
            .collect();
        for (s, handle) in handles.into_iter().enumerate() {
            let (txs, ok) = handle.await.unwrap();
            let hashes: Vec<[u8; 32]> = txs.iter().map(|t| t.hash).collect();
            assert_eq!(
                hashes, expected[s],
                "submission {s} got its own transactions back"
            );
            let want: Vec<bool> = (0..5).map(|i| !(s % 3 == 0 && i == 2)).collect();
            assert_eq!(ok, want, "submission {s}");
        }
    }

    #[tokio::test]
    async fn empty_submission_needs_no_thread_round_trip() {
        let verifier = SigVerifier::start(Metrics::new()).unwrap();
        let (txs, ok) = verifier.verify(Vec::new()).await.unwrap();
        assert!(txs.is_empty() && ok.is_empty());
    }
}
