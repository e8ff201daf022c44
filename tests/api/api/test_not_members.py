"""Holders of points that are no members: an auction's bid escrow and the charity pool. A trial
found the dashboard counting them as members (four escrows and the pool among nine "members"
for four wallets), and brands told of the pool's points' expiry as of a member's, to contact
it. The index keeps the escrows (`idx_escrows`) and the pool; the member figures and the expiry
reminders leave them out, through the real gateway and chain."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from support.auctions import (
    confirmed,
    mine_past,
    open_auction,
    reach_silver,
    set_silver_rule,
    signed_bid,
)
from support.chain import CHARITY_POOL, Anvil
from support.flows import earn, signed_donation
from support.gateway import Gateway, Member
from support.progress import wait_for
from web3 import Web3

from ledger_api.chain.escrows import escrow_implementation
from ledger_api.domain import lot_expiry, month_of, month_start

FAST = {"LEDGER_REMINDER_POLL_S": "0.2"}


def members_figures(gateway: Gateway) -> tuple[int, int]:
    overview: dict[str, Any] = gateway.admin.get("/v1/stats/overview").json()
    return overview["activity"]["members"], sum(t["members"] for t in overview["tiers"])


def test_escrows_and_the_charity_pool_are_no_members(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    w3: Web3 = anvil.web3()
    # every lot of this test in one month: the chain's clock on the 11th of the next month
    mine_past(
        w3, anvil, month_start(month_of(w3.eth.get_block("latest")["timestamp"]) + 1) + 864_000
    )
    with Gateway({**own_env, **FAST}) as gateway:
        set_silver_rule(gateway)
        brand = gateway.create_brand()
        alice, bob = Member(), Member()
        reach_silver(brand, alice)
        earn(brand, alice, 20_000)
        earn(brand, bob, 5_000)
        donation = signed_donation(brand, bob, 40)
        confirmed(brand, "/v1/donations", donation)
        auction_id, start = open_auction(brand, w3, reserve=1_000, increment=100, extension_s=60)
        mine_past(w3, anvil, start)
        bid = signed_bid(brand, auction_id, alice, 1_000)
        escrow = brand.api.post(
            f"/v1/auctions/{auction_id}/bids/typed-data", {"bidder": alice.address, "amount": 1_000}
        ).json()["escrow"]
        confirmed(brand, f"/v1/auctions/{auction_id}/bids", bid)
        holders = {escrow, CHARITY_POOL}
        assert all(gateway.admin.get(f"/v1/members/{h}").json()["balances"] for h in holders), (
            "the escrow and the pool hold points"
        )
        assert members_figures(gateway) == (2, 2)  # alice and bob

        # 20 days before this month's lots expire: their 30-day reminders are due, the
        # members' only (every lot here is of this month)
        now = w3.eth.get_block("latest")["timestamp"]
        mine_past(w3, anvil, lot_expiry(month_of(now)) - 20 * 86_400)

        def expiring() -> list[dict[str, Any]] | None:
            events: list[dict[str, Any]] = gateway.admin.get(
                "/v1/events", params={"types": "points.expiring", "limit": 500}
            ).json()["events"]
            reminded = {e["data"]["member"] for e in events}
            return events if {alice.address, bob.address} <= reminded else None

        reminded = {e["data"]["member"] for e in wait_for(expiring, what="the reminders")}
        assert reminded == {alice.address, bob.address}, reminded


def test_the_auctions_escrow_implementation_is_refused_as_a_member(gateway: Gateway) -> None:
    """Nothing ever calls the auctions' escrow implementation (each bid's escrow is a clone of
    it), so points earned there stay there for good: an earn to it, and a referrer naming it,
    are 422 `invalid_member` as for any system contract (a review of 2026-12-06)."""
    brand = gateway.create_brand()
    auctions = gateway.runtime.contracts().auctions_address
    assert auctions is not None
    stuck = Web3.to_checksum_address(escrow_implementation(auctions))
    body = {"member": stuck, "amount_cents": 1_000, "order_ref": f"o-{uuid.uuid4()}"}
    for sent in (body, {**body, "member": Member().address, "referrer": stuck}):
        refused = brand.api.post("/v1/earn/purchase", sent)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_member", refused.text
