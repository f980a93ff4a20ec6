//! Where a rollup keeps its outgoing messages ([`v1::OutgoingMessage`]) in its state: one rule
//! for the node that writes them and the light client that proves them.

use crate::v1;

/// The key of a rollup's message count (8 bytes, big-endian; absent means none).
pub const MESSAGE_COUNT_KEY: &[u8] = b"babel/msgs";

const MESSAGE_PREFIX: &[u8] = b"babel/msg/";

/// Length of a [`message_key`].
pub const MESSAGE_KEY_LEN: usize = MESSAGE_PREFIX.len() + 8;

/// The key of message `index` of a rollup.
pub fn message_key(index: u64) -> [u8; MESSAGE_KEY_LEN] {
    let mut key = [0u8; MESSAGE_KEY_LEN];
    key[..MESSAGE_PREFIX.len()].copy_from_slice(MESSAGE_PREFIX);
    key[MESSAGE_PREFIX.len()..].copy_from_slice(&index.to_be_bytes());
    key
}

/// A stored message count (absent means 0); `None` if the bytes are not one.
pub fn decode_message_count(value: Option<&[u8]>) -> Option<u64> {
    match value {
        None => Some(0),
        Some(bytes) => bytes.try_into().ok().map(u64::from_be_bytes),
    }
}

/// The bytes a message is stored as (prost encodes fields in order: one encoding per
/// message).
pub fn encode_message(message: &v1::OutgoingMessage) -> Vec<u8> {
    prost::Message::encode_to_vec(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ordered_by_index_and_never_the_count() {
        assert!(message_key(1) < message_key(2));
        assert!(message_key(255) < message_key(256));
        assert_ne!(&message_key(0)[..], MESSAGE_COUNT_KEY);
        assert_eq!(decode_message_count(None), Some(0));
        assert_eq!(decode_message_count(Some(&7u64.to_be_bytes())), Some(7));
        assert_eq!(decode_message_count(Some(b"short")), None);
    }
}
