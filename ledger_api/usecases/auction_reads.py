"""Reads of the auctions, served from the index (`idx_auctions`, `idx_auction_bids`), projected
from AllianceAuctions' events by the indexer.

Auctions and bids are public on chain (addresses and amounts only), so any brand key and the
admin read them alike.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.access.apikeys import Principal
from ledger_api.db.auction_models import IdxAuction, IdxAuctionBid
from ledger_api.domain import utc_datetime
from ledger_api.errors import UnknownAuction
from ledger_api.model.auctions import AuctionList, AuctionView, BidView
from ledger_api.model.schemas import AsOf

from .program_reads import _as_of

#: auctions listed in one answer at most (the newest first)
MAX_AUCTIONS_LISTED = 200
_STATUS_ORDER = {"held": 0, "settled": 0, "unissued": 0, "cancelled": 1, "outbid": 2}


class AuctionReads:
    """Stateless; every method takes the request's read session."""

    def auction(self, session: Session, who: Principal, auction_id: int) -> AuctionView:
        """Raises `UnknownAuction` when the index holds no such auction."""
        as_of, now = _as_of(session)
        auction = session.get(IdxAuction, auction_id)
        if auction is None:
            raise UnknownAuction(auction_id=auction_id)
        return self._view(session, auction, as_of, now)

    def auctions(
        self, session: Session, who: Principal, status: Literal["open", "ended", "all"]
    ) -> AuctionList:
        as_of, now = _as_of(session)
        query = select(IdxAuction).order_by(IdxAuction.auction_id.desc())
        if status == "open":
            query = query.where(IdxAuction.ends_at > now)
        elif status == "ended":
            query = query.where(IdxAuction.ends_at <= now)
        rows = session.execute(query.limit(MAX_AUCTIONS_LISTED)).scalars()
        return AuctionList(
            auctions=[self._view(session, row, as_of, now) for row in rows], as_of=as_of
        )

    @staticmethod
    def _view(session: Session, auction: IdxAuction, as_of: AsOf, now: int) -> AuctionView:
        bids = sorted(
            session.execute(
                select(IdxAuctionBid).where(IdxAuctionBid.auction_id == auction.auction_id)
            ).scalars(),
            key=lambda bid: (_STATUS_ORDER.get(bid.status, 3), -effective_value(bid), bid.bidder),
        )
        ended = now >= auction.ends_at
        status = "scheduled" if now < auction.starts_at else "ended" if ended else "open"
        return AuctionView(
            auction_id=auction.auction_id,
            brand_id=auction.brand,
            creator=auction.creator,
            badge_type=auction.badge_type,
            units=auction.units,
            min_tier=auction.min_tier,
            reserve=str(auction.reserve),
            increment=str(auction.increment),
            starts_at=utc_datetime(auction.starts_at),
            ends_at=utc_datetime(auction.ends_at),
            extension_s=auction.extension,
            status=status,
            bids=[
                BidView(
                    bidder=bid.bidder,
                    brand_id=bid.brand,
                    amount=str(bid.amount),
                    value_micro_usd=str(bid.value_micro_usd),
                    live_points=str(bid.live),
                    effective_value_micro_usd=str(effective_value(bid)),
                    status=bid.status,
                    updated_at=utc_datetime(bid.updated_at),
                )
                for bid in bids
            ],
            winners=[
                b.bidder for b in bids if ended and b.status in ("held", "settled", "unissued")
            ],
            as_of=as_of,
        )


def effective_value(bid: IdxAuctionBid) -> int:
    """What AllianceAuctions compares of a bid (micro-USD): its nominal value times the share of
    its points the contract counts, `value * live // amount` (`_effectiveValue`, rounded down
    as there; 0 for a bid of no points)."""
    return bid.value_micro_usd * bid.live // bid.amount if bid.amount else 0
