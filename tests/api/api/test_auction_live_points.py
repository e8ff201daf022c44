"""What the auction counts of a bid, through the gateway: `GET /v1/auctions/{id}` shows each
bid's live points and effective value and orders the held bids by it, as AllianceAuctions
compares them (a trial of 2026-12-07: the listing showed a bid of 2,000 points as held and
highest, the contract counting it 0 after a soft close, and a bid of dying points at its
nominal value).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from support.auctions import (
    contract,
    mine_past,
    reach_silver,
    read_until,
    set_silver_rule,
    signed_bid,
)
from support.chain import Anvil
from support.flows import confirmed, earn
from support.gateway import Gateway, Member
from web3 import Web3

from ledger_api.domain import lot_expiry, month_of, month_start

HELD = 1  # IAllianceAuctions.BidStatus.Held
SETTLE_GRACE_S = 7 * 86_400  # AllianceAuctions.SETTLE_GRACE
_FIELDS = ("bidder", "amount", "value_micro_usd", "live_points", "effective_value_micro_usd")


def test_the_auction_view_shows_and_ranks_what_the_contract_counts_of_each_bid(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """x bids its lot expiring at E, counted whole until a soft close moves the end past
    E - grace (`BidRecounted`, 0 live); y then bids 1,500 points expiring at E and 300 live ones
    (its `BidPlaced` says 1,800, its `BidRecounted` 300). The view follows the contract: w's
    500 live points first, then y's 300, then x's 0, the reverse of their nominal order."""
    anvil, manifest = own_chain  # the tier rule and the clock are this test's own
    w3: Web3 = anvil.web3()
    auctions = contract(w3, manifest, "AllianceAuctions")
    # x's and y's oldest lots in one month: the chain's clock on the 11th of the next month
    month = month_of(w3.eth.get_block("latest")["timestamp"]) + 1
    mine_past(w3, anvil, month_start(month) + 10 * 86_400)
    expires = lot_expiry(month)  # E
    with Gateway(own_env) as gateway:
        set_silver_rule(gateway)
        brand = gateway.create_brand()
        x, y, w = Member(), Member(), Member()
        earn(brand, x, 20_000)  # 2,000 points expiring at E
        earn(brand, y, 15_000)  # 1,500 points expiring at E
        # ten days before E: all three reach Silver on newer lots, live long after E
        mine_past(w3, anvil, expires - 10 * 86_400)
        for member in (x, y, w):
            reach_silver(brand, member)
        right = confirmed(
            brand, "/v1/badges/types", {"kind": "collectible", "has_benefit": True, "uri": "u"}
        )["result"]["type_id"]
        start = w3.eth.get_block("latest")["timestamp"] + 60  # START_MARGIN_S ahead
        ends = expires - SETTLE_GRACE_S - 3_600  # the end plus the grace: an hour before E
        terms = {
            "badge_type": right,
            "units": 3,
            "min_tier": 1,
            "reserve": 100,
            "increment": 10,
            "starts_at": start,
            "ends_at": ends,
            "extension_s": 2 * 86_400,
        }
        auction_id = confirmed(brand, "/v1/auctions", terms)["result"]["auction_id"]
        bids, path = f"/v1/auctions/{auction_id}/bids", f"/v1/auctions/{auction_id}"
        mine_past(w3, anvil, start)

        def on_chain(member: Member) -> dict[str, str]:
            """The bid as the contract holds it, in the view's terms."""
            bid = auctions.functions.bidOf(auction_id, member.address).call()
            assert bid[1] == HELD, bid
            amount, value, live = int(bid[2]), int(bid[3]), int(bid[4])
            return {
                "bidder": member.address,
                "amount": str(amount),
                "value_micro_usd": str(value),
                "live_points": str(live),
                "effective_value_micro_usd": str(value * live // amount),
            }

        def shown(body: dict[str, Any]) -> list[dict[str, str]]:
            """The held bids the view lists, in its order."""
            return [{k: b[k] for k in _FIELDS} for b in body["bids"] if b["status"] == "held"]

        confirmed(brand, bids, signed_bid(brand, auction_id, x, 2_000))  # the dying lot only
        whole = [on_chain(x)]
        assert whole[0]["live_points"] == "2000", whole  # live at the end plus the grace
        read_until(brand, path, lambda body: shown(body) == whole)

        # w takes a unit in the closing minutes: the end moves past E - grace, x is recounted
        mine_past(w3, anvil, ends - 600)
        confirmed(brand, bids, signed_bid(brand, auction_id, w, 500))
        assert on_chain(x)["live_points"] == "0"
        # y's bid, after the move: its oldest lot (1,500, dying at E) and 300 live points
        confirmed(brand, bids, signed_bid(brand, auction_id, y, 1_800))
        expected = [on_chain(w), on_chain(y), on_chain(x)]  # by what the contract compares
        assert [b["live_points"] for b in expected] == ["500", "300", "0"], expected
        view = read_until(brand, path, lambda body: shown(body) == expected)
        nominal = sorted(expected, key=lambda b: -int(b["value_micro_usd"]))
        assert [b["bidder"] for b in nominal] == [x.address, y.address, w.address]  # the old
        assert view["status"] == "open", view
        # and announced to the brands: x recounted by the soft close, y short at its placing
        feed = read_until(
            brand,
            "/v1/events?types=auction.bid_recounted",
            lambda body: len(body["events"]) == 2,
        )
        recounts = [(e["data"]["bidder"], e["data"]["live"]) for e in feed["events"]]
        assert recounts == [(x.address, 0), (y.address, 300)], feed
        (y_event,) = [e["data"] for e in feed["events"] if e["data"]["bidder"] == y.address]
        assert datetime.fromisoformat(y_event["live_until"]).tzinfo is not None, y_event
