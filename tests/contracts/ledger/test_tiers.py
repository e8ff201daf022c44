"""Tiers: Silver, Gold, Diamond, each needing spend, orders and engagements within one calendar
quarter, counted across every brand. Upgrades are automatic with a gift and a badge update; a
quarterly review warns a member who fell short, keeps the tier through a 3-month grace period,
then drops it one step.

Thresholds are scripts/deployment.py's DEFAULT_TIER_RULES:
    Silver 500 USD, 3 orders, 2 engagements (gift 500); Gold 2,000 USD, 10, 6 (gift 2,000);
    Diamond 8,000 USD, 25, 15 (gift 10,000).
"""

import pytest
from brownie import ZERO_ADDRESS

from scripts.deployment import DEFAULT_TIER_RULES

NONE, SILVER, GOLD, DIAMOND = range(4)
GIFT = {tier: rule[3] for tier, rule in DEFAULT_TIER_RULES.items()}
REVIEW_EVENTS = ("TierRetained", "TierDowngradeWarned", "TierDowngraded")


@pytest.fixture
def q0(clock):
    """A fresh quarter: the chain is moved to the 6th day of its first month."""
    quarter = clock.quarter() + 1
    clock.travel_to_quarter(quarter, day=5)
    return quarter


def _silver_ops(earn, member):
    return [earn.op(member, cents=20_000) for _ in range(3)] + [
        earn.op(member, "review") for _ in range(2)
    ]


def _gold_ops(earn, member):
    return [earn.op(member, cents=20_000) for _ in range(10)] + [
        earn.op(member, "share") for _ in range(6)
    ]


def _status(lens, member):
    return lens.memberStatus(member).dict()


def _review_events(events, tx):
    return {name: events.all(tx, name) for name in REVIEW_EVENTS if events.all(tx, name)}


# -------------------------------------------------------------------------------------- upgrade


def test_upgrade_happens_the_moment_all_three_thresholds_are_met(
    ledger, lens, membership_badge, earn, signer_a, alice, brand_a, q0, events
):
    for _ in range(3):
        earn(signer_a, alice, cents=20_000)  # 600 USD over 3 orders
    tx = earn(signer_a, alice, "review")
    assert "TierUpgraded" not in tx.events  # engagement 1 of 2: not yet
    assert ledger.tierOf(alice) == NONE
    assert not membership_badge.hasBadge(alice)
    status = _status(lens, alice)
    assert (status["spendCents"], status["orders"], status["engagements"]) == (60_000, 3, 1)

    tx = earn(signer_a, alice, "review")

    assert events.one(tx, "TierUpgraded") == {
        "member": alice,
        "previousTier": NONE,
        "newTier": SILVER,
        "brand": brand_a,
        "giftPoints": GIFT[SILVER],
    }
    assert events.one(tx, "PointsEarned")["points"] == 5  # the gift is not part of the earn
    assert events.one(tx, "Transfer", ledger)["amount"] == 5 + GIFT[SILVER]
    assert ledger.balanceOf(alice, brand_a) == 6_000 + 10 + GIFT[SILVER]
    assert ledger.tierOf(alice) == SILVER


def test_upgrade_mints_the_soulbound_membership_badge(
    ledger, membership_badge, earn, signer_a, alice, q0, events
):
    tx = earn.batch(signer_a, _silver_ops(earn, alice))

    token = membership_badge.tokenIdOf(alice)
    assert events.one(tx, "TierBadgeUpdated") == {
        "member": alice,
        "tokenId": token,
        "previousTier": NONE,
        "newTier": SILVER,
    }
    assert events.one(tx, "Transfer", membership_badge) == {
        "from": ZERO_ADDRESS,
        "to": alice,
        "tokenId": token,
    }
    assert membership_badge.ownerOf(token) == alice
    assert membership_badge.hasBadge(alice)
    assert membership_badge.badgeTierOf(alice) == SILVER
    assert membership_badge.locked(token)


