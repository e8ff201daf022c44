"""Event vocabulary of the outbox and the webhooks (issue 12): types, ids, brand scopes.

An event id is derived from what caused the event (a chain log, an operation, a lot and a
reminder offset), never drawn at random: a projection replayed after a crash or a rebuild
computes the same id, and the outbox's unique id turns the replay into a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

OPERATION_CONFIRMED = "operation.confirmed"
OPERATION_FAILED = "operation.failed"
POINTS_EARNED = "points.earned"
POINTS_RELEASED = "points.released"  # pending -> live: a return window closed (from the index)
POINTS_REVERSED = "points.reversed"  # a return's reversal (the ledger's PointsReversed)
POINTS_EXPIRING = "points.expiring"
POINTS_EXPIRED = "points.expired"
TIER_UPGRADED = "tier.upgraded"
TIER_GRACE_STARTED = "tier.grace_started"
#: a member in grace kept its tier: met again during grace, or at the review (TierRetained)
TIER_GRACE_ENDED = "tier.grace_ended"
TIER_DOWNGRADED = "tier.downgraded"
#: a return took the member below a tier reached in its quarter: a brand's locked share of that
#: tier's gift is cancelled (the ledger's TierGiftCancelled)
TIER_GIFT_CANCELLED = "tier.gift_cancelled"
#: the member met again, in the same quarter, a tier whose gift such a return had cancelled (the
#: tier stood): that gift is paid again (the ledger's TierGiftRestored, then its TierGiftPaid)
TIER_GIFT_RESTORED = "tier.gift_restored"
BADGE_ISSUED = "badge.issued"
BADGE_BENEFIT_REDEEMED = "badge.benefit_redeemed"
SETTLEMENT_POSITION_CHANGED = "settlement.position_changed"
SETTLEMENT_SETTLED = "settlement.settled"
AUCTION_CREATED = "auction.created"  # AllianceAuctions' events, one type each (issue 16)
AUCTION_BID_PLACED = "auction.bid_placed"
AUCTION_OUTBID = "auction.outbid"  # the bid's points returned to its bidder
AUCTION_EXTENDED = "auction.extended"  # soft close
#: a bid counts fewer of its points than it holds (they die before the end plus the grace): at
#: its placing, or recounted by a soft close; its effective value falls with them
AUCTION_BID_RECOUNTED = "auction.bid_recounted"
AUCTION_SETTLED = "auction.settled"  # a winning bid redeemed, its badge issued (or unissued)
AUCTION_CANCELLED = "auction.cancelled"  # a winning bid not settled in the grace, returned
AUCTION_RECLAIMED = "auction.reclaimed"  # an escrow's points beyond its bid, returned
#: the winner's wallet refused its badge at the settlement (the bid is paid; its unit reserved)
AUCTION_BADGE_UNISSUED = "auction.badge_unissued"
AUCTION_BADGE_ISSUED = "auction.badge_issued"  # that badge issued later (`issueWon`)
CAMPAIGN_RULE_CHANGED = "campaign.rule_changed"  # a brand's campaign rule created/updated/deleted
REFERRAL_CREDITED = "referral.credited"  # both members' referral earns queued (issue 16)
REFERRAL_VOIDED = "referral.voided"  # the referred member's first purchase failed or was returned
WEBHOOK_TEST = "webhook.test"  # `POST /v1/webhooks/{id}/test`, to that endpoint only
#: the chain no longer has a block the index had applied (a reorg, a node restarted from an
#: older state): events of the forgotten blocks may no longer hold; the index is read again
CHAIN_REWOUND = "chain.rewound"
#: the alliance's one pause (`AllianceLedger.pause` / `unpause`): writes the chain would refuse
#: answer 409 `ledger_paused` until `ledger.unpaused`; what was accepted before waits
LEDGER_PAUSED = "ledger.paused"
LEDGER_UNPAUSED = "ledger.unpaused"

EVENT_TYPES = (
    OPERATION_CONFIRMED,
    OPERATION_FAILED,
    POINTS_EARNED,
    POINTS_RELEASED,
    POINTS_REVERSED,
    POINTS_EXPIRING,
    POINTS_EXPIRED,
    TIER_UPGRADED,
    TIER_GRACE_STARTED,
    TIER_GRACE_ENDED,
    TIER_DOWNGRADED,
    TIER_GIFT_CANCELLED,
    TIER_GIFT_RESTORED,
    BADGE_ISSUED,
    BADGE_BENEFIT_REDEEMED,
    SETTLEMENT_POSITION_CHANGED,
    SETTLEMENT_SETTLED,
    AUCTION_CREATED,
    AUCTION_BID_PLACED,
    AUCTION_OUTBID,
    AUCTION_EXTENDED,
    AUCTION_BID_RECOUNTED,
    AUCTION_SETTLED,
    AUCTION_CANCELLED,
    AUCTION_RECLAIMED,
    AUCTION_BADGE_UNISSUED,
    AUCTION_BADGE_ISSUED,
    CAMPAIGN_RULE_CHANGED,
    REFERRAL_CREDITED,
    REFERRAL_VOIDED,
    CHAIN_REWOUND,
    LEDGER_PAUSED,
    LEDGER_UNPAUSED,
)


def event_id(*cause: object) -> str:
    """`evt_` + 32 hex digits of SHA-256 over the cause's parts (type first), e.g.
    `event_id("points.earned", tx_hash, log_index)`."""
    text = "|".join(str(part) for part in cause)
    return "evt_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def scope_of(brands: Iterable[int | None]) -> str:
    """The `events.brands` column for a set of ledger brand ids: `,1,7,` (`""`: admin only)."""
    ids = sorted({int(b) for b in brands if b is not None})
    return "," + ",".join(map(str, ids)) + "," if ids else ""


def scope_pattern(brand: int) -> str:
    """The SQL LIKE pattern matching the events of one brand's scope."""
    return f"%,{int(brand)},%"


def brands_of(scope: str) -> list[int]:
    return [int(b) for b in scope.strip(",").split(",") if b]
