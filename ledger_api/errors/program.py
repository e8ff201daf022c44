"""The 422s of the program's badges and polls: what a badge type or a poll does not admit.
Part of the one tree in `ledger_api.errors`, which imports them."""

from __future__ import annotations

from .base import InvalidRequest


class BadgeNoBenefit(InvalidRequest):
    code = "badge_no_benefit"
    default_message = "this badge type carries no benefit to redeem"


class BadgeNotHeld(InvalidRequest):
    code = "badge_not_held"
    default_message = "the holder owns no unredeemed unit of this badge type"


class BadgeTierTooLow(InvalidRequest):
    code = "badge_tier_too_low"  # the contract's, after the member's due quarterly reviews
    default_message = "the member's tier is below the badge type's minimum tier"


class BadgeSupplyExceeded(InvalidRequest):
    code = "badge_supply_exceeded"
    default_message = "the units would pass the badge type's maximum supply"


class BadgeNotReserved(InvalidRequest):
    code = "badge_not_reserved"  # an issuer's issue of units the type's auctions hold
    default_message = "the units are reserved for the badge type's auctions"


class InvalidPollOption(InvalidRequest):
    code = "poll_invalid_option"
    default_message = "the option is not one of the poll's"


class PollNotOpen(InvalidRequest):
    code = "poll_not_open"
    default_message = "the poll's voting window is over"


class PollNotEligible(InvalidRequest):
    code = "poll_not_eligible"  # the contract's `canVote`: eligibility fixed at the opening
    default_message = "the member may not vote in this poll (eligibility is fixed at its opening)"


class AuctionBidRefused(InvalidRequest):
    """A bid the auction does not take on the chain's state (reported as `details["code"]`:
    the contract's own code), judged by running it on the node before the 202."""

    code = "auction_bid_refused"
    codes: tuple[str, ...] = (
        "auction_tier_too_low",
        "auction_bid_too_low",
        "auction_bid_points_expire",
    )
    error_code = property(lambda self: str(self.details.get("code", self.code)))