@pytest.mark.parametrize(
    "missing, purchases, engagements",
    [
        ("spend", [10_000] * 3, 2),  # 300 USD of 500
        ("orders", [30_000] * 2, 2),  # 2 orders of 3
        ("engagement", [20_000] * 3, 1),  # 1 engagement of 2
    ],
)
def test_no_upgrade_while_any_threshold_is_short(
    ledger, membership_badge, earn, signer_a, alice, q0, missing, purchases, engagements
):
    ops = [earn.op(alice, cents=c) for c in purchases] + [
        earn.op(alice, "event") for _ in range(engagements)
    ]
    tx = earn.batch(signer_a, ops)

    assert "TierUpgraded" not in tx.events
    assert ledger.tierOf(alice) == NONE
    assert not membership_badge.hasBadge(alice)


def test_thresholds_count_activity_across_every_brand(
    ledger, earn, signer_a, signer_b, signer_c, alice, brand_a, brand_b, brand_c, q0, events
):
    earn(signer_a, alice, cents=20_000)
    earn(signer_b, alice, cents=20_000)
    earn(signer_c, alice, cents=20_000)
    earn(signer_a, alice, "review")
    tx = earn(signer_b, alice, "share")  # the second engagement completes Silver at brand B

    upgrade = events.one(tx, "TierUpgraded")
    assert (upgrade["newTier"], upgrade["brand"]) == (SILVER, brand_b)
    # the gift (500 points of the reference value: 5 USD) is paid by the three brands in
    # proportion to the value each issued to alice this quarter (A 2,005 x 0.01, B 4,004 x 0.005,
    # C 2,000 x 0.01 USD), each its part of the value in its own points at its own value: A and
    # C 167 points (1.67 USD, rounded up), B (whose operation completed it) the 1.66 USD left,
    # 332 of its half-cent points. It paid 166 points, 0.83 USD, while A and C paid 1.67 (a
    # hostile review of 2026-12-07: equal parts, unequal value)
    paid = {e["brand"]: e["points"] for e in events.all(tx, "TierGiftPaid")}
    assert paid == {brand_a: 167, brand_c: 167, brand_b: 332}
    assert ledger.balanceOf(alice, brand_b) == 4_000 + 4 + paid[brand_b]
    assert ledger.balanceOf(alice, brand_a) == 2_005 + 167
    assert ledger.balanceOf(alice, brand_c) == 2_000 + 167


def test_activity_of_a_past_quarter_does_not_count_toward_this_one(
    ledger, lens, earn, signer_a, alice, clock, q0
):
    clock.travel_to_month(3 * q0 + 2, day=27)  # the quarter's last month
    earn.batch(
        signer_a, [earn.op(alice, cents=20_000) for _ in range(3)] + [earn.op(alice, "review")]
    )
    clock.travel_to_quarter(q0 + 1, day=0)

    tx = earn(signer_a, alice, "review")

    assert "TierUpgraded" not in tx.events
    assert ledger.tierOf(alice) == NONE
    status = _status(lens, alice)
    assert (status["quarter"], status["spendCents"], status["orders"], status["engagements"]) == (
        q0 + 1,
        0,
        0,
        1,
    )


def test_upgrade_to_a_higher_tier_updates_the_badge_in_place(
    ledger, membership_badge, earn, signer_a, alice, brand_a, q0, events
):
    earn.batch(signer_a, _silver_ops(earn, alice))
    ops = [earn.op(alice, cents=20_000) for _ in range(7)] + [
        earn.op(alice, "share") for _ in range(4)
    ]

    tx = earn.batch(signer_a, ops)

    upgrade = events.one(tx, "TierUpgraded")
    assert (upgrade["previousTier"], upgrade["newTier"], upgrade["giftPoints"]) == (
        SILVER,
        GOLD,
        GIFT[GOLD],
    )
    token = membership_badge.tokenIdOf(alice)
    assert events.one(tx, "TierBadgeUpdated") == {
        "member": alice,
        "tokenId": token,
        "previousTier": SILVER,
        "newTier": GOLD,
    }
    assert events.one(tx, "MetadataUpdate") == {"_tokenId": token}
    assert events.all(tx, "Transfer", membership_badge) == []  # updated in place, not re-minted
    assert membership_badge.balanceOf(alice) == 1
    assert membership_badge.badgeTierOf(alice) == GOLD
    assert ledger.tierOf(alice) == GOLD
    assert ledger.balanceOf(alice, brand_a) == 20_000 + 10 + 12 + GIFT[SILVER] + GIFT[GOLD]


