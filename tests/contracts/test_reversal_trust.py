"""A brand's reversal takes off only what its own purchase added (a hostile review of
2026-12-06, README "Returns" and "Trust between brands"): the quarter its purchase counted in,
and the brand's part of that quarter, which splits the member's tier gifts. Each test failed on
the code before the fix.

Brands (tests/contracts/conftest.py): A (10 points/USD, 5 a review), B (20 points/USD), C
(reference rule). Silver: 500 USD, 3 orders, 2 engagements, 500 points.
"""

from scripts.deployment import DEFAULT_TIER_RULES

DAY = 86_400
SILVER_GIFT = DEFAULT_TIER_RULES[1][3]


def _cancelled(events, tx):
    return [(e["brand"], e["points"]) for e in events.all(tx, "TierGiftCancelled")]


def test_a_brand_cannot_cancel_an_earlier_quarters_gift_with_a_purchase_of_the_next_quarter(
    ledger,
    lens,
    admin,
    earn,
    signer_a,
    signer_b,
    signer_c,
    alice,
    brand_a,
    brand_b,
    brand_c,
    clock,
    events,
    errors,
    to_plain,
):
    """README "Returns": a brand's reversals take off "what its own pending purchases added, and
    no more"; a gift is cancelled only by the return of a purchase it depended on. The chain knows
    each position's earn month (PendingWord.earnMonth) since 2026-12-06, so it knows the quarter a
    reversed purchase counted in.

    Quarter q, last month: A's honest 500 USD, 2 orders, 2 reviews; C's 1 USD pending purchase
    completes Silver; A pays the 500-point gift, locked until C's purchase is final (in q+1).
    Quarter q+1: B, which never counted toward q, credits alice a fresh 1,000 USD pending purchase
    and reverses it at once, stating quarter q. Its purchase added nothing to q, yet the reversal
    took q's closed counters below Silver and burned A's 500-point share from alice."""
    ledger.setReturnWindow(brand_b, 14, {"from": admin})
    ledger.setReturnWindow(brand_c, 14, {"from": admin})
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, month_in_quarter=2, day=25)
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
    assert events.one(completing, "TierUpgraded")["newTier"] == 1
    assert sum(a for a, _ in to_plain(lens.pendingOf(alice, brand_a))) == SILVER_GIFT

    clock.travel_to_quarter(q + 1, day=1)  # C's purchase (and A's share) still pending
    fresh = earn(signer_b, alice, cents=100_000)  # B's purchase of quarter q + 1
    earned = fresh.events["PointsEarned"]
    assert earned["releaseAt"] > clock.now()

    def reversal(quarter):
        return (
            earn.next_op_id(),
            alice.address,
            earned["releaseAt"] // DAY,
            clock.month_of(fresh.timestamp),
            earned["points"],
            10**9,
            quarter,
            True,
            earned["orderRef"],
        )

    # What should hold: B's return of its own q+1 purchase takes nothing off quarter q. Stated
    # as quarter q, it is refused (its position's month says q + 1) ...
    with errors.expect(ledger, "LedgerReversalQuarterMismatch", q, q + 1):
        ledger.reverse(reversal(q), {"from": signer_b})
    # ... and stated as its own quarter, it cancels nothing of quarter q: A's share stays locked.
    tx = ledger.reverse(reversal(q + 1), {"from": signer_b})
    assert _cancelled(events, tx) == [], (
        f"B's reversal of a purchase earned in quarter {q + 1} cancelled quarter {q}'s gift "
        f"shares {_cancelled(events, tx)}; alice's A balance locked: "
        f"{to_plain(lens.pendingOf(alice, brand_a))}"
    )
    assert sum(a for a, _ in to_plain(lens.pendingOf(alice, brand_a))) == SILVER_GIFT


