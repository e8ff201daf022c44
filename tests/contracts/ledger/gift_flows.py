"""Tier-gift flows shared by the gift tests (test_gift_reversal.py, test_gift_regain_trust.py):
brands A (live at once, 10 points/USD, 5 a review) and C (a 14-day return window, the
`pending_c` fixture); Silver 500 USD, 3 orders, 2 engagements, 500 points; Gold 2,000 USD, 10
orders, 6 engagements, 2,000 points."""

import datetime as dt

from scripts.deployment import DEFAULT_TIER_RULES

DAY = 86_400
SILVER_GIFT, GOLD_GIFT = DEFAULT_TIER_RULES[1][3], DEFAULT_TIER_RULES[2][3]


def month_of(timestamp):
    """Months since January 1970 (``Calendar.monthOf``)."""
    d = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return (d.year - 1970) * 12 + d.month - 1


def reverse_purchase(
    ledger, earn, signer, member, receipt, quarter, spend_cents, points=None, closes=True
):
    """Reverses `points` (all, by default) of the purchase `receipt` credited."""
    earned = receipt.events["PointsEarned"]
    op = (
        earn.next_op_id(),
        member.address,
        earned["releaseAt"] // DAY,
        month_of(receipt.timestamp),
        earned["points"] if points is None else points,
        spend_cents,
        quarter,
        closes,
        earned["orderRef"],
    )
    return ledger.reverse(op, {"from": signer})


def one_order_short_of_silver(earn, signer_a, member):
    """A's honest quarter: 500 USD over 2 orders and 2 reviews (5,010 points, live)."""
    earn.batch(
        signer_a,
        [
            earn.op(member, cents=25_000),
            earn.op(member, cents=25_000),
            earn.op(member, "review"),
            earn.op(member, "review"),
        ],
    )


def paid_shares(events, tx):
    """{brand: (points, releaseAt)} of the transaction's `TierGiftPaid` events."""
    return {e["brand"]: (e["points"], e["releaseAt"]) for e in events.all(tx, "TierGiftPaid")}


def cancelled_shares(events, tx):
    """[(brand, points, releaseAt)] of the transaction's `TierGiftCancelled` events."""
    return [(e["brand"], e["points"], e["releaseAt"]) for e in events.all(tx, "TierGiftCancelled")]
