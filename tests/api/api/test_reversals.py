"""Returns (issue 11): `POST /v1/earn/reversals`, pending points in the reads, the liability
identity and the history's pending / released / reversed lines."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from support.chain import Anvil
from support.direct import contract
from support.flows import buy, signed_gift
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for

from ledger_api.db.webhook_models import ReminderMark
from ledger_api.domain import month_label, month_of, month_start
from ledger_api.domain.events import POINTS_RELEASED

PURCHASE = "/v1/earn/purchase"
REVERSALS = "/v1/earn/reversals"
DAY = 86_400


def reverse(brand: Brand, order: str, **fields: Any) -> dict[str, Any]:
    """A reversal waited for until final and indexed."""
    response = brand.api.post(REVERSALS, {"order_ref": order, **fields}, params={"wait": "true"})
    assert response.status_code == 200, response.text
    return brand.api.wait(response.json()["operation_id"])


def refused(brand: Brand, body: dict[str, Any]) -> tuple[int, str]:
    response = brand.api.post(REVERSALS, body)
    return response.status_code, response.json()["error"]["code"]


def liability(brand: Brand) -> dict[str, Any]:
    account: dict[str, Any] = brand.api.get(f"/v1/brands/{brand.brand_id}/liability").json()
    assert account["issued"] == (
        account["redeemed"] + account["expired"] + account["reversed"] + account["outstanding"]
    ), account
    assert 0 <= account["pending"] <= account["outstanding"]
    return account


def balance_of(brand: Brand, member: Member) -> dict[str, Any]:
    """The member's balance of the brand (none left: zeros)."""
    view = brand.api.get(f"/v1/members/{member.address}").json()
    if not view["balances"]:
        return {"balance": 0, "pending": 0, "pending_releases": []}
    (balance,) = view["balances"]
    assert isinstance(balance, dict)
    return balance


