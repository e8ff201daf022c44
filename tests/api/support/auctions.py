"""Helpers of the auction tests: the chain's contracts, a Silver member, signed bids, waits on
conditions (never a fixed sleep)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web3 import Web3

from support.chain import Anvil
from support.flows import confirmed, earn
from support.gateway import Brand, Gateway, Member

SILVER = (5_000, 2, 1)  # the Silver rule these tests set: cents, orders, engagements


def contract(w3: Web3, manifest: Path, name: str) -> Any:
    entry = json.loads(manifest.read_text())["contracts"][name]
    return w3.eth.contract(address=entry["address"], abi=entry["abi"])


def set_silver_rule(gateway: Gateway) -> None:
    """The admin sets the Silver rule these tests use (`SILVER`), confirmed on chain."""
    spend, orders, engagements = SILVER
    rule = {"spend_cents": spend, "orders": orders, "engagements": engagements}
    answer = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed", answer.text


def reach_silver(brand: Brand, member: Member) -> None:
    spend, orders, engagements = SILVER
    earn(brand, member, spend - 100 * (orders - 1))
    for _ in range(orders - 1):
        earn(brand, member, 100)
    for _ in range(engagements):
        answer = brand.api.post(
            "/v1/earn/engagement",
            {"member": member.address, "kind": "review"},
            params={"wait": "true"},
        )
        assert answer.status_code == 200, answer.text


def signed_bid(
    brand: Brand, auction_id: int, member: Member, amount: int, points_brand: int | None = None
) -> dict[str, Any]:
    """A bid of `amount` points (of `points_brand`, default the relaying brand's) the member
    signed: the ledger Gift to its escrow the gateway prepared."""
    body: dict[str, Any] = {"bidder": member.address, "amount": amount}
    if points_brand is not None:
        body["brand"] = points_brand
    answer = brand.api.post(f"/v1/auctions/{auction_id}/bids/typed-data", body)
    assert answer.status_code == 200, answer.text
    prepared = answer.json()
    assert prepared["typed_data"]["message"]["to"] == prepared["escrow"]
    assert prepared["escrow"] == Web3.to_checksum_address(prepared["escrow"])  # EIP-55 form
    return {
        **body,
        "nonce": prepared["nonce"],
        "deadline": prepared["deadline"],
        "signature": member.sign(prepared["typed_data"]),
    }


def mine_past(w3: Web3, anvil: Anvil, timestamp: int) -> None:
    """Moves the chain's clock past `timestamp` and mines (a condition, no sleep)."""
    latest = w3.eth.get_block("latest")["timestamp"]
    if latest <= timestamp:
        anvil.rpc("evm_setNextBlockTimestamp", timestamp + 1)
    anvil.rpc("evm_mine")
    assert w3.eth.get_block("latest")["timestamp"] > timestamp


def read_until(
    brand: Brand, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = brand.api.get(path)
        if answer.status_code == 200 and done(answer.json()):
            body: dict[str, Any] = answer.json()
            return body
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)


def open_auction(
    brand: Brand, w3: Web3, *, reserve: int, increment: int, **more: int
) -> tuple[int, int]:
    """A one-unit Silver auction of a new collectible right of `brand`, starting a minute ahead
    (the contract's START_MARGIN_S) for an hour: (its id, its start, unix seconds)."""
    right = confirmed(
        brand, "/v1/badges/types", {"kind": "collectible", "has_benefit": True, "uri": "u"}
    )["result"]["type_id"]
    start = w3.eth.get_block("latest")["timestamp"] + 60
    terms = {
        "badge_type": right,
        "units": 1,
        "min_tier": 1,
        "reserve": reserve,
        "increment": increment,
        "starts_at": start,
        "ends_at": start + 3_600,
        **more,
    }
    auction_id: int = confirmed(brand, "/v1/auctions", terms)["result"]["auction_id"]
    return auction_id, start
