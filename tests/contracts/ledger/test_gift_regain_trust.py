"""A cancelled tier gift paid again when the member meets the tier again (README, "Returns"),
against a brand that holds its own key: a hostile review of 2026-12-07 (of 524e1ab) found that
a mark of the lowest cancelled tier paid again tiers whose shares were final and never
cancelled (a brand's return stating the spend its points bound took only Silver's shares; an
honest return after an admin's rule change did the same), and that a brand cycling a pending
purchase and its return made another brand pay, and cancel, its share again and again: each
payment booked that brand's daily mint, until its own earns were refused, and each one
extended the brand's lock of final shares. The ledger now marks each tier actually cancelled
and pays a tier's gift again once per quarter.

Fixtures as in test_gift_reversal.py: A live at once (10 points/USD, 5 a review), C with a
14-day return window; Silver 500 USD, 3 orders, 2 engagements, 500 points; Gold 2,000 USD, 10
orders, 6 engagements, 2,000 points.
"""

from gift_flows import (
    DAY,
    GOLD_GIFT,
    SILVER_GIFT,
    cancelled_shares,
    one_order_short_of_silver,
    paid_shares,
    reverse_purchase,
)


def _gold_in_seven(earn, member):
    """1,500 USD in 7 orders."""
    return [earn.op(member, cents=150_000 // 7 + (1 if i < 150_000 % 7 else 0)) for i in range(7)]


def test_a_gold_gift_whose_shares_were_final_is_not_paid_again_with_a_cancelled_silver(
    ledger, lens, admin, earn, signer_a, signer_c, alice, pending_c, quarter, clock, events
):
    """Silver's shares are locked until day 17 (C's purchase, its points taken back stating no
    spend, so the counters stay), Gold's only until day 14 (an older purchase of C). On day 15
    C returns a 10x purchase stating the spend its points bound: below Silver, only Silver's
    shares are cancelled. A's purchase then meets Gold again: Silver's gift alone is paid again
    (it paid Silver and Gold: 2,500 points, Gold's a second time, live). C's 1 USD purchases are
    below a 10 USD order floor: they count spend and no order, so taking one's points back
    leaves the counters (a purchase that counted an order takes it back with its points)."""
    ledger.setOrderFloor(10, {"from": admin})
    d0 = clock.now()
    earn(signer_c, alice, cents=100)  # day 0, released on day 14
    earn.batch(signer_a, [earn.op(alice, "review") for _ in range(6)])
    clock.travel_to(d0 + 3 * DAY)
    earn.batch(signer_a, [earn.op(alice, cents=16_600) for _ in range(3)])
    silver = earn(signer_c, alice, cents=100)  # day 3, released on day 17: Silver
    assert events.one(silver, "TierUpgraded")["newTier"] == 1
    # its points taken back stating no spend: the counters stay
    reverse_purchase(ledger, earn, signer_c, alice, silver, quarter, 0, closes=False)
    clock.travel_to(d0 + 4 * DAY)
    gold = earn.batch(signer_a, _gold_in_seven(earn, alice))
    assert events.one(gold, "TierUpgraded")["newTier"] == 2
    assert sum(p for p, _ in paid_shares(events, gold).values()) == GOLD_GIFT

    clock.travel_to(d0 + 15 * DAY)  # Gold's shares final, Silver's locked until day 17
    promo = earn(signer_c, alice, cents=20_000, mult=1_000)
    cut = reverse_purchase(ledger, earn, signer_c, alice, promo, quarter, 200_000)
    assert 0 < sum(p for _, p, _ in cancelled_shares(events, cut)) <= SILVER_GIFT
    assert lens.memberStatus(alice)["spendCents"] < 50_000

    again = earn(signer_a, alice, cents=200_000)  # Silver and Gold met again

    assert [(r["tier"], r["giftPoints"]) for r in events.all(again, "TierGiftRestored")] == [
        (1, SILVER_GIFT)
    ]
    assert sum(p for p, _ in paid_shares(events, again).values()) == SILVER_GIFT


def test_after_a_rule_change_an_honest_return_pays_again_only_what_itcancelled_shares(
    ledger, earn, admin, signer_a, signer_c, alice, pending_c, quarter, events
):
    """C's pending purchase completes Silver, A's purchases Gold; C's honest return takes the
    member below Gold only, and Gold met again is paid again, live. The admin raises both
    thresholds; an honest return takes the member below Silver: Silver's shares are cancelled.
    Meeting the new Gold pays Silver's gift again, not Gold's a third time."""
    earn.batch(
        signer_a,
        [earn.op(alice, "review") for _ in range(6)]
        + [earn.op(alice, cents=24_900) for _ in range(2)],
    )
    silver = earn(signer_c, alice, cents=200)  # 500 USD, 3 orders: Silver, locked
    assert events.one(silver, "TierUpgraded")["newTier"] == 1
    gold = earn.batch(signer_a, _gold_in_seven(earn, alice))
    assert events.one(gold, "TierUpgraded")["newTier"] == 2
    below_gold = reverse_purchase(ledger, earn, signer_c, alice, silver, quarter, 200)
    assert sum(p for _, p, _ in cancelled_shares(events, below_gold)) == GOLD_GIFT
    regold = earn(signer_a, alice, cents=1_000)
    assert events.one(regold, "TierGiftRestored")["giftPoints"] == GOLD_GIFT
    assert all(release == 0 for _, release in paid_shares(events, regold).values())  # live
    ledger.setTierRule(2, (300_000, 10, 6), GOLD_GIFT, {"from": admin})
    ledger.setTierRule(1, (250_000, 3, 2), SILVER_GIFT, {"from": admin})
    pending = earn(signer_c, alice, cents=100)
    below_silver = reverse_purchase(ledger, earn, signer_c, alice, pending, quarter, 100)
    assert 0 < sum(p for _, p, _ in cancelled_shares(events, below_silver)) <= SILVER_GIFT

    again = earn(signer_a, alice, cents=100_000)  # the new Gold met

    assert [(r["tier"], r["giftPoints"]) for r in events.all(again, "TierGiftRestored")] == [
        (1, SILVER_GIFT)
    ]


def test_a_brand_cycling_a_purchase_and_its_return_cannot_spend_another_brands_daily_cap(
    ledger, lens, earn, admin, signer_a, signer_c, alice, brand_a, pending_c, quarter, events
):
    """Each cycle cost C 10 points and booked 500 on A's daily mint: after 8, A's own honest
    earn was refused (`LedgerDailyMintCapExceeded`). A pays Silver's gift at most twice in the
    quarter (the upgrade, then once again), each cancelled; the member keeps none of it."""
    ledger.setDailyMintCap(brand_a, 9_000, {"from": admin})
    one_order_short_of_silver(earn, signer_a, alice)  # A: 5,010 points today
    paid = []
    for _ in range(8):
        buy = earn(signer_c, alice, cents=100)
        paid.append(paid_shares(events, buy).get(brand_a, (0, 0))[0])
        reverse_purchase(ledger, earn, signer_c, alice, buy, quarter, 100)
    assert paid == [SILVER_GIFT, SILVER_GIFT] + [0] * 6
    assert ledger.balanceOf(alice, brand_a) == 5_010
    honest = earn(signer_a, alice, cents=1_000)  # A's own earn goes through
    assert honest.events["PointsEarned"]["points"] == 100


def test_a_brand_cycling_regains_cannot_keep_final_shares_locked(
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
    """Silver and Gold at once by C's pending purchase (A's shares locked until day 14); C
    returns part of it (below Gold only), then every 13 days buys Gold again and returns it:
    each payment locked A's share behind C's new purchase, extending A's lock, so A's Silver
    share, final on day 14, stayed locked for the rest of the quarter. Now Gold is paid again
    once: the lock moves to that purchase's release (day 27) and no further."""
    earn.batch(
        signer_a,
        [earn.op(alice, cents=100) for _ in range(9)]
        + [earn.op(alice, "review") for _ in range(6)],
    )
    d0 = clock.now()
    big = earn(signer_c, alice, cents=199_100)
    reverse_purchase(
        ledger, earn, signer_c, alice, big, quarter, 100_000, points=10_000, closes=False
    )
    restored = []
    for k in (1, 2):
        clock.travel_to(d0 + k * 13 * DAY)
        buy = earn(signer_c, alice, cents=100_000)
        restored.append(len(events.all(buy, "TierGiftRestored")))
        reverse_purchase(ledger, earn, signer_c, alice, buy, quarter, 100_000)
    assert restored == [1, 0]
    clock.travel_to(d0 + 30 * DAY)
    silver_share = -(-SILVER_GIFT * 120 // (120 + 19_910))
    assert sum(a for a, _ in to_plain(lens.pendingOf(alice, brand_a))) < silver_share
