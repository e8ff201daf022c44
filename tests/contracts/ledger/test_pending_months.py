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

DAY = 86_400


def _month_with_room(clock):
    """A month M (first or second of its quarter) at least two months ahead."""
    m = clock.month() + 2
    while m % 3 == 2:
        m += 1
    return m


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
        m,
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
    # ... and alice's purchase points, once released, are all of month M (expiring when M+13
    # begins).
    clock.travel_to(earned["releaseAt"])
    kept = to_plain(lens.lotsOf(alice, pending_c))
    assert (received, kept) == (
        ((50, m + 1, clock.expiry_of(m + 1)),),
        ((1_000, m, clock.expiry_of(m)),),
    )


def test_a_donation_and_a_redemption_at_the_brand_leave_the_pending_lot(
    ledger, lens, admin, earn, signer_c, alice, charity, pending_c, clock, to_plain
):
    m, earned = _setup_late_purchase_then_value_change_then_live_points(
        ledger, admin, earn, signer_c, alice, pending_c, clock, 40_000
    )
    ledger.donate(pending_c, 20, {"from": alice})
    tx = ledger.redeem(pending_c, pending_c, 30, "0x" + "31" * 32, {"from": alice})
    # both took the review's points of M+1 (40,000 micro-USD each), not M's pending ones
    assert to_plain(lens.lotsOf(charity, pending_c)) == ((20, m + 1, clock.expiry_of(m + 1)),)
    assert tx.return_value == 30 * 40_000
    assert to_plain(lens.lotsOf(alice, pending_c)) == ((1_000, m, clock.expiry_of(m)),)
    assert ledger.balanceOf(alice, pending_c) == 0


def _silver_share_locked_in_month_m(earn, signer_a, signer_c, alice, clock):
    """Month M (the first of a quarter), day 26: A's honest 5,010 points, then C's pending 1 USD
    purchase completes Silver; A's 500-point share is locked in A's lot of M until C's release
    (in M+1). Month M+1, day 2: a review at A, 5 points of M+1, live."""
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, month_in_quarter=0, day=25)
    m = 3 * q
    earn.batch(
        signer_a,
        [
            earn.op(alice, cents=25_000),
            earn.op(alice, cents=25_000),
            earn.op(alice, "review"),
            earn.op(alice, "review"),
        ],
    )
    completing = earn(signer_c, alice, cents=100)
    assert completing.events["TierGiftPaid"]["releaseAt"] > clock.month_start(m + 1)
    clock.travel_to_month(m + 1, day=1)
    earn(signer_a, alice, "review")
    return m, q, completing


def test_a_cancelled_gift_share_leaves_the_lot_of_the_month_it_was_paid_in(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, clock, to_plain
):
    m, q, completing = _silver_share_locked_in_month_m(earn, signer_a, signer_c, alice, clock)
    earned = completing.events["PointsEarned"]
    op = (
        earn.next_op_id(),
        alice.address,
        earned["releaseAt"] // DAY,
        m,
        earned["points"],
        100,
        q,
        True,
        earned["orderRef"],
    )
    tx = ledger.reverse(op, {"from": signer_c})
    assert tx.events["TierGiftCancelled"]["points"] == 500
    # the share left M's lot; the review's 5 points of M+1 stay (before: burned as the newest)
    assert to_plain(lens.lotsOf(alice, brand_a)) == (
        (5_010, m, clock.expiry_of(m)),
        (5, m + 1, clock.expiry_of(m + 1)),
    )


def test_a_spend_leaves_a_locked_gift_share_in_the_month_it_was_paid_in(
    ledger, lens, earn, signer_a, signer_c, alice, bob, brand_a, pending_c, clock, to_plain
):
    m, _, completing = _silver_share_locked_in_month_m(earn, signer_a, signer_c, alice, clock)
    assert ledger.balanceOf(alice, brand_a) == 5_015
    ledger.transfer(bob, brand_a, 5_015, {"from": alice})
    # bob received M's live points and the review's of M+1; the locked share stays in M
    assert to_plain(lens.lotsOf(bob, brand_a)) == (
        (5_010, m, clock.expiry_of(m)),
        (5, m + 1, clock.expiry_of(m + 1)),
    )
    assert to_plain(lens.lotsOf(alice, brand_a)) == ((500, m, clock.expiry_of(m)),)
    clock.travel_to(completing.events["PointsEarned"]["releaseAt"])
    assert ledger.balanceOf(alice, brand_a) == 500