def test_crossing_several_tiers_at_once_pays_each_tiers_gift(
    ledger, membership_badge, earn, signer_a, alice, brand_a, q0, events
):
    warmup = [earn.op(alice, cents=1_000) for _ in range(9)] + [
        earn.op(alice, "review") for _ in range(6)
    ]
    earn.batch(signer_a, warmup)  # 90 USD, 9 orders, 6 engagements: no tier yet
    assert ledger.tierOf(alice) == NONE

    tx = earn(signer_a, alice, cents=200_000)  # spend 2,090 USD, 10 orders: Gold at once

    upgrade = events.one(tx, "TierUpgraded")
    assert (upgrade["previousTier"], upgrade["newTier"], upgrade["giftPoints"]) == (
        NONE,
        GOLD,
        GIFT[SILVER] + GIFT[GOLD],  # each tier reached gives its own gift
    )
    assert membership_badge.badgeTierOf(alice) == GOLD


# --------------------------------------------------------------------------------------- review


def test_review_of_a_member_without_a_tier_retains_no_tier(
    ledger, relayer, carol, clock, q0, events
):
    tx = ledger.reviewTier(carol, {"from": relayer})
    assert _review_events(events, tx) == {
        "TierRetained": [{"member": carol, "tier": NONE, "quarter": q0 - 1}]
    }


@pytest.mark.parametrize("active_this_quarter", [False, True])
def test_review_retains_a_member_who_met_its_tier_last_quarter(
    ledger, lens, earn, signer_a, relayer, alice, clock, q0, active_this_quarter, events
):
    earn.batch(signer_a, _silver_ops(earn, alice))
    clock.travel_to_quarter(q0 + 1, day=3)
    if active_this_quarter:  # the quarter's first earn applies the due review itself
        tx = earn(signer_a, alice, "review")
    else:
        tx = ledger.reviewTier(alice, {"from": relayer})  # anyone may trigger a review

    assert _review_events(events, tx) == {
        "TierRetained": [{"member": alice, "tier": SILVER, "quarter": q0}]
    }
    assert ledger.tierOf(alice) == SILVER
    assert _status(lens, alice)["reviewedQuarter"] == q0 + 1


def test_review_happens_once_per_quarter(ledger, earn, signer_a, relayer, alice, clock, q0, errors):
    earn.batch(signer_a, _silver_ops(earn, alice))
    clock.travel_to_quarter(q0 + 1, day=3)
    ledger.reviewTier(alice, {"from": relayer})

    clock.travel_to_month(3 * (q0 + 1) + 2, day=20)  # still the same quarter
    with errors.expect(ledger, "TierAlreadyReviewed", alice, q0 + 1):
        ledger.reviewTier(alice, {"from": alice})

    clock.travel_to_quarter(q0 + 2, day=0)
    ledger.reviewTier(alice, {"from": relayer})


