"""The payload of an accepted operation, one typed model per operation kind.

Stored as JSON in `operations.payload` (the keys below are the stored keys; keep them
compatible or add a migration). Read it back with `payload_of(kind, stored)`; write it
with `payload.stored()`. Brand ids: `brand` / `at_brand` are the ledger's
(`LedgerBrandId`), `brand_row_id` the gateway's database row (`BrandRowId`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger_api.domain import ADMIN_KINDS, OpKind
from ledger_api.domain.ids import BrandRowId, LedgerBrandId


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def stored(self) -> dict[str, Any]:
        """The JSON stored in `operations.payload`."""
        return self.model_dump(mode="json")


class EarnPayload(_Payload):
    member: str
    earn_kind: int
    multiplier_pct: int
    amount_cents: int
    order_ref: str
    # the campaign rules that set `multiplier_pct` and why (issue 16; `domain.campaigns`)
    campaign: dict[str, Any] | None = None

    def stored(self) -> dict[str, Any]:
        stored = super().stored()
        if stored["campaign"] is None:
            del stored["campaign"]  # an earn without campaign rules is stored as before
        return stored


class ReversalPayload(_Payload):
    """A reversal of a returned order's pending points (`reverse(ReverseOp)`, issue 11).

    `earn_uid` names the operation that credited the order; `release_day` the day its
    `PointsEarned` said its points are released on (UTC days since the epoch) and `earn_month`
    the month it was earned in (months since 1970-01, UTC): the ledger takes the points from
    that month's pending position with the smallest day on or after it, where a merge of
    positions may have moved them (`PendingPointsMoved`); `quarter` the quarter the purchase
    counted in;
    `points`, `amount_cents` (the order's cents it returns) and `spend_cents` (its share of
    what the purchase counted toward tiers, taken off the member's counters) are filled in
    when the reversal is accepted."""

    member: str
    earn_uid: str
    order_ref: str
    release_day: int
    earn_month: int
    quarter: int
    points: int = 0
    amount_cents: int = 0
    spend_cents: int = 0
    closes_order: bool = False


class GiftPayload(_Payload):
    """A gift, or a donation (a gift to the charity pool)."""

    member: str
    to: str
    brand: LedgerBrandId
    amount: int
    nonce: int
    deadline: int
    signature: str


class RedemptionPayload(_Payload):
    member: str
    brand: LedgerBrandId
    at_brand: LedgerBrandId
    amount: int
    order_ref: str
    nonce: int
    deadline: int
    signature: str


class TierReviewPayload(_Payload):
    member: str


class TierReviewsPayload(_Payload):
    """A batch of the gateway's quarterly round (`background.reviews`)."""

    quarter: int  # quarters since January 1970, the round's
    members: list[str]


class BadgeDefinePayload(_Payload):
    kind: int  # 0 achievement, 1 collectible
    max_supply: int
    min_tier: int
    has_benefit: bool
    self_mint: bool
    uri: str


class BadgeIssuePayload(_Payload):
    type_id: int
    member: str
    amount: int


class BadgeRedeemPayload(_Payload):
    holder: str
    type_id: int
    claim_ref: str
    nonce: int
    deadline: int
    signature: str


class PollOpenPayload(_Payload):
    content_hash: str
    option_count: int
    starts_at: int
    ends_at: int
    eligibility: int  # 0 min tier, 1 badge
    eligibility_ref: int


class PollVotePayload(_Payload):
    voter: str
    poll_id: int
    option: int
    deadline: int
    signature: str


class AuctionCreatePayload(_Payload):
    badge_type: int
    units: int
    min_tier: int
    reserve: int  # the auctioning brand's points
    increment: int
    starts_at: int
    ends_at: int
    extension: int  # seconds


class AuctionBidPayload(_Payload):
    """A ledger Gift the member signed to its escrow for the auction (`to`)."""

    auction_id: int
    member: str
    to: str
    brand: LedgerBrandId
    amount: int
    nonce: int
    deadline: int
    signature: str


class AuctionSettlePayload(_Payload):
    auction_id: int
    bidder: str


class AuctionCancelPayload(_Payload):
    """`cancel(auctionId, bidder)`: a winning bid not settled within the grace goes back."""

    auction_id: int
    bidder: str


class AuctionReclaimPayload(_Payload):
    """`reclaim(auctionId, bidder, brand)`: the escrow's `brand` points beyond its held bid."""

    auction_id: int
    bidder: str
    brand: LedgerBrandId


class AuctionIssueWonPayload(_Payload):
    """`issueWon(auctionId, bidder)`: the badge a winner's wallet refused at the settlement
    (its bid `Unissued`, its unit reserved), issued again."""

    auction_id: int
    bidder: str


class AuctionRedeemPayload(_Payload):
    """The auctioning brand's consent to a winning bid in another brand's points: the ledger's
    `redeemWithSig` for the bidder's escrow (its ERC-1271 approval, escrow nonce 0)."""

    auction_id: int
    bidder: str
    escrow: str
    brand: int
    at_brand: int
    amount: int
    order_ref: str
    deadline: int


class EnterpriseBindPayload(_Payload):
    enterprise: str
    employee: str
    deadline: int
    enterprise_nonce: int
    enterprise_signature: str
    employee_nonce: int
    employee_signature: str


class EnterpriseUnbindPayload(_Payload):
    enterprise: str
    employee: str
    nonce: int
    deadline: int
    signature: str


class EnterpriseLeavePayload(_Payload):
    employee: str
    nonce: int
    deadline: int
    signature: str


class TokenMintPayload(_Payload):
    """The test token's open `mint` (development chains only)."""

    token: str
    to: str
    amount: str  # token units, decimal string


class TokenApprovePayload(_Payload):
    token: str
    spender: str
    amount: str  # token units, decimal string


class SettlementDepositPayload(_Payload):
    brand: LedgerBrandId
    amount: str  # token units, decimal string


class SettlePayload(_Payload):
    debtor: LedgerBrandId
    creditor: LedgerBrandId


class FundSignerPayload(_Payload):
    address: str
    value_wei: str  # decimal string: JSON numbers lose precision above 2**53


class OnboardBrandPayload(_Payload):
    brand_row_id: BrandRowId
    signer: str
    value_micro_usd: int
    rule: tuple[int, int, int, int, int]
    name: str
    symbol: str
    # the cap `setDailyMintCap` sets once onboarded (None: the chain's default)
    daily_cap_points: int | None = None


class SuspendBrandPayload(_Payload):
    brand: LedgerBrandId
    suspended: bool
    brand_row_id: BrandRowId


class PointValuePayload(_Payload):
    brand: LedgerBrandId
    value_micro_usd: int
    brand_row_id: BrandRowId


class ReturnWindowPayload(_Payload):
    brand: LedgerBrandId
    days: int


class DailyCapPayload(_Payload):
    brand: LedgerBrandId
    daily_cap_points: int
    brand_row_id: BrandRowId


class MaxMultiplierPayload(_Payload):
    """`setMaxMultiplier`: the highest multiplier (percent) the chain accepts in an earn."""

    max_multiplier_pct: int


class OrderFloorPayload(_Payload):
    """`setOrderFloor`: a purchase counts as an order toward the tiers from this many whole
    USD of counted spend (0: every purchase)."""

    order_floor_usd: int


class PausePayload(_Payload):
    """`pause()` (true) or `unpause()` (false): the alliance's one pause."""

    paused: bool


class TierRulePayload(_Payload):
    tier: int
    spend_cents: int
    orders: int
    engagements: int
    gift_points: int


OperationPayload = (
    EarnPayload
    | ReversalPayload
    | GiftPayload
    | RedemptionPayload
    | TierReviewPayload
    | TierReviewsPayload
    | BadgeDefinePayload
    | BadgeIssuePayload
    | BadgeRedeemPayload
    | PollOpenPayload
    | PollVotePayload
    | AuctionCreatePayload
    | AuctionBidPayload
    | AuctionSettlePayload
    | AuctionRedeemPayload
    | AuctionCancelPayload
    | AuctionReclaimPayload
    | AuctionIssueWonPayload
    | EnterpriseBindPayload
    | EnterpriseUnbindPayload
    | EnterpriseLeavePayload
    | TokenMintPayload
    | TokenApprovePayload
    | SettlementDepositPayload
    | SettlePayload
    | FundSignerPayload
    | OnboardBrandPayload
    | SuspendBrandPayload
    | PointValuePayload
    | ReturnWindowPayload
    | DailyCapPayload
    | MaxMultiplierPayload
    | OrderFloorPayload
    | PausePayload
    | TierRulePayload
)

PAYLOAD_OF_KIND: dict[OpKind, type[OperationPayload]] = {
    OpKind.EARN: EarnPayload,
    OpKind.REVERSAL: ReversalPayload,
    OpKind.GIFT: GiftPayload,
    OpKind.DONATION: GiftPayload,
    OpKind.REDEMPTION: RedemptionPayload,
    OpKind.TIER_REVIEW: TierReviewPayload,
    OpKind.BADGE_DEFINE: BadgeDefinePayload,
    OpKind.BADGE_ISSUE: BadgeIssuePayload,
    OpKind.BADGE_REDEEM: BadgeRedeemPayload,
    OpKind.POLL_OPEN: PollOpenPayload,
    OpKind.POLL_VOTE: PollVotePayload,
    OpKind.AUCTION_CREATE: AuctionCreatePayload,
    OpKind.AUCTION_BID: AuctionBidPayload,
    OpKind.AUCTION_SETTLE: AuctionSettlePayload,
    OpKind.AUCTION_REDEEM: AuctionRedeemPayload,
    OpKind.AUCTION_CANCEL: AuctionCancelPayload,
    OpKind.AUCTION_RECLAIM: AuctionReclaimPayload,
    OpKind.AUCTION_ISSUE_WON: AuctionIssueWonPayload,
    OpKind.ENTERPRISE_BIND: EnterpriseBindPayload,
    OpKind.ENTERPRISE_UNBIND: EnterpriseUnbindPayload,
    OpKind.ENTERPRISE_LEAVE: EnterpriseLeavePayload,
    OpKind.TOKEN_MINT: TokenMintPayload,
    OpKind.TOKEN_APPROVE: TokenApprovePayload,
    OpKind.SETTLEMENT_DEPOSIT: SettlementDepositPayload,
    OpKind.SETTLE: SettlePayload,
    OpKind.FUND_SIGNER: FundSignerPayload,
    OpKind.ONBOARD_BRAND: OnboardBrandPayload,
    OpKind.SUSPEND_BRAND: SuspendBrandPayload,
    OpKind.SET_POINT_VALUE: PointValuePayload,
    OpKind.SET_TIER_RULE: TierRulePayload,
    OpKind.SET_RETURN_WINDOW: ReturnWindowPayload,
    OpKind.SET_DAILY_CAP: DailyCapPayload,
    OpKind.SET_MAX_MULTIPLIER: MaxMultiplierPayload,
    OpKind.SET_ORDER_FLOOR: OrderFloorPayload,
    OpKind.SET_PAUSE: PausePayload,
    OpKind.TIER_REVIEW_BATCH: TierReviewsPayload,
}


def payload_of(kind: str | OpKind, stored: dict[str, Any]) -> OperationPayload:
    """The typed payload of a stored operation of `kind`."""
    return PAYLOAD_OF_KIND[OpKind(kind)].model_validate(stored)


#: admin operations whose payload names the one ledger brand they act on (`brand`). They are
#: queued on the admin's queue (`operations.brand_id` NULL: the sender's queues depend on it),
#: so their brand comes from the payload: `concerned_brand`, and in SQL `runtime.SHOWN_BRAND`
BRAND_ADMIN_KINDS = frozenset(
    kind for kind in ADMIN_KINDS if "brand" in PAYLOAD_OF_KIND[kind].model_fields
)


def concerned_brand(
    kind: str, payload: Mapping[str, Any], result: Mapping[str, Any] | None
) -> LedgerBrandId | None:
    """The ledger brand an admin operation acts on, which its status and events show as
    `brand_id`: the payload's `brand` (`BRAND_ADMIN_KINDS`), or an onboarding's new brand once
    confirmed (its `result`); None for the alliance's own acts and every other kind."""
    if kind in BRAND_ADMIN_KINDS:
        return LedgerBrandId(int(payload["brand"]))
    if kind == OpKind.ONBOARD_BRAND and result and result.get("brand_id") is not None:
        return LedgerBrandId(int(result["brand_id"]))
    return None
