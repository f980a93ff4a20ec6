"""An Ethereum wallet against a Babel EVM rollup's JSON-RPC, with web3.py and eth-account.

Usage: web3_client.py URL CONTRACTS_JSON WASM_VAULT_ID

Deploys the Greeter fixture with a type-2 transaction, calls and estimates it, reads its event
through the receipt and eth_getLogs, sends a legacy transaction, looks transactions and blocks
up, sees a custom-error revert, a reason revert, a status-0 receipt and each refusal, and has a
Solidity relay on the EVM rollup call a WASM vault on rollup 2 in the same transaction. Prints
what it saw as one JSON object; any surprise raises.
"""

import json
import sys

from eth_abi import decode, encode
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError


def refusal(w3, raw):
    """The JSON-RPC error message of sending `raw`."""
    try:
        w3.eth.send_raw_transaction(raw)
    except Web3RPCError as e:
        return str(e)
    raise AssertionError("the node accepted what it should refuse")


def send_and_wait(w3, raw):
    """Send signed `raw` bytes and wait for the receipt."""
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=30)


def main():
    url, artifacts = sys.argv[1], sys.argv[2]
    w3 = Web3(Web3.HTTPProvider(url))
    assert w3.is_connected()
    out = {"chain_id": w3.eth.chain_id, "client": w3.client_version}
    wallet = Account.from_key("0x" + "11" * 32)
    greeter = json.load(open(artifacts))["contracts"]["Greeter"]
    chain_id = w3.eth.chain_id
    fees = {"chainId": chain_id, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 0}

    # Deploy with a type-2 transaction.
    factory = w3.eth.contract(abi=greeter["abi"], bytecode=greeter["bytecode"])
    nonce = w3.eth.get_transaction_count(wallet.address, "pending")
    tx = factory.constructor("hello").build_transaction(
        {"from": wallet.address, "nonce": nonce, "gas": 2_000_000, **fees}
    )
    deployed = send_and_wait(w3, wallet.sign_transaction(tx).raw_transaction)
    assert deployed.status == 1, deployed
    assert deployed.type == 2, deployed
    contract = w3.eth.contract(address=deployed.contractAddress, abi=greeter["abi"])
    out["deployed"] = deployed.contractAddress
    out["code_bytes"] = len(w3.eth.get_code(deployed.contractAddress))
    out["greeting"] = contract.functions.greeting().call()

    # Estimate, then greet: the event through the receipt and through eth_getLogs.
    estimate = contract.functions.greet("hi").estimate_gas({"from": wallet.address})
    out["estimate"] = estimate
    tx = contract.functions.greet("hi").build_transaction(
        {"from": wallet.address, "nonce": nonce + 1, "gas": estimate, **fees}
    )
    greeted = send_and_wait(w3, wallet.sign_transaction(tx).raw_transaction)
    assert greeted.status == 1, greeted
    events = contract.events.Greeted().process_receipt(greeted)
    out["event"] = {
        "from": events[0].args["from"],
        "greeting": events[0].args.greeting,
        "count": events[0].args.count,
    }
    logs = w3.eth.get_logs(
        {"fromBlock": greeted.blockNumber, "toBlock": greeted.blockNumber, "address": contract.address}
    )
    out["logs"] = [contract.events.Greeted().process_log(l).args.greeting for l in logs]
    out["storage_count"] = int.from_bytes(w3.eth.get_storage_at(contract.address, 1), "big")

    # A legacy transaction, then lookups.
    legacy = wallet.sign_transaction(
        {
            "to": "0x" + "22" * 20,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 0,
            "nonce": nonce + 2,
            "chainId": chain_id,
        }
    )
    sent = send_and_wait(w3, legacy.raw_transaction)
    assert sent.status == 1 and sent.type == 0, sent
    looked = w3.eth.get_transaction(sent.transactionHash)
    assert looked["from"] == wallet.address and looked.nonce == nonce + 2, looked
    block = w3.eth.get_block(sent.blockNumber)
    assert sent.transactionHash in block.transactions, block
    assert w3.eth.get_block(block.hash).number == block.number
    full = w3.eth.get_block(sent.blockNumber, full_transactions=True)
    assert full.transactions[sent.transactionIndex]["hash"] == sent.transactionHash
    out["legacy"] = {"block": sent.blockNumber, "hash": sent.transactionHash.hex()}
    out["nonce"] = w3.eth.get_transaction_count(wallet.address)

    # Reverts: a custom error and a reason on calls, and a status-0 receipt.
    try:
        contract.functions.greet("x" * 40).call({"from": wallet.address})
        raise AssertionError("a 40-byte greeting must revert")
    except ContractCustomError as e:
        out["custom_error"] = e.data if isinstance(e.data, str) else str(e.data)
    try:
        contract.functions.refuse().call()
        raise AssertionError("refuse must revert")
    except ContractLogicError as e:
        out["reason"] = e.message
    tx = contract.functions.greet("x" * 40).build_transaction(
        {"from": wallet.address, "nonce": nonce + 3, "gas": 200_000, **fees}
    )
    failed = send_and_wait(w3, wallet.sign_transaction(tx).raw_transaction)
    out["failed_status"] = failed.status

    # Refusals, each with its Ethereum wording.
    out["replay"] = refusal(w3, legacy.raw_transaction)
    other_chain = wallet.sign_transaction(
        {"to": wallet.address, "value": 0, "gas": 21_000, "gasPrice": 0, "nonce": nonce + 4, "chainId": chain_id + 1}
    )
    out["wrong_chain"] = refusal(w3, other_chain.raw_transaction)
    out["garbage"] = refusal(w3, b"\x02\xf8\x01")
    poor = Account.from_key("0x" + "33" * 32)
    costly = poor.sign_transaction(
        {"to": wallet.address, "value": 1, "gas": 21_000, "gasPrice": 0, "nonce": 0, "chainId": chain_id}
    )
    out["poor"] = refusal(w3, costly.raw_transaction)
    unknown = w3.provider.make_request("eth_getTransactionReceipt", ["0x" + "00" * 32])
    out["unknown_receipt"] = unknown["result"]

    # Across rollups: the Locker relay on this rollup credits 7 to us in the WASM vault on
    # rollup 2, in one transaction signed by this wallet.
    vault = bytes.fromhex(sys.argv[3][2:])
    locker = json.load(open(artifacts))["contracts"]["Locker"]
    factory = w3.eth.contract(abi=locker["abi"], bytecode=locker["bytecode"])
    tx = factory.constructor(0).build_transaction(
        {"from": wallet.address, "nonce": nonce + 4, "gas": 2_000_000, **fees}
    )
    made = send_and_wait(w3, wallet.sign_transaction(tx).raw_transaction)
    assert made.status == 1, made
    relay = w3.eth.contract(address=made.contractAddress, abi=locker["abi"])
    credit = w3.keccak(text="credit(address,uint256)")[:4] + encode(
        ["address", "uint256"], [wallet.address, 7]
    )
    tx = relay.functions.relay(2, vault, credit).build_transaction(
        {"from": wallet.address, "nonce": nonce + 5, "gas": 3_000_000, **fees}
    )
    relayed = send_and_wait(w3, wallet.sign_transaction(tx).raw_transaction)
    xcall_topic = w3.keccak(text="XCall(uint64,bytes,bool,uint64)")
    precompile = [l for l in relayed.logs if l.address.lower() == "0x" + "00" * 18 + "babe"]
    tree = w3.provider.make_request("babel_getCallTree", [relayed.transactionHash.hex()])
    out["xcall"] = {
        "status": relayed.status,
        "precompile_logs": len(precompile),
        "logged_rollup": int.from_bytes(precompile[0].topics[1], "big") if precompile else None,
        "topic_is_xcall": bool(precompile) and precompile[0].topics[0] == xcall_topic,
        # A second credit of 7, simulated: the vault answers our credits after it, which
        # counts the committed one.
        "credits_after_another": decode(
            ["uint256"], relay.functions.relay(2, vault, credit).call({"from": wallet.address})
        )[0],
        "callee": tree["result"]["children"][0],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
