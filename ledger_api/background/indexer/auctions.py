"""What AllianceAuctions' events do to the index (issue 16 item 2): `idx_auctions` and
`idx_auction_bids`.

Every row takes the absolute values an event carries (a bid's total amount and value, its live
count, the new end), so a chunk read twice writes the same rows. A bid's live count is its
amount from `BidPlaced`, corrected by a later `BidRecounted` (the contract emits one after the
`BidPlaced` of a bid counting fewer than its amount, and for each held bid a soft close
recounts to another count: `IAllianceAuctions.BidRecounted`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event, checksum
from ledger_api.chain.manifest import ALLIANCE_AUCTIONS
from ledger_api.db.auction_models import IdxAuction, IdxAuctionBid, IdxEscrow

from .bulk_sql import insert_new

Handler = Callable[[Event, dict[str, Any], int], None]


class AuctionsProjection:
    """The auctions' part of one chunk's projection (same session)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def handlers(self) -> dict[tuple[str, str], Handler]:
        return {
            (ALLIANCE_AUCTIONS, "AuctionCreated"): self._created,
            (ALLIANCE_AUCTIONS, "AuctionExtended"): self._extended,
            (ALLIANCE_AUCTIONS, "BidPlaced"): self._bid_placed,
            (ALLIANCE_AUCTIONS, "BidRecounted"): self._bid_recounted,
            (ALLIANCE_AUCTIONS, "BidOutbid"): self._status("outbid"),
            (ALLIANCE_AUCTIONS, "BidSettled"): self._status("settled"),
            (ALLIANCE_AUCTIONS, "BidCancelled"): self._status("cancelled"),
            # the winner's wallet refused the badge at the settlement (after BidSettled, same
            # transaction): redeemed, its unit reserved; `issueWon` issues it later
            (ALLIANCE_AUCTIONS, "BadgeUnissued"): self._status("unissued"),
            (ALLIANCE_AUCTIONS, "WonBadgeIssued"): self._status("settled"),
        }

    def _created(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxAuction(
                auction_id=int(a["auctionId"]),
                brand=int(a["brand"]),
                creator=checksum(a["creator"]),
                badge_type=int(a["badgeType"]),
                units=int(a["units"]),
                min_tier=int(a["minTier"]),
                reserve=int(a["reserve"]),
                increment=int(a["increment"]),
                starts_at=int(a["startsAt"]),
                ends_at=int(a["endsAt"]),
                extension=int(a["extension"]),
                created_at=ts,
            )
        )

    def _extended(self, event: Event, a: dict[str, Any], ts: int) -> None:
        auction = self.session.get(IdxAuction, int(a["auctionId"]))
        if auction is not None:
            auction.ends_at = int(a["endsAt"])

    def _bid_placed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxAuctionBid(
                auction_id=int(a["auctionId"]),
                bidder=checksum(a["bidder"]),
                brand=int(a["brand"]),
                amount=int(a["amount"]),
                value_micro_usd=int(a["value"]),
                live=int(a["amount"]),  # counted whole unless a `BidRecounted` follows
                live_until=None,
                status="held",
                updated_at=ts,
            )
        )

    def _bid_recounted(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """What the contract counts of the bid's points (live at the end plus the grace)."""
        bid = self.session.get(IdxAuctionBid, (int(a["auctionId"]), checksum(a["bidder"])))
        if bid is not None:
            bid.live, bid.live_until, bid.updated_at = int(a["live"]), int(a["liveUntil"]), ts

    def _status(self, status: str) -> Handler:
        def apply(event: Event, a: dict[str, Any], ts: int) -> None:
            bid = self.session.get(IdxAuctionBid, (int(a["auctionId"]), checksum(a["bidder"])))
            if bid is not None:
                bid.status, bid.updated_at = status, ts

        return apply


#: auction events that announce a points move of their transaction: (event, history kind,
#: the field of its points, the field of the member whose line it is)
_ESCROW_MOVES = (
    ("BidPlaced", "bid", "added", "bidder"),
    ("BidOutbid", "bid_returned", "amount", "bidder"),
    ("BidCancelled", "bid_returned", "amount", "bidder"),
    ("EscrowReclaimed", "bid_returned", "amount", "bidder"),
)


class EscrowMoves:
    """The ledger `Transfer`s of one chunk that an auction event announced: every auction
    event comes before the `Transfer` of its transaction (`AllianceAuctions`), which then
    reads in the member's history as a bid (into its escrow) or a bid returned (outbid,
    cancelled or reclaimed) rather than a gift between members."""

    def __init__(self, handlers: dict[tuple[str, str], Handler]) -> None:
        # (tx hash, kind, member, brand, points) -> how many such moves wait
        self._moves: Counter[tuple[str, str, str, int, int]] = Counter()
        self.escrows: set[str] = set()  # the chunk's escrows, seen in those moves (`flush`)
        for name, kind, field, member in _ESCROW_MOVES:
            key = (ALLIANCE_AUCTIONS, name)
            handlers[key] = self._announces(handlers.get(key), kind, field, member)

    def _announces(self, handler: Handler | None, kind: str, field: str, member: str) -> Handler:
        """`handler` (the auctions' own, if any), then the record of the announced move."""

        def apply(event: Event, a: dict[str, Any], ts: int) -> None:
            if handler is not None:
                handler(event, a, ts)
            points = int(a[field])
            if points:
                key = (event.log.tx_hash, kind, checksum(a[member]), int(a["brand"]), points)
                self._moves[key] += 1

        return apply

    def flush(self, session: Session) -> None:
        """Records the chunk's escrows (`IdxEscrow`: no members, for the member figures and
        the expiry reminders), once each."""
        insert_new(session, IdxEscrow, [{"address": a} for a in sorted(self.escrows)], ("address",))
        self.escrows = set()

    def announced(self, event: Event, kind: str, member: str, brand: int, points: int) -> bool:
        """Whether an auction event of this transaction announced this move (taken once)."""
        key = (event.log.tx_hash, kind, checksum(member), brand, points)
        if self._moves[key] <= 0:
            return False
        self._moves[key] -= 1
        return True