def test_a_whole_reversal_cancels_the_pending_points_of_the_order(gateway: Gateway) -> None:
    brand = gateway.create_brand(return_window_days=14)
    alice = Member()
    order, earned = buy(brand, alice, 10_000)  # 1,000 points, pending for 14 days
    assert earned["result"]["points"] == 1_000
    balance = balance_of(brand, alice)
    assert (balance["balance"], balance["pending"]) == (0, 1_000)
    (position,) = balance["pending_releases"]
    release = datetime.fromisoformat(position["release_at"]).timestamp()
    assert position["amount"] == 1_000 and release % DAY == 0
    before = liability(brand)
    assert (before["issued"], before["pending"], before["reversed"]) == (1_000, 1_000, 0)

    done = reverse(brand, order, member=alice.address)
    assert done["status"] == "confirmed" and done["kind"] == "reversal", done
    assert done["result"]["points"] == 1_000
    # timestamps are ISO 8601 UTC strings in every answer, as in the reads
    assert datetime.fromisoformat(done["result"]["release_at"]).timestamp() == release

    balance = balance_of(brand, alice)
    assert (balance["balance"], balance["pending"], balance["pending_releases"]) == (0, 0, [])
    after = liability(brand)
    assert (after["issued"], after["redeemed"], after["reversed"]) == (1_000, 0, 1_000)
    assert (after["outstanding"], after["pending"]) == (0, 0)
    tier = brand.api.get(f"/v1/members/{alice.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (0, 0)
    history = brand.api.get(f"/v1/members/{alice.address}/history").json()
    lines = [(e["kind"], e["amount"]) for e in history["entries"]]
    assert lines == [("reversed", 1_000), ("pending", 1_000)]
    pending_line = history["entries"][1]
    assert datetime.fromisoformat(pending_line["release_at"]).timestamp() == release
    assert history["totals"]["reversed"] == 1_000 and history["totals"]["redeemed"] == 0


def test_partial_reversals_convert_like_the_earn_and_stop_at_the_order(gateway: Gateway) -> None:
    brand = gateway.create_brand(return_window_days=14)
    bob = Member()
    order, _ = buy(brand, bob, 10_000)  # 1,000 points for 100 USD
    first = reverse(brand, order, amount_cents=3_000)
    assert first["result"]["points"] == 300
    beyond = brand.api.post(REVERSALS, {"order_ref": order, "amount_cents": 7_001})
    error = beyond.json()["error"]
    assert (beyond.status_code, error["code"]) == (409, "reversal_exceeds_order")
    assert error["details"] == {
        "order_cents": 10_000,
        "reversed_cents": 3_000,
        "requested_cents": 7_001,
    }
    assert "returned in full" not in error["message"], error
    assert balance_of(brand, bob)["pending"] == 700
    tier = brand.api.get(f"/v1/members/{bob.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (7_000, 1)

    rest = reverse(brand, order)  # the order's remainder
    assert rest["result"]["points"] == 700
    error = brand.api.post(REVERSALS, {"order_ref": order}).json()["error"]
    assert error["code"] == "reversal_exceeds_order" and "returned in full" in error["message"]
    assert (error["details"]["order_cents"], error["details"]["reversed_cents"]) == (10_000, 10_000)
    assert refused(brand, {"order_ref": order, "amount_cents": 1}) == (
        409,
        "reversal_exceeds_order",
    )
    tier = brand.api.get(f"/v1/members/{bob.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (0, 0)
    account = liability(brand)
    assert (account["issued"], account["reversed"], account["outstanding"]) == (1_000, 1_000, 0)


def test_an_orders_returns_take_the_same_points_however_they_are_split(gateway: Gateway) -> None:
    """Each return is rounded down on the order's cents returned so far, not on its own: two
    returns of 19 cents of a 10 USD order (100 points) take the 3 points one return of 38 takes,
    and the spend off the tier counters likewise. A review of 2026-12-06: they took 1 + 1, and
    a return sent item by item left up to half the points its goods no longer backed."""
    brand = gateway.create_brand(return_window_days=14)
    member = Member()
    whole, _ = buy(brand, member, 1_000)
    split, _ = buy(brand, member, 1_000)
    one_go = reverse(brand, whole, amount_cents=38)["result"]["points"]
    halves = [reverse(brand, split, amount_cents=19)["result"]["points"] for _ in range(2)]
    assert (one_go, halves) == (3, [1, 2])
    assert balance_of(brand, member)["pending"] == 200 - 6
    tier = brand.api.get(f"/v1/members/{member.address}").json()["tier"]
    assert tier["spend_cents"] == 2_000 - 38 - 38


def test_a_replayed_reversal_answers_the_first_operation_and_reverses_once(
    gateway: Gateway,
) -> None:
    brand = gateway.create_brand(return_window_days=14)
    carol = Member()
    order, _ = buy(brand, carol, 5_000)
    key = str(uuid.uuid4())
    body = {"order_ref": order, "amount_cents": 2_000}
    first = brand.api.post(REVERSALS, body, key=key)
    second = brand.api.post(REVERSALS, body, key=key)
    assert first.status_code == second.status_code == 202, first.text
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    final = brand.api.wait(first.json()["operation_id"])
    assert final["status"] == "confirmed" and final["result"]["points"] == 200
    third = brand.api.post(REVERSALS, body, key=key)
    assert third.json()["operation_id"] == first.json()["operation_id"]
    conflict = brand.api.post(REVERSALS, {"order_ref": order, "amount_cents": 1_000}, key=key)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert balance_of(brand, carol)["pending"] == 300
    assert liability(brand)["reversed"] == 200


def test_two_racing_reversals_of_one_order_take_it_once(gateway: Gateway) -> None:
    """The bound is checked where reversals are stored: of two whole-order reversals sent
    at once under two keys, one is accepted and the other finds nothing left."""
    brand = gateway.create_brand(return_window_days=14)
    gina = Member()
    order, _ = buy(brand, gina, 6_000)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: brand.api.post(REVERSALS, {"order_ref": order}), range(4))
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {
        "reversal_exceeds_order"
    }
    (accepted,) = [a.json() for a in answers if a.status_code == 202]
    assert brand.api.wait(accepted["operation_id"])["result"]["points"] == 600
    assert liability(brand)["reversed"] == 600


def test_only_the_brand_that_credited_an_order_can_reverse_it(gateway: Gateway) -> None:
    brand = gateway.create_brand(return_window_days=14)
    other = gateway.create_brand(return_window_days=14)
    dave = Member()
    order, _ = buy(brand, dave, 4_000)
    assert refused(other, {"order_ref": order}) == (404, "order_not_found")
    assert refused(brand, {"order_ref": f"order-{uuid.uuid4()}"}) == (404, "order_not_found")
    # the brand's own order named with another member: said as such (it read "no order")
    assert refused(brand, {"order_ref": order, "member": Member().address}) == (
        422,
        "invalid_member",
    )
    assert balance_of(brand, dave)["pending"] == 400
    assert liability(other)["reversed"] == 0


def test_points_live_at_once_cannot_be_reversed(gateway: Gateway) -> None:
    brand = gateway.create_brand(return_window_days=0)
    erin = Member()
    order, _ = buy(brand, erin, 2_000)
    assert refused(brand, {"order_ref": order}) == (409, "reversal_window_closed")
    error = brand.api.post(REVERSALS, {"order_ref": order}).json()["error"]
    details = error["details"]
    # when the order's window closed (named so: a trial read `released_at` as the points' release)
    assert details["window_closed_at"].endswith("Z") and "released_at" not in details, details
    assert datetime.fromisoformat(details["window_closed_at"]).tzinfo is not None
    # and that there was none: a trial read the purchase's own time as a window that closed
    assert details["return_window_days"] == 0 and "no return window" in error["message"], error
    assert balance_of(brand, erin)["balance"] == 200


def test_after_the_window_closes_the_points_are_released_and_not_reversible(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    anvil, _ = own_chain
    own_env["LEDGER_REMINDER_POLL_S"] = "0.2"  # `points.released` comes with the reminders
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=1)
        frank = Member()
        order, _ = buy(brand, frank, 3_000)
        kept, _ = buy(brand, frank, 1_000)
        assert balance_of(brand, frank)["pending"] == 400
        reverse(brand, kept, amount_cents=500)  # 50 of the second order's points
        # reminders announce what happens after their first pass (its mark): that pass must
        # come before the clock moves past the release (it came after on a busy machine)
        wait_for(lambda: released_mark(gateway), what="the reminders' first pass")
        anvil.rpc("evm_increaseTime", 3 * DAY)
        anvil.rpc("evm_mine")
        # an operation indexes a block past the release (the reads' clock follows the index)
        buy(gateway.create_brand(return_window_days=0), Member(), 100)

        assert refused(brand, {"order_ref": order}) == (409, "reversal_window_closed")
        balance = balance_of(brand, frank)
        assert (balance["balance"], balance["pending"]) == (350, 0)
        history = brand.api.get(f"/v1/members/{frank.address}/history").json()
        kinds = sorted((e["kind"], e["amount"]) for e in history["entries"])
        assert kinds == [
            ("pending", 100),
            ("pending", 300),
            ("released", 350),
            ("reversed", 50),
        ]
        assert history["totals"]["released"] == 350
        account = liability(brand)
        assert (account["issued"], account["reversed"], account["pending"]) == (400, 50, 0)
        assert account["outstanding"] == 350

        deadline = time.monotonic() + 60
        while True:
            feed = brand.api.get("/v1/events", params={"types": "points.released"}).json()
            if feed["events"]:
                break
            assert time.monotonic() < deadline, "no points.released event"
            time.sleep(0.2)
        (released,) = feed["events"]
        assert released["data"]["member"] == frank.address
        assert (released["data"]["brand_id"], released["data"]["points"]) == (
            brand.brand_id,
            350,
        )


def test_a_gift_waits_for_the_order_that_completed_it_and_a_return_cancels_it(
    own_env: dict[str, str],
) -> None:
    """The trial's gap (2026-12-05): a brand's 1 USD pending purchase completed a member's Silver,
    another brand paid the 500-point gift at once, and the first brand reversed its order: the
    member kept points of the other brand for a tier it no longer qualified for. The gift now
    waits, pending, for the order's return window, and the return cancels it. (Its own chain:
    the tier rules are the alliance's.)"""
    with Gateway(own_env) as gateway:
        rule = {"spend_cents": 50_000, "orders": 3, "engagements": 2, "gift_points": 500}
        answer = gateway.admin.put("/v1/admin/tiers/1", rule, params={"wait": "true"})
        assert answer.json()["status"] == "confirmed", answer.text
        payer = gateway.create_brand()  # live at once
        returner = gateway.create_brand(return_window_days=14)
        alice = Member()
        buy(payer, alice, 25_000)
        buy(payer, alice, 25_000)
        for _ in range(2):
            review = payer.api.post(
                "/v1/earn/engagement",
                {"member": alice.address, "kind": "review"},
                params={"wait": "true"},
            )
            assert review.json()["status"] == "confirmed", review.text
        order, earned = buy(returner, alice, 100)  # 3 orders, 501 USD, 2 engagements: Silver
        assert earned["result"]["tier_upgraded_to"] == 1, earned
        held = balance_of(payer, alice)
        assert (held["balance"], held["pending"]) == (5_010, 500), held
        (lock,) = held["pending_releases"]
        assert lock["amount"] == 500
        before = liability(payer)

        reverse(returner, order, member=alice.address)

        after = balance_of(payer, alice)
        assert (after["balance"], after["pending"], after["pending_releases"]) == (5_010, 0, [])
        account = liability(payer)
        assert (account["issued"], account["reversed"], account["pending"]) == (
            before["issued"],
            before["reversed"] + 500,
            before["pending"] - 500,
        )
        history = payer.api.get(f"/v1/members/{alice.address}/history").json()["entries"]
        gift_lines = sorted((e["kind"], e["amount"]) for e in history if e["source"] == "tier_gift")
        assert gift_lines == [("pending", 500), ("reversed", 500)], history
        (event,) = _feed_of(payer.api, "tier.gift_cancelled")
        assert (event["data"]["member"], event["data"]["brand_id"], event["data"]["points"]) == (
            alice.address,
            payer.brand_id,
            500,
        )
        assert event["data"]["was_pending_until"] == lock["release_at"]
        tier = payer.api.get(f"/v1/members/{alice.address}").json()["tier"]
        assert (tier["tier"], tier["orders"]) == (1, 2), tier
        positions = payer.api.get(f"/v1/settlement/deposits/{payer.brand_id}").json()
        assert positions["positions"] == [], positions  # no brand owes another for it

        # A hostile review of 2026-12-07: an honest order that meets Silver again paid nothing
        # (the tier had stood, so no upgrade). The cancelled gift is now paid again, once.
        _, again = buy(payer, alice, 1_000)
        assert "tier_upgraded_to" not in again["result"], again
        assert again["result"]["tier_gift_restored_points"] == 500, again
        (restored,) = _feed_of(payer.api, "tier.gift_restored")
        data = restored["data"]
        assert (data["member"], data["brand_id"], data["tier"]) == (
            alice.address,
            payer.brand_id,
            1,
        )
        assert (data["tier_name"], data["gift"]["points"]) == ("Silver", 500)
        assert data["gift"]["shares"] == [
            {"brand_id": payer.brand_id, "points": 500, "locked_until": None}
        ]
        held = balance_of(payer, alice)
        assert (held["balance"], held["pending"]) == (5_010 + 100 + 500, 0), held
        history = payer.api.get(f"/v1/members/{alice.address}/history").json()["entries"]
        gift_lines = sorted((e["kind"], e["amount"]) for e in history if e["source"] == "tier_gift")
        assert gift_lines == [("earned", 500), ("pending", 500), ("reversed", 500)], history


def _feed_of(api: Any, event_type: str) -> list[dict[str, Any]]:
    """The brand's events of `event_type`, once there is one (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        events: list[dict[str, Any]] = api.get("/v1/events", params={"types": event_type}).json()[
            "events"
        ]
        if events:
            return events
        assert time.monotonic() < deadline, f"no {event_type} event"
        time.sleep(0.2)


def test_a_return_of_an_order_earned_below_its_rule_is_measured_by_the_order(
    gateway: Gateway,
) -> None:
    """A trial of 2026-12-05: an order earned at a 50% multiplier counts half its amount toward
    tiers (`spendCents`), and the reversal measured the order by that: returning half the goods
    (50 USD of 100) took every point, and the whole order's 100 USD was refused as more than the
    order. A return is in the order's cents; the spend it takes off the tier counters is the same
    share of what the purchase counted."""
    brand = gateway.create_brand(return_window_days=14)
    carol = Member()
    order = f"order-{uuid.uuid4()}"
    body = {"member": carol.address, "amount_cents": 10_000, "order_ref": order}
    accepted = brand.api.post(PURCHASE, body | {"multiplier_pct": 50})
    assert accepted.status_code == 202, accepted.text
    earned = brand.api.wait(accepted.json()["operation_id"])
    assert earned["status"] == "confirmed" and earned["result"]["points"] == 500, earned
    tier = brand.api.get(f"/v1/members/{carol.address}").json()["tier"]
    assert tier["spend_cents"] == 5_000  # counted at the brand's rate: half the order

    half = reverse(brand, order, amount_cents=5_000)
    assert half["status"] == "confirmed" and half["result"]["points"] == 250, half
    assert balance_of(brand, carol)["pending"] == 250
    tier = brand.api.get(f"/v1/members/{carol.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (2_500, 1)
    beyond = brand.api.post(REVERSALS, {"order_ref": order, "amount_cents": 5_001}).json()
    assert beyond["error"]["code"] == "reversal_exceeds_order"
    assert beyond["error"]["details"] == {
        "order_cents": 10_000,
        "reversed_cents": 5_000,
        "requested_cents": 5_001,
    }
    rest = reverse(brand, order, amount_cents=5_000)
    assert rest["result"]["points"] == 250
    assert balance_of(brand, carol)["pending"] == 0
    tier = brand.api.get(f"/v1/members/{carol.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (0, 0)

    # at 1%, a 1,000 USD order counts 10 USD: 100 USD back takes a tenth of its points, and
    # the other 900 USD the rest (the trial: 10 USD back took them all)
    other = f"order-{uuid.uuid4()}"
    accepted = brand.api.post(
        PURCHASE, body | {"order_ref": other, "multiplier_pct": 1, "amount_cents": 100_000}
    )
    assert brand.api.wait(accepted.json()["operation_id"])["result"]["points"] == 100
    assert reverse(brand, other, amount_cents=10_000)["result"]["points"] == 10
    assert balance_of(brand, carol)["pending"] == 90
    assert reverse(brand, other, amount_cents=90_000)["result"]["points"] == 90
    tier = brand.api.get(f"/v1/members/{carol.address}").json()["tier"]
    assert (tier["spend_cents"], tier["orders"]) == (0, 0)


def released_mark(gateway: Gateway) -> bool | None:
    """The `points.released` reminders have made their mark (their first pass ran)."""
    with gateway.runtime.db.read() as session:
        return session.get(ReminderMark, (POINTS_RELEASED, 0)) is not None or None


def _lens_lots(anvil: Anvil, manifest: Path, member: Member, brand: Brand) -> list[tuple[int, str]]:
    """The chain's lots of the member (the lens's `lotsOf`): (amount, earn month), nonzero."""
    contracts = json.loads(manifest.read_text())["contracts"]
    lens = contracts["AllianceLedgerLens"]
    contract = anvil.web3().eth.contract(address=lens["address"], abi=lens["abi"])
    lots = contract.functions.lotsOf(member.address, brand.brand_id).call()
    return sorted((int(amount), month_label(int(month))) for amount, month, _ in lots if amount)


def _index_lots(brand: Brand, member: Member) -> list[tuple[int, str]]:
    """The index's lots of the member (the gateway's read), nonzero."""
    balance = balance_of(brand, member)
    return sorted(
        (lot["amount"], lot["earned_month"]) for lot in balance.get("lots", []) if lot["amount"]
    )


def test_the_index_keeps_pending_points_in_the_month_they_were_earned(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A review of 2026-12-06: a purchase late in month M is still pending in M+1, where the
    member receives live points of M+1 (a review). A gift of those points, then the order's
    return, take the months the ledger takes: the gift the M+1 points (skipping M's pending
    ones), the return M's pending points. Before, the ledger and the index took pending points
    as the newest lots (the gift took M's pending points, the return burned the review's). The
    index's lots of both members are the chain's."""
    anvil, manifest = own_chain
    head = int(anvil.web3().eth.get_block("latest")["timestamp"])
    m = month_of(head) + 2
    anvil.rpc("evm_setNextBlockTimestamp", month_start(m) + 25 * DAY)  # day 26 of month M
    anvil.rpc("evm_mine")
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand(return_window_days=14)
        alice, bob = Member(), Member()
        order, earned = buy(brand, alice, 10_000)  # 1,000 points of M, pending into M+1
        assert earned["result"]["points"] == 1_000
        (position,) = balance_of(brand, alice)["pending_releases"]
        assert datetime.fromisoformat(position["release_at"]).timestamp() > month_start(m + 1)

        anvil.rpc("evm_setNextBlockTimestamp", month_start(m + 1) + DAY)  # day 2 of M+1
        anvil.rpc("evm_mine")
        review = brand.api.post(
            "/v1/earn/engagement",
            {"member": alice.address, "kind": "review", "multiplier_pct": 1_000},
            params={"wait": "true"},
        )
        assert review.json()["status"] == "confirmed", review.text
        assert balance_of(brand, alice)["balance"] == 50  # the review's, of M+1

        gift = brand.api.post(
            "/v1/gifts", signed_gift(brand, alice, bob.address, 20), params={"wait": "true"}
        )
        assert gift.json()["status"] == "confirmed", gift.text
        reverse(brand, order, member=alice.address)

        expected = {
            alice.address: [(30, month_label(m + 1))],
            bob.address: [(20, month_label(m + 1))],
        }
        for member in (alice, bob):
            assert _lens_lots(anvil, manifest, member, brand) == expected[member.address]
            assert _index_lots(brand, member) == expected[member.address]
        assert balance_of(brand, alice)["pending"] == 0


