//! A token on rollup 1 atomically credits a vault on rollup 2.

use alloy_sol_types::SolCall;
use babel_evm::xcaller_address;
use babel_execution::abi;
use revm::primitives::U256;

use crate::support::*;

/// Token (supply 1 000 to Alice) on rollup 1, vault (cap 500) on rollup 2.
fn setup() -> (World, revm::primitives::Address, revm::primitives::Address) {
    let mut w = World::new();
    let token = w.deploy(1, "Token", args(U256::from(1_000)));
    let vault = w.deploy(2, "Vault", args(U256::from(500)));
    (w, token, vault)
}

#[test]
fn a_deposit_changes_both_rollups_in_one_transaction() {
    let (mut w, token, vault) = setup();
    let receipt = w.send(
        1,
        Some(token),
        depositToCall {
            rollup: 2,
            vault,
            amount: U256::from(300),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    let credited = depositToCall::abi_decode_returns(&receipt.output).unwrap();
    assert_eq!(credited, U256::from(300));

    assert_eq!(
        w.view(1, token, balanceOfCall { owner: alice() }),
        U256::from(700)
    );
    assert_eq!(w.view(1, token, lockedCall {}), U256::from(300));
    assert_eq!(
        w.view(2, vault, creditsCall { account: alice() }),
        U256::from(300)
    );
    assert_eq!(
        w.view(2, vault, lastCallerCall {}),
        xcaller_address(1, token.as_slice()),
        "the vault sees the token, on rollup 1, as its caller"
    );

    // The call tree: tx frame on rollup 1 → xcall frame on rollup 2, each with its logs.
    let root = receipt.root.unwrap();
    assert_eq!((root.rollup_id, root.success), (1, true));
    assert_eq!(root.children.len(), 1);
    let child = &root.children[0];
    assert_eq!((child.rollup_id, child.success), (2, true));
    assert_eq!(child.target.as_ref(), vault.as_slice());
    assert_eq!(child.logs.len(), 1, "Credited");
    assert_eq!(root.logs.len(), 1, "Deposited");
    assert!(child.gas_used > 0 && child.gas_used < receipt.gas_used);
}

#[test]
fn a_vault_revert_reverts_both_rollups_but_nonce_and_fee_are_charged() {
    let (mut w, token, vault) = setup();
    let wei_before = w.alice_wei();
    let receipt = w.send(
        1,
        Some(token),
        depositToCall {
            rollup: 2,
            vault,
            amount: U256::from(600),
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    assert_eq!(
        abi::decode_error_message(&receipt.output).as_deref(),
        Some("vault cap reached"),
        "the vault's revert reason surfaces through the token"
    );
    assert_eq!(
        w.view(1, token, balanceOfCall { owner: alice() }),
        U256::from(1_000)
    );
    assert_eq!(w.view(1, token, lockedCall {}), U256::ZERO);
    assert_eq!(
        w.view(2, vault, creditsCall { account: alice() }),
        U256::ZERO
    );
    assert_eq!(w.view(2, vault, totalCall {}), U256::ZERO);

    let fee = U256::from(receipt.gas_used) * U256::from(GAS_PRICE);
    assert!(receipt.fee_paid > 0);
    assert_eq!(U256::from(receipt.fee_paid), fee);
    assert_eq!(w.alice_wei(), wei_before - fee);
    let nonce = babel_execution::state::decode_nonce(
        babel_execution::state::StateView::get(
            &w.state,
            1,
            &babel_execution::state::nonce_key(&ALICE),
        )
        .unwrap()
        .as_deref(),
    )
    .unwrap();
    assert_eq!(
        nonce, 2,
        "rollup 1 saw the token's deployment and this call"
    );
}

#[test]
fn a_caught_vault_failure_keeps_only_the_tokens_own_changes() {
    let (mut w, token, vault) = setup();
    let receipt = w.send(
        1,
        Some(token),
        tryDepositToCall {
            rollup: 2,
            vault,
            amount: U256::from(600),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert!(!tryDepositToCall::abi_decode_returns(&receipt.output).unwrap());
    assert_eq!(w.view(1, token, failedDepositsCall {}), U256::from(1));
    assert_eq!(
        w.view(1, token, balanceOfCall { owner: alice() }),
        U256::from(1_000)
    );
    assert_eq!(w.view(2, vault, totalCall {}), U256::ZERO);
    let child = &receipt.root.unwrap().children[0];
    assert!(!child.success);
    assert!(child.logs.is_empty());
}

#[test]
fn an_xcall_inside_a_reverted_sub_call_is_undone_with_its_logs() {
    let (mut w, token, vault) = setup();
    let receipt = w.send(
        1,
        Some(token),
        depositAndUndoCall {
            rollup: 2,
            vault,
            amount: U256::from(100),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert!(!depositAndUndoCall::abi_decode_returns(&receipt.output).unwrap());
    assert_eq!(w.view(1, token, failedDepositsCall {}), U256::from(1));
    assert_eq!(
        w.view(2, vault, totalCall {}),
        U256::ZERO,
        "the credit went with the sub-call"
    );
    let root = receipt.root.unwrap();
    let call = &root.children[0];
    assert_eq!(call.rollup_id, 2);
    assert!(call.success, "the vault itself succeeded");
    assert!(call.logs.is_empty(), "but its Credited log was undone");
}

#[test]
fn reentering_a_running_rollup_is_refused_and_nothing_leaks() {
    let (mut w, token, vault) = setup();
    // The vault, calling from rollup 2, appears on rollup 1 as this address: give it tokens.
    let vault_on_1 = xcaller_address(2, vault.as_slice());
    let funded = w.send(
        1,
        Some(token),
        transferCall {
            to: vault_on_1,
            amount: U256::from(50),
        }
        .abi_encode(),
    );
    assert!(funded.success);

    // 2 → 1 works: the vault makes the token move its tokens.
    let pay = transferCall {
        to: alice(),
        amount: U256::from(5),
    }
    .abi_encode();
    let receipt = w.send(
        2,
        Some(vault),
        callBackCall {
            rollup: 1,
            target: token,
            data: evm_bytes(&pay),
        }
        .abi_encode(),
    );
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(
        w.view(1, token, balanceOfCall { owner: vault_on_1 }),
        U256::from(45)
    );
    assert_eq!(w.view(2, vault, totalCall {}), U256::from(1));

    // 2 → 1 → 2: the token's deposit calls back into rollup 2, which is running: refused.
    let deposit = depositToCall {
        rollup: 2,
        vault,
        amount: U256::from(10),
    }
    .abi_encode();
    let receipt = w.send(
        2,
        Some(vault),
        callBackCall {
            rollup: 1,
            target: token,
            data: evm_bytes(&deposit),
        }
        .abi_encode(),
    );
    assert!(!receipt.success);
    let message = abi::decode_error_message(&receipt.output).unwrap();
    assert!(
        message.contains("reentrant xcall into rollup 2"),
        "{message}"
    );
    assert_eq!(
        w.view(1, token, balanceOfCall { owner: vault_on_1 }),
        U256::from(45)
    );
    assert_eq!(w.view(1, token, lockedCall {}), U256::ZERO);
    assert_eq!(
        w.view(2, vault, totalCall {}),
        U256::from(1),
        "callBack's write reverted"
    );
}
