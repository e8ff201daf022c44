"""Index tables of AllianceAuctions (issue 16 item 2): the auctions and each bidder's bid.

Projected from the contract's events (`background.indexer.auctions`); `idx_` tables, so that a
rebuild of the index empties them with the others (`db.metadata.INDEX_TABLES`).
"""

from __future__ import annotations

from sqlalchemy import Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger_api.db.models import Address, Base
from ledger_api.db.types import BigNum


class IdxAuction(Base):
    """An auction as created; `ends_at` follows the soft close (`AuctionExtended`). Points
    amounts are the auctioning brand's; times are unix seconds."""

    __tablename__ = "idx_auctions"
    __table_args__ = (Index("ix_idx_auctions_ends_at", "ends_at"),)

    auction_id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[int]
    creator: Mapped[str] = mapped_column(Address)
    badge_type: Mapped[int]
    units: Mapped[int] = mapped_column(SmallInteger)
    min_tier: Mapped[int] = mapped_column(SmallInteger)
    reserve: Mapped[int] = mapped_column(BigNum)
    increment: Mapped[int] = mapped_column(BigNum)
    starts_at: Mapped[int]
    ends_at: Mapped[int]
    extension: Mapped[int]
    created_at: Mapped[int]


class IdxAuctionBid(Base):
    """A bidder's bid on an auction: `held` (holding a unit; winning once ended), `outbid`
    (returned), `settled` (redeemed, badge issued), `unissued` (redeemed, the winner's wallet
    refused the badge: its unit reserved until `issueWon`) or `cancelled` (returned after the
    grace).

    `amount` (points of `brand`) and `value_micro_usd` (micro-USD at the brand's point value
    when bid) are nominal, `BidPlaced`'s. `live` is what the contract counts of the points, those
    live at the auction's end plus its 7-day grace (`IAllianceAuctions.Bid`): `amount` from a
    `BidPlaced`, then the `live` of a later `BidRecounted` (a bid of points dying before the
    close, a soft close's recount); `live_until` that event's `liveUntil` (unix seconds, the
    earliest expiry among the lots counted; null when no `BidRecounted` followed the last
    `BidPlaced`). Bids compare by `value_micro_usd * live // amount`."""

    __tablename__ = "idx_auction_bids"

    auction_id: Mapped[int] = mapped_column(primary_key=True)
    bidder: Mapped[str] = mapped_column(Address, primary_key=True)
    brand: Mapped[int]
    amount: Mapped[int] = mapped_column(BigNum)
    value_micro_usd: Mapped[int] = mapped_column(BigNum)
    live: Mapped[int] = mapped_column(BigNum)
    live_until: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[int]


class IdxEscrow(Base):
    """An auction's bid escrow (an EIP-1167 clone per auction and bidder): it holds points, as
    a member's wallet does, but is no member. The index learns it from the first bid's move
    into it (`EscrowMoves`); the figures of members and the expiry reminders leave it out (a
    trial: four escrows counted as members, and their points' expiry was announced to brands
    as a member's)."""

    __tablename__ = "idx_escrows"

    address: Mapped[str] = mapped_column(Address, primary_key=True)