def test_returns_past_the_63_orders_a_position_counts_close_none_in_the_index_too(
    gateway: Gateway, anvil: Anvil, manifest: Path
) -> None:
    """65 purchases of one member in one pending position (the bulk endpoint), all returned:
    the ledger closes the 63 orders the position counts and says so of each return
    (`closed_order`); the index follows it. A hostile review: the index took every whole
    return for a closed order, so it read 0 orders where the chain counted 2 (66 purchases:
    3), and a later upgrade's tier and counters disagreed."""
    brand = gateway.create_brand(return_window_days=14)
    member = Member()
    orders = [f"many-{uuid.uuid4()}" for _ in range(65)]
    items = [
        {"type": "purchase", "key": f"k{i}", "member": member.address, "amount_cents": 100}
        | {"order_ref": order}
        for i, order in enumerate(orders)
    ]
    accepted = brand.api.post("/v1/earn/batch", {"items": items}, key=f"batch-{uuid.uuid4()}")
    assert accepted.status_code == 202, accepted.text
    for item in accepted.json()["items"]:
        assert brand.api.wait(item["operation_id"])["status"] == "confirmed"

    def returned(order: str) -> dict[str, Any]:
        response = brand.api.post(REVERSALS, {"order_ref": order})
        assert response.status_code == 202, response.text
        return response.json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(returned, orders))
    finals = [brand.api.wait(a["operation_id"]) for a in answers]
    assert {f["status"] for f in finals} == {"confirmed"}, finals
    closed = [f["result"]["closed_order"] for f in finals]
    assert sorted(closed) == [False] * 2 + [True] * 63, closed
    _, lens = contract(anvil, manifest, "AllianceLedgerLens")
    on_chain = lens.functions.memberStatus(member.address).call()
    tier = brand.api.get(f"/v1/members/{member.address}").json()["tier"]
    assert (tier["orders"], tier["spend_cents"]) == (on_chain[3], on_chain[2]) == (2, 0), (
        tier,
        on_chain,
    )
    events = brand.api.get("/v1/events", params={"limit": 500}).json()["events"]
    said = [e["data"]["closed_order"] for e in events if e["type"] == "points.reversed"]
    assert sorted(said) == sorted(closed)
