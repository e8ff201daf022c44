"""Request and response schemas of the auctions (AllianceAuctions, issue 16 item 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ledger_api.domain import MAX_AMOUNT
from ledger_api.model.fields import (
    BrandId,
    Deadline,
    LedgerId,
    Nonce,
    Signature,
    amount_between,
)
from ledger_api.model.schemas import Address, Amount, AsOf, Model, held_nonce_field

#: the contract's bounds (IAllianceAuctions: MAX_UNITS, MAX_WINDOW)
MAX_UNITS = 32
MAX_WINDOW_S = 90 * 86_400
#: a reserve or increment no bid could reach was taken (the contract's bound is 2^96 - 1):
#: a bid is at most `MAX_AMOUNT` points (`BidTypedDataRequest.amount`), so are they (a trial)
MAX_AUCTION_POINTS = MAX_AMOUNT
#: an auction's reserve or increment, in the auctioning brand's points (`invalid_amount`)
AuctionPoints = Annotated[int, *amount_between(1, MAX_AUCTION_POINTS, "an auction's points")]


class AuctionCreateRequest(Model):
    """An auction of the caller's brand for `units` units of one of its collectible badge types
    carrying a benefit (the right, redeemable once)."""

    badge_type: LedgerId = Field(description="a collectible type with a benefit")
    units: int = Field(
        default=1,
        strict=True,
        ge=1,
        le=MAX_UNITS,
        description="the top `units` bids win; at most what the badge's cap leaves beside the "
        "units minted and those other auctions' bids hold (on chain: `auction_invalid_units`); "
        "each unit a bid takes is reserved for its winner (`badge_supply_exceeded` when none is "
        "left)",
    )
    min_tier: int = Field(
        default=3, strict=True, ge=1, le=3, description="lowest tier at bid time (Diamond)"
    )
    reserve: AuctionPoints = Field(description="the brand's points")
    increment: AuctionPoints = Field(description="the brand's points")
    starts_at: int = Field(
        strict=True, ge=0, le=2**40 - 1, description="unix seconds (UTC), now or later"
    )
    ends_at: int = Field(
        strict=True, ge=1, le=2**40 - 1, description="unix seconds; at most 90 days after"
    )
    extension_s: int = Field(
        default=300,
        strict=True,
        ge=0,
        le=MAX_WINDOW_S,
        description="soft close: a bid in the last `extension_s` seconds moves the end to "
        "`extension_s` seconds after it",
    )


class BidTypedDataRequest(Model):
    bidder: Address
    amount: Amount = Field(description="points added to the bidder's bid now")
    brand: BrandId | None = Field(
        default=None, description="whose points are bid (default: the caller's brand)"
    )
    deadline: Deadline | None = None


class BidTypedDataResponse(Model):
    typed_data: dict[str, Any] = Field(
        description="the ledger's `Gift` of the points to the bidder's escrow for the auction"
    )
    escrow: str
    nonce: int
    deadline: int
    queued_reason: Literal["earlier_nonce_held"] | None = held_nonce_field()


class BidRequest(Model):
    """The bidder's signed ledger `Gift` of `amount` points of `brand` to its escrow."""

    bidder: Address
    amount: Amount
    brand: BrandId | None = None
    nonce: Nonce
    deadline: Deadline
    signature: Signature


class SettlementRequest(Model):
    bidder: Address


class ReclaimRequest(Model):
    """The escrow's points of `brand` beyond the bid it holds go back to `bidder`."""

    bidder: Address
    brand: BrandId


class BidView(Model):
    bidder: str
    brand_id: int = Field(description="whose points the bid is in")
    amount: str = Field(
        description="the bid's points of `brand_id` moved to its escrow, raises included "
        "(decimal; nominal: points that expire count here too)"
    )
    value_micro_usd: str = Field(
        description="the bid's nominal value (decimal micro-USD): `amount` at its brand's point "
        "value when bid, raises included"
    )
    live_points: str = Field(
        description="what the auction counts of `amount` (decimal points of `brand_id`): its "
        "points still live at the auction's end plus the 7-day settlement grace, at most "
        "`amount` (AllianceAuctions' `Bid.live`, from its `BidPlaced` and `BidRecounted` "
        "events); fewer when some expire before, and recounted when the soft close moves the end"
    )
    effective_value_micro_usd: str = Field(
        description="what the auction compares (decimal micro-USD): `value_micro_usd * "
        "live_points // amount`, rounded down (AllianceAuctions' effective value), against the "
        "reserve and the increment, and to choose the held bid a new bid outbids"
    )
    status: Literal["held", "outbid", "settled", "unissued", "cancelled"] = Field(
        description="`unissued`: won and redeemed, the winner's wallet refused the badge; its unit "
        "stays reserved until `issueWon` (then `settled`)"
    )
    updated_at: datetime


class AuctionView(Model):
    """An auction as the index knows it: its bids by effective value, the winners once it
    ended."""

    auction_id: int
    brand_id: int
    creator: str
    badge_type: int
    units: int
    min_tier: int
    reserve: str = Field(description="the auctioning brand's points (decimal)")
    increment: str
    starts_at: datetime
    ends_at: datetime = Field(description="moved by the soft close")
    extension_s: int
    status: Literal["scheduled", "open", "ended"]
    bids: list[BidView] = Field(
        description="held bids first (settled and unissued with them, then cancelled, then "
        "outbid), each group by `effective_value_micro_usd`, highest first"
    )
    winners: list[str] = Field(description="once ended: the bidders holding a unit")
    as_of: AsOf


class AuctionList(Model):
    auctions: list[AuctionView]
    as_of: AsOf
