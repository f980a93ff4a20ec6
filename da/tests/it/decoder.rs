//! The blob decoder on untrusted input: whatever the bytes, it answers (a payload or an error)
//! without panicking, and never allocates more than its limit.

use babel_da::frame::{self, MAX_PAYLOAD_BYTES, Payload};
use babel_proto::v1::{DaRollupBatch, SignedTransaction};
use proptest::prelude::*;

fn valid() -> Vec<u8> {
    frame::encode(&Payload::RollupBatch(DaRollupBatch {
        chain_id: "c".into(),
        height: 3,
        rollup_id: 1,
        block_hash: vec![1; 32].into(),
        part: 0,
        parts: 1,
        positions: vec![0, 1, 2],
        txs: vec![
            SignedTransaction {
                body: vec![9; 40].into(),
                signature: vec![8; 64].into(),
                ..Default::default()
            };
            3
        ],
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Anything that decodes is a payload the encoder can write again, identically.
        if let Ok(payload) = frame::decode(&bytes) {
            let again = frame::encode(&payload).unwrap();
            prop_assert_eq!(frame::decode(&again).unwrap(), payload);
        }
    }

    #[test]
    fn mutated_frames_decode_or_fail_cleanly(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        match frame::decode(&bytes[..keep]) {
            // Whatever decodes stays within the payload limit.
            Ok(Payload::RollupBatch(b)) => prop_assert!(
                b.txs.iter().map(|t| t.body.len() + t.signature.len()).sum::<usize>()
                    <= MAX_PAYLOAD_BYTES
            ),
            Ok(Payload::BlockHeader(_)) => {}
            // A cut frame is always refused.
            Err(_) => {}
        }
        if keep < frame::HEAD_LEN {
            prop_assert!(frame::decode(&bytes[..keep]).is_err());
        }
    }
}
