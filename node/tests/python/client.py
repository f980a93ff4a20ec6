#!/usr/bin/env python3
"""A Babel gRPC client written in Python, for the end-to-end test in node/tests/it/python.rs.

It uses only the stubs that `python -m grpc_tools.protoc` generated from the project's
proto/babel/v1/*.proto (directory given by --stubs), `grpcio`, and PyNaCl for ed25519.

What it does:
  1. makes a fresh ed25519 key;
  2. builds `--count` EVM-call transactions with nonces 0, 1, 2, ..., signs each one's encoded
     `Transaction` bytes (the body, exactly as sent) and submits them round-robin over all
     endpoints; each must be accepted with hash sha256(body || signature);
  3. submits one transaction with a corrupted signature and one with a wrong chain id, and
     checks the precise `RejectReason` of each;
  4. polls GetTransaction on the first endpoint until every accepted transaction is
     FINALIZED (or POSTED, with where on the DA), and checks the height/index it reports;
  5. prints one JSON summary line on stdout.

Any failed check prints `client.py: FAIL: ...` on stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import grpc
import nacl.signing

RPC_TIMEOUT_S = 10.0


class Failure(Exception):
    """A check of the client failed."""


def check(cond: bool, message: str) -> None:
    if not cond:
        raise Failure(message)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stubs", required=True, help="directory of the generated babel/v1/*_pb2*.py")
    p.add_argument("--chain-id", required=True)
    p.add_argument("--rollup", type=int, default=1, help="id of an EVM rollup in the genesis")
    p.add_argument("--endpoints", required=True, help="comma-separated host:port gRPC endpoints")
    p.add_argument("--count", type=int, default=8, help="transactions to submit (max 64)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for finality")
    args = p.parse_args()
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if not args.endpoints:
        p.error("--endpoints is empty")
    if not 1 <= args.count <= 64:
        p.error("--count must be in 1..=64 (the mempool's nonce gap limit)")
    return args


def tx_hash(signed) -> bytes:
    """Transaction hash: sha256(body || signature), as in babel_proto::tx_hash."""
    return hashlib.sha256(signed.body + signed.signature).digest()


def main() -> None:
    args = parse_args()
    sys.path.insert(0, args.stubs)
    from babel.v1 import node_pb2, node_pb2_grpc, transaction_pb2

    reject_name = node_pb2.RejectReason.Name
    status_name = node_pb2.TxStatus.Name

    key = nacl.signing.SigningKey.generate()
    pubkey = bytes(key.verify_key)

    def build(nonce: int, chain_id: str):
        return transaction_pb2.Transaction(
            chain_id=chain_id,
            rollup_id=args.rollup,
            sender_pubkey=pubkey,
            nonce=nonce,
            gas_limit=100_000,
            max_fee=1,
            evm=transaction_pb2.EvmCall(
                to=bytes([0x11]) * 20, data=b"python-e2e" + nonce.to_bytes(8, "big")
            ),
        )

    def sign(tx):
        """Like Rust admission::sign: sign the encoded body, send those exact bytes."""
        body = tx.SerializeToString()
        signature = key.sign(body).signature
        check(len(signature) == 64, "ed25519 signature is not 64 bytes")
        return transaction_pb2.SignedTransaction(body=body, signature=signature)

    channels = {e: grpc.insecure_channel(e) for e in args.endpoints}
    for endpoint, channel in channels.items():
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            raise Failure(f"cannot connect to {endpoint}") from None
    stubs = {e: node_pb2_grpc.NodeStub(c) for e, c in channels.items()}

    def submit(endpoint: str, signed):
        request = node_pb2.SubmitTransactionRequest(transaction=signed)
        return stubs[endpoint].SubmitTransaction(request, timeout=RPC_TIMEOUT_S)

    # 2. Valid transactions, round-robin over every endpoint.
    accepted = []
    for nonce in range(args.count):
        endpoint = args.endpoints[nonce % len(args.endpoints)]
        signed = sign(build(nonce, args.chain_id))
        r = submit(endpoint, signed)
        check(
            r.accepted,
            f"nonce {nonce} refused by {endpoint}: {reject_name(r.reason)}: {r.message}",
        )
        check(
            r.hash == tx_hash(signed),
            f"nonce {nonce}: server hash {r.hash.hex()}"
            f" != sha256(body || signature) {tx_hash(signed).hex()}",
        )
        accepted.append({"nonce": nonce, "endpoint": endpoint, "signed": signed, "hash": r.hash})

    # 3. Two transactions that must be refused, each for its own precise reason. The
    # corrupted one uses the next free nonce so that only its signature is wrong.
    good = sign(build(args.count, args.chain_id))
    flipped = bytearray(good.signature)
    flipped[0] ^= 0x01
    bad_signature = transaction_pb2.SignedTransaction(body=good.body, signature=bytes(flipped))
    wrong_chain = sign(build(args.count, args.chain_id + "-wrong"))
    rejections = {}
    cases = [
        ("bad_signature", bad_signature, "REJECT_REASON_BAD_SIGNATURE"),
        ("wrong_chain", wrong_chain, "REJECT_REASON_WRONG_CHAIN"),
    ]
    for i, (name, signed, want) in enumerate(cases):
        endpoint = args.endpoints[(args.count + i) % len(args.endpoints)]
        r = submit(endpoint, signed)
        check(not r.accepted, f"{name} transaction was accepted by {endpoint}")
        got = reject_name(r.reason)
        check(got == want, f"{name}: reason {got} ({r.message!r}), want {want}")
        check(r.message != "", f"{name}: rejection without a message")
        rejections[name] = {
            "endpoint": endpoint,
            "reason": got,
            "message": r.message,
            "hash": tx_hash(signed).hex(),
        }

    # 4. Wait on the first endpoint until every accepted transaction is final.
    observer = args.endpoints[0]
    deadline = time.monotonic() + args.timeout
    for entry in accepted:
        while True:
            request = node_pb2.GetTransactionRequest(hash=entry["hash"])
            r = stubs[observer].GetTransaction(request, timeout=RPC_TIMEOUT_S)
            status = status_name(r.status)
            check(status != "TX_STATUS_DROPPED", f"nonce {entry['nonce']} dropped: {r.reason}")
            # Final once in a block; POSTED once that block is also on the DA layer.
            if status in ("TX_STATUS_FINALIZED", "TX_STATUS_POSTED"):
                if status == "TX_STATUS_POSTED":
                    check(
                        r.da.block_height == r.height and len(r.da.commitment) == 32,
                        f"nonce {entry['nonce']}: POSTED without where: {r.da}",
                    )
                break
            if time.monotonic() > deadline:
                raise Failure(
                    f"nonce {entry['nonce']} ({entry['hash'].hex()})"
                    f" not finalized in {args.timeout}s: still {status}"
                )
            time.sleep(0.2)
        check(r.height >= 1, f"nonce {entry['nonce']}: finalized at height {r.height}")
        check(
            r.transaction == entry["signed"],
            f"nonce {entry['nonce']}: GetTransaction returned a different transaction",
        )
        entry["height"], entry["index"] = r.height, r.index

    # One sender's consecutive nonces are included in nonce order, each at its own position,
    # no higher than the chain's height.
    positions = [(e["height"], e["index"]) for e in accepted]
    check(positions == sorted(positions), f"not included in nonce order: {positions}")
    check(len(set(positions)) == len(positions), f"two transactions at one position: {positions}")
    tip = stubs[observer].Status(node_pb2.StatusRequest(), timeout=RPC_TIMEOUT_S)
    chain_height = tip.height
    check(positions[-1][0] <= chain_height, f"height {positions[-1][0]} above tip {chain_height}")

    # The refused transactions are unknown to the observer: in no mempool, in no block.
    for name, rejection in rejections.items():
        request = node_pb2.GetTransactionRequest(hash=bytes.fromhex(rejection["hash"]))
        r = stubs[observer].GetTransaction(request, timeout=RPC_TIMEOUT_S)
        check(
            r.status == node_pb2.TX_STATUS_UNKNOWN,
            f"{name}: refused transaction is {status_name(r.status)}",
        )

    summary = {
        "chain_id": args.chain_id,
        "sender": pubkey.hex(),
        "observer": observer,
        "chain_height": chain_height,
        "transactions": [
            {
                "nonce": e["nonce"],
                "endpoint": e["endpoint"],
                "hash": e["hash"].hex(),
                "height": e["height"],
                "index": e["index"],
            }
            for e in accepted
        ],
        "rejections": rejections,
    }
    print(json.dumps(summary, sort_keys=True), flush=True)
    for channel in channels.values():
        channel.close()


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"client.py: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except grpc.RpcError as e:
        print(f"client.py: FAIL: gRPC error {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