def test_a_brand_whose_only_purchase_was_returned_pays_no_share_of_a_later_upgrade(
    ledger,
    lens,
    admin,
    earn,
    signing,
    signer_a,
    signer_c,
    alice,
    brand_a,
    brand_c,
    clock,
    events,
    to_plain,
):
    """README "Trust between brands": a tier gift is "paid by the brands whose operations
    qualified the member, in proportion" (DOMAIN.md: no brand's assertions may cost another
    brand anything). A reversal takes the purchase off the member's counters, but not off the
    brand's part of the quarter (the part in the lot stays, LotMath._take), so the returned
    purchase still bills its brand at the next upgrade.

    alice orders 500 USD at A and returns it: A reverses all 5,000 points (counters back to 0).
    C then credits alice 501 USD over 3 orders and 2 reviews: Silver. A's operations qualified
    nothing (its only purchase was returned), yet A pays half of the 500-point gift, live."""
    ledger.setReturnWindow(brand_a, 14, {"from": admin})
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, day=5)
    bought = earn(signer_a, alice, cents=50_000)
    earned = bought.events["PointsEarned"]
    ledger.reverse(
        (
            earn.next_op_id(),
            alice.address,
            earned["releaseAt"] // DAY,
            clock.month_of(bought.timestamp),
            earned["points"],
            50_000,
            q,
            True,
            earned["orderRef"],
        ),
        {"from": signer_a},
    )
    status = lens.memberStatus(alice)
    assert (status["spendCents"], status["orders"]) == (0, 0)
    issued_a = to_plain(lens.brandAccount(brand_a))[0]

    upgrade = earn.batch(
        signer_c,
        [
            earn.op(alice, "review"),
            earn.op(alice, "review"),
            earn.op(alice, cents=16_700),
            earn.op(alice, cents=16_700),
            earn.op(alice, cents=16_700),
        ],
    )
    assert events.one(upgrade, "TierUpgraded")["newTier"] == 1
    paid = {e["brand"]: e["points"] for e in events.all(upgrade, "TierGiftPaid")}
    issued_after = to_plain(lens.brandAccount(brand_a))[0]
    live_a = ledger.balanceOf(alice, brand_a)
    if live_a:  # C's member spends A's share at C: A now owes C
        signing.redeem_at(alice, brand_a, brand_c, live_a, signer_c)

    assert paid.get(brand_a, 0) == 0, (
        f"A, whose only purchase alice returned, paid {paid.get(brand_a)} of the "
        f"{SILVER_GIFT}-point Silver gift (C {paid.get(brand_c)}); A's issued "
        f"{issued_a} -> {issued_after}, alice's live A balance {live_a}, redeemed at C: "
        f"A owes C {ledger.position(brand_a, brand_c)} micro-USD"
    )


def test_a_reversal_that_keeps_its_spend_counted_keeps_its_part(
    ledger,
    lens,
    admin,
    earn,
    signer_a,
    signer_c,
    alice,
    brand_a,
    brand_c,
    clock,
    events,
):
    """The other side of the part's rule: a brand that reverses a purchase's points but states no
    spend (so the purchase stays counted toward the member's tier) keeps its part, and pays its
    share of the gift that spend qualifies; half the spend stated, half the part taken."""
    ledger.setReturnWindow(brand_a, 14, {"from": admin})
    q = clock.quarter() + 1
    clock.travel_to_quarter(q, day=5)
    bought = earn(signer_a, alice, cents=50_000)  # 5,000 points, 500 USD counted
    earned = bought.events["PointsEarned"]
    ledger.reverse(
        (
            earn.next_op_id(),
            alice.address,
            earned["releaseAt"] // DAY,
            clock.month_of(bought.timestamp),
            2_000,
            0,
            q,
            False,
            earned["orderRef"],
        ),
        {"from": signer_a},
    )
    assert lens.memberStatus(alice)["spendCents"] == 50_000  # still counted
    upgrade = earn.batch(
        signer_c,
        [
            earn.op(alice, "review"),
            earn.op(alice, "review"),
            earn.op(alice, cents=100),
            earn.op(alice, cents=100),
        ],
    )
    assert events.one(upgrade, "TierUpgraded")["newTier"] == 1
    paid = {e["brand"]: e["points"] for e in events.all(upgrade, "TierGiftPaid")}
    # A issued 5,000 points and kept all 5,000 points' part (its 500 USD still count); C issued
    # 2 points of purchases and 2 reviews' worth: A pays nearly the whole gift.
    assert paid[brand_a] > SILVER_GIFT * 9 // 10, paid
