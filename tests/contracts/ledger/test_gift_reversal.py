"""A reversal that takes a member below a tier reached in the quarter makes the reversing brand
owe the other brands what they paid of that tier's gift (README, "Returns").

The trial's reproduction (2026-12-05): a brand's 1 USD pending purchase completed a member's
Silver; another brand paid the 500-point gift, live at once; the first brand then reversed its
purchase. The member keeps the tier and the gift, as before, but the brand that reversed now owes
the payer the gift's value, settled as a redemption's position is.

Brands (tests/contracts/conftest.py): A pays out at once (10 points/USD, 0.01 USD a point); C
is given a 14-day return window here (same rule and value as A). Silver: 500 USD, 3 orders, 2
engagements, 500 points; Gold: 2,000 USD, 10 orders, 6 engagements, 2,000 points.
"""

import pytest

from scripts.deployment import DEFAULT_TIER_RULES

DAY = 86_400
VALUE = 10_000  # micro-USD per point of A and of C


@pytest.fixture
def pending_c(ledger, admin, brand_c):
    ledger.setReturnWindow(brand_c, 14, {"from": admin})
    return brand_c


@pytest.fixture
def quarter(clock):
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, day=5)
    return q


def _reverse(ledger, earn, signer, member, receipt, quarter, spend_cents, points=None, closes=True):
    """Reverses `points` (all, by default) of the purchase `receipt` credited."""
    earned = receipt.events["PointsEarned"]
    op = (earn.next_op_id(), member.address, earned["releaseAt"] // DAY,
          earned["points"] if points is None else points, spend_cents, quarter, closes,
          earned["orderRef"])
    return ledger.reverse(op, {"from": signer})


def _one_order_short_of_silver(earn, signer_a, alice):
    """A's honest quarter: 500 USD over 2 orders and 2 reviews (Silver but one order)."""
    earn.batch(signer_a, [earn.op(alice, cents=25_000), earn.op(alice, cents=25_000),
                          earn.op(alice, "review"), earn.op(alice, "review")])


def test_a_reversal_below_the_tier_its_purchase_completed_makes_the_reverser_owe_the_gift(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    _one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)  # C's 1 USD pending purchase: Silver
    paid = {e["brand"]: e["points"] for e in events.all(completing, "TierGiftPaid")}
    assert paid == {brand_a: 500}  # A's part is 501 times C's: A pays the whole pack
    issued_a = lens.brandAccount(brand_a)[0]

    tx = _reverse(ledger, earn, signer_c, alice, completing, quarter, 100)

    assert events.all(tx, "TierGiftCompensated") == [
        {"member": alice.address, "debtor": pending_c, "creditor": brand_a,
         "valueMicroUsd": 500 * VALUE}
    ]
    assert ledger.position(pending_c, brand_a) == 500 * VALUE
    assert ledger.position(brand_a, pending_c) == -500 * VALUE
    # The member keeps the tier and the gift; A's points are untouched.
    assert ledger.tierOf(alice) == 1
    assert lens.brandAccount(brand_a)[0] == issued_a
    assert lens.memberStatus(alice)["orders"] == 2


