//! The SDK over the in-memory host: the same pointer-and-length code a contract runs.

#![allow(clippy::unwrap_used)]

use alloy_sol_types::{SolCall, sol};

use crate::{Address, U256, abi, host, testing};

sol! {
    function balanceOf(address who) external view returns (uint256);
}

#[test]
fn storage_round_trips_values_of_any_length() {
    testing::reset();
    let long = vec![7u8; 1000];
    testing::call(b"", || {
        host::storage_set(b"short", b"v");
        host::storage_set(b"long", &long);
        host::storage_set(b"empty", b"");
    })
    .unwrap();
    testing::call(b"", || {
        assert_eq!(
            host::storage_get(b"short").as_deref(),
            Some(b"v".as_slice())
        );
        assert_eq!(host::storage_get(b"long"), Some(long.clone()));
        assert_eq!(host::storage_get(b"empty"), Some(Vec::new()));
        assert_eq!(host::storage_get(b"none"), None);
        let mut head = [0u8; 4];
        assert_eq!(host::storage_read(b"long", &mut head), Some(1000));
        assert_eq!(head, [7; 4]);
        host::storage_remove(b"short");
        assert_eq!(host::storage_get(b"short"), None);
    })
    .unwrap();
}

#[test]
fn a_revert_undoes_the_frames_writes_and_logs_and_returns_its_data() {
    testing::reset();
    let out = testing::call(b"in", || {
        assert_eq!(host::input(), b"in");
        host::storage_set(b"k", b"1");
        host::log(&[[1; 32]], b"kept");
        host::set_return(b"done");
    });
    assert_eq!(out.unwrap(), b"done");
    let failed = testing::call(b"", || {
        host::storage_set(b"k", b"2");
        host::log(&[], b"lost");
        abi::revert_with("no");
    });
    assert_eq!(
        abi::error_message(&failed.unwrap_err()).as_deref(),
        Some("no")
    );
    testing::with_host(|h| {
        assert_eq!(
            h.storage.get(b"k".as_slice()).map(Vec::as_slice),
            Some(b"1".as_slice())
        );
        assert_eq!(h.logs, vec![(vec![[1; 32]], b"kept".to_vec())]);
    });
    // A panic is a trap, as on the node.
    let trapped = testing::call(b"", || panic!("bug"));
    assert_eq!(
        abi::error_message(&trapped.unwrap_err()).as_deref(),
        Some("wasm: unreachable")
    );
}

#[test]
fn an_evm_contract_is_called_with_the_solidity_abi() {
    testing::reset();
    let token = Address::repeat_byte(0x70);
    testing::with_host(|h| {
        h.xcall = Some(Box::new(move |rollup, target, input, gas| {
            assert_eq!((rollup, target, gas), (1, token.as_slice(), 50_000));
            let call = balanceOfCall::abi_decode(input).map_err(|_| abi::error("bad"))?;
            if call.who == Address::ZERO {
                return Err(abi::error("zero address"));
            }
            Ok(abi::encode_value(U256::from(42)))
        }))
    });
    testing::call(b"", || {
        let who = Address::repeat_byte(1);
        let got = abi::call_contract(1, token.as_slice(), &balanceOfCall { who }, 50_000);
        assert_eq!(got.unwrap(), U256::from(42));
        let refused = abi::call_contract(
            1,
            token.as_slice(),
            &balanceOfCall { who: Address::ZERO },
            50_000,
        );
        assert_eq!(
            abi::error_message(&refused.unwrap_err()).as_deref(),
            Some("zero address")
        );
        // The raw call leaves the answer as return data too.
        let raw = host::xcall(
            1,
            token.as_slice(),
            &balanceOfCall { who }.abi_encode(),
            50_000,
        );
        assert_eq!(
            abi::decode_value::<U256>(&raw.unwrap()),
            Some(U256::from(42))
        );
    })
    .unwrap();
}

#[test]
fn the_frame_and_block_are_what_the_host_says() {
    testing::reset();
    testing::with_host(|h| {
        h.caller = vec![0xCA; 20];
        h.caller_rollup = 3;
        h.origin_rollup = 1;
        h.signer = [0x51; 32];
        h.self_id = vec![0x5E; 20];
        h.block_height = 9;
        h.block_time_ms = 1234;
        h.gas_left = 77;
    });
    testing::call(b"", || {
        assert_eq!(host::caller(), vec![0xCA; 20]);
        assert_eq!((host::caller_rollup(), host::origin_rollup()), (3, 1));
        assert_eq!(host::signer(), [0x51; 32]);
        assert_eq!(host::self_id(), vec![0x5E; 20]);
        assert_eq!(
            (
                host::block_height(),
                host::block_time_ms(),
                host::gas_left()
            ),
            (9, 1234, 77)
        );
    })
    .unwrap();
}
