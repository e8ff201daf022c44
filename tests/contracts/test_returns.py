"""Issue 11: a brand's return window, pending purchase points and reversals by order."""

import datetime as dt

import pytest
from eth_utils import keccak

WINDOW = 14
DAY = 86_400


def order_ref(text):
    return keccak(text=f"order:{text}")


def plain(value):
    """Brownie return values (structs, arrays) as plain tuples."""
    if isinstance(value, (list, tuple)):  # brownie's ReturnValue is a tuple
        return tuple(plain(v) for v in value)
    return value


@pytest.fixture(scope="module")
def shop(ledger, admin, outsider):
    """Brand D: onboarded with the default return window (14 days); `outsider` signs for it."""
    receipt = ledger.onboardBrand(
        outsider, 10_000, (10, 5, 3, 10, 20), "Shop", "SHP", {"from": admin}
    )
    brand = receipt.events["BrandOnboarded"]["brand"]
    assert plain(receipt.events["ReturnWindowChanged"].values()) == (brand, 0, WINDOW)
    return brand


def release_of(timestamp, window=WINDOW):
    """First second at which a purchase made at `timestamp` is live: the UTC day after the
    window's last day begins."""
    return (timestamp // DAY + window + 1) * DAY


def earn_month(timestamp):
    """Months since January 1970 (``Calendar.monthOf``)."""
    d = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return (d.year - 1970) * 12 + d.month - 1


def reverse_op(
    ledger_op_id, member, release_at, points, cents, quarter, closes=True, ref=None, month=None
):
    """A ReverseOp for the purchase released at `release_at`; its earn month `month` (default:
    the month of a purchase WINDOW days and one before its release)."""
    if month is None:
        month = earn_month(release_at - (WINDOW + 1) * DAY)
    return (
        ledger_op_id,
        member.address,
        release_at // DAY,
        month,
        points,
        cents,
        quarter,
        closes,
        ref or order_ref(ledger_op_id),
    )


def identity(lens, brand):
    issued, redeemed, expired, outstanding, reversed_ = plain(lens.brandAccount(brand))
    assert issued == redeemed + expired + reversed_ + outstanding
    return issued, redeemed, expired, outstanding, reversed_


def test_a_new_brand_starts_with_14_days_and_the_admin_bounds_changes(
    ledger, lens, shop, admin, outsider, errors
):
    assert lens.returnWindowDays(shop) == WINDOW
    receipt = ledger.setReturnWindow(shop, 90, {"from": admin})
    assert plain(receipt.events["ReturnWindowChanged"].values()) == (shop, WINDOW, 90)
    with errors.expect(ledger, "LedgerInvalidReturnWindow", 91):
        ledger.setReturnWindow(shop, 91, {"from": admin})
    with errors.expect(ledger, "AccessControlUnauthorizedAccount", outsider, b"\x00" * 32):
        ledger.setReturnWindow(shop, 0, {"from": outsider})
    assert lens.returnWindowDays(shop) == 90


def test_purchase_points_are_pending_until_the_window_closes_to_the_second(
    ledger, lens, shop, outsider, alice, earn, clock, errors
):
    receipt = earn(outsider, alice, cents=5_000)
    stamp = clock.now()
    release = release_of(stamp)
    earned = receipt.events["PointsEarned"]
    assert earned["points"] == 500 and earned["releaseAt"] == release
    assert ledger.balanceOf(alice, shop) == 0
    assert plain(lens.pendingOf(alice, shop)) == ((500, release),)
    with errors.expect(ledger, "PointsInsufficientBalance", alice.address, shop, 0, 1):
        ledger.donate(shop, 1, {"from": alice})
    clock.travel_to(release - 1)
    assert ledger.balanceOf(alice, shop) == 0
    clock.travel_to(release)
    assert ledger.balanceOf(alice, shop) == 500
    assert plain(lens.pendingOf(alice, shop)) == ()
    ledger.donate(shop, 500, {"from": alice})  # live: the member's, with no keeper transaction


def test_engagements_stay_instant(ledger, shop, outsider, alice, earn):
    earn(outsider, alice, kind="review")
    assert ledger.balanceOf(alice, shop) == 5


def test_partial_then_whole_reversal_cancels_pending_points_and_keeps_liability_exact(
    ledger, lens, shop, outsider, alice, earn, clock, errors
):
    op_id = earn.next_op_id()
    earn(outsider, alice, cents=10_000, op_id=op_id)  # 1,000 points pending
    release = release_of(clock.now())
    quarter = clock.quarter()
    assert identity(lens, shop)[3] == 1_000
    part = ledger.reverse(
        reverse_op(
            earn.next_op_id(),
            alice,
            release,
            300,
            3_000,
            quarter,
            closes=False,
            ref=order_ref(op_id),
        ),
        {"from": outsider},
    )
    event = part.events["PointsReversed"]
    assert (event["points"], event["spendCents"], event["releaseAt"]) == (300, 3_000, release)
    assert plain(lens.pendingOf(alice, shop)) == ((700, release),)
    assert identity(lens, shop)[3:] == (700, 300)
    status = lens.memberStatus(alice)
    assert (status["spendCents"], status["orders"]) == (7_000, 1)
    with errors.expect(
        ledger, "LedgerReversalExceedsPending", shop, alice.address, release, 700, 701
    ):
        ledger.reverse(
            reverse_op(earn.next_op_id(), alice, release, 701, 0, quarter), {"from": outsider}
        )
    ledger.reverse(
        reverse_op(earn.next_op_id(), alice, release, 700, 7_000, quarter), {"from": outsider}
    )
    assert plain(lens.pendingOf(alice, shop)) == ()
    assert identity(lens, shop)[3:] == (0, 1_000)
    status = lens.memberStatus(alice)
    assert (status["spendCents"], status["orders"]) == (0, 0)
    clock.travel_to(release)
    assert ledger.balanceOf(alice, shop) == 0


def test_a_reversal_op_id_applies_once(ledger, shop, outsider, alice, earn, clock, errors):
    earn(outsider, alice, cents=10_000)
    release, quarter = release_of(clock.now()), clock.quarter()
    op = reverse_op(earn.next_op_id(), alice, release, 100, 1_000, quarter, closes=False)
    ledger.reverse(op, {"from": outsider})
    with errors.expect(ledger, "LedgerOperationUsed", shop, op[0]):
        ledger.reverse(op, {"from": outsider})


def test_reversal_after_the_window_closed_is_refused(
    ledger, lens, shop, outsider, alice, earn, clock, errors
):
    earn(outsider, alice, cents=10_000)
    release, quarter = release_of(clock.now()), clock.quarter()
    clock.travel_to(release)
    op = reverse_op(earn.next_op_id(), alice, release, 1_000, 10_000, quarter)
    with errors.expect(ledger, "LedgerReversalWindowClosed", shop, alice.address, release):
        ledger.reverse(op, {"from": outsider})
    assert ledger.balanceOf(alice, shop) == 1_000


def test_another_brand_cannot_reverse_a_purchase(
    ledger, lens, shop, outsider, signer_a, brand_a, alice, earn, clock, errors
):
    earn(outsider, alice, cents=10_000)
    release, quarter = release_of(clock.now()), clock.quarter()
    op = reverse_op(earn.next_op_id(), alice, release, 1_000, 10_000, quarter)
    with errors.expect(
        ledger, "LedgerReversalExceedsPending", brand_a, alice.address, release, 0, 1_000
    ):
        ledger.reverse(op, {"from": signer_a})
    assert plain(lens.pendingOf(alice, shop)) == ((1_000, release),)


def test_a_reversal_leaves_an_upgrade_and_its_gift_but_lowers_the_counters(
    ledger, lens, shop, outsider, alice, earn, clock
):
    """The documented choice: the tier and its gift stand; the quarter's review judges the
    counters the reversal lowered."""
    silver_spend = plain(lens.tierRule(1))[0][0]
    orders_needed = plain(lens.tierRule(1))[0][1]
    engagements_needed = plain(lens.tierRule(1))[0][2]
    for _ in range(engagements_needed):
        earn(outsider, alice, kind="review")
    for _ in range(max(orders_needed - 1, 0)):
        earn(outsider, alice, cents=100)
    op_id = earn.next_op_id()
    receipt = earn(outsider, alice, cents=silver_spend, op_id=op_id)
    assert "TierUpgraded" in receipt.events
    release, quarter = release_of(clock.now()), clock.quarter()
    points = receipt.events["PointsEarned"]["points"]
    before = lens.memberStatus(alice)
    ledger.reverse(
        reverse_op(earn.next_op_id(), alice, release, points, silver_spend, quarter),
        {"from": outsider},
    )
    after = lens.memberStatus(alice)
    assert after["tier"] == before["tier"] == 1
    assert after["spendCents"] == before["spendCents"] - silver_spend
    assert after["orders"] == before["orders"] - 1


def test_a_position_closes_at_most_the_63_orders_it_counts_and_says_which_it_closed(
    ledger, lens, shop, outsider, accounts, earn, clock
):
    """A position counts at most 63 purchases ({PendingWord}): 65 whole returns of its 65
    purchases close 63 orders, and each `PointsReversed` says how many it closed
    (`closedOrders`; `closedOrder` until 2026-12-07). A hostile review: the event did not say
    it, the gateway's index took every whole return for a closed order, and the chain and the
    index disagreed on the member's orders (3 on chain, 0 in the index)."""
    member = accounts.add()
    ops = [earn.op(member, cents=100) for _ in range(65)]  # 10 points each, one position
    earn.batch(outsider, ops)
    release, quarter = release_of(clock.now()), clock.quarter()
    assert plain(lens.pendingOf(member, shop)) == ((650, release),)
    assert lens.memberStatus(member)["orders"] == 65
    closed = []
    for op in ops:
        receipt = ledger.reverse(
            reverse_op(earn.next_op_id(), member, release, 10, 100, quarter, ref=op[5]),
            {"from": outsider},
        )
        closed.append(receipt.events["PointsReversed"]["closedOrders"])
    assert closed == [1] * 63 + [0] * 2
    status = lens.memberStatus(member)
    assert (status["spendCents"], status["orders"]) == (0, 2)
