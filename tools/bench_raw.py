"""The node's own ceiling for earn operations: individual pre-signed `earn` transactions
sent straight to anvil as fast as possible (no gateway), measured until all are mined.

Used by tools/bench.py; runnable alone against a deployed chain:

    .venv/api/bin/python tools/bench_raw.py --rpc RPC_URL --manifest data/deployment.json

(`make run`'s chain: RPC_URL = http://127.0.0.1:8645)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger_api.settings import DEV_ADMIN_PRIVATE_KEY

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import Pool

REFERENCE_RULE = (10, 5, 3, 5, 20)
RAW_BATCH = 50  # transactions per JSON-RPC batch request


class Rpc:
    """JSON-RPC over the bench's lean keep-alive client (a batch is one HTTP request)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80)
        self.path = parts.path or "/"
        self.ids = 0

    async def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        requests = []
        for method, params in calls:
            self.ids += 1
            requests.append({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        status, body = await self.pool.request("POST", self.path, {}, requests)
        if status != 200 or not isinstance(body, list):
            raise RuntimeError(f"node answered {status}: {body}")
        errors = [item["error"] for item in body if "error" in item]
        if errors:
            raise RuntimeError(f"{calls[0][0]}: {errors[0]}")
        by_id = {item["id"]: item["result"] for item in body}
        return [by_id[r["id"]] for r in requests]

    async def call(self, method: str, *params: Any) -> Any:
        return (await self.batch([(method, list(params))]))[0]

    def close(self) -> None:
        self.pool.close()


def _send_and_wait(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> Any:
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("gas", 1_000_000)
    tx.setdefault("maxFeePerGas", 10**9)
    tx.setdefault("maxPriorityFeePerGas", 0)
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    if receipt["status"] != 1:
        raise RuntimeError(f"setup transaction failed: {receipt}")
    return receipt


def onboard_bench_brand(w3: Web3, manifest: dict[str, Any], name: str) -> tuple[int, LocalAccount]:
    """A brand whose signer is a fresh funded key, onboarded by the development admin."""
    admin: LocalAccount = Account.from_key(DEV_ADMIN_PRIVATE_KEY)
    signer: LocalAccount = Account.create()
    entry = manifest["contracts"]["AllianceLedger"]
    ledger = w3.eth.contract(address=entry["address"], abi=entry["abi"])
    _send_and_wait(w3, admin, {"to": signer.address, "value": 10**20, "gas": 21_000})
    call = ledger.functions.onboardBrand(
        signer.address, 10_000, REFERENCE_RULE, name, name[:6].upper()
    )
    receipt = _send_and_wait(
        w3, admin, {"to": ledger.address, "data": call._encode_transaction_data()}
    )
    brand = ledger.events.BrandOnboarded().process_receipt(receipt)[0]["args"]["brand"]
    return int(brand), signer


async def measure(
    rpc_url: str, manifest: dict[str, Any], count: int, members: int, senders: int
) -> dict[str, float]:
    """`senders` brands, each with its own key, stream their share of `count` pre-signed earns in
    nonce order over one connection each (out-of-order nonces would sit in anvil's queue),
    in JSON-RPC batches of `RAW_BATCH`: the node's own intake and mining are the bound."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    entry = manifest["contracts"]["AllianceLedger"]
    ledger = w3.eth.contract(address=entry["address"], abi=entry["abi"])
    holders = [Account.create().address for _ in range(members)]
    chain_id = w3.eth.chain_id
    streams: list[tuple[str, int, list[str]]] = []
    for s in range(senders):
        _, signer = onboard_bench_brand(w3, manifest, f"Raw bench {s}")
        nonce = w3.eth.get_transaction_count(signer.address, "pending")
        raws: list[str] = []
        for i in range(count // senders):
            # Pre-signed: the measured part is the node's intake and mining only.
            op = (i + 1, holders[i % members], 0, 100, 1_000, i.to_bytes(32, "big"))
            data = ledger.functions.earn(op)._encode_transaction_data()
            signed = signer.sign_transaction(
                {
                    "type": 2,
                    "chainId": chain_id,
                    "nonce": nonce + i,
                    "to": ledger.address,
                    "data": data,
                    "value": 0,
                    "gas": 250_000,
                    "maxFeePerGas": 10**9,
                    "maxPriorityFeePerGas": 0,
                }
            )
            raws.append("0x" + bytes(signed.raw_transaction).hex())
        streams.append((signer.address, nonce + len(raws), raws))

    rpc = Rpc(rpc_url)
    try:

        async def stream(address: str, final_nonce: int, raws: list[str]) -> None:
            # As fast as the node takes them: JSON-RPC batches, in nonce order.
            for start in range(0, len(raws), RAW_BATCH):
                await rpc.batch(
                    [("eth_sendRawTransaction", [raw]) for raw in raws[start : start + RAW_BATCH]]
                )
            while (
                int(await rpc.call("eth_getTransactionCount", address, "latest"), 16) < final_nonce
            ):
                await asyncio.sleep(0.005)

        started = time.perf_counter()
        await asyncio.gather(*(stream(*s) for s in streams))
        elapsed = time.perf_counter() - started
    finally:
        rpc.close()
    sent = sum(len(raws) for _, _, raws in streams)
    return {"raw_node_tx_per_s": sent / elapsed, "raw_node_seconds": elapsed, "raw_node_tx": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rpc", default="http://127.0.0.1:8645")
    parser.add_argument("--manifest", type=Path, default=Path("data/deployment.json"))
    parser.add_argument("--count", type=int, default=2_000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    manifest = json.loads(args.manifest.read_text())
    print(
        json.dumps(
            uvloop.run(measure(args.rpc, manifest, args.count, args.members, args.senders)),
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
