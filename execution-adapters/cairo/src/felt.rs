//! Felts and the bytes that cross the VM boundary.
//!
//! Bytes travel as a Cairo core `ByteArray` in its serialized form: the number of full 31-byte
//! words, those words (big-endian), the pending word and its length in bytes. A Cairo contract
//! takes and returns `ByteArray` and needs nothing else to speak Solidity ABI with the other
//! VMs; a failing contract's panic data becomes a Solidity `Error(string)` message.

use alloy_primitives::keccak256;
use cairo_vm::Felt252;

/// Bytes in one full word of a `ByteArray`.
pub const WORD_BYTES: usize = 31;

/// The first felt of panic data that carries a `ByteArray` message (what `panic!("...")` and
/// `assert!(cond, "...")` produce).
pub const BYTE_ARRAY_MAGIC: Felt252 = Felt252::from_hex_unchecked(
    "0x46a6158a16a947e5916b2a2ca68501a45e93d7110e81aa2d6438b1c57c879a3",
);

/// The first felt of panic data that carries revert data to pass on as it is (the short
/// string `'babel: revert'`), followed by a serialized `ByteArray` of those bytes: how a Cairo
/// contract fails with the revert data of a callee on another rollup.
pub const REVERT_MARKER: Felt252 = Felt252::from_hex_unchecked("0x626162656c3a20726576657274");

/// The revert bytes of panic data that starts with [`REVERT_MARKER`] and holds exactly one
/// `ByteArray` after it.
pub fn revert_data(data: &[Felt252]) -> Option<Vec<u8>> {
    let (marker, rest) = data.split_first()?;
    if *marker != REVERT_MARKER {
        return None;
    }
    let (bytes, used) = felts_to_bytes(rest)?;
    (used == rest.len()).then_some(bytes)
}

/// `bytes` as a serialized `ByteArray`.
pub fn bytes_to_felts(bytes: &[u8]) -> Vec<Felt252> {
    let chunks = bytes.chunks_exact(WORD_BYTES);
    let pending = chunks.remainder();
    let mut out = Vec::with_capacity(bytes.len() / WORD_BYTES + 3);
    out.push(Felt252::from(bytes.len() / WORD_BYTES));
    out.extend(chunks.map(Felt252::from_bytes_be_slice));
    out.push(Felt252::from_bytes_be_slice(pending));
    out.push(Felt252::from(pending.len()));
    out
}

/// The bytes of a serialized `ByteArray` at the start of `felts`, and how many felts it took;
/// `None` unless it is well formed (every word within its length).
pub fn felts_to_bytes(felts: &[Felt252]) -> Option<(Vec<u8>, usize)> {
    let (count, rest) = felts.split_first()?;
    let count = usize::try_from(*count).ok().filter(|c| *c < rest.len())?;
    let (words, tail) = rest.split_at(count);
    let [pending, pending_len, ..] = tail else {
        return None;
    };
    let pending_len = usize::try_from(*pending_len)
        .ok()
        .filter(|l| *l < WORD_BYTES)?;
    let mut out = Vec::with_capacity(count * WORD_BYTES + pending_len);
    for word in words {
        push_word(&mut out, word, WORD_BYTES)?;
    }
    push_word(&mut out, pending, pending_len)?;
    Some((out, count + 3))
}

/// Append the low `len` bytes of `word`'s big-endian form, if the bytes above them are zero.
fn push_word(out: &mut Vec<u8>, word: &Felt252, len: usize) -> Option<()> {
    let be = word.to_bytes_be();
    let (high, low) = be.split_at(32 - len);
    high.iter()
        .all(|b| *b == 0)
        .then(|| out.extend_from_slice(low))
}

/// The felt of short string `text` (at most 31 bytes).
pub fn short_string_felt(text: &[u8]) -> Felt252 {
    Felt252::from_bytes_be_slice(text)
}

