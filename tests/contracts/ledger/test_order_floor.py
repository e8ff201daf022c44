"""The order floor (`setOrderFloor`, whole USD, 0 to 31): a purchase counts as an order toward the
tiers only when the spend it counts is at least the floor; its spend counts either way.

A hostile review of 2026-12-07: at brand A a member had one 600 USD order and two reviews, two
orders short of Silver; brand B asserted two 5-cent purchases (1 point each at its 20 points per
USD). The member reached Silver and A, whose part was the quarter's whole value, paid the
500-point gift: B's assertions cost A what they did not cost B. The floor is the admin's: a
brand cannot lower it for its own purchases."""

import pytest

from tests.contracts.ledger.gift_flows import reverse_purchase

MAX_FLOOR_USD = 31  # LedgerGlobalsLibrary.MAX_ORDER_FLOOR_USD: the field's 5 bits


def _status(lens, member):
    s = lens.memberStatus(member)
    return {"tier": s[0], "spend": s[2], "orders": s[3], "engagements": s[4]}


def _a_600_usd_order_and_two_reviews(earn, signer_a, member):
    earn.batch(
        signer_a,
        [earn.op(member, cents=60_000), earn.op(member, "review"), earn.op(member, "review")],
    )


def test_no_floor_until_the_admin_sets_one_then_an_event(ledger, lens, admin, events):
    assert lens.orderFloorUsd() == 0
    tx = ledger.setOrderFloor(10, {"from": admin})
    assert events.one(tx, "OrderFloorChanged", ledger) == {"previousUsd": 0, "usd": 10}
    assert lens.orderFloorUsd() == 10
    tx = ledger.setOrderFloor(MAX_FLOOR_USD, {"from": admin})
    assert events.one(tx, "OrderFloorChanged", ledger) == {"previousUsd": 10, "usd": MAX_FLOOR_USD}
    assert lens.orderFloorUsd() == MAX_FLOOR_USD


def test_only_the_admin_sets_the_floor_not_a_brand(ledger, lens, signer_b, outsider, errors):
    for caller in (signer_b, outsider):
        with errors.expect(
            ledger, "AccessControlUnauthorizedAccount", caller, ledger.DEFAULT_ADMIN_ROLE()
        ):
            ledger.setOrderFloor(0, {"from": caller})
    assert lens.orderFloorUsd() == 0


@pytest.mark.parametrize("usd", [MAX_FLOOR_USD + 1, 2**5, 2**16, 2**256 - 1])
def test_a_floor_past_31_usd_is_refused(ledger, lens, admin, errors, usd):
    with errors.expect(ledger, "LedgerInvalidOrderFloor", usd, MAX_FLOOR_USD):
        ledger.setOrderFloor(usd, {"from": admin})
    assert lens.orderFloorUsd() == 0


def test_the_floor_does_not_change_while_paused(ledger, lens, admin, errors):
    ledger.pause({"from": admin})
    with errors.expect(ledger, "EnforcedPause"):
        ledger.setOrderFloor(5, {"from": admin})
    ledger.unpause({"from": admin})
    assert lens.orderFloorUsd() == 0


def test_the_floor_leaves_the_rules_the_cap_and_the_pause_alone(ledger, lens, admin, to_plain):
    """The floor shares the globals word (bits 250..254) with the tier rules, the multiplier
    cap (bits 240..249, which until now reached bit 254) and the pause flag (255)."""
    rules = [to_plain(lens.tierRule(t)) for t in (1, 2, 3)]
    ledger.setMaxMultiplier(1000, {"from": admin})
    ledger.setOrderFloor(MAX_FLOOR_USD, {"from": admin})
    assert lens.maxMultiplierPct() == 1000
    assert [to_plain(lens.tierRule(t)) for t in (1, 2, 3)] == rules
    ledger.setMaxMultiplier(100, {"from": admin})
    ledger.pause({"from": admin})
    assert lens.orderFloorUsd() == MAX_FLOOR_USD
    assert lens.maxMultiplierPct() == 100
    ledger.unpause({"from": admin})
    ledger.setOrderFloor(0, {"from": admin})
    assert (lens.orderFloorUsd(), lens.maxMultiplierPct(), ledger.paused()) == (0, 100, False)


