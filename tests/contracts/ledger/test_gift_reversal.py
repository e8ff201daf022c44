"""A tier gift waits for the purchases it depends on: while a purchase counted in the quarter is
pending, every brand's share of an upgrade gift is locked until the latest such purchase's
release, and a reversal that takes the member below a tier reached in the quarter cancels that
tier's shares (README, "Returns").

The trial's reproduction (2026-12-05): a brand's 1 USD pending purchase completed a member's
Silver; another brand paid the 500-point gift, live at once; the first brand then reversed its
purchase and the member kept 500 points of the other brand that it no longer qualified for.

Brands (tests/contracts/conftest.py): A pays out at once (10 points/USD, 5 a review); C is given
a 14-day return window here (same rule). Silver: 500 USD, 3 orders, 2 engagements, 500 points;
Gold: 2,000 USD, 10 orders, 6 engagements, 2,000 points.
"""

from gift_flows import (
    DAY,
    GOLD_GIFT,
    SILVER_GIFT,
    cancelled_shares,
    month_of,
    one_order_short_of_silver,
    paid_shares,
    reverse_purchase,
)


def test_a_gift_completed_by_a_pending_purchase_is_cancelled_when_it_is_returned(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events, to_plain
):
    one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)  # C's 1 USD pending purchase: Silver
    release = completing.events["PointsEarned"]["releaseAt"]
    # A's part is 501 times C's: A pays the whole pack, locked until C's purchase is final
    assert paid_shares(events, completing) == {brand_a: (SILVER_GIFT, release)}
    assert ledger.balanceOf(alice, brand_a) == 5_010
    assert to_plain(lens.pendingOf(alice, brand_a)) == ((SILVER_GIFT, release),)
    issued_a, _, _, outstanding_a, reversed_a = to_plain(lens.brandAccount(brand_a))

    tx = reverse_purchase(ledger, earn, signer_c, alice, completing, quarter, 100)

    assert cancelled_shares(events, tx) == [(brand_a, SILVER_GIFT, release)]
    burns = [e for e in events.all(tx, "Transfer", ledger) if e["id"] == brand_a]
    assert [(e["sender"], e["amount"]) for e in burns] == [(alice.address, SILVER_GIFT)]
    assert to_plain(lens.pendingOf(alice, brand_a)) == ()
    assert ledger.balanceOf(alice, brand_a) == 5_010
    assert to_plain(lens.brandAccount(brand_a)) == (
        issued_a,
        0,
        0,
        outstanding_a - SILVER_GIFT,
        reversed_a + SILVER_GIFT,
    )
    assert ledger.position(pending_c, brand_a) == 0  # no brand owes another for it
    assert ledger.tierOf(alice) == 1  # the tier stands until the quarterly review
    assert lens.memberStatus(alice)["orders"] == 2


def test_a_reversal_that_leaves_the_tier_met_cancels_nothing_and_a_tier_is_cancelled_once(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events, to_plain
):
    one_order_short_of_silver(earn, signer_a, alice)
    first = earn(signer_c, alice, cents=100)  # Silver
    second = earn(signer_c, alice, cents=100)

    kept = reverse_purchase(ledger, earn, signer_c, alice, second, quarter, 100)
    assert cancelled_shares(events, kept) == []  # 3 orders: Silver still met
    assert to_plain(lens.pendingOf(alice, brand_a))[0][0] == SILVER_GIFT

    below = reverse_purchase(ledger, earn, signer_c, alice, first, quarter, 100)
    assert [(b, p) for b, p, _ in cancelled_shares(events, below)] == [(brand_a, SILVER_GIFT)]

    # Met again: the cancelled gift is paid again (the tier stood, so no upgrade), locked behind
    # the purchase that met it; taken below again, that payment is cancelled in turn.
    again = earn(signer_c, alice, cents=100)
    assert "TierUpgraded" not in again.events
    restored = events.one(again, "TierGiftRestored")
    assert (restored["tier"], restored["giftPoints"]) == (1, SILVER_GIFT)
    release = again.events["PointsEarned"]["releaseAt"]
    assert paid_shares(events, again) == {brand_a: (SILVER_GIFT, release)}
    twice = reverse_purchase(ledger, earn, signer_c, alice, again, quarter, 100)
    assert cancelled_shares(events, twice) == [(brand_a, SILVER_GIFT, release)]
    # Once per tier and quarter: a brand cycling a pending purchase and its return cannot make
    # A pay and cancel its share again and again (it booked A's daily mint each time, a review).
    third = earn(signer_c, alice, cents=100)
    assert "TierGiftRestored" not in third.events and "TierGiftPaid" not in third.events
    assert ledger.balanceOf(alice, brand_a) == 5_010  # never the gift: each wait was cancelled