/// `felt` as a Cairo short string, if it is one (printable ASCII, at most 31 characters).
fn short_string(felt: &Felt252) -> Option<String> {
    let be = felt.to_bytes_be();
    let text: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    (!text.is_empty() && text.iter().all(|b| (0x20..0x7f).contains(b)))
        .then(|| String::from_utf8_lossy(&text).into_owned())
}

/// Longest failure message a receipt keeps, in bytes (a longer one is cut there).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A failed frame's panic data as text: the message of a `ByteArray` panic, otherwise each
/// felt as a short string where it is one and in hex where not, joined by ", "; at most
/// [`MAX_MESSAGE_BYTES`].
pub fn panic_message(data: &[Felt252]) -> String {
    let mut text = if let [magic, rest @ ..] = data
        && *magic == BYTE_ARRAY_MAGIC
        && let Some((bytes, used)) = felts_to_bytes(rest)
        && used == rest.len()
    {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        let mut text = String::new();
        for (i, felt) in data.iter().enumerate() {
            if text.len() > MAX_MESSAGE_BYTES {
                break;
            }
            if i > 0 {
                text.push_str(", ");
            }
            match short_string(felt) {
                Some(s) => text.push_str(&s),
                None => text.push_str(&format!("{felt:#x}")),
            }
        }
        text
    };
    if text.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The felt whose canonical 32-byte big-endian form is `bytes` (`None` for other lengths and
/// for values not below the field's prime).
pub fn felt_from_bytes(bytes: &[u8]) -> Option<Felt252> {
    let be: [u8; 32] = bytes.try_into().ok()?;
    let felt = Felt252::from_bytes_be(&be);
    (felt.to_bytes_be() == be).then_some(felt)
}

/// The contract address a cross-rollup call's target names: 1 to 32 bytes, a big-endian
/// number below the prime (so a 20-byte address in another VM's style names the felt of the
/// same value).
pub fn address_from_target(target: &[u8]) -> Option<Felt252> {
    if target.is_empty() || target.len() > 32 {
        return None;
    }
    let mut be = [0u8; 32];
    be[32 - target.len()..].copy_from_slice(target);
    felt_from_bytes(&be)
}

/// The selector of entrypoint `name`: Starknet's keccak of the name (250 bits).
pub fn selector(name: &str) -> Felt252 {
    truncated_keccak(&[name.as_bytes()])
}

/// keccak256 of `parts`, truncated to 250 bits like Starknet's, as a felt.
fn truncated_keccak(parts: &[&[u8]]) -> Felt252 {
    let mut digest = keccak256(parts.concat()).0;
    digest[0] &= 0x03;
    Felt252::from_bytes_be(&digest)
}

/// What `get_caller_address()` returns to a Cairo contract called by `address` on `rollup`
/// (a transaction's signer, or a contract on another rollup): keccak256 of
/// `"babel/cairo/caller/v1" ‖ rollup (8 bytes, big-endian) ‖ address`, truncated to 250 bits.
/// A Cairo contract calling another on the same rollup is its own address instead.
pub fn caller_felt(rollup: u64, address: &[u8]) -> Felt252 {
    truncated_keccak(&[b"babel/cairo/caller/v1", &rollup.to_be_bytes(), address])
}

/// The address of the `count`-th contract (from 0) `deployer` creates on `rollup`:
/// keccak256 of `"babel/cairo/contract/v1" ‖ rollup ‖ deployer ‖ count` (integers 8 bytes,
/// big-endian), truncated to 250 bits.
pub fn contract_address(rollup: u64, deployer: &[u8; 32], count: u64) -> Felt252 {
    truncated_keccak(&[
        b"babel/cairo/contract/v1",
        &rollup.to_be_bytes(),
        deployer,
        &count.to_be_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_arrays_round_trip_at_every_length_around_word_boundaries() {
        for len in [0, 1, 30, 31, 32, 61, 62, 63, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            let felts = bytes_to_felts(&bytes);
            assert_eq!(felts.len(), len / WORD_BYTES + 3);
            assert_eq!(felts_to_bytes(&felts), Some((bytes, felts.len())), "{len}");
        }
    }

    #[test]
    fn the_layout_is_the_corelib_serialization() {
        // "hello" is a pending word of 5 bytes and no full words.
        let felts = bytes_to_felts(b"hello");
        assert_eq!(
            felts,
            vec![
                Felt252::ZERO,
                Felt252::from_hex_unchecked("0x68656c6c6f"),
                Felt252::from(5)
            ]
        );
    }

    #[test]
    fn malformed_byte_arrays_are_refused() {
        let ok = bytes_to_felts(&[1; 40]);
        // Truncated, a count past the end, a pending length of a whole word, a word wider
        // than its length.
        assert_eq!(felts_to_bytes(&ok[..ok.len() - 1]), None);
        assert_eq!(felts_to_bytes(&[Felt252::from(u64::MAX)]), None);
        assert_eq!(
            felts_to_bytes(&[Felt252::ZERO, Felt252::ZERO, Felt252::from(31)]),
            None
        );
        assert_eq!(
            felts_to_bytes(&[Felt252::ZERO, Felt252::from(256), Felt252::ONE]),
            None
        );
        assert_eq!(felts_to_bytes(&[]), None);
    }

    #[test]
    fn panic_data_reads_as_text() {
        let mut data = vec![BYTE_ARRAY_MAGIC];
        data.extend(bytes_to_felts(b"over cap"));
        assert_eq!(panic_message(&data), "over cap");
        let short = Felt252::from_bytes_be_slice(b"zero increment");
        assert_eq!(
            panic_message(&[short, Felt252::from(0x1234)]),
            "zero increment, 0x1234"
        );
    }

    #[test]
    fn revert_data_passes_through_only_when_marked_and_whole() {
        let abi = [0x08, 0xc3, 0x79, 0xa0, 0, 1];
        let mut data = vec![REVERT_MARKER];
        data.extend(bytes_to_felts(&abi));
        assert_eq!(
            REVERT_MARKER,
            Felt252::from_bytes_be_slice(b"babel: revert")
        );
        assert_eq!(revert_data(&data), Some(abi.to_vec()));
        data.push(Felt252::ONE);
        assert_eq!(revert_data(&data), None);
        assert_eq!(revert_data(&bytes_to_felts(&abi)), None);
    }

    #[test]
    fn long_panic_data_makes_a_bounded_message() {
        let data = vec![Felt252::from(u64::MAX); 16 * 1024];
        assert_eq!(panic_message(&data).len(), MAX_MESSAGE_BYTES);
        let mut text = vec![BYTE_ARRAY_MAGIC];
        text.extend(bytes_to_felts("é".repeat(1000).as_bytes()));
        let message = panic_message(&text);
        assert!(message.len() <= MAX_MESSAGE_BYTES && message.starts_with('é'));
    }

    #[test]
    fn felts_from_bytes_are_canonical() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(felt_from_bytes(&one), Some(Felt252::ONE));
        assert_eq!(felt_from_bytes(&[0xff; 32]), None);
        assert_eq!(felt_from_bytes(&[1; 31]), None);
    }

    #[test]
    fn call_targets_are_big_endian_numbers_of_up_to_32_bytes() {
        assert_eq!(address_from_target(&[1]), Some(Felt252::ONE));
        assert_eq!(
            address_from_target(&[0x5c; 20]),
            Some(Felt252::from_bytes_be_slice(&[0x5c; 20]))
        );
        assert_eq!(address_from_target(&[]), None);
        assert_eq!(address_from_target(&[0xff; 32]), None);
        assert_eq!(address_from_target(&[1; 33]), None);
    }

    #[test]
    fn selectors_match_starknet() {
        // Starknet's well-known selector of `transfer`.
        assert_eq!(
            selector("transfer"),
            Felt252::from_hex_unchecked(
                "0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e"
            )
        );
    }
}
