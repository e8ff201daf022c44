"""Tier gifts at two edges an earlier review suspected, each shown to hold (a review of
2026-12-06).

1. Tier rules lowered mid-quarter: an upgrade fired by an operation that does not count toward
   the tier (its brand's bit stays out of the member word's `brands` filter) leaves no locked
   gift share that a later reversal cannot cancel: only brands with their bit pay a share.
2. A quarterly downgrade applied by an earn's catch-up, then a re-upgrade by the same earn: the
   gift it pays is exactly what the two-step path (reviewTier, then the earn) pays, a new reach
   in a new quarter (DOMAIN.md "Tiers": each tier reached gives its own gift pack).

Brands (tests/contracts/conftest.py): A 10 points/USD, 5 a review, live at once; B 20/USD, 8 a
review; C as A, given a 14-day return window here. DEFAULT_TIER_RULES: Silver 500 USD, 3 orders,
2 engagements (500 points); Gold 2,000 USD, 10 orders, 6 engagements (2,000 points).
"""

import time

from brownie import web3
from eth_abi import encode
from eth_utils import keccak

from scripts.deployment import DEFAULT_TIER_RULES

DAY = 86_400


def _month_of(timestamp):
    """Months since January 1970 (``Calendar.monthOf``)."""
    return (time.gmtime(timestamp).tm_year - 1970) * 12 + time.gmtime(timestamp).tm_mon - 1


SILVER, GOLD = 1, 2
SILVER_GIFT, GOLD_GIFT = DEFAULT_TIER_RULES[1][3], DEFAULT_TIER_RULES[2][3]
MEMBERS_SLOT = 16  # contracts/libraries/LedgerState.sol
BRANDS_OFFSET, MASK_63 = 193, (1 << 63) - 1  # contracts/types/MemberWord.sol


def _brand_bits(ledger, member):
    """The `brands` filter of the member's word, read from the ledger's storage."""
    slot = keccak(encode(["address", "uint256"], [member.address, MEMBERS_SLOT]))
    word = int.from_bytes(web3.eth.get_storage_at(ledger.address, slot), "big")
    return (word >> BRANDS_OFFSET) & MASK_63


def _paid(events, tx):
    return {e["brand"]: (e["points"], e["releaseAt"]) for e in events.all(tx, "TierGiftPaid")}


def _cancelled(events, tx):
    return [(e["brand"], e["points"], e["releaseAt"]) for e in events.all(tx, "TierGiftCancelled")]


# ------------------------------------------------------------------- 1. rules lowered mid-quarter


def test_an_upgrade_fired_by_a_non_counting_operation_after_lowered_rules_stays_cancellable(
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
    pending_c,
    quarter,
    events,
    to_plain,
):
    """Silver is raised to 4 orders; alice's quarter reaches 3 (A: 2 live orders, 2 reviews; C: a
    1 USD pending purchase). The admin lowers Silver back to 3 orders, and B's half-multiplier
    review (4 points < B's 8: it counts toward nothing, so B's bit stays unset) fires the upgrade.
    B pays nothing: its part is 0, the other brands' ceil shares cover the whole gift. A pays it,
    locked behind C's purchase, and C's return cancels it: no share escapes the filter."""
    ledger.setTierRule(SILVER, (50_000, 4, 2), SILVER_GIFT, {"from": admin})
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
    assert "TierUpgraded" not in completing.events
    release = completing.events["PointsEarned"]["releaseAt"]
    ledger.setTierRule(SILVER, (50_000, 3, 2), SILVER_GIFT, {"from": admin})  # lowered mid-quarter

    fired = earn(signer_b, alice, "review", mult=50)

    upgrade = events.one(fired, "TierUpgraded")
    assert (upgrade["newTier"], upgrade["brand"], upgrade["giftPoints"]) == (
        SILVER,
        brand_b,
        SILVER_GIFT,
    )
    assert _brand_bits(ledger, alice) == (1 << (brand_a - 1)) | (1 << (pending_c - 1))  # no B bit
    assert _paid(events, fired) == {brand_a: (SILVER_GIFT, release)}  # B pays no share
    assert ledger.balanceOf(alice, brand_b) == 4
    assert to_plain(lens.pendingOf(alice, brand_a)) == ((SILVER_GIFT, release),)

    op = (
        earn.next_op_id(),
        alice.address,
        release // DAY,
        _month_of(completing.timestamp),
        10,
        100,
        quarter,
        True,
        completing.events["PointsEarned"]["orderRef"],
    )
    returned = ledger.reverse(op, {"from": signer_c})

    assert _cancelled(events, returned) == [(brand_a, SILVER_GIFT, release)]
    assert to_plain(lens.pendingOf(alice, brand_a)) == ()