def test_a_tier_met_again_after_its_gift_was_cancelled_pays_the_gift_again(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events, to_plain
):
    """A hostile review of 2026-12-07: C's pending purchase completed Silver, its return
    cancelled the locked gift while the tier stood, and A's honest purchase that met Silver again
    paid nothing (the ledger paid a gift only when the tier rose). Now the gift is paid again,
    once: live, since no purchase of the quarter is pending any more."""
    one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)
    cancelled = reverse_purchase(ledger, earn, signer_c, alice, completing, quarter, 100)
    assert [(b, p) for b, p, _ in cancelled_shares(events, cancelled)] == [(brand_a, SILVER_GIFT)]

    honest = earn(signer_a, alice, cents=1_000)  # A's third order: Silver met again

    assert "TierUpgraded" not in honest.events
    assert events.all(honest, "TierGiftRestored") == [
        {"member": alice.address, "tier": 1, "brand": brand_a, "giftPoints": SILVER_GIFT}
    ]
    assert paid_shares(events, honest) == {brand_a: (SILVER_GIFT, 0)}
    assert ledger.balanceOf(alice, brand_a) == 5_010 + 100 + SILVER_GIFT
    assert to_plain(lens.pendingOf(alice, brand_a)) == ()
    assert ledger.tierOf(alice) == 1

    more = earn(signer_a, alice, cents=1_000)  # paid once: the tier is met, nothing owed
    assert "TierGiftRestored" not in more.events and "TierGiftPaid" not in more.events


def test_tiers_met_again_one_by_one_each_pay_their_cancelled_gift(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    """C's pending purchases made alice Silver, then Gold; their return took her below Silver and
    cancelled both gifts. A's honest purchases then meet Silver (its gift alone is paid again),
    then Gold (its gift): each tier's gift once, however the member climbs back."""
    earn.batch(signer_a, [earn.op(alice, "review") for _ in range(6)])
    silver = earn.batch(signer_c, [earn.op(alice, cents=20_000) for _ in range(3)])  # 600 USD
    assert events.one(silver, "TierUpgraded")["newTier"] == 1
    gold = earn.batch(signer_c, [earn.op(alice, cents=20_000) for _ in range(7)])  # 2,000 USD
    assert events.one(gold, "TierUpgraded")["newTier"] == 2
    cancelled = []
    for receipt in (silver, gold):
        for earned in events.all(receipt, "PointsEarned"):
            op = (
                earn.next_op_id(),
                alice.address,
                earned["releaseAt"] // DAY,
                month_of(receipt.timestamp),
                earned["points"],
                20_000,
                quarter,
                True,
                earned["orderRef"],
            )
            cancelled += cancelled_shares(events, ledger.reverse(op, {"from": signer_c}))
    assert sum(p for _, p, _ in cancelled) == SILVER_GIFT + GOLD_GIFT
    assert lens.memberStatus(alice)["orders"] == 0
    assert ledger.tierOf(alice) == 2  # the tier stands until the quarterly review

    to_silver = earn.batch(signer_a, [earn.op(alice, cents=20_000) for _ in range(3)])
    restored = events.one(to_silver, "TierGiftRestored")
    assert (restored["tier"], restored["giftPoints"]) == (1, SILVER_GIFT)
    assert paid_shares(events, to_silver) == {brand_a: (SILVER_GIFT, 0)}

    to_gold = earn.batch(signer_a, [earn.op(alice, cents=20_000) for _ in range(7)])
    restored = events.one(to_gold, "TierGiftRestored")
    assert (restored["tier"], restored["giftPoints"]) == (2, GOLD_GIFT)
    assert paid_shares(events, to_gold) == {brand_a: (GOLD_GIFT, 0)}
    assert "TierUpgraded" not in to_gold.events


def test_a_return_after_the_quarter_closed_still_cancels_the_gift(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, clock, events, to_plain
):
    """The upgrade on the quarter's last days, the return in the next quarter after the member's
    first operation there (its counters then belong to the new quarter)."""
    quarter = clock.quarter() + 1
    clock.travel_to_quarter(quarter, month_in_quarter=2, day=25)
    one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)
    assert "TierUpgraded" in completing.events
    clock.travel_to_quarter(quarter + 1, day=2)
    earn(signer_a, alice, "review")  # the member's first operation of the new quarter
    status = lens.memberStatus(alice)
    assert (status["quarter"], status["orders"], status["engagements"]) == (quarter + 1, 0, 1)

    tx = reverse_purchase(ledger, earn, signer_c, alice, completing, quarter, 100)

    assert [(b, p) for b, p, _ in cancelled_shares(events, tx)] == [(brand_a, SILVER_GIFT)]
    status = lens.memberStatus(alice)  # the new quarter's counters are not the reversal's
    assert (status["quarter"], status["orders"], status["engagements"]) == (quarter + 1, 0, 1)
    assert to_plain(lens.pendingOf(alice, brand_a)) == ()


