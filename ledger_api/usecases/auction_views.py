"""The chain's reads an auction operation checks before its 202 (`AuctionsService`'s base):
AllianceAuctions' and the ledger's views, on the latest block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger_api.chain.error_words import BID_STATUSES
from ledger_api.chain.errors import error_code
from ledger_api.db.models import IdxBrand
from ledger_api.errors import AuctionStateConflict, LedgerError, LedgerPaused

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


def refuse_issue(refused: LedgerError, auction_id: int, bidder: str) -> None:
    """Why `issueWon` run on the node reverts, as the 409 or 422 it stands for: the winner's
    wallet hook reverting (its own reason, or none: ERC-1155's `ERC1155InvalidReceiver`) is
    `auction_badge_refused`; the auctions contract's own refusal keeps its code (a race with
    another issue: `auction_badge_not_unissued`); a pause is the sender's to wait out."""
    hook = not refused.chain_call or refused.details.get("chain_error") == "ERC1155InvalidReceiver"
    if hook:
        raise AuctionStateConflict(
            "the winner's wallet still refuses the badge (its ERC-1155 receipt hook reverts: "
            f"{refused.message}); the unit stays reserved for it",
            code="auction_badge_refused",
            auction_id=auction_id,
            bidder=bidder,
        )
    if isinstance(refused, LedgerPaused):
        return
    if "auctionId" in refused.chain_args:
        details = {k: v for k, v in refused.details.items() if k != "chain_error"}
        raise state(str(refused.details["chain_error"]), refused.message, **details)
    raise refused


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