def test_member_short_of_its_tier_is_warned_and_keeps_the_tier_through_grace(
    ledger, lens, membership_badge, earn, signer_a, relayer, alice, clock, q0, events
):
    earn.batch(signer_a, _silver_ops(earn, alice))
    clock.travel_to_quarter(q0 + 2, month_in_quarter=1)  # quarter q0 + 1 had no activity

    tx = ledger.reviewTier(alice, {"from": relayer})

    # each quarter start since the last review, in order: q0 met Silver, q0 + 1 fell short
    grace = 3 * (q0 + 3)  # the whole of q0 + 2, whatever the day of the review
    assert _review_events(events, tx) == {
        "TierRetained": [{"member": alice, "tier": SILVER, "quarter": q0}],
        "TierDowngradeWarned": [{"member": alice, "tier": SILVER, "graceUntilMonth": grace}],
    }
    assert ledger.tierOf(alice) == SILVER
    assert membership_badge.badgeTierOf(alice) == SILVER
    assert _status(lens, alice)["graceUntilMonth"] == grace


@pytest.mark.parametrize("warned_on", ["first second", "last second"])
def test_grace_is_the_whole_next_quarter_whenever_the_warning_was_given(
    ledger, lens, earn, signer_a, relayer, alice, clock, q0, warned_on, events, errors
):
    """Issue 10, reproduction 6: grace was 3 months from the month of the review call, so a
    review late in the quarter pushed a due downgrade back. By the calendar: short in q0 + 1,
    the member keeps Silver through q0 + 2 and drops at the first second of q0 + 3."""
    earn.batch(signer_a, _silver_ops(earn, alice))
    start, end = clock.month_start(3 * (q0 + 2)), clock.month_start(3 * (q0 + 3))
    clock.next_block_at(start if warned_on == "first second" else end - 1)
    ledger.reviewTier(alice, {"from": relayer})  # warned
    assert _status(lens, alice)["graceUntilMonth"] == 3 * (q0 + 3)
    if warned_on == "first second":
        clock.next_block_at(end - 1)  # a second review within q0 + 2 changes nothing
        with errors.expect(ledger, "TierAlreadyReviewed", alice, q0 + 2):
            ledger.reviewTier(alice, {"from": relayer})

    clock.next_block_at(end)
    tx = ledger.reviewTier(alice, {"from": relayer})

    assert _review_events(events, tx) == {
        "TierDowngraded": [{"member": alice, "previousTier": SILVER, "newTier": NONE}]
    }


def test_a_member_never_reviewed_drops_step_by_step_as_the_calendar_says(
    ledger, lens, membership_badge, earn, signer_a, relayer, alice, clock, q0, events
):
    """Issue 10, reproduction 8: a Diamond member inactive for six quarters stayed Diamond.
    One late review applies every quarter start: q0 met, then warn / drop pairs."""
    earn.batch(signer_a, [earn.op(alice, cents=40_000) for _ in range(25)])
    earn.batch(signer_a, [earn.op(alice, "review") for _ in range(15)])
    assert ledger.tierOf(alice) == DIAMOND
    clock.travel_to_quarter(q0 + 7)

    tx = ledger.reviewTier(alice, {"from": relayer})

    warned = [e["graceUntilMonth"] for e in events.all(tx, "TierDowngradeWarned")]
    dropped = [(e["previousTier"], e["newTier"]) for e in events.all(tx, "TierDowngraded")]
    assert events.all(tx, "TierRetained") == [{"member": alice, "tier": DIAMOND, "quarter": q0}]
    assert warned == [3 * (q0 + 3), 3 * (q0 + 5), 3 * (q0 + 7)]
    assert dropped == [(DIAMOND, GOLD), (GOLD, SILVER), (SILVER, NONE)]
    assert ledger.tierOf(alice) == NONE
    assert membership_badge.badgeTierOf(alice) == NONE
    assert _status(lens, alice)["reviewedQuarter"] == q0 + 7


