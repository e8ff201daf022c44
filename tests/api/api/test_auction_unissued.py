"""A winner whose contract wallet refuses its badge at the settlement: the bid is paid and its
unit reserved (`unissued`), announced to the brands (`auction.badge_unissued`), and the badge
is issued once the wallet takes it, through `POST /v1/auctions/{id}/issuances` (the
contract's `issueWon`, which anyone may call). The route was missing: a brand had to call the
contract itself (a trial of 2026-12-06).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from support.auctions import (
    contract,
    mine_past,
    open_auction,
    reach_silver,
    read_until,
    set_silver_rule,
)
from support.chain import Anvil, _deploy, _send, artifact
from support.flows import confirmed
from support.gateway import Brand, Gateway, Member
from web3 import Web3

ACCEPT, REVERT = 0, 1  # RefusingWallet.Mode


@dataclass
class WalletMember(Member):
    """A member whose points and badges sit in a contract wallet (`RefusingWallet`)."""

    wallet: str = ""

    @property
    def address(self) -> str:
        return self.wallet


def test_a_badge_the_winners_wallet_refused_is_issued_through_the_gateway(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain  # the tier rule and the clock are this test's own
    w3: Web3 = anvil.web3()
    ledger = contract(w3, manifest, "AllianceLedger")
    auctions = contract(w3, manifest, "AllianceAuctions")
    badges = contract(w3, manifest, "AllianceBadges")
    owner = Account.create()
    anvil.rpc("anvil_setBalance", owner.address, hex(10**18))
    address = _deploy(w3, owner, "RefusingWallet")
    wallet = w3.eth.contract(address=address, abi=artifact("RefusingWallet")["abi"])

    def as_owner(call: Any) -> None:
        tx = call.build_transaction({"from": owner.address, "gas": 2_000_000})
        tx.pop("gasPrice", None)
        _send(w3, owner, dict(tx))

    def wallet_calls(target: Any, data: str) -> None:
        as_owner(wallet.functions.exec(target.address, data))

    with Gateway(own_env) as gateway:
        set_silver_rule(gateway)
        brand = gateway.create_brand()
        winner = WalletMember(wallet=address)
        reach_silver(brand, winner)  # its points and tier: the wallet's
        auction_id, start = open_auction(brand, w3, reserve=100, increment=10)
        mine_past(w3, anvil, start)
        # the wallet bids itself (its owner's call through it; no member signature to relay)
        approve = ledger.encode_abi("approve", [auctions.address, brand.brand_id, 300])
        wallet_calls(ledger, approve)
        wallet_calls(auctions, auctions.encode_abi("bid", [auction_id, brand.brand_id, 300]))
        assert auctions.functions.heldBidders(auction_id).call() == [address]
        issuances = f"/v1/auctions/{auction_id}/issuances"
        _refused(brand, issuances, address, "auction_badge_not_unissued", bid_status="held")

        as_owner(wallet.functions.setMode(REVERT))  # the winner changes its mind
        mine_past(w3, anvil, int(auctions.functions.auction(auction_id).call()[2]))
        settled = confirmed(brand, f"/v1/auctions/{auction_id}/settlements", {"bidder": address})
        assert settled["kind"] == "auction_settle", settled
        right = settled["result"]["badge_type"]
        assert badges.functions.balanceOf(address, right).call() == 0
        read_until(brand, f"/v1/auctions/{auction_id}", lambda b: _status(b) == "unissued")
        unissued = _events(brand, "auction.badge_unissued")
        assert unissued[0]["data"]["bidder"] == address, unissued
        # the wallet still refuses: nothing queued, no transaction paid for that fails
        refused = _refused(brand, issuances, address, "auction_badge_refused")
        assert "refuses the badge" in refused["message"], refused

        as_owner(wallet.functions.setMode(ACCEPT))  # the wallet takes its unit after all
        issued = confirmed(brand, issuances, {"bidder": address})
        assert issued["kind"] == "auction_issue_won", issued
        assert issued["result"] == {
            "auction_id": auction_id,
            "bidder": address,
            "badge_type": right,
        }, issued
        assert badges.functions.balanceOf(address, right).call() == 1
        read_until(brand, f"/v1/auctions/{auction_id}", lambda b: _status(b) == "settled")
        assert _events(brand, "auction.badge_issued")[0]["data"]["badge_type"] == right
        _refused(brand, issuances, address, "auction_badge_not_unissued", bid_status="settled")
        # an auction the chain does not have
        missing = brand.api.post("/v1/auctions/999/issuances", {"bidder": address})
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["code"] == "auction_not_found", missing.text


def _status(view: dict[str, Any]) -> str:
    (bid,) = view["bids"]
    return str(bid["status"])


def _events(brand: Brand, type_: str) -> list[dict[str, Any]]:
    body = read_until(brand, f"/v1/events?types={type_}", lambda b: len(b["events"]) == 1)
    events: list[dict[str, Any]] = body["events"]
    return events


def _refused(brand: Brand, path: str, bidder: str, code: str, **details: Any) -> dict[str, Any]:
    """`POST path` answered 409 `code` before any 202, with and without waiting."""
    for params in ({}, {"wait": "true"}):
        answer = brand.api.post(path, {"bidder": bidder}, params=params)
        assert answer.status_code == 409, answer.text
        error: dict[str, Any] = answer.json()["error"]
        assert error["code"] == code, error
        assert (error["details"]["auction_id"], error["details"]["bidder"]) != (None, None)
        for key, value in details.items():
            assert error["details"][key] == value, error
    return error
