"""A member's fifth pending purchase day at a brand (a review of 2026-12-06): the ledger merges
the two closest pending positions of one month into the later day (`PendingPointsMoved`), so no
purchase is released before its return window closes. The index moves its pending rows as the
chain does, and a reversal of a moved purchase, through the route, finds its points."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.flows import buy
from support.gateway import Brand, Gateway, Member

from ledger_api.domain import iso_utc, month_label, month_of, month_start

REVERSALS = "/v1/earn/reversals"
DAY = 86_400


def _lens(anvil: Anvil, manifest: Path) -> Any:
    lens = json.loads(manifest.read_text())["contracts"]["AllianceLedgerLens"]
    return anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])


def _two_months_ahead(anvil: Anvil) -> int:
    """The month (months since 1970-01) two after the chain's head's."""
    return month_of(int(anvil.web3().eth.get_block("latest")["timestamp"])) + 2


def _buy_on(anvil: Anvil, brand: Brand, member: Member, cents: int, at: int) -> str:
    """A confirmed, indexed purchase in a block of time `at` (seconds, UTC)."""
    anvil.rpc("evm_setNextBlockTimestamp", at)
    anvil.rpc("evm_mine")
    order, _ = buy(brand, member, cents)
    return order


def _balance(brand: Brand, member: Member) -> dict[str, Any]:
    (balance,) = brand.api.get(f"/v1/members/{member.address}").json()["balances"]
    assert isinstance(balance, dict)
    return balance


def _index_pending(brand: Brand, member: Member) -> list[tuple[int, int]]:
    """The gateway's pending releases of the member: (amount, release time)."""
    return sorted(
        (p["amount"], int(datetime.fromisoformat(p["release_at"]).timestamp()))
        for p in _balance(brand, member)["pending_releases"]
    )


def _chain_pending(lens: Any, brand: Brand, member: Member) -> list[tuple[int, int]]:
    """The lens's `pendingOf` (purchase positions and the gift lock), per release time."""
    per_release: dict[int, int] = {}
    for amount, release_at in lens.functions.pendingOf(member.address, brand.brand_id).call():
        per_release[int(release_at)] = per_release.get(int(release_at), 0) + int(amount)
    return sorted((amount, at) for at, amount in per_release.items())


def _lots_agree(lens: Any, brand: Brand, member: Member) -> list[tuple[int, str]]:
    chain = sorted(
        (int(amount), month_label(int(month)))
        for amount, month, _ in lens.functions.lotsOf(member.address, brand.brand_id).call()
        if amount
    )
    index = sorted(
        (lot["amount"], lot["earned_month"])
        for lot in _balance(brand, member).get("lots", [])
        if lot["amount"]
    )
    assert index == chain
    return chain


def test_a_fifth_purchase_day_moves_the_index_with_the_chain_and_a_moved_order_is_reversible(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, manifest = own_chain
    lens, m = _lens(anvil, manifest), _two_months_ahead(anvil)
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=14)
        alice = Member()
        days = range(5, 10)  # days 6 to 10 of month M: 100, 200, ..., 500 points
        orders = [
            _buy_on(anvil, brand, alice, 1_000 * (i + 1), month_start(m) + day * DAY + 3_600)
            for i, day in enumerate(days)
        ]
        own = [(month_start(m) // DAY + day + 15) * DAY for day in days]
        # the 4th day's 400 points moved to the 5th day's release (before: the 5th joined the
        # 4th, released a day early); the index moved them too
        expected = [(100, own[0]), (200, own[1]), (300, own[2]), (900, own[4])]
        assert _chain_pending(lens, brand, alice) == expected
        assert _index_pending(brand, alice) == expected
        assert _balance(brand, alice)["pending"] == 1_500

        # the moved order's return: found by its own day and month, where its points went
        response = brand.api.post(
            REVERSALS, {"order_ref": orders[3], "member": alice.address}, params={"wait": "true"}
        )
        assert response.status_code == 200, response.text
        final = brand.api.wait(response.json()["operation_id"])
        assert final["status"] == "confirmed", final
        expected = [(100, own[0]), (200, own[1]), (300, own[2]), (500, own[4])]
        assert _chain_pending(lens, brand, alice) == expected
        assert _index_pending(brand, alice) == expected
        assert _lots_agree(lens, brand, alice) == [(1_100, month_label(m))]

        # once all are released, the history's released lines are the chain's positions: none
        # on the 4th day's own release, whose points were held to the 5th's
        # an operation indexes a block past the releases (the reads' clock follows the index)
        _buy_on(anvil, gateway.create_brand(return_window_days=0), Member(), 100, own[4] + 60)
        history = brand.api.get(f"/v1/members/{alice.address}/history").json()
        released = sorted(
            (int(datetime.fromisoformat(e["at"]).timestamp()), e["amount"])
            for e in history["entries"]
            if e["kind"] == "released"
        )
        assert released == [(own[0], 100), (own[1], 200), (own[2], 300), (own[4], 500)]
        assert _balance(brand, alice)["balance"] == 1_100


def test_after_a_shortened_window_a_purchase_is_reversible_until_its_own_day_only(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A purchase made after its brand's window was shortened joins its month's later pending
    day: its points are held until then, but the brand's right to reverse it ends with the
    window it was bought under. Before 2026-12-06 its `PointsEarned` said the later day, and
    the gateway let its brand reverse it until then (a trial returned one 4 days late)."""
    anvil, manifest = own_chain
    lens, m = _lens(anvil, manifest), _two_months_ahead(anvil)
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=30)
        alice = Member()
        _buy_on(anvil, brand, alice, 1_000, month_start(m) + 3_600)  # day 1: until day 1 + 31
        later = (month_start(m) // DAY + 31) * DAY
        shortened = gateway.admin.put(
            f"/v1/admin/brands/{brand.brand_id}/return-window",
            {"days": 10},
            params={"wait": "true"},
        )
        assert shortened.json()["status"] == "confirmed", shortened.text
        anvil.rpc("evm_setNextBlockTimestamp", month_start(m) + 2 * DAY + 3_600)
        anvil.rpc("evm_mine")
        order, final = buy(brand, alice, 2_000)
        own = (month_start(m) // DAY + 2 + 11) * DAY
        # its result says when the brand's right to return it ends (a trial found no such day)
        assert final["result"] == {"points": 200, "release_at": iso_utc(own)}, final
        feed = brand.api.get("/v1/events", params={"types": "points.earned", "limit": 500}).json()
        earned = [e["data"] for e in feed["events"] if e["data"]["points"] == 200]
        assert [e["release_at"] for e in earned] == [iso_utc(own)], feed  # its webhook too
        assert _chain_pending(lens, brand, alice) == [(300, later)]
        assert _index_pending(brand, alice) == [(300, later)]  # the index moved it too

        anvil.rpc("evm_setNextBlockTimestamp", own + 60)  # the order's own window closed
        anvil.rpc("evm_mine")
        _buy_on(anvil, gateway.create_brand(return_window_days=0), Member(), 100, own + 120)
        late = brand.api.post(REVERSALS, {"order_ref": order, "member": alice.address})
        assert late.status_code == 409, late.text
        assert late.json()["error"]["code"] == "reversal_window_closed", late.text
        assert _chain_pending(lens, brand, alice) == [(300, later)]