def test_batch_review_skips_members_already_reviewed_and_reviews_the_others(
    ledger, earn, signer_a, relayer, alice, bob, carol, clock, q0, events
):
    earn.batch(signer_a, _silver_ops(earn, alice) + _silver_ops(earn, bob))
    clock.travel_to_quarter(q0 + 2)
    ledger.reviewTier(bob, {"from": relayer})

    tx = ledger.reviewTiers([alice, bob, carol], {"from": relayer})

    assert events.all(tx, "TierReviewSkipped") == [{"member": bob, "quarter": q0 + 2}]
    assert [e["member"] for e in events.all(tx, "TierDowngradeWarned")] == [alice]
    retained = [(e["member"], e["tier"]) for e in events.all(tx, "TierRetained")]
    assert retained == [(alice, SILVER), (carol, NONE)]


def test_review_after_grace_drops_the_tier_one_step_at_a_time(
    ledger, lens, membership_badge, earn, signer_a, relayer, alice, clock, q0, events
):
    earn.batch(signer_a, _gold_ops(earn, alice))
    assert ledger.tierOf(alice) == GOLD
    clock.travel_to_quarter(q0 + 2)
    ledger.reviewTier(alice, {"from": relayer})  # warned: grace until the first month of q0 + 3
    assert _status(lens, alice)["graceUntilMonth"] == 3 * (q0 + 3)

    clock.next_block_at(clock.month_start(3 * (q0 + 3)))  # the first second after grace
    tx = ledger.reviewTier(alice, {"from": relayer})
    assert tx.timestamp == clock.month_start(3 * (q0 + 3))

    assert _review_events(events, tx) == {
        "TierDowngraded": [{"member": alice, "previousTier": GOLD, "newTier": SILVER}]
    }
    assert events.one(tx, "TierBadgeUpdated")["newTier"] == SILVER
    assert ledger.tierOf(alice) == SILVER
    assert membership_badge.badgeTierOf(alice) == SILVER
    assert _status(lens, alice)["graceUntilMonth"] == 0

    # still inactive: warned again, then down to no tier after another grace
    clock.travel_to_quarter(q0 + 4)
    warned = ledger.reviewTier(alice, {"from": relayer})
    assert "TierDowngradeWarned" in warned.events and ledger.tierOf(alice) == SILVER
    clock.travel_to_quarter(q0 + 5)
    tx = ledger.reviewTier(alice, {"from": relayer})
    assert _review_events(events, tx) == {
        "TierDowngraded": [{"member": alice, "previousTier": SILVER, "newTier": NONE}]
    }
    assert membership_badge.badgeTierOf(alice) == NONE
    assert membership_badge.hasBadge(alice)  # the badge stays, showing no tier


def test_meeting_the_tier_during_grace_clears_the_grace(
    ledger, lens, earn, signer_a, relayer, alice, clock, q0, events
):
    earn.batch(signer_a, _silver_ops(earn, alice))
    clock.travel_to_quarter(q0 + 2)
    ledger.reviewTier(alice, {"from": relayer})
    assert _status(lens, alice)["graceUntilMonth"] != 0

    tx = earn.batch(signer_a, _silver_ops(earn, alice))  # Silver's thresholds met in q0 + 2

    assert _status(lens, alice)["graceUntilMonth"] == 0
    # said once, by the operation that met them (a trial: nothing told the index or the brands
    # that the grace had ended, and the member showed in grace until the next review)
    assert events.all(tx, "TierRetained") == [{"member": alice, "tier": SILVER, "quarter": q0 + 2}]
    again = earn.batch(signer_a, _silver_ops(earn, alice))
    assert events.all(again, "TierRetained") == []
    clock.travel_to_quarter(q0 + 3)
    tx = ledger.reviewTier(alice, {"from": relayer})
    assert _review_events(events, tx) == {
        "TierRetained": [{"member": alice, "tier": SILVER, "quarter": q0 + 2}]
    }
    assert ledger.tierOf(alice) == SILVER