# ------------------------------------------------- 2. downgrade and re-upgrade within one earn


def _gold_ops(earn, member):
    return [earn.op(member, cents=20_000) for _ in range(10)] + [
        earn.op(member, "share") for _ in range(6)
    ]


def test_a_catch_up_downgrade_and_re_upgrade_in_one_earn_pays_what_review_then_earn_pays(
    ledger,
    lens,
    membership_badge,
    earn,
    signer_a,
    relayer,
    alice,
    bob,
    brand_a,
    clock,
    quarter,
    events,
    to_plain,
):
    """alice and bob reach Gold in quarter q (2,500 points of gifts each), then go quiet: at
    q + 3's start Gold is due to drop to Silver (q + 1 retained q, q + 2 warned, q + 3 drops).
    bob is reviewed first and earns Gold's thresholds again in a second transaction; alice only
    earns, the batch's first operation applying the same reviews. Both are downgraded once and
    upgraded once, paid Gold's 2,000 again (a new reach in a new quarter), and end in the same
    state. A further earn in q + 3 pays nothing more: a tier is reached at most once a quarter."""
    for member in (alice, bob):
        first = earn.batch(signer_a, _gold_ops(earn, member))
        gifts = [e["giftPoints"] for e in events.all(first, "TierUpgraded")]
        assert gifts == [SILVER_GIFT, GOLD_GIFT]  # Silver at the 2nd share, Gold at the 6th
    clock.travel_to_quarter(quarter + 3)

    reviewed = ledger.reviewTier(bob, {"from": relayer})
    bob_earn = earn.batch(signer_a, _gold_ops(earn, bob))
    alice_earn = earn.batch(signer_a, _gold_ops(earn, alice))

    def story(*txs):
        return [
            (name, e.get("previousTier"), e.get("newTier"), e.get("giftPoints"))
            for tx in txs
            for name in ("TierDowngradeWarned", "TierDowngraded", "TierUpgraded")
            for e in events.all(tx, name)
        ]

    two_step = story(reviewed, bob_earn)
    assert two_step == [
        ("TierDowngradeWarned", None, None, None),  # at q + 2's start, for the empty q + 1
        ("TierDowngraded", GOLD, SILVER, None),  # at q + 3's start, for the empty q + 2
        ("TierUpgraded", SILVER, GOLD, GOLD_GIFT),
    ]
    assert story(alice_earn) == two_step
    assert _paid(events, alice_earn) == _paid(events, bob_earn) == {brand_a: (GOLD_GIFT, 0)}
    assert to_plain(lens.memberStatus(alice)) == to_plain(lens.memberStatus(bob))
    assert ledger.balanceOf(alice, brand_a) == ledger.balanceOf(bob, brand_a)
    assert ledger.tierOf(alice) == ledger.tierOf(bob) == GOLD
    assert membership_badge.badgeTierOf(alice) == membership_badge.badgeTierOf(bob) == GOLD

    again = earn.batch(signer_a, _gold_ops(earn, alice))
    assert "TierUpgraded" not in again.events
