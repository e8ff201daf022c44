"""The order floor through the gateway: `PUT /v1/admin/order-floor` queues `setOrderFloor`,
and the index counts a purchase as a tier order only from the floor, as the ledger does, live
and when it rebuilds from the chain (a hostile review of 2026-12-07: a brand's 5-cent purchases
completed a member's order count, and another brand paid the gift)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.flows import buy, earn
from support.gateway import Api, Brand, Gateway, Member
from support.rebuild import stepped_rebuild


def _progress(api: Api, member: Member) -> dict[str, Any]:
    """The member's tier progress, as the index counts it."""
    view = api.get(f"/v1/members/{member.address}")
    assert view.status_code == 200, view.text
    progress: dict[str, Any] = view.json()["tier"]
    return progress


def _missing(api: Api, member: Member) -> dict[str, Any]:
    """What the member's tier progress says is missing to the next tier."""
    missing: dict[str, Any] = _progress(api, member)["missing"]
    return missing


def _tier(api: Api, member: Member) -> int:
    return int(_progress(api, member)["tier"])


def test_the_admin_sets_the_order_floor_and_the_index_counts_orders_by_it(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        silver = {"spend_cents": 5_000, "orders": 2, "engagements": 1, "gift_points": 50}
        rule = gateway.admin.put("/v1/admin/tiers/1", silver, params={"wait": "true"})
        assert rule.json()["status"] == "confirmed", rule.text

        # refused: out of the field's 0..31, a brand's key, no key at all
        for body in ({"order_floor_usd": 32}, {"order_floor_usd": -1}, {"order_floor_usd": "9"}):
            bad = gateway.admin.put("/v1/admin/order-floor", body)
            assert bad.status_code == 422, bad.text
            assert bad.json()["error"]["code"] == "invalid_request", bad.text
        forbidden = brand.api.put("/v1/admin/order-floor", {"order_floor_usd": 0})
        assert forbidden.status_code == 403, forbidden.text
        carol = Member()
        earn(brand, carol, 500)  # 5 USD before any floor: an order
        assert _missing(brand.api, carol)["orders"] == 1

        floor = gateway.admin.put(
            "/v1/admin/order-floor", {"order_floor_usd": 10}, params={"wait": "true"}
        )
        assert floor.status_code == 200, floor.text
        assert floor.json()["status"] == "confirmed", floor.text

        alice = Member()
        earn(brand, alice, 6_000)  # an order
        earn(brand, alice, 500)  # 5 USD: its spend counts, not as an order
        assert _missing(brand.api, alice) == {"spend_cents": 0, "orders": 1, "engagements": 1}
        review = brand.api.post(
            "/v1/earn/engagement",
            {"member": alice.address, "kind": "review"},
            params={"wait": "true"},
        )
        assert review.json()["result"] == {"points": 5}, review.text  # one order short
        completed = earn(brand, alice, 1_000)  # the floor itself: the second order
        assert completed["result"]["tier_upgraded_to"] == 1, completed
        assert _tier(brand.api, alice) == 1

        bob = Member()
        earn(brand, bob, 6_000)
        earn(brand, bob, 999)  # a cent short
        before_rebuild = _missing(brand.api, bob)
        assert before_rebuild["orders"] == 1, before_rebuild

    # The index replayed from the deployment block counts as the chain did: the floor's
    # event, then each purchase by the floor of its block.
    with stepped_rebuild(own_env) as (_runtime, indexer, chain):
        while indexer.step(chain):
            pass
    with Gateway(own_env) as gateway:
        api = gateway.api(brand.api_key)
        assert _missing(api, bob) == before_rebuild
        assert _missing(api, carol)["orders"] == 1  # counted by the floor of its block
        assert _tier(api, alice) == 1


def _reverse(brand: Brand, order: str, **fields: Any) -> dict[str, Any]:
    """`POST /v1/earn/reversals`, waited for until confirmed and indexed."""
    body = {"order_ref": order, **fields}
    response = brand.api.post("/v1/earn/reversals", body, params={"wait": "true"})
    assert response.status_code == 200, response.text
    final = brand.api.wait(response.json()["operation_id"])
    assert final["status"] == "confirmed", final
    return final


def test_returns_close_the_orders_that_counted_and_only_those(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A review: an order at the floor returned in two parts stayed counted (the ledger compared
    the floor with the last part). And the gateway closes no order for a purchase below the
    floor, so that returning it leaves the order of a purchase of the same day."""
    with Gateway(own_env) as gateway:
        floor = gateway.admin.put(
            "/v1/admin/order-floor", {"order_floor_usd": 10}, params={"wait": "true"}
        )
        assert floor.json()["status"] == "confirmed", floor.text
        brand = gateway.create_brand(return_window_days=14)

        alice = Member()
        order, _ = buy(brand, alice, 2_000)  # 20 USD: an order
        assert _progress(brand.api, alice)["orders"] == 1
        parts = [_reverse(brand, order, amount_cents=1_500), _reverse(brand, order)]
        assert [p["result"]["closed_orders"] for p in parts] == [1, 0]  # 5 USD left: no order
        progress = _progress(brand.api, alice)
        assert (progress["spend_cents"], progress["orders"]) == (0, 0)

        # A second review: with another order of its day in the position, the ledger closed the
        # order on the first part (5 USD left: under the floor) and the last part's close took
        # the other order.
        dave = Member()
        order, _ = buy(brand, dave, 2_000)
        buy(brand, dave, 1_000)  # an order dave keeps, the same day
        assert _progress(brand.api, dave)["orders"] == 2
        parts = [_reverse(brand, order, amount_cents=1_500), _reverse(brand, order)]
        assert [p["result"]["closed_orders"] for p in parts] == [1, 0]
        progress = _progress(brand.api, dave)
        assert (progress["spend_cents"], progress["orders"]) == (1_000, 1)

        bob = Member()
        buy(brand, bob, 10_000)  # an order
        small, _ = buy(brand, bob, 500)  # below the floor: no order, same day
        assert _progress(brand.api, bob)["orders"] == 1
        returned = _reverse(brand, small)
        assert returned["result"]["closed_orders"] == 0
        progress = _progress(brand.api, bob)
        assert (progress["spend_cents"], progress["orders"]) == (10_000, 1)