def test_meeting_only_a_lower_tier_during_grace_keeps_the_grace(
    ledger, lens, earn, signer_a, relayer, alice, clock, q0, events
):
    earn.batch(signer_a, _gold_ops(earn, alice))
    clock.travel_to_quarter(q0 + 2)
    ledger.reviewTier(alice, {"from": relayer})
    grace = _status(lens, alice)["graceUntilMonth"]

    tx = earn.batch(signer_a, _silver_ops(earn, alice))  # Silver, not Gold

    assert _status(lens, alice)["graceUntilMonth"] == grace
    assert events.all(tx, "TierRetained") == []
    clock.travel_to_quarter(q0 + 3)
    tx = ledger.reviewTier(alice, {"from": relayer})
    assert _review_events(events, tx) == {
        "TierDowngraded": [{"member": alice, "previousTier": GOLD, "newTier": SILVER}]
    }


def test_review_in_the_quarter_of_the_upgrade_does_not_warn(
    ledger, lens, earn, signer_a, relayer, alice, clock, q0, events
):
    """A member who reached Silver this quarter has not fallen short of it: a review before the
    quarter ends must not start a downgrade grace period (anyone may call reviewTier)."""
    earn.batch(signer_a, _silver_ops(earn, alice))

    tx = ledger.reviewTiers([alice], {"from": relayer})  # the quarter's first earn reviewed it

    assert "TierDowngradeWarned" not in tx.events
    assert events.one(tx, "TierReviewSkipped") == {"member": alice, "quarter": q0}
    assert _status(lens, alice)["graceUntilMonth"] == 0


def test_a_review_in_the_upgrade_quarter_does_not_cut_a_later_shortfalls_grace(
    ledger, earn, signer_a, relayer, alice, clock, q0, events
):
    """A member who reached Silver in q0 and then fell short in q0 + 1 is owed a warning and
    3 months of grace at the review of q0 + 1, whoever reviewed it earlier."""
    earn.batch(signer_a, _silver_ops(earn, alice))
    ledger.reviewTiers([alice], {"from": relayer})  # in q0, right after the upgrade
    clock.travel_to_quarter(q0 + 2)  # nobody reviewed in q0 + 1; q0 + 1 had no activity

    tx = ledger.reviewTier(alice, {"from": relayer})

    assert "TierDowngraded" not in tx.events
    assert "TierDowngradeWarned" in tx.events
    assert ledger.tierOf(alice) == SILVER


# ------------------------------------------------------------------------------------- rules


def test_tier_rule_change_is_recorded_and_applies_to_the_next_earn(
    ledger, lens, admin, earn, signer_a, alice, q0, events
):
    tx = ledger.setTierRule(SILVER, (10_000, 1, 0), 50, {"from": admin})

    ev = events.one(tx, "TierRuleChanged")
    assert (ev["tier"], tuple(ev["rule"]), ev["giftPoints"]) == (SILVER, (10_000, 1, 0), 50)
    rule, gift = lens.tierRule(SILVER)
    assert (tuple(rule), gift) == ((10_000, 1, 0), 50)
    upgrade = events.one(earn(signer_a, alice, cents=10_000), "TierUpgraded")
    assert (upgrade["newTier"], upgrade["giftPoints"]) == (SILVER, 50)


@pytest.mark.parametrize("tier", [0, 4, 255])
def test_tier_outside_one_to_three_is_invalid(ledger, lens, admin, tier, errors):
    with errors.expect(ledger, "TierInvalid", tier):
        ledger.setTierRule(tier, (1, 1, 1), 0, {"from": admin})
    with errors.expect(lens, "TierInvalid", tier):
        lens.tierRule(tier)


@pytest.mark.parametrize(
    "tier, rule",
    [
        (SILVER, (300_000, 3, 2)),  # more spend than Gold asks
        (GOLD, (200_000, 2, 6)),  # fewer orders than Silver asks
        (GOLD, (200_000, 10, 20)),  # more engagement than Diamond asks
        (DIAMOND, (100_000, 25, 15)),  # less spend than Gold asks
    ],
)
def test_tier_rules_must_ascend_from_silver_to_diamond(ledger, admin, tier, rule, errors):
    with errors.expect(ledger, "TierRuleNotAscending", tier):
        ledger.setTierRule(tier, rule, 0, {"from": admin})