def test_a_reversal_that_leaves_the_tier_met_owes_nothing_and_the_next_one_owes_once(
    ledger, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    _one_order_short_of_silver(earn, signer_a, alice)
    first = earn(signer_c, alice, cents=100)  # Silver, paid by A
    second = earn(signer_c, alice, cents=100)

    kept = _reverse(ledger, earn, signer_c, alice, second, quarter, 100)
    assert events.all(kept, "TierGiftCompensated") == []  # 3 orders: Silver still met
    assert ledger.position(pending_c, brand_a) == 0

    below = _reverse(ledger, earn, signer_c, alice, first, quarter, 100)
    assert [e["valueMicroUsd"] for e in events.all(below, "TierGiftCompensated")] == [500 * VALUE]

    # Met again and taken below again: the gift was compensated already.
    again = earn(signer_c, alice, cents=100)
    assert "TierUpgraded" not in again.events
    twice = _reverse(ledger, earn, signer_c, alice, again, quarter, 100)
    assert events.all(twice, "TierGiftCompensated") == []
    assert ledger.position(pending_c, brand_a) == 500 * VALUE


def test_a_reversal_after_the_quarter_closed_still_owes_the_gift(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, clock, events
):
    """The upgrade on the quarter's last days, the reversal in the next quarter after the
    member's first operation there (its counters then belong to the new quarter)."""
    quarter = clock.quarter() + 1
    clock.travel_to_quarter(quarter, month_in_quarter=2, day=25)
    _one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)
    assert "TierUpgraded" in completing.events
    clock.travel_to_quarter(quarter + 1, day=2)
    earn(signer_a, alice, "review")  # the member's first operation of the new quarter
    status = lens.memberStatus(alice)
    assert (status["quarter"], status["orders"], status["engagements"]) == (quarter + 1, 0, 1)

    tx = _reverse(ledger, earn, signer_c, alice, completing, quarter, 100)

    assert [(e["debtor"], e["creditor"], e["valueMicroUsd"])
            for e in events.all(tx, "TierGiftCompensated")] == [(pending_c, brand_a, 500 * VALUE)]
    assert ledger.position(pending_c, brand_a) == 500 * VALUE
    status = lens.memberStatus(alice)  # the new quarter's counters are not the reversal's
    assert (status["quarter"], status["orders"], status["engagements"]) == (quarter + 1, 0, 1)


def test_one_operation_crossing_two_tiers_splits_the_shares_by_tier(
    ledger, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    """A: 9 orders of 1 USD and 6 reviews; C's pending 1,991 USD purchase makes alice Silver and
    Gold at once. A partial reversal that leaves Silver met owes A only its Gold part; the rest
    of the reversal owes the Silver part."""
    earn.batch(signer_a, [earn.op(alice, cents=100) for _ in range(9)]
               + [earn.op(alice, "review") for _ in range(6)])
    completing = earn(signer_c, alice, cents=199_100)
    upgrade = events.one(completing, "TierUpgraded")
    assert (upgrade["previousTier"], upgrade["newTier"]) == (0, 2)
    gift = DEFAULT_TIER_RULES[1][3] + DEFAULT_TIER_RULES[2][3]
    share_a = {e["brand"]: e["points"] for e in events.all(completing, "TierGiftPaid")}[brand_a]
    part_a, part_c = (9 * 10 + 6 * 5) * VALUE, 19_910 * VALUE
    assert share_a == -(-gift * part_a // (part_a + part_c))
    silver = share_a * VALUE * DEFAULT_TIER_RULES[1][3] // gift
    gold = share_a * VALUE - silver

    to_silver = _reverse(ledger, earn, signer_c, alice, completing, quarter, 100_000,
                         points=10_000, closes=False)  # 1,000 USD and 10 orders left: Silver
    assert [e["valueMicroUsd"] for e in events.all(to_silver, "TierGiftCompensated")] == [gold]

    to_none = _reverse(ledger, earn, signer_c, alice, completing, quarter, 99_100,
                       points=9_910)  # 9 USD, 9 orders
    assert [e["valueMicroUsd"] for e in events.all(to_none, "TierGiftCompensated")] == [silver]
    assert ledger.position(pending_c, brand_a) == share_a * VALUE
    assert ledger.tierOf(alice) == 2  # the tier stands until the quarterly review


def test_the_reversing_brands_own_share_is_its_own_cost(
    ledger, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    """C's pending purchases make alice Silver almost alone: C pays 499 points of the gift and A,
    whose two reviews are a sliver of the quarter's value, 1. C's reversal owes A its 1 point's
    value and no one its own 499."""
    receipts = [earn(signer_c, alice, cents=25_000) for _ in range(2)]
    earn.batch(signer_a, [earn.op(alice, "review"), earn.op(alice, "review")])
    completing = earn(signer_c, alice, cents=100)
    paid = {e["brand"]: e["points"] for e in events.all(completing, "TierGiftPaid")}
    assert paid == {brand_a: 1, pending_c: 499}

    tx = _reverse(ledger, earn, signer_c, alice, receipts[0], quarter, 25_000)

    assert [(e["creditor"], e["valueMicroUsd"]) for e in events.all(tx, "TierGiftCompensated")] == [
        (brand_a, VALUE)
    ]
    assert ledger.position(pending_c, brand_a) == VALUE
