"""Which month's lot holds a member's pending points (a review of 2026-12-06; fixed the same day).

A purchase's pending points sit in the lot of the month they were earned. Until the fix the
ledger kept no record of which lot held them: `reverse` and a gift share's cancellation burned
the newest lots, and a spend took the oldest lots without skipping the locked ones, both as if
the pending points were always the newest. A purchase late in month M is still pending in M+1,
when the member may receive live points of M+1 (a review, a gift, a live gift share): the return
then burned the M+1 points and left M's, a spend took M's pending points and left M+1's live
ones. Each position of the pending word now carries its earn month, and the gift lock its months
(README "Returns"); these tests failed before.
"""

import pytest

DAY = 86_400


def _month_with_room(clock):
    """A month M (first or second of its quarter) at least two months ahead."""
    m = clock.month() + 2
    while m % 3 == 2:
        m += 1
    return m


@pytest.fixture
def pending_c(ledger, admin, brand_c):
    ledger.setReturnWindow(brand_c, 14, {"from": admin})
    return brand_c


def _setup_late_purchase_then_value_change_then_live_points(
    ledger, admin, earn, signer_c, alice, brand_c, clock, new_value
):
    """Month M, day 26: a 100 USD purchase at C (1,000 points, pending 14 days, into M+1).
    C's value changes from M+1 on. Month M+1, day 2: a review at 10x (50 points, live at once,
    in lot M+1 at the new value)."""
    m = _month_with_room(clock)
    clock.travel_to_month(m, day=25)
    purchase = earn(signer_c, alice, cents=10_000)
    earned = purchase.events["PointsEarned"]
    assert earned["points"] == 1_000 and earned["releaseAt"] > clock.month_start(m + 1)
    ledger.setPointValue(brand_c, new_value, {"from": admin})  # from M+1 on
    clock.travel_to_month(m + 1, day=1)
    earn(signer_c, alice, "review", mult=1000)  # 50 points of month M+1, live
    assert ledger.balanceOf(alice, brand_c) == 50  # only the review's points are spendable
    return m, earned


def _return_whole_order(ledger, earn, signer_c, alice, m, earned):
    """C reverses the whole returned order (1,000 pending points) before its release."""
    op = (
        earn.next_op_id(),
        alice.address,
        earned["releaseAt"] // DAY,
        1_000,
        10_000,
        (m + 1) // 3,
        True,
        earned["orderRef"],
    )
    ledger.reverse(op, {"from": signer_c})


def test_reversal_burns_the_later_months_live_points_instead_of_the_pending_lot(
    ledger, lens, admin, earn, signer_c, alice, pending_c, clock, to_plain
):
    m, earned = _setup_late_purchase_then_value_change_then_live_points(
        ledger, admin, earn, signer_c, alice, pending_c, clock, 40_000
    )
    _return_whole_order(ledger, earn, signer_c, alice, m, earned)
    assert ledger.balanceOf(alice, pending_c) == 50
    # The 50 points left are the review's, earned in M+1: they should expire when M+14 begins
    # and be worth M+1's value (40,000 micro-USD each).
    assert to_plain(lens.lotsOf(alice, pending_c)) == ((50, m + 1, clock.expiry_of(m + 1)),)


def test_reversal_leaves_liability_valued_at_the_wrong_month(
    ledger, lens, admin, earn, signer_c, alice, pending_c, clock, to_plain
):
    m, earned = _setup_late_purchase_then_value_change_then_live_points(
        ledger, admin, earn, signer_c, alice, pending_c, clock, 40_000
    )
    _return_whole_order(ledger, earn, signer_c, alice, m, earned)
    # C's only outstanding points are alice's 50 review points of M+1, worth 40,000 each.
    assert lens.outstandingValue(pending_c) == 50 * 40_000


def test_redeeming_while_a_purchase_is_pending_prices_the_pending_lots_month(
    ledger, admin, earn, signer_a, signer_c, alice, brand_a, pending_c, clock, signing
):
    _setup_late_purchase_then_value_change_then_live_points(
        ledger, admin, earn, signer_c, alice, pending_c, clock, 40_000
    )
    # Alice spends her 50 spendable points (month M+1, 40,000 micro-USD each) at brand A.
    tx = signing.redeem_at(alice, pending_c, brand_a, 50, signer_a)
    assert tx.events["PointsRedeemed"]["valueMicroUsd"] == 50 * 40_000
    assert ledger.position(pending_c, brand_a) == 50 * 40_000


def test_gifting_while_a_purchase_is_pending_moves_the_pending_lots_month(
    ledger, lens, admin, earn, signer_c, alice, bob, pending_c, clock, to_plain
):
    m, earned = _setup_late_purchase_then_value_change_then_live_points(
        ledger, admin, earn, signer_c, alice, pending_c, clock, 40_000
    )
    # Alice gifts her 50 spendable points (the review's, month M+1) to bob.
    ledger.transfer(bob, pending_c, 50, {"from": alice})
    # A gift moves lots with their earn month: bob's 50 points are of M+1 ...
    received = to_plain(lens.lotsOf(bob, pending_c))
    # ... and alice's purchase points, once released, are all of month M (expiring when M+13 begins).
    clock.travel_to(earned["releaseAt"])
    kept = to_plain(lens.lotsOf(alice, pending_c))
    assert (received, kept) == (
        ((50, m + 1, clock.expiry_of(m + 1)),),
        ((1_000, m, clock.expiry_of(m)),),
    )
