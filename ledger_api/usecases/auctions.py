"""Auction operations (AllianceAuctions, issue 16 item 2): a brand creates an auction of one of
its collectible rights, relays the bids its members sign, and closes each winning bid.

A bid is a ledger `Gift` the member signs, of the points it adds, to its own escrow for the
auction (`escrowOf(auction, bidder)`, an address that binds the gift to both); the gateway
checks the signature, the nonce and the balance before the 202, as for a gift, then runs the
bid on the node (`_run_bid`): a bidder below the auction's tier and a bid that takes no unit
are refused at once (`auction_tier_too_low`, `auction_bid_too_low`, 422). Which bids hold a unit
stays the contract's to decide when the bid is sent (bids in flight raise the minimum).

Closing a winning bid (`settle`): a bid in the auctioning brand's points is settled in one
operation (`auction_settle`: redeemed at the brand, badge issued). A bid in another brand's
points is a cross-brand redemption that needs the auctioning brand's consent: the first call
queues `auction_redeem` (the brand's signer sends the ledger's `redeemWithSig` for the
escrow, which approves it by ERC-1271), the next call `auction_settle`. The redemption is of what
the escrow holds of the bid, `min(balance, amount)`: points that expired in the escrow are not
paid, and the escrow approves no other amount (`approvesRedemption`, since 2026-12-06). The
state is read from the chain, so a call repeated after a crash queues what is still missing,
never twice what is done (a second `auction_redeem` fails on chain with `signature_replayed`).

Getting points back out of an escrow, which the contract lets anyone do (so any brand's key may
ask): `cancel`, a winning bid still unsettled once the week's grace after the end is over (the
auctioning brand never consented to a cross-brand bid), goes back whole (`auction_cancel`);
`reclaim`, an escrow's points of a brand beyond the bid it holds (a gift sent there outside a
bid) go back to the bidder (`auction_reclaim`). Both are checked on the chain's state before
the 202, as a settlement. So is `issue_won`: a won badge its winner's wallet refused at the
settlement (the bid paid, its unit reserved) is issued again (`auction_issue_won`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.background.intake import Accepted, Draft
from ledger_api.chain.errors import error_code
from ledger_api.db.auction_models import IdxAuction
from ledger_api.domain import OpKind, iso_utc
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import (
    AuctionBidRefused,
    AuctionStateConflict,
    BadgeNoBenefit,
    BrandForbidden,
    UnknownAuction,
    UnknownBrand,
)
from ledger_api.model.auctions import (
    AuctionCreateRequest,
    BidRequest,
    BidTypedDataRequest,
    BidTypedDataResponse,
    ReclaimRequest,
    SettlementRequest,
)
from ledger_api.model.payloads import (
    AuctionBidPayload,
    AuctionCancelPayload,
    AuctionCreatePayload,
    AuctionIssueWonPayload,
    AuctionReclaimPayload,
    AuctionRedeemPayload,
    AuctionSettlePayload,
)

from .auction_views import HELD, UNISSUED, AuctionViews, bid_status, refuse_issue, state
from .checks import Checks, refusal_on_node
from .context import BrandDirectory, BrandInfo, RequestContext, draft
from .documents import gift_document

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

#: what a bid run on the node may be refused for that no later block lifts (`_run_bid`): the
#: lowest bid that takes a unit only rises, and a tier the calendar took does not come back
_BID_REFUSALS = frozenset({"AuctionsTierTooLow", "AuctionsBidTooLow"})
SETTLE_GRACE_S = 7 * 86_400  # AllianceAuctions.SETTLE_GRACE: then an unsettled winner is refunded


def _escrow_pays(
    auction_id: int, bidder: str, held: int, worth: int, reserve: int, ends_at: int
) -> None:
    """What the escrow still holds of a winning bid (`held` points, worth `worth` micro-USD)
    settles it; else 409 `auction_escrow_empty` when every point expired in it (a redemption
    of 0 cannot run), or `auction_below_reserve` when it is worth less than the auction's
    reserve (`reserve` micro-USD; the contract's `AuctionsBelowReserve`). Both name the end
    of the week's grace after the auction's end (`ends_at`, unix seconds), from which a
    cancellation releases the unit and returns what the escrow holds."""
    grace_ends_at = iso_utc(ends_at + SETTLE_GRACE_S)
    then = f"a cancellation releases the unit from the grace's end, {grace_ends_at}"
    where = {"auction_id": auction_id, "bidder": bidder, "grace_ends_at": grace_ends_at}
    if held == 0:
        raise AuctionStateConflict(
            f"every point of the winning bid expired in its escrow: nothing to redeem; {then}",
            code="auction_escrow_empty",
            **where,
        )
    if worth < reserve:
        raise AuctionStateConflict(
            "what the escrow still holds of the winning bid (its points expired in escrow) is "
            f"worth less than the auction's reserve; {then}",
            code="auction_below_reserve",
            worth_micro_usd=str(worth),
            reserve_micro_usd=str(reserve),
            **where,
        )


class AuctionsService(AuctionViews):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.brands = BrandDirectory(runtime.db)
        self.checks = Checks(runtime)

    def _indexed(self, auction_id: int) -> IdxAuction:
        with self.rt.db.read() as session:
            auction = session.get(IdxAuction, auction_id)
            if auction is None:
                raise UnknownAuction(auction_id=auction_id)
            session.expunge(auction)
        return auction

    def _open(self, auction_id: int) -> IdxAuction:
        auction = self._indexed(auction_id)
        now = self.checks.now()
        if not auction.starts_at <= now < auction.ends_at:  # the contract's `AuctionsNotOpen`
            raise state(
                "AuctionsNotOpen",
                "the auction has ended"
                if now >= auction.ends_at
                else "the auction has not started",
                auction_id=auction_id,
                starts_at=iso_utc(auction.starts_at),
                ends_at=iso_utc(auction.ends_at),
            )
        return auction

    def _bid_brand(self, own: BrandInfo, requested: int | None) -> LedgerBrandId:
        brand = LedgerBrandId(requested) if requested is not None else own.onboarded()
        self.checks.redeemable_brand(brand)
        return brand

    # ------------------------------------------------------------------ operations

    async def create(self, ctx: RequestContext, req: AuctionCreateRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            badge = self.checks.own_badge_type(
                own, req.badge_type, "a brand auctions its own badge types only"
            )
            if badge.kind != "collectible" or not badge.has_benefit:
                raise BadgeNoBenefit(type_id=req.badge_type)
            self.checks.window_ahead(req.starts_at, req.ends_at, "AuctionsInvalidWindow")
            payload = AuctionCreatePayload(
                badge_type=req.badge_type,
                units=req.units,
                min_tier=req.min_tier,
                reserve=req.reserve,
                increment=req.increment,
                starts_at=req.starts_at,
                ends_at=req.ends_at,
                extension=req.extension_s,
            )
            return draft(ctx, OpKind.AUCTION_CREATE, own, payload)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    async def bid_typed_data(
        self, who: Principal, auction_id: int, req: BidTypedDataRequest
    ) -> BidTypedDataResponse:
        def build() -> BidTypedDataResponse:
            own = self.brands.own(who)
            self._open(auction_id)
            brand = self._bid_brand(own, req.brand)
            nonce, held = self.checks.typed_data_nonce(req.bidder)
            deadline = self.checks.deadline(req.deadline)
            escrow = self.escrow_of(auction_id, req.bidder)
            self._bid_worth_signing(auction_id, req.bidder, brand, req.amount)
            document = gift_document(
                self.rt.contracts(), req.bidder, escrow, brand, req.amount, nonce, deadline
            )
            return BidTypedDataResponse(
                typed_data=document,
                escrow=escrow,
                nonce=nonce,
                deadline=deadline,
                queued_reason=held,
            )

        return await run_in_threadpool(build)

    async def bid(self, ctx: RequestContext, auction_id: int, req: BidRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self._open(auction_id)
            brand = self._bid_brand(own, req.brand)
            escrow = self.escrow_of(auction_id, req.bidder)
            document = gift_document(
                self.rt.contracts(), req.bidder, escrow, brand, req.amount, req.nonce, req.deadline
            )
            self.checks.signature(document, req.bidder, req.signature, req.nonce, req.deadline)
            self.checks.balance(req.bidder, brand, req.amount)
            payload = AuctionBidPayload(
                auction_id=auction_id,
                member=req.bidder,
                to=escrow,
                brand=brand,
                amount=req.amount,
                nonce=req.nonce,
                deadline=req.deadline,
                signature=req.signature,
            )
            self._run_bid(payload)
            return draft(
                ctx,
                OpKind.AUCTION_BID,
                own,
                payload,
                member=req.bidder,
                beneficiary=escrow,
                member_nonce=req.nonce,
            )

        return await self.rt.intake.submit(await run_in_threadpool(check))

    def _run_bid(self, bid: AuctionBidPayload) -> None:
        """The bid run by the node on its latest state (`eth_call` of `bidWithSig`, the
        transaction the sender will send): `AuctionBidRefused` (422, `auction_tier_too_low`:
        the bidder's tier after its due quarterly reviews is below the auction's;
        `auction_bid_too_low`: the bid's value does not take a unit). A review of 2026-12-06:
        both were accepted (202), then failed on chain. Anything else it reverts for (a nonce
        an earlier debit in flight will use, a pause) and a chain that does not answer are
        left to the sender, which runs it again before it sends it."""
        gift = (bid.member, bid.to, bid.brand, bid.amount, bid.nonce, bid.deadline)
        signature = bytes.fromhex(bid.signature[2:])
        call = self.rt.contracts().auctions_call("bidWithSig", bid.auction_id, gift, signature)
        self._refuse_bid(call.to, call.data, None)

    def _bid_worth_signing(self, auction_id: int, bidder: str, brand: int, amount: int) -> None:
        """Before the document to sign: the bidder's own `bid(auction, brand, amount)` run by
        the node as the bidder's call, whose tier and value checks come before it moves any
        point (the move itself then reverts, the auctions contract being no operator of the
        member's: that refusal is not the bid's). `AuctionBidRefused` as `_run_bid` (a trial:
        the document was handed out, the member signed, and the relay was refused)."""
        call = self.rt.contracts().auctions_call("bid", auction_id, brand, amount)
        self._refuse_bid(call.to, call.data, bidder)

    def _refuse_bid(self, to: str, data: bytes, sender: str | None) -> None:
        refused = refusal_on_node(self.rt.chain(), to, data, sender)
        chain_error = refused.details.get("chain_error") if refused is not None else None
        if refused is not None and chain_error in _BID_REFUSALS:
            details = {k: v for k, v in refused.details.items() if k != "code"}
            raise AuctionBidRefused(refused.message, code=error_code(str(chain_error)), **details)

    async def settle(
        self, ctx: RequestContext, auction_id: int, req: SettlementRequest
    ) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            return self._settlement(ctx, own, auction_id, req.bidder)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    def _settlement(
        self, ctx: RequestContext, own: BrandInfo, auction_id: int, bidder: str
    ) -> Draft:
        """What closing `bidder`'s winning bid still needs, read from the chain."""
        (auction,) = self._view("auction", auction_id)
        auction_brand, ends_at, reserve = int(auction[0]), int(auction[2]), int(auction[10])
        if self.checks.now() < ends_at:
            raise state(
                "AuctionsNotEnded",
                "the auction has not ended",
                auction_id=auction_id,
                ends_at=iso_utc(ends_at),
            )
        bid_brand, amount, value = self._held_bid(
            auction_id, bidder, "no winning bid of this bidder is left to settle"
        )
        settle = AuctionSettlePayload(auction_id=auction_id, bidder=bidder)
        escrow = self.escrow_of(auction_id, bidder)
        # what the escrow holds of the bid: what its redemption takes (expired points are gone)
        (balance,) = self._ledger_view("balanceOf", escrow, bid_brand)
        held = min(int(balance), amount)
        if bid_brand == auction_brand:
            _escrow_pays(auction_id, bidder, held, value * held // amount, reserve, ends_at)
            return draft(ctx, OpKind.AUCTION_SETTLE, own, settle)
        if own.ledger_brand_id != auction_brand:
            raise BrandForbidden(
                f"a winning bid in another brand's points is settled by the auctioning brand "
                f"(brand {auction_brand}): its consent to the cross-brand redemption",
                brand_id=own.ledger_brand_id,
                auction_brand_id=auction_brand,
            )
        if self._escrow_redeemed(auction_id, bidder):
            return draft(ctx, OpKind.AUCTION_SETTLE, own, settle)
        _escrow_pays(auction_id, bidder, held, value * held // amount, reserve, ends_at)
        if self.checks.now() >= ends_at + SETTLE_GRACE_S:  # `approvesRedemption` is false now
            raise AuctionStateConflict(
                "the week's grace after the end is over: the escrow approves no redemption; "
                "the bid goes back to its bidder (POST .../cancellations)",
                code="auction_grace_over",
                auction_id=auction_id,
                grace_ends_at=iso_utc(ends_at + SETTLE_GRACE_S),
            )
        (order_ref,) = self._view("redemptionRef", auction_id, bidder)
        redeem = AuctionRedeemPayload(
            auction_id=auction_id,
            bidder=bidder,
            escrow=escrow,
            brand=bid_brand,
            at_brand=auction_brand,
            amount=held,  # the only amount the escrow approves
            order_ref="0x" + bytes(order_ref).hex(),
            deadline=self.checks.deadline(None),
        )
        return draft(ctx, OpKind.AUCTION_REDEEM, own, redeem)

    async def cancel(
        self, ctx: RequestContext, auction_id: int, req: SettlementRequest
    ) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            (auction,) = self._view("auction", auction_id)
            grace_ends_at = int(auction[2]) + SETTLE_GRACE_S
            self._held_bid(auction_id, req.bidder, "no winning bid of this bidder to cancel")
            if self.checks.now() < grace_ends_at:
                raise state(
                    "AuctionsGraceNotOver",
                    "a winning bid is the auctioning brand's to settle until a week after the end",
                    auction_id=auction_id,
                    grace_ends_at=iso_utc(grace_ends_at),
                )
            if self._escrow_redeemed(auction_id, req.bidder):
                raise state(
                    "AuctionsAlreadyRedeemed",
                    "the auctioning brand redeemed the bid: settle it instead",
                    auction_id=auction_id,
                    bidder=req.bidder,
                )
            payload = AuctionCancelPayload(auction_id=auction_id, bidder=req.bidder)
            return draft(ctx, OpKind.AUCTION_CANCEL, own, payload)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    async def reclaim(self, ctx: RequestContext, auction_id: int, req: ReclaimRequest) -> Accepted:
        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self._view("auction", auction_id)  # AuctionsUnknownAuction: 404
            (bid,) = self._view("bidOf", auction_id, req.bidder)
            bid_brand, status, amount = bid[:3]  # (brand, status, amount, value, live, liveUntil)
            escrow = self.escrow_of(auction_id, req.bidder)
            (balance,) = self._ledger_view("balanceOf", escrow, req.brand)
            kept = int(amount) if int(status) == HELD and int(bid_brand) == req.brand else 0
            if int(balance) <= kept:
                if not kept and not self._indexed_brand(req.brand):
                    raise UnknownBrand(brand_id=req.brand)  # (a new one: again once indexed)
                raise AuctionStateConflict(
                    "the escrow holds no points of this brand beyond the bid it holds",
                    code="auction_nothing_to_reclaim",
                    auction_id=auction_id,
                    bidder=req.bidder,
                    brand_id=req.brand,
                    held=str(min(int(balance), kept)),  # 0 once a redemption took the bid
                )
            payload = AuctionReclaimPayload(
                auction_id=auction_id, bidder=req.bidder, brand=LedgerBrandId(req.brand)
            )
            return draft(ctx, OpKind.AUCTION_RECLAIM, own, payload)

        return await self.rt.intake.submit(await run_in_threadpool(check))

    async def issue_won(
        self, ctx: RequestContext, auction_id: int, req: SettlementRequest
    ) -> Accepted:
        """The badge `bidder`'s wallet refused at its bid's settlement (`Unissued`: paid, its
        unit reserved), issued again (`auction_issue_won`; the contract lets anyone). 409
        `auction_badge_not_unissued` for a bid in any other state (`details.bid_status`), and
        `auction_badge_refused` when the wallet still refuses it, run on the node before the
        202 (its hook reverts: the relaying brand would pay for a transaction that fails)."""

        def check() -> Draft:
            own = self.brands.own(ctx.principal)
            self._view("auction", auction_id)  # AuctionsUnknownAuction: 404
            (bid,) = self._view("bidOf", auction_id, req.bidder)
            if int(bid[1]) != UNISSUED:
                raise state(
                    "AuctionsBadgeNotUnissued",
                    "the bid's badge is not waiting to be issued (only a won badge its "
                    "winner's wallet refused at the settlement is)",
                    auction_id=auction_id,
                    bidder=req.bidder,
                    bid_status=bid_status(int(bid[1])),
                )
            call = self.rt.contracts().auctions_call("issueWon", auction_id, req.bidder)
            refused = refusal_on_node(self.rt.chain(), call.to, call.data)
            if refused is not None:
                refuse_issue(refused, auction_id, req.bidder)
            payload = AuctionIssueWonPayload(auction_id=auction_id, bidder=req.bidder)
            return draft(ctx, OpKind.AUCTION_ISSUE_WON, own, payload)

        return await self.rt.intake.submit(await run_in_threadpool(check))
