"""Winning bids whose escrowed points expired before their settlement: the gateway refuses to
settle them, 409 `auction_escrow_empty` when nothing is left and `auction_below_reserve` when
what is left is worth less than the reserve (the contract's `AuctionsBelowReserve` refuses
both), rather than queue a settlement the chain would revert, for a bid in the auctioning
brand's points and for one in another brand's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.auctions import (
    contract,
    mine_past,
    reach_silver,
    read_until,
    set_silver_rule,
    signed_bid,
)
from support.chain import Anvil, _send
from support.flows import confirmed, earn
from support.gateway import Brand, Gateway, Member
from web3 import Web3
from web3.exceptions import ContractLogicError

from ledger_api.domain import iso_utc, lot_expiry, month_of, month_start

HELD = 1  # IAllianceAuctions.BidStatus.Held
SETTLE_GRACE_S = 7 * 86_400  # AllianceAuctions.SETTLE_GRACE


def test_a_winning_bid_whose_points_expired_in_its_escrow_is_refused_settlement(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """409, nothing queued, for winning bids whose escrows hold nothing, then one point each
    (x's in the auctioning brand's points, y's in another's). Why: their points, expiring at E,
    counted as live at the end plus the grace (before E); a bid in the soft close, taking a free
    unit, moved the end so that E falls in the new grace: their bids, recounted then
    (`BidRecounted`), are worth nothing, but no later bid came to take their units."""
    anvil, manifest = own_chain  # the tier rule and the clock are this test's own
    w3: Web3 = anvil.web3()
    ledger = contract(w3, manifest, "AllianceLedger")
    lens = contract(w3, manifest, "AllianceLedgerLens")
    auctions = contract(w3, manifest, "AllianceAuctions")
    badges = contract(w3, manifest, "AllianceBadges")
    # the lots of x and y in one month: the chain's clock on the 11th of the next month
    month = month_of(w3.eth.get_block("latest")["timestamp"]) + 1
    mine_past(w3, anvil, month_start(month) + 10 * 86_400)
    expires = lot_expiry(month)  # E
    with Gateway(own_env) as gateway:
        set_silver_rule(gateway)
        brand, other = gateway.create_brand(), gateway.create_brand()
        x, y, w, z = Member(), Member(), Member(), Member()
        earn(brand, x, 20_000)  # x's oldest lot: 2,000 points expiring at E
        earn(other, y, 15_000)  # y's only lot of the other brand: 1,500 points, the same month
        for member, points_brand, points in ((x, brand, 2_000), (y, other, 1_500)):
            (oldest,) = lens.functions.lotsOf(member.address, points_brand.brand_id).call()
            assert (oldest[0], oldest[2]) == (points, expires), oldest

        # ten days before E (the lots' last month): all four reach Silver on newer lots
        mine_past(w3, anvil, expires - 10 * 86_400)
        for member in (x, y, w, z):
            reach_silver(brand, member)
        for member in (w, z):
            earn(brand, member, 20_000)
        right = confirmed(
            brand, "/v1/badges/types", {"kind": "collectible", "has_benefit": True, "uri": "u"}
        )["result"]["type_id"]
        start = w3.eth.get_block("latest")["timestamp"] + 60  # START_MARGIN_S ahead
        ends = expires - SETTLE_GRACE_S - 3_600  # the end plus the grace: an hour before E
        extension = 2 * 86_400
        terms = {
            "badge_type": right,
            "units": 4,
            "min_tier": 1,
            "reserve": 100,
            "increment": 10,
            "starts_at": start,
            "ends_at": ends,
            "extension_s": extension,
        }
        auction_id = confirmed(brand, "/v1/auctions", terms)["result"]["auction_id"]
        bids = f"/v1/auctions/{auction_id}/bids"
        mine_past(w3, anvil, start)
        confirmed(brand, bids, signed_bid(brand, auction_id, x, 2_000))  # the oldest lot only
        confirmed(brand, bids, signed_bid(brand, auction_id, y, 1_500, other.brand_id))
        confirmed(brand, bids, signed_bid(brand, auction_id, w, 500))
        expired = ((x, brand, 2_000), (y, other, 1_500))  # the bids whose points expire at E
        escrows = {
            m.address: auctions.functions.escrowOf(auction_id, m.address).call() for m in (x, y)
        }
        for member, points_brand, points in expired:
            bid = auctions.functions.bidOf(auction_id, member.address).call()
            assert (bid[1], bid[2], bid[4]) == (HELD, points, points), bid  # all live
            lots = lens.functions.lotsOf(escrows[member.address], points_brand.brand_id).call()
            assert [(lot[0], lot[2]) for lot in lots] == [(points, expires)], lots

        # z takes the last unit in the closing minutes: the end moves by the extension, past
        # E - grace, and x's and y's bids are recounted
        mine_past(w3, anvil, ends - 600)
        confirmed(brand, bids, signed_bid(brand, auction_id, z, 700))
        new_end = int(auctions.functions.auction(auction_id).call()[2])
        assert new_end > ends and new_end < expires < new_end + SETTLE_GRACE_S, (new_end, expires)
        assert sorted(auctions.functions.heldBidders(auction_id).call()) == sorted(
            [x.address, y.address, w.address, z.address]
        )
        for member, _, _ in expired:  # recounted: worth nothing now, yet holding their units
            bid = auctions.functions.bidOf(auction_id, member.address).call()
            assert (bid[1], bid[4]) == (HELD, 0), bid

        # past E, within the new grace: x and y still win, their escrows hold nothing
        mine_past(w3, anvil, expires)
        for member, points_brand, _ in expired:
            escrow = escrows[member.address]
            assert int(ledger.functions.balanceOf(escrow, points_brand.brand_id).call()) == 0
            assert auctions.functions.bidOf(auction_id, member.address).call()[1] == HELD
        reserve = int(auctions.functions.auction(auction_id).call()[10])  # micro-USD
        # what the gateway spares the brand: x's settlement reverts on chain
        below_reserve = "AuctionsBelowReserve(uint256,address,uint256,uint256)"
        with pytest.raises(ContractLogicError) as reverted:
            auctions.functions.settle(auction_id, x.address).call({"from": brand.signer})
        assert str(reverted.value.data).startswith(_selector(below_reserve)), reverted.value

        settlements = f"/v1/auctions/{auction_id}/settlements"
        grace = iso_utc(new_end + SETTLE_GRACE_S)
        for member, _, _ in expired:
            _refused(brand, settlements, member, "auction_escrow_empty", auction_id, grace)
        # one point sent to each escrow (the members' own transfers): worth less than the
        # reserve, still refused, by the contract too (a settlement sold x's unit for a point)
        earn(other, y, 1_000)  # y's points of the other brand all went into its escrow
        for member, points_brand, points in expired:
            anvil.rpc("anvil_setBalance", member.address, hex(10**18))
            call = ledger.functions.transfer(escrows[member.address], points_brand.brand_id, 1)
            tx = call.build_transaction({"from": member.address, "gas": 300_000})
            tx.pop("gasPrice", None)
            _send(w3, member.account, dict(tx))
            (bid_value,) = auctions.functions.bidOf(auction_id, member.address).call()[3:4]
            error = _refused(brand, settlements, member, "auction_below_reserve", auction_id, grace)
            worth = int(bid_value) * 1 // points
            assert error["details"]["worth_micro_usd"] == str(worth), error
            assert error["details"]["reserve_micro_usd"] == str(reserve), error
        with pytest.raises(ContractLogicError) as reverted:
            auctions.functions.settle(auction_id, x.address).call({"from": brand.signer})
        assert str(reverted.value.data).startswith(_selector(below_reserve)), reverted.value

        settled = confirmed(brand, settlements, {"bidder": z.address})  # the other winner's
        assert settled["kind"] == "auction_settle", settled
        assert badges.functions.balanceOf(z.address, right).call() == 1
        # x's and y's bids untouched: held, no badge, no redemption from their escrows
        for member, _, points in expired:
            bid = auctions.functions.bidOf(auction_id, member.address).call()
            assert (bid[1], bid[2]) == (HELD, points), bid
            assert badges.functions.balanceOf(member.address, right).call() == 0
            assert int(ledger.functions.nonces(escrows[member.address]).call()) == 0
        statuses = {x.address: "held", y.address: "held", z.address: "settled", w.address: "held"}
        view = read_until(
            brand,
            f"/v1/auctions/{auction_id}",
            lambda body: {b["bidder"]: b["status"] for b in body["bids"]} == statuses,
        )
        assert view["status"] == "ended", view


def _selector(signature: str) -> str:
    return "0x" + Web3.keccak(text=signature)[:4].hex()


def _refused(
    brand: Brand, settlements: str, member: Member, code: str, auction_id: int, grace: str
) -> dict[str, Any]:
    """The settlement of `member`'s bid refused with 409 `code`, before any 202 (nothing
    queued), with and without waiting, naming the grace's end (`grace`, from which a
    cancellation releases the unit; a trial read "after the week's grace" a year after it);
    the error."""
    for params in ({}, {"wait": "true"}):
        refused = brand.api.post(settlements, {"bidder": member.address}, params=params)
        assert refused.status_code == 409, refused.text
        error: dict[str, Any] = refused.json()["error"]
        assert error["code"] == code, error
        found = (error["details"]["auction_id"], error["details"]["bidder"])
        assert found == (auction_id, member.address), error
        assert error["details"]["grace_ends_at"] == grace, error
        assert grace in error["message"], error
    return error