def test_one_operation_crossing_two_tiers_splits_the_shares_by_tier(
    ledger, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    """A: 9 orders of 1 USD and 6 reviews; C's pending 1,991 USD purchase makes alice Silver and
    Gold at once. A partial return that leaves Silver met cancels only Gold's part of each
    share; the rest of the return cancels Silver's."""
    earn.batch(
        signer_a,
        [earn.op(alice, cents=100) for _ in range(9)]
        + [earn.op(alice, "review") for _ in range(6)],
    )
    completing = earn(signer_c, alice, cents=199_100)
    upgrade = events.one(completing, "TierUpgraded")
    assert (upgrade["previousTier"], upgrade["newTier"]) == (0, 2)
    gift = SILVER_GIFT + GOLD_GIFT
    paid = {b: p for b, (p, _) in paid_shares(events, completing).items()}
    part_a, part_c = 9 * 10 + 6 * 5, 19_910
    assert paid[brand_a] == -(-gift * part_a // (part_a + part_c))
    assert paid[pending_c] == gift - paid[brand_a]
    silver = {b: p * SILVER_GIFT // gift for b, p in paid.items()}

    to_silver = reverse_purchase(
        ledger, earn, signer_c, alice, completing, quarter, 100_000, points=10_000, closes=False
    )  # 1,000 USD and 10 orders left: Silver
    assert [(b, p) for b, p, _ in cancelled_shares(events, to_silver)] == [
        (brand_a, paid[brand_a] - silver[brand_a]),
        (pending_c, paid[pending_c] - silver[pending_c]),
    ]

    to_none = reverse_purchase(
        ledger, earn, signer_c, alice, completing, quarter, 99_100, points=9_910
    )  # 9 USD, 9 orders
    assert [(b, p) for b, p, _ in cancelled_shares(events, to_none)] == [
        (brand_a, silver[brand_a]),
        (pending_c, silver[pending_c]),
    ]
    assert ledger.balanceOf(alice, pending_c) == 0
    assert ledger.tierOf(alice) == 2  # the tier stands until the quarterly review


def test_a_later_gift_extends_the_lock_and_says_so(
    ledger,
    lens,
    earn,
    signer_a,
    signer_c,
    alice,
    brand_a,
    pending_c,
    quarter,
    clock,
    events,
    to_plain,
):
    """Silver on one day and Gold the next, each completed by a pending purchase of C: each
    brand's lock of its Silver share moves to the Gold purchase's release with its Gold share."""
    earn.batch(
        signer_a,
        [earn.op(alice, cents=1_000) for _ in range(8)]
        + [earn.op(alice, "review") for _ in range(6)],
    )  # 80 USD, 8 orders, 6 reviews
    silver = earn(signer_c, alice, cents=100_000)  # 1,080 USD, 9 orders: Silver
    first_release = silver.events["PointsEarned"]["releaseAt"]
    silver_shares = {b: p for b, (p, _) in paid_shares(events, silver).items()}
    clock.travel_to(clock.now() + DAY)
    gold = earn(signer_c, alice, cents=100_000)  # 2,080 USD, 10 orders: Gold
    second_release = gold.events["PointsEarned"]["releaseAt"]
    assert second_release == first_release + DAY
    gold_a = paid_shares(events, gold)[brand_a]
    assert gold_a[1] == second_release
    assert events.all(gold, "TierGiftHoldExtended") == [
        {
            "member": alice.address,
            "brand": b,
            "points": silver_shares[b],
            "fromReleaseAt": first_release,
            "toReleaseAt": second_release,
        }
        for b in (brand_a, pending_c)  # the other brands first, the completing brand last
    ]
    assert to_plain(lens.pendingOf(alice, brand_a)) == (
        (silver_shares[brand_a] + gold_a[0], second_release),
    )


def test_a_gift_whose_purchases_are_final_is_never_taken_back(
    ledger,
    lens,
    earn,
    signer_a,
    signer_c,
    alice,
    brand_a,
    pending_c,
    clock,
    events,
    errors,
    to_plain,
):
    """Quarter q: Silver completed by C's pending purchase, final after its release. Quarter
    q+1: Gold locked behind another pending purchase of C, in the same lock of each brand. A
    reversal of that purchase stated as quarter q's is refused (its position's month is of
    q+1: before 2026-12-06 the chain took the stated quarter, and the test checked that q's
    final Silver shares were not cancelled when it took q's closed counters below Silver);
    stated as its own quarter, it takes 1 point of q+1 and leaves q's Silver shares alone (a
    trial's finding, 2026-12-05)."""
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, day=1)
    one_order_short_of_silver(earn, signer_a, alice)
    silver = earn(signer_c, alice, cents=100)
    clock.travel_to_quarter(q + 1, day=1)  # Silver's purchase is final
    earn.batch(
        signer_a,
        [earn.op(alice, cents=1_000) for _ in range(9)]
        + [earn.op(alice, "review") for _ in range(6)],
    )  # closes q; 90 USD, 9 orders
    gold = earn(signer_c, alice, cents=191_000)  # 2,000 USD, 10 orders: Gold, locked
    assert events.one(gold, "TierUpgraded")["newTier"] == 2
    locked = to_plain(lens.pendingOf(alice, brand_a))

    with errors.expect(ledger, "LedgerReversalQuarterMismatch", q, q + 1):
        reverse_purchase(
            ledger, earn, signer_c, alice, gold, q, 100, points=1
        )  # stated as quarter q
    assert to_plain(lens.pendingOf(alice, brand_a)) == locked

    tx = reverse_purchase(ledger, earn, signer_c, alice, gold, q + 1, 0, points=1, closes=False)
    assert cancelled_shares(events, tx) == []  # no spend taken off: Gold still met
    assert ledger.balanceOf(alice, brand_a) >= paid_shares(events, silver)[brand_a][0]


def test_a_brands_reversals_take_off_no_more_than_its_pending_purchases_added(
    ledger,
    lens,
    earn,
    admin,
    signer_a,
    signer_b,
    signer_c,
    alice,
    brand_a,
    brand_b,
    pending_c,
    quarter,
    events,
    to_plain,
):
    """B's pending purchase completes Silver. C, which never counted toward it, credits a fresh
    1 USD purchase and reverses it point by point, each time stating an order closed and a huge
    spend: only the one order its purchase added is closed, and at most the spend its points
    can have counted is taken off (a trial's finding: before, four such reversals took four
    orders off and cancelled the gift)."""
    ledger.setReturnWindow(brand_b, 14, {"from": admin})
    one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_b, alice, cents=100)
    assert events.one(completing, "TierUpgraded")["newTier"] == 1
    fresh = earn(signer_c, alice, cents=100)  # 10 points, 1 order, 100 cents
    before = lens.memberStatus(alice)

    got = []
    for _ in range(4):
        got += cancelled_shares(
            events, reverse_purchase(ledger, earn, signer_c, alice, fresh, quarter, 10**9, points=1)
        )

    assert got == []
    after = lens.memberStatus(alice)
    assert after["orders"] == before["orders"] - 1
    assert after["spendCents"] == before["spendCents"] - 4 * (1 + 1) * 100 // 10
    assert sum(a for a, _ in to_plain(lens.pendingOf(alice, brand_a))) == SILVER_GIFT


def test_a_fourth_purchase_day_keeps_its_own_window(
    ledger, lens, earn, signer_c, alice, pending_c, quarter, clock, to_plain
):
    """Four release days per brand, whatever the gift lock (it has a place of its own):
    purchases on four days keep four windows; a fifth keeps its own too, the fourth day's
    position moving to it (the closest pair of the month, the latest of the ties; before
    2026-12-06 the fifth joined the fourth day, released a day early)."""
    releases, receipts = [], []
    for _ in range(5):
        receipts.append(earn(signer_c, alice, cents=10_000))
        releases.append(receipts[-1].events["PointsEarned"]["releaseAt"])
        clock.travel_to(clock.now() + DAY)
    assert releases == [releases[0] + i * DAY for i in range(5)]
    moved = receipts[4].events["PendingPointsMoved"]
    assert (moved["fromReleaseAt"], moved["toReleaseAt"]) == (releases[3], releases[4])
    assert to_plain(lens.pendingOf(alice, pending_c)) == (
        *((1_000, r) for r in releases[:3]),
        (2_000, releases[4]),
    )


def test_a_paying_brand_with_four_purchase_days_pending_still_locks_its_share(
    ledger,
    admin,
    lens,
    earn,
    signer_a,
    signer_c,
    alice,
    brand_a,
    pending_c,
    quarter,
    clock,
    events,
    to_plain,
):
    """The known gap of 2026-12-05: the lock shared the brand's 4 pending positions, so a paying
    brand at which the member had purchases pending on 4 days paid its share live, and the
    completing brand's return cancelled nothing. The lock now has a place of its own."""
    ledger.setReturnWindow(brand_a, 14, {"from": admin})
    own = []
    for _ in range(4):  # A's honest quarter: 480 USD over 4 days, pending, and 2 reviews
        own.append(earn(signer_a, alice, cents=12_000).events["PointsEarned"]["releaseAt"])
        clock.travel_to(clock.now() + DAY)
    earn.batch(signer_a, [earn.op(alice, "review"), earn.op(alice, "review")])
    assert len(set(own)) == 4
    completing = earn(signer_c, alice, cents=2_000)  # C's 20 USD pending purchase: Silver
    release = completing.events["PointsEarned"]["releaseAt"]
    assert release > max(own)
    # A issued 4,810 points of the quarter's 5,010: it pays ceil(500 * 4,810 / 5,010) = 481,
    # C the other 19, both locked until C's purchase is final
    share = -(-SILVER_GIFT * 4_810 // 5_010)
    assert paid_shares(events, completing) == {brand_a: (share, release), pending_c: (19, release)}
    assert to_plain(lens.pendingOf(alice, brand_a)) == (
        *((1_200, r) for r in own),
        (share, release),
    )
    assert ledger.balanceOf(alice, brand_a) == 10  # the reviews; the purchases and share wait

    tx = reverse_purchase(ledger, earn, signer_c, alice, completing, quarter, 2_000)

    assert (brand_a, share, release) in cancelled_shares(events, tx)
    assert to_plain(lens.pendingOf(alice, brand_a)) == tuple((1_200, r) for r in own)
    # A fifth purchase day at A keeps its own window: A's latest purchase position moves to it,
    # not into the lock's place.
    fifth = earn(signer_a, alice, cents=100).events["PointsEarned"]["releaseAt"]
    assert fifth == own[3] + DAY
    assert to_plain(lens.pendingOf(alice, brand_a)) == (
        *((1_200, r) for r in own[:3]),
        (1_210, fifth),
    )


def test_no_brand_can_reverse_a_locked_gift_share_as_a_purchase(
    ledger, lens, earn, signer_a, signer_c, alice, brand_a, pending_c, quarter, events, errors
):
    """The lock is not a purchase position: the paying brand cannot claw its share back."""
    one_order_short_of_silver(earn, signer_a, alice)
    completing = earn(signer_c, alice, cents=100)
    release = completing.events["PointsEarned"]["releaseAt"]
    op = (
        earn.next_op_id(),
        alice.address,
        release // DAY,
        month_of(completing.timestamp),
        SILVER_GIFT,
        0,
        quarter,
        False,
        b"\x01" * 32,
    )
    with errors.expect(
        ledger, "LedgerReversalExceedsPending", brand_a, alice.address, release, 0, SILVER_GIFT
    ):
        ledger.reverse(op, {"from": signer_a})
