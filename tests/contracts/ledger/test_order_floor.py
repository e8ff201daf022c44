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


def test_a_purchase_below_the_floor_returned_without_closing_leaves_its_days_order(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events
):
    """C's 100 USD purchase (an order) and its 10-cent one share a pending position (1 order:
    the 10-cent one counted none). The gateway returns a purchase below the floor without
    closing an order (`closes_order` false, `background.reversals`): alice keeps the 100 USD
    purchase's order."""
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_c, alice, cents=10_000)
    tiny = earn(signer_c, alice, cents=10)  # 1 point at C's 10 a USD
    assert _status(lens, alice)["orders"] == 1

    tx = reverse_purchase(ledger, earn, signer_c, alice, tiny, quarter, 10, closes=False)

    assert events.one(tx, "PointsReversed", ledger)["closedOrders"] == 0
    assert _status(lens, alice) == {"tier": 0, "spend": 10_000, "orders": 1, "engagements": 0}


def test_returning_a_purchase_at_the_floor_closes_its_order(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events
):
    ledger.setOrderFloor(10, {"from": admin})
    earn(signer_c, alice, cents=10)
    counted = earn(signer_c, alice, cents=1_000)
    assert _status(lens, alice)["orders"] == 1

    tx = reverse_purchase(ledger, earn, signer_c, alice, counted, quarter, spend_cents=1_000)

    assert events.one(tx, "PointsReversed", ledger)["closedOrders"] == 1
    assert _status(lens, alice) == {"tier": 0, "spend": 10, "orders": 0, "engagements": 0}


@pytest.mark.parametrize("floor", [0, 10])
def test_an_order_returned_in_two_parts_is_closed(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events, floor
):
    """A review: a 20 USD order (an order at a 10 USD floor) returned as 15 + 5 USD, as the
    gateway splits returns (the last part closes the order). The ledger compared the floor with
    the last part's 5 USD and closed nothing: the order stayed counted. Now the order closes as
    soon as what is left of it is worth less than the floor (the first part, at 10 USD),
    else with its last part."""
    ledger.setOrderFloor(floor, {"from": admin})
    bought = earn(signer_c, alice, cents=2_000)  # 200 points at C's 10 a USD
    assert _status(lens, alice)["orders"] == 1

    first = reverse_purchase(
        ledger, earn, signer_c, alice, bought, quarter, 1_500, points=150, closes=False
    )
    last = reverse_purchase(
        ledger, earn, signer_c, alice, bought, quarter, 500, points=50, closes=True
    )

    closed = [events.one(tx, "PointsReversed", ledger)["closedOrders"] for tx in (first, last)]
    assert closed == ([1, 0] if floor else [0, 1])
    assert _status(lens, alice) == {"tier": 0, "spend": 0, "orders": 0, "engagements": 0}


def test_a_floor_raised_after_the_purchase_still_closes_its_order(
    ledger, lens, admin, earn, signer_c, alice, pending_c, quarter, events
):
    """A review: a 5 USD purchase counted an order (no floor); the admin set a 10 USD floor and
    the purchase was returned in full: its order stayed."""
    bought = earn(signer_c, alice, cents=500)
    assert _status(lens, alice)["orders"] == 1
    ledger.setOrderFloor(10, {"from": admin})

    tx = reverse_purchase(ledger, earn, signer_c, alice, bought, quarter, 500)

    assert events.one(tx, "PointsReversed", ledger)["closedOrders"] == 1
    assert _status(lens, alice) == {"tier": 0, "spend": 0, "orders": 0, "engagements": 0}


@pytest.mark.parametrize("closes", [True, False])
@pytest.mark.parametrize("floor", [0, 10])
def test_a_brand_that_returns_the_orders_it_asserted_takes_them_back_and_the_gift(
    ledger,
    lens,
    admin,
    earn,
    signer_a,
    signer_b,
    alice,
    brand_a,
    brand_b,
    quarter,
    events,
    floor,
    closes,
):
    """A review: B asserts two 10 USD purchases (two orders), alice reaches Silver and A pays
    most of the gift; B then returns both, each as 190 + 10 points, the last part marked as
    closing the order or not at all. Both orders stayed, alice kept Silver on orders nobody
    bought, and A's share stood. A position keeps no more orders than its points left can have
    counted: none once empty, none under the floor's worth."""
    ledger.setReturnWindow(brand_b, 14, {"from": admin})
    ledger.setOrderFloor(floor, {"from": admin})
    earn.batch(
        signer_a,
        [earn.op(alice, cents=60_000), earn.op(alice, "review"), earn.op(alice, "review")],
    )
    first = earn(signer_b, alice, cents=1_000)  # 200 points at B's 20 a USD
    second = earn(signer_b, alice, cents=1_000)
    assert events.one(second, "TierUpgraded", ledger)["newTier"] == 1
    a_paid = {e["brand"]: e["points"] for e in events.all(second, "TierGiftPaid")}[brand_a]

    cancelled = []
    for bought in (first, second):
        for spend, points, last in ((950, 190, False), (50, 10, True)):
            tx = reverse_purchase(
                ledger,
                earn,
                signer_b,
                alice,
                bought,
                quarter,
                spend,
                points=points,
                closes=closes and last,
            )
            cancelled += [(e["brand"], e["points"]) for e in events.all(tx, "TierGiftCancelled")]

    assert _status(lens, alice)["orders"] == 1  # A's one order
    assert (brand_a, a_paid) in cancelled  # A's locked share of the gift is cancelled
