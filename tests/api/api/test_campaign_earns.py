"""Campaign rules applied at earn time (issue 16 item 1): each kind with its recorded reason,
how they combine under the admin's cap, the record in the operation and the history, the
preview that records nothing, and purchases with an explicit multiplier as before."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from support.chain import Anvil
from support.direct import contract, direct_earn, signer_account
from support.flows import wait_for_daily_cap
from support.gateway import Brand, Gateway, Member
from support.progress import wait_for
from support.rebuild import stepped_rebuild

from ledger_api.background.campaigns import member_past
from ledger_api.background.indexer.cursor import mark_replaying
from ledger_api.db.models import Brand as BrandRow
from ledger_api.errors import IndexNotReady

PURCHASE = "/v1/earn/purchase"
ENGAGEMENT = "/v1/earn/engagement"
PREVIEW = "/v1/earn/preview"
RULES = "/v1/campaigns/rules"


def add_rule(brand: Brand, kind: str, **fields: Any) -> int:
    response = brand.api.post(RULES, {"kind": kind, "name": f"{kind} rule", **fields})
    assert response.status_code == 201, response.text
    rule_id: int = response.json()["rule_id"]
    return rule_id


def buy(brand: Brand, member: Member, cents: int, **extra: Any) -> dict[str, Any]:
    """A purchase waited for until confirmed and indexed; its final answer."""
    body = {"member": member.address, "amount_cents": cents, "order_ref": str(uuid.uuid4())}
    response = brand.api.post(PURCHASE, body | extra, params={"wait": "true"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "confirmed", answer
    return answer


def wait_for_cap(brand: Brand, pct: int) -> None:
    """Until the brand's earns are evaluated under the chain's cap `pct` (once indexed)."""

    def evaluated() -> bool:
        body = {"type": "purchase", "member": Member().address, "amount_cents": 100}
        return bool(brand.api.post(PREVIEW, body).json()["cap_pct"] == pct)

    wait_for(lambda: evaluated() or None, what=f"the indexed cap {pct}")


def applied(answer: dict[str, Any]) -> list[str]:
    return [rule["rule"] for rule in answer["campaign"]["rules"]]


def test_without_rules_an_explicit_multiplier_earns_as_before(brand: Brand) -> None:
    answer = buy(brand, Member(), 2_550, multiplier_pct=200)
    assert answer["result"]["points"] == 510 and answer["campaign"] is None
    accepted = brand.api.post(
        PURCHASE,
        {"member": Member().address, "amount_cents": 1_000, "order_ref": "o-1"},
    ).json()
    assert "campaign" not in accepted and accepted["points"] == 100


def test_first_order_and_welcome_pack_apply_once_and_say_why(brand: Brand) -> None:
    add_rule(brand, "first_order", multiplier_pct=200)
    add_rule(brand, "welcome_pack", points=250)
    alice = Member()
    first = buy(brand, alice, 10_000)  # 1,000 points at the base rule
    assert first["result"]["points"] == 2_250  # x2 for the first order, + 250 welcome
    record = first["campaign"]
    assert (record["multiplier_pct"], record["base_points"], record["combine"]) == (
        225,
        1_000,
        "product",
    )
    assert applied(first) == ["first_order", "welcome_pack"]
    assert "first purchase" in record["rules"][0]["why"]
    assert record["rules"][1]["credited"] == 250
    second = buy(brand, alice, 10_000)
    assert second["result"]["points"] == 1_000 and applied(second) == []

    # the operation's read and the member's history carry the same record
    read = brand.api.get(f"/v1/operations/{first['operation_id']}").json()
    assert read["campaign"] == record
    history = brand.api.get(f"/v1/members/{alice.address}/history").json()
    lines = {e["op_id"]: e for e in history["entries"] if e["kind"] == "earned"}
    assert lines[first["op_id"]]["campaign"] == record
    assert lines[second["op_id"]]["campaign"]["rules"] == []


def test_an_engagement_first_gets_the_welcome_pack_but_not_the_first_order(brand: Brand) -> None:
    add_rule(brand, "first_order", multiplier_pct=200)
    add_rule(brand, "welcome_pack", points=15)
    bob = Member()
    review = brand.api.post(
        ENGAGEMENT, {"member": bob.address, "kind": "review"}, params={"wait": "true"}
    ).json()
    assert review["result"]["points"] == 20 and applied(review) == ["welcome_pack"]
    purchase = buy(brand, bob, 1_000)  # first purchase, no longer first earn
    assert purchase["result"]["points"] == 200 and applied(purchase) == ["first_order"]


def test_green_birthday_and_time_boxed_rules_apply_on_their_conditions(brand: Brand) -> None:
    add_rule(brand, "green", multiplier_pct=200)
    add_rule(brand, "birthday_week", multiplier_pct=150)
    now = datetime.now(UTC)
    add_rule(
        brand,
        "time_boxed",
        multiplier_pct=300,
        starts_at=(now - timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(hours=1)).isoformat(),
        earn_kinds=["share"],
    )
    add_rule(
        brand,
        "time_boxed",
        multiplier_pct=500,
        starts_at=(now - timedelta(days=3)).isoformat(),
        ends_at=(now - timedelta(days=2)).isoformat(),
    )
    carol = Member()
    assert buy(brand, carol, 1_000)["result"]["points"] == 100
    green = buy(brand, carol, 1_000, green=True)
    assert green["result"]["points"] == 200 and applied(green) == ["green"]
    both = buy(brand, carol, 1_000, green=True, birthday_week=True)
    assert both["result"]["points"] == 300 and applied(both) == ["green", "birthday_week"]
    share = brand.api.post(
        ENGAGEMENT, {"member": carol.address, "kind": "share"}, params={"wait": "true"}
    ).json()
    assert share["result"]["points"] == 9 and applied(share) == ["time_boxed"]
    assert "window" in share["campaign"]["rules"][0]["why"]
    review = brand.api.post(
        ENGAGEMENT, {"member": carol.address, "kind": "review"}, params={"wait": "true"}
    ).json()
    assert review["result"]["points"] == 5  # the share-only window, the past window: neither


def test_multipliers_multiply_up_to_the_admins_cap(own_env: dict[str, str]) -> None:
    """The cap is the chain's (global): set on a chain of this test's own."""
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        add_rule(brand, "green", multiplier_pct=200)
        add_rule(brand, "birthday_week", multiplier_pct=200)
        dave = Member()
        explicit = buy(brand, dave, 1_000, green=True, birthday_week=True, multiplier_pct=150)
        assert explicit["result"]["points"] == 600  # 1.5 x 2 x 2
        assert applied(explicit) == ["explicit", "green", "birthday_week"]
        cap = gateway.admin.put(
            "/v1/admin/campaigns/cap", {"max_multiplier_pct": 300}, headers={"Prefer": "wait=30"}
        )
        assert cap.status_code == 200 and cap.json()["status"] == "confirmed", cap.text
        wait_for_cap(brand, 300)
        capped = buy(brand, dave, 1_000, green=True, birthday_week=True)  # 400% -> 300%
        assert capped["result"]["points"] == 300
        assert capped["campaign"]["capped"] is True and capped["campaign"]["cap_pct"] == 300
        # an explicit multiplier above the cap is held to it, and the record says so
        other = gateway.create_brand()
        held = buy(other, Member(), 1_000, multiplier_pct=800)
        assert held["result"]["points"] == 300 and held["campaign"]["capped"] is True


def test_two_racing_first_purchases_get_the_first_order_once(brand: Brand) -> None:
    add_rule(brand, "first_order", multiplier_pct=300)
    erin = Member()

    def send(i: int) -> str:
        body = {"member": erin.address, "amount_cents": 1_000, "order_ref": f"race-{i}"}
        response = brand.api.post(PURCHASE, body)
        assert response.status_code == 202, response.text
        operation_id: str = response.json()["operation_id"]
        return operation_id

    with ThreadPoolExecutor(8) as pool:
        operation_ids = list(pool.map(send, range(8)))
    points = sorted(brand.api.wait(uid)["result"]["points"] for uid in operation_ids)
    assert points == [100] * 7 + [300]


def test_the_preview_answers_what_would_apply_and_records_nothing(brand: Brand) -> None:
    add_rule(brand, "first_order", multiplier_pct=200)
    add_rule(brand, "welcome_pack", points=100)
    add_rule(brand, "referral", multiplier_pct=100)
    frank, friend = Member(), Member()
    body = {
        "type": "purchase",
        "member": frank.address,
        "amount_cents": 5_000,
        "green": True,
        "referrer": friend.address,
    }
    for _ in range(2):  # the same answer twice: the first preview changed nothing
        preview = brand.api.http.post(PREVIEW, json=body)
        assert preview.status_code == 200, preview.text
        answer = preview.json()
        assert (answer["points"], answer["multiplier_pct"]) == (1_100, 220)
        assert (answer["first_earn"], answer["first_purchase"]) == (True, True)
        assert [r["rule"] for r in answer["rules"]] == ["first_order", "welcome_pack", "referral"]
    assert brand.api.get(f"/v1/members/{frank.address}/history").json()["entries"] == []
    assert brand.api.get("/v1/campaigns/referrals").json()["referrals"] == []
    real = buy(brand, frank, 5_000, green=True, referrer=friend.address)
    assert real["result"]["points"] == 1_100  # still the first purchase after two previews
    after = brand.api.http.post(PREVIEW, json=body).json()
    assert (after["points"], after["first_purchase"]) == (500, False)
    engagement = brand.api.http.post(
        PREVIEW, json={"type": "engagement", "member": frank.address, "kind": "event"}
    ).json()
    assert engagement["points"] == 10 and engagement["rules"] == []


def test_hostile_previews_and_flags_get_a_4xx(brand: Brand) -> None:
    member = Member().address
    for body, code in (
        ({"type": "purchase", "member": member}, "invalid_request"),
        ({"type": "purchase", "member": member, "amount_cents": 0}, "invalid_amount"),
        ({"type": "gift", "member": member}, "invalid_request"),
        ({"type": "engagement", "member": member, "kind": "like"}, "invalid_request"),
        ({"type": "purchase", "member": "0x1", "amount_cents": 5}, "invalid_address"),
        (
            {"type": "purchase", "member": member, "amount_cents": 5, "multiplier_pct": 0},
            "invalid_multiplier",
        ),
        ([], "invalid_request"),
        # a time in the year 1, or with no offset, answered 500 (a review)
        (
            {"type": "purchase", "member": member, "amount_cents": 5, "at": "0001-01-01T00:00:00"},
            "invalid_request",
        ),
        (
            {"type": "purchase", "member": member, "amount_cents": 5, "at": "0001-01-01T00:00Z"},
            "invalid_request",
        ),
        (
            {"type": "engagement", "member": member, "kind": "review", "at": "2027-01-01T00:00"},
            "invalid_request",
        ),
    ):
        response = brand.api.http.post(PREVIEW, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == code
    for extra, code in (
        ({"green": "yes"}, "invalid_request"),
        ({"referrer": "0xnope"}, "invalid_address"),
        ({"birthday_week": 2}, "invalid_request"),
    ):
        body = {"member": member, "amount_cents": 100, "order_ref": "h-1"} | extra
        response = brand.api.post(PURCHASE, body)
        assert response.status_code == 422 and response.json()["error"]["code"] == code


def test_bulk_items_are_evaluated_like_single_earns(brand: Brand) -> None:
    add_rule(brand, "first_order", multiplier_pct=200)
    add_rule(brand, "green", multiplier_pct=300)
    gina = Member()
    items = [
        {"type": "purchase", "key": "b-1", "member": gina.address, "amount_cents": 1_000},
        {"type": "purchase", "key": "b-2", "member": gina.address, "amount_cents": 1_000},
        {
            "type": "purchase",
            "key": "b-3",
            "member": gina.address,
            "amount_cents": 1_000,
            "green": True,
        },
    ]
    for item in items:
        item["order_ref"] = f"bulk-{uuid.uuid4()}"
    response = brand.api.post("/v1/earn/batch", {"items": items}, headers={"Prefer": "wait=20"})
    assert response.status_code in (200, 202), response.text
    answers = response.json()["items"]
    assert [a["points"] for a in answers] == [200, 100, 300]
    finals = [brand.api.wait(a["operation_id"]) for a in answers]
    assert [f["result"]["points"] for f in finals] == [200, 100, 300]
    assert [applied(f) for f in finals] == [["first_order"], [], ["green"]]


def test_a_first_order_waits_for_a_rebuilt_index_of_purchases_made_outside_the_gateway(
    own_env: dict[str, str], own_chain: tuple[Anvil, Path]
) -> None:
    """A member who bought with the brand's own key, outside the gateway, is no first buyer:
    the gateway learns it from the index's history. A rebuild of the index (the chain forgot
    a block) empties that history and replays it, and mid-replay the member read as a first
    buyer: a first order's bonus again. Stepped a block at a time through a whole rebuild,
    the member's past now answers `index_not_ready` until the index has caught up, then
    says bought, never "new"."""
    anvil, manifest = own_chain
    w3, ledger = contract(anvil, manifest, "AllianceLedger")
    member = Member()
    with Gateway(own_env) as gateway:
        brand = gateway.create_brand()
        add_rule(brand, "first_order", multiplier_pct=200)
        signer = signer_account(gateway, brand)
        direct_earn(w3, ledger, signer, (2**62, member.address, 0, 100, 1_000, b"\x01" * 32))
        body = {"type": "purchase", "member": member.address, "amount_cents": 100}
        wait_for(
            lambda: brand.api.post(PREVIEW, body).json()["first_purchase"] is False or None,
            what="the brand's own purchase indexed",
        )
    with stepped_rebuild(own_env) as (runtime, indexer, chain):
        with runtime.db.read() as session:
            row = session.scalars(select(BrandRow).where(BrandRow.ledger_id == brand.brand_id))
            brand_row = row.one().id

        def past() -> tuple[bool, bool] | str:
            with runtime.db.read() as session:
                try:
                    return member_past(session, brand_row, brand.brand_id, member.address)
                except IndexNotReady as refused:
                    return refused.error_code

        seen = [past()]
        while indexer.step(chain):
            seen.append(past())
        assert len(seen) > 3 and set(seen) == {"index_not_ready"}, seen
        indexer.step(chain)  # at the head: caught up
        assert past() == (True, True)


def test_while_the_index_replays_only_the_rules_that_read_a_members_past_wait(
    gateway: Gateway, brand: Brand, other_brand: Brand
) -> None:
    """A trial: while a rebuild replayed the chain, every earn of a brand with any campaign
    rule answered 503 for a member with no purchase stored, also at a brand whose only rule
    (green) never reads the member's past. Only first-order, welcome-pack and referral rules
    wait now; the replay is the rebuild's row (`index_replaying`, set and cleared by the
    indexer: the stepped test above), written here by hand."""
    add_rule(brand, "first_order", multiplier_pct=200)
    add_rule(other_brand, "green", multiplier_pct=200)
    with gateway.runtime.db.write() as session:
        mark_replaying(session, True)
    try:
        body = {"member": Member().address, "amount_cents": 1_000, "order_ref": "r-1"}
        waits = brand.api.post(PURCHASE, body)
        assert waits.status_code == 503, waits.text
        assert waits.json()["error"]["code"] == "index_not_ready", waits.text
        assert waits.headers["Retry-After"] == "5"
        green = other_brand.api.post(PURCHASE, body | {"green": True}, params={"wait": "true"})
        assert green.status_code == 200, green.text
        assert green.json()["result"]["points"] == 200 and applied(green.json()) == ["green"]
    finally:
        with gateway.runtime.db.write() as session:
            mark_replaying(session, False)
    after = buy(brand, Member(), 1_000)  # caught up: a first order again
    assert after["result"]["points"] == 200 and applied(after) == ["first_order"]


def test_a_review_with_a_ref_is_no_purchase_for_the_first_order_rule(brand: Brand) -> None:
    """A review: an engagement with a `ref` holds its engagement key as an order (so it earns
    once), and a member's stored earn with an order had counted as a purchase; its first real
    purchase then missed the first-order bonus (and its referral)."""
    add_rule(brand, "first_order", multiplier_pct=200)
    member = Member()
    review = brand.api.post(
        ENGAGEMENT,
        {"member": member.address, "kind": "review", "ref": "review-42"},
        params={"wait": "true"},
    )
    assert review.status_code == 200 and review.json()["status"] == "confirmed", review.text
    preview = brand.api.post(
        PREVIEW, {"type": "purchase", "member": member.address, "amount_cents": 1_000}
    ).json()
    assert (preview["first_purchase"], preview["points"]) == (True, 200), preview
    purchase = buy(brand, member, 1_000)
    assert purchase["result"]["points"] == 200 and applied(purchase) == ["first_order"]


def test_a_refused_bulk_item_takes_no_first_order_from_the_next(gateway: Gateway) -> None:
    """A review: the campaign evaluation held the member's first order for the rest of the
    group before the intake's refusals ran, so an item refused (over the daily cap, or its
    order another member's) took the bonus of the member's real first purchase after it."""
    brand = gateway.create_brand(daily_cap_points=1_000)
    wait_for_daily_cap(gateway, brand, 1_000)
    add_rule(brand, "first_order", multiplier_pct=200)
    shared = f"o-{uuid.uuid4()}"  # an order of another member
    body = {"member": Member().address, "amount_cents": 100, "order_ref": shared}
    taken = brand.api.post(PURCHASE, body, params={"wait": "true"})
    assert taken.status_code == 200 and taken.json()["status"] == "confirmed", taken.text
    member = Member()

    def item(key: str, cents: int, order: str | None = None) -> dict[str, Any]:
        return {
            "type": "purchase",
            "key": key,
            "member": member.address,
            "amount_cents": cents,
            "order_ref": order or f"o-{uuid.uuid4()}",
        }

    items = [
        item("over-cap", 100_000),  # 20,000 points: above the day's cap
        item("other-members-order", 1_000, shared),
        item("first", 1_000),  # the member's first purchase: x2
    ]
    response = brand.api.post("/v1/earn/batch", {"items": items}, headers={"Prefer": "wait=60"})
    assert response.status_code == 200, response.text
    over, duplicate, first = response.json()["items"]
    assert over["error"]["code"] == "daily_cap_exceeded", over
    assert duplicate["error"]["code"] == "duplicate_order", duplicate
    assert (first["result"], first["points"]) == ("accepted", 200), first
    assert applied(brand.api.wait(first["operation_id"])) == ["first_order"]