def test_tier_gift_is_bounded(ledger, lens, admin, errors):
    """At most 10**9 points (since 2026-12-05; 10**12 before, when three gifts of one operation
    passed the tier-gift lock's 40 bits and were paid live)."""
    with errors.expect(ledger, "LedgerInvalidAmount", 10**9 + 1):
        ledger.setTierRule(SILVER, (50_000, 3, 2), 10**9 + 1, {"from": admin})
    ledger.setTierRule(SILVER, (50_000, 3, 2), 10**9, {"from": admin})
    assert lens.tierRule(SILVER)[1] == 10**9


# ------------------------------------------------------------------------- rule edge cases


@pytest.fixture
def bare_ledger(MembershipBadge, AllianceLedger, admin, charity, signer_a):
    """A ledger with no tier rules yet and brand A's reference rule, wired to its own badge."""
    tx = {"from": admin}
    badge = MembershipBadge.deploy(admin, ZERO_ADDRESS, tx)
    ledger = AllianceLedger.deploy(admin, badge, charity, tx)
    badge.grantRole(badge.LEDGER_ROLE(), ledger, tx)
    ledger.onboardBrand(signer_a, 10_000, (10, 5, 3, 5, 20), "Brand A Points", "APT", tx)
    ledger.setDailyMintCap(1, 2**112 - 1, tx)
    return ledger


@pytest.fixture
def bare_lens(AllianceLedgerLens, bare_ledger, admin):
    return AllianceLedgerLens.deploy(bare_ledger, {"from": admin})


def test_an_unconfigured_middle_tier_is_never_reached_and_the_highest_met_tier_wins(
    bare_ledger, admin, earn, signer_a, alice, q0, events
):
    # Diamond set before Silver, Gold left unset: nothing ties Silver below Diamond, so
    # Silver (10 USD, 1 order) is met before Diamond (1 USD, 3 orders).
    bare_ledger.setTierRule(DIAMOND, (100, 3, 0), 30, {"from": admin})
    bare_ledger.setTierRule(SILVER, (1_000, 1, 0), 10, {"from": admin})
    ops = [earn.op(alice, cents=1_000) for _ in range(3)]

    tx = bare_ledger.earnBatch(ops, {"from": signer_a})

    upgrades = [(e["previousTier"], e["newTier"]) for e in events.all(tx, "TierUpgraded")]
    assert upgrades == [(NONE, SILVER), (SILVER, DIAMOND)]
    assert bare_ledger.tierOf(alice) == DIAMOND


def test_spend_saturates_at_its_48_bit_counter_and_still_meets_the_largest_threshold(
    bare_ledger, bare_lens, admin, earn, signer_a, alice, q0, events
):
    spend_max = 2**48 - 1
    bare_ledger.setTierRule(SILVER, (spend_max, 1, 0), 0, {"from": admin})
    # Live purchases: a pending position holds at most 2**28 - 1 points (none of these), and the
    # counter, not the position, is what this test is about (test_batch.py tests the position).
    bare_ledger.setReturnWindow(1, 0, {"from": admin})
    purchases = spend_max // 10**12  # 281 purchases of MAX_AMOUNT stay short of the maximum
    tx = bare_ledger.earnBatch(
        [earn.op(alice, cents=10**12) for _ in range(purchases)], {"from": signer_a}
    )
    assert "TierUpgraded" not in tx.events
    assert bare_lens.memberStatus(alice).dict()["spendCents"] == purchases * 10**12

    tx = bare_ledger.earn(earn.op(alice, cents=10**12), {"from": signer_a})

    assert events.one(tx, "TierUpgraded")["newTier"] == SILVER
    assert bare_lens.memberStatus(alice).dict()["spendCents"] == spend_max