def test_a_brands_tiny_purchases_no_longer_complete_a_members_orders(
    ledger, lens, admin, earn, signer_a, signer_b, alice, brand_b, quarter, events
):
    """The review's attack with a 10 USD floor: B's two 5-cent purchases count their 10 cents
    and no order, so alice is not Silver and A pays no gift. Before, she reached Silver on B's
    second purchase and A paid all 500 points."""
    ledger.setOrderFloor(10, {"from": admin})
    _a_600_usd_order_and_two_reviews(earn, signer_a, alice)

    tx = earn.batch(signer_b, [earn.op(alice, cents=5), earn.op(alice, cents=5)])

    assert ledger.balanceOf(alice, brand_b) == 2  # B's purchases earn their points
    assert events.all(tx, "TierUpgraded") == []
    assert events.all(tx, "TierGiftPaid") == []
    assert _status(lens, alice) == {"tier": 0, "spend": 60_010, "orders": 1, "engagements": 2}


def test_without_a_floor_every_purchase_counts_an_order(
    ledger, lens, earn, signer_a, signer_b, alice, brand_a, quarter, events
):
    """The default (0) keeps what every deployment did: the review's reproduction, unchanged."""
    _a_600_usd_order_and_two_reviews(earn, signer_a, alice)
    tx = earn.batch(signer_b, [earn.op(alice, cents=5), earn.op(alice, cents=5)])
    assert events.one(tx, "TierUpgraded", ledger)["newTier"] == 1
    assert {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")} == {brand_a: 500}


@pytest.mark.parametrize(
    ("cents", "mult", "orders"),
    [
        (999, 100, 0),  # a cent short
        (1_000, 100, 1),  # the floor itself counts
        (1_500, 50, 0),  # 15 USD at half points counts 7.50 USD
        (2_000, 50, 1),  # 20 USD at half points counts 10 USD
        (1_000, 200, 1),  # a multiplier above 100% counts the amount itself
    ],
)
def test_the_floor_compares_the_spend_the_purchase_counts(
    ledger, lens, admin, earn, signer_a, alice, quarter, cents, mult, orders
):
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_a, alice, cents=cents, mult=mult)
    counted = cents * min(mult, 100) // 100
    assert _status(lens, alice) == {"tier": 0, "spend": counted, "orders": orders, "engagements": 0}


def test_the_floor_applies_from_the_next_purchase_and_orders_counted_stay(
    ledger, lens, admin, earn, signer_a, alice, quarter
):
    earn(signer_a, alice, cents=500)
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_a, alice, cents=500)
    assert _status(lens, alice)["orders"] == 1
    ledger.setOrderFloor(0, {"from": admin})
    earn(signer_a, alice, cents=500)
    assert _status(lens, alice)["orders"] == 2


def test_returning_a_purchase_below_the_floor_closes_no_order_of_its_day(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events
):
    """C's 100 USD purchase (an order) and its 10-cent one share a pending position. Returning
    the 10-cent one in full closed the position's order: alice lost the 100 USD purchase's. The
    position counts only the orders that counted."""
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_c, alice, cents=10_000)
    tiny = earn(signer_c, alice, cents=10)  # 1 point at C's 10 a USD
    assert _status(lens, alice)["orders"] == 1

    tx = reverse_purchase(ledger, earn, signer_c, alice, tiny, quarter, spend_cents=10)

    assert events.one(tx, "PointsReversed", ledger)["closedOrder"] is False
    assert _status(lens, alice) == {"tier": 0, "spend": 10_000, "orders": 1, "engagements": 0}


def test_returning_a_purchase_at_the_floor_closes_its_order(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events
):
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_c, alice, cents=10)
    counted = earn(signer_c, alice, cents=1_000)
    assert _status(lens, alice)["orders"] == 1

    tx = reverse_purchase(ledger, earn, signer_c, alice, counted, quarter, spend_cents=1_000)

    assert events.one(tx, "PointsReversed", ledger)["closedOrder"] is True
    assert _status(lens, alice) == {"tier": 0, "spend": 10, "orders": 0, "engagements": 0}
