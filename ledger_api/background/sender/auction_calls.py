"""The calls of the auction operations (AllianceAuctions, issue 16 item 2): see `txplan`."""

from __future__ import annotations

from ledger_api.chain.contracts import Call, Contracts
from ledger_api.model.payloads import (
    AuctionBidPayload,
    AuctionCreatePayload,
    AuctionRedeemPayload,
    AuctionSettlePayload,
)


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def auction_call(
    contracts: Contracts,
    p: AuctionCreatePayload | AuctionBidPayload | AuctionSettlePayload | AuctionRedeemPayload,
) -> Call:
    """An auction of the brand, a bid the member signed (a gift to its escrow), a settlement,
    or the auctioning brand's redemption of a winning bid in another brand's points."""
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
