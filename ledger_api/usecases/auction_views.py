"""The chain's reads an auction operation checks before its 202 (`AuctionsService`'s base):
AllianceAuctions' and the ledger's views, on the latest block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger_api.chain.error_words import BID_STATUSES
from ledger_api.chain.errors import error_code
from ledger_api.db.models import IdxBrand
from ledger_api.errors import AuctionStateConflict

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

HELD = 1  # IAllianceAuctions.BidStatus.Held
UNISSUED = 4  # IAllianceAuctions.BidStatus.Unissued: won, redeemed, its badge refused


def state(chain_error: str, message: str, **details: Any) -> AuctionStateConflict:
    """A refusal for the auction's state, which an earlier request under the same
    Idempotency-Key may have made (409: the stored answer wins, `api.replays`)."""
    code = error_code(chain_error)
    return AuctionStateConflict(message, code=code, chain_error=chain_error, **details)


def bid_status(status: int) -> str | None:
    """A bid's `IAllianceAuctions.BidStatus` as its word (`BID_STATUSES`)."""
    return BID_STATUSES[status] if status < len(BID_STATUSES) else None


class AuctionViews:
    """Reads of AllianceAuctions and the ledger from the chain, for the pre-checks."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _view(self, function: str, *args: object) -> tuple[Any, ...]:
        contracts = self.rt.contracts()
        call = contracts.auctions_call(function, *args)
        assert contracts.auctions is not None  # auctions_call raised otherwise
        return contracts.auctions[function].decode(self.rt.chain().call(call.to, call.data))

    def _ledger_view(self, function: str, *args: object) -> tuple[Any, ...]:
        """A view of the ledger (`nonces`, `balanceOf`), read from the chain."""
        codec = self.rt.contracts().ledger[function]
        address = self.rt.contracts().ledger_address
        return codec.decode(self.rt.chain().call(address, codec.encode(*args)))

    def escrow_of(self, auction_id: int, bidder: str) -> str:
        return str(self._view("escrowOf", auction_id, bidder)[0])

    def _held_bid(self, auction_id: int, bidder: str, message: str) -> tuple[int, int, int]:
        """`bidder`'s winning bid (brand, amount, value in micro-USD), else auction_not_winning."""
        (bid,) = self._view("bidOf", auction_id, bidder)
        bid_brand, status, amount, value = bid[:4]  # (brand, status, amount, value, live, until)
        if int(status) != HELD:
            raise state(
                "AuctionsNotWinning",
                message,
                auction_id=auction_id,
                bidder=bidder,
                bid_status=bid_status(int(status)),
            )
        return int(bid_brand), int(amount), int(value)

    def _indexed_brand(self, brand: int) -> bool:
        """Whether the index knows the brand (the ledger onboarded it, a block or so ago)."""
        with self.rt.db.read() as session:
            return session.get(IdxBrand, brand) is not None

    def _escrow_redeemed(self, auction_id: int, bidder: str) -> bool:
        """Whether the auctioning brand's redemption of the bidder's escrow went through."""
        (used,) = self._ledger_view("nonces", self.escrow_of(auction_id, bidder))
        return int(used) != 0
