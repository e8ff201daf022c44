"""The calls of the auction operations (AllianceAuctions, issue 16 item 2) and what each
produced, from its event: see `txplan`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger_api.chain.contracts import Call, Contracts
from ledger_api.domain import OpKind
from ledger_api.model.payloads import (
    AuctionBidPayload,
    AuctionCancelPayload,
    AuctionCreatePayload,
    AuctionIssueWonPayload,
    AuctionReclaimPayload,
    AuctionRedeemPayload,
    AuctionSettlePayload,
)

AuctionPayload = (
    AuctionCreatePayload
    | AuctionBidPayload
    | AuctionSettlePayload
    | AuctionRedeemPayload
    | AuctionCancelPayload
    | AuctionReclaimPayload
    | AuctionIssueWonPayload
)

#: (operation kind, event name) -> what the operation produced, from that event's arguments
AUCTION_RESULTS: dict[tuple[OpKind, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    (OpKind.AUCTION_CREATE, "AuctionCreated"): lambda a: {"auction_id": a["auctionId"]},
    (OpKind.AUCTION_BID, "BidPlaced"): lambda a: {
        "auction_id": a["auctionId"],
        "amount": a["amount"],
        "value_micro_usd": str(a["value"]),
    },
    (OpKind.AUCTION_SETTLE, "BidSettled"): lambda a: {
        "auction_id": a["auctionId"],
        "bidder": a["bidder"],
        "badge_type": a["badgeType"],
    },
    (OpKind.AUCTION_REDEEM, "PointsRedeemed"): lambda a: {"value_micro_usd": a["valueMicroUsd"]},
    (OpKind.AUCTION_CANCEL, "BidCancelled"): lambda a: {
        "auction_id": a["auctionId"],
        "bidder": a["bidder"],
        "brand_id": a["brand"],
        "returned": a["amount"],
    },
    (OpKind.AUCTION_ISSUE_WON, "WonBadgeIssued"): lambda a: {
        "auction_id": a["auctionId"],
        "bidder": a["bidder"],
        "badge_type": a["badgeType"],
    },
    (OpKind.AUCTION_RECLAIM, "EscrowReclaimed"): lambda a: {
        "auction_id": a["auctionId"],
        "bidder": a["bidder"],
        "brand_id": a["brand"],
        "amount": a["amount"],
    },
}


def nothing_reclaimed(payload: dict[str, Any]) -> dict[str, Any]:
    """The result of a reclaim mined with no `EscrowReclaimed`: the escrow held nothing beyond
    its bid any more (another reclaim or a cancellation landed first; the contract returns
    quietly), so nothing moved: `amount` 0 (a trial of 2026-12-05 found `result` null)."""
    return {
        "auction_id": payload["auction_id"],
        "bidder": payload["bidder"],
        "brand_id": payload["brand"],
        "amount": 0,
    }


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def auction_call(contracts: Contracts, p: AuctionPayload) -> Call:
    """An auction of the brand, a bid the member signed (a gift to its escrow), a settlement,
    the auctioning brand's redemption of a winning bid in another brand's points, the refund of
    a winning bid left unsettled, an escrow's points beyond its bid sent back, or a won badge
    its winner's wallet refused at the settlement issued again."""
    match p:
        case AuctionCreatePayload():
            return contracts.auctions_call(
                "createAuction",
                p.badge_type,
                p.units,
                p.min_tier,
                p.reserve,
                p.increment,
                p.starts_at,
                p.ends_at,
                p.extension,
            )
        case AuctionBidPayload():
            gift = (p.member, p.to, p.brand, p.amount, p.nonce, p.deadline)
            return contracts.auctions_call("bidWithSig", p.auction_id, gift, _hex(p.signature))
        case AuctionSettlePayload():
            return contracts.auctions_call("settle", p.auction_id, p.bidder)
        case AuctionCancelPayload():
            return contracts.auctions_call("cancel", p.auction_id, p.bidder)
        case AuctionReclaimPayload():
            return contracts.auctions_call("reclaim", p.auction_id, p.bidder, p.brand)
        case AuctionIssueWonPayload():
            return contracts.auctions_call("issueWon", p.auction_id, p.bidder)
        case AuctionRedeemPayload():
            approval = escrow_approval(p.auction_id, p.bidder, p.deadline)
            return contracts.redeem_with_sig(
                p.escrow,
                p.brand,
                p.at_brand,
                p.amount,
                _hex(p.order_ref),
                0,
                p.deadline,
                approval,
            )


def escrow_approval(auction_id: int, bidder: str, deadline: int) -> bytes:
    """The "signature" an auction escrow checks by ERC-1271: `abi.encode(auctionId, bidder,
    nonce 0, deadline)` (IAllianceAuctions.approvesRedemption)."""
    address = bytes.fromhex(bidder.removeprefix("0x")).rjust(32, b"\0")
    return auction_id.to_bytes(32, "big") + address + bytes(32) + deadline.to_bytes(32, "big")
