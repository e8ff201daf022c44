"""`POST /v1/earn/reversals`: a brand reverses a returned order's pending points (issue 11).

The order is found by (the caller's brand, the order reference bound with its secret),
so another brand's order is simply unknown. What the order credited (points, spend,
pending position, quarter) is read from its `PointsEarned` event, in the block its
confirmed earn landed in (the index when that block does not show it). The intake bounds
the reversal by the order's remainder (`background.reversals`); the chain refuses a
reversal once the window closed (`LedgerReversalWindowClosed`) whatever the gateway saw.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ledger_api.access.apikeys import Principal
from ledger_api.background.intake import Accepted, Draft
from ledger_api.background.reversals import ReversalClaim
from ledger_api.chain.earned import expand_earned
from ledger_api.chain.manifest import LEDGER
from ledger_api.db.keys import HELD
from ledger_api.db.models import IdxHistory, Operation
from ledger_api.domain import OpKind, OpStatus, iso_utc, month_of
from ledger_api.domain.ids import LedgerBrandId
from ledger_api.errors import (
    InvalidMember,
    OrderNotSettled,
    ReversalWindowClosed,
    UnknownOrder,
)
from ledger_api.model import schemas
from ledger_api.model.payloads import ReversalPayload

from .context import BrandInfo, RequestContext, draft

if TYPE_CHECKING:
    from ledger_api.process.runtime import Runtime

    from .checks import Checks

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class _Earn:
    row_id: int
    uid: str
    member: str
    op_id: int
    status: str
    block_number: int | None
    amount_cents: int  # the order's amount, as the brand sent it
    multiplier_pct: int  # the earn's multiplier (campaign rules included)


@dataclass(frozen=True, slots=True)
class Purchase:
    """What an order's earn credited, as the chain recorded it."""

    points: int
    spend_cents: int  # what it counted toward tiers (`PointsEarned.spendCents`)
    release_at: int  # 0: live at once (no return window)
    timestamp: int


def counted_spend(amount_cents: int, multiplier_pct: int) -> int:
    """The spend a purchase counts toward tiers, as the ledger counts it (`_earnOps`): in
    proportion to a multiplier below 100% (README "Trust between brands")."""
    return amount_cents * multiplier_pct // 100 if multiplier_pct < 100 else amount_cents


class Reversals:
    """Mixed into `OperationsService`, which provides these."""

    rt: Runtime
    checks: Checks

    def _own_brand(self, who: Principal) -> Awaitable[BrandInfo]:
        raise NotImplementedError

    def _bound(self, brand: BrandInfo, reference: str) -> Awaitable[str]:
        raise NotImplementedError

    async def reverse(self, ctx: RequestContext, req: schemas.EarnReversalRequest) -> Accepted:
        """A returned order's pending points cancelled, in whole or in part."""
        brand = await self._own_brand(ctx.principal)
        bound = await self._bound(brand, req.order_ref)
        return await self.rt.intake.submit(
            await run_in_threadpool(
                lambda: self.reversal_draft(ctx, brand, req, bound, self.checks.now())
            )
        )

    def reversal_draft(
        self,
        ctx: RequestContext,
        brand: BrandInfo,
        req: schemas.EarnReversalRequest,
        bound_ref: str,
        now: int,
    ) -> Draft:
        """The reversal's draft. `UnknownOrder` (404) for no purchase of the brand with this
        reference; `InvalidMember` (422) when `member` is not the order's; `OrderNotSettled`
        (409) while the earn is not confirmed; `ReversalWindowClosed` (409, `window_closed_at`)
        once the order's return window closed."""
        ledger_brand = brand.onboarded()
        earn = self._earn_of(brand, bound_ref)
        if earn is None:
            raise UnknownOrder(order_ref=req.order_ref)
        if req.member is not None and earn.member.lower() != req.member.lower():
            # the brand's own order: saying so leaks nothing (a trial read 404 as "no order")
            raise InvalidMember("the order was credited to another member", member=req.member)
        if earn.status != OpStatus.CONFIRMED.value:
            raise OrderNotSettled(operation_id=earn.uid, status=earn.status)
        purchase = self.purchase_of(ledger_brand, earn)
        if purchase is None:
            raise OrderNotSettled(operation_id=earn.uid, status="not_indexed")
        if purchase.release_at == 0:  # credited live: the brand kept no return window then
            raise ReversalWindowClosed(
                "the brand kept no return window when the order was credited (0 days): its "
                "points were the member's at once",
                operation_id=earn.uid,
                window_closed_at=iso_utc(purchase.timestamp),
                return_window_days=0,
            )
        if purchase.release_at <= now:
            raise ReversalWindowClosed(
                operation_id=earn.uid,
                # the order's own window end: after a shortened window its points may stay
                # pending later, beside its month's later purchases (a trial read a detail
                # named `released_at` as the points' release)
                window_closed_at=iso_utc(purchase.release_at),
            )
        earn_month = month_of(purchase.timestamp)
        payload = ReversalPayload(
            member=earn.member,
            earn_uid=earn.uid,
            order_ref=bound_ref,
            release_day=purchase.release_at // DAY_S,
            earn_month=earn_month,
            quarter=earn_month // 3,  # the ledger checks it is the earn month's
        )
        claim = ReversalClaim(
            earn.row_id, earn.amount_cents, purchase.spend_cents, purchase.points, req.amount_cents
        )
        return draft(
            ctx,
            OpKind.REVERSAL,
            brand,
            payload,
            member=earn.member,
            reversal=claim,
            extra_body={"reverses_operation_id": earn.uid},
        )

    def _earn_of(self, brand: BrandInfo, bound_ref: str) -> _Earn | None:
        with self.rt.db.read() as session:
            row = session.execute(
                select(
                    Operation.id,
                    Operation.uid,
                    Operation.member,
                    Operation.op_id,
                    Operation.status,
                    Operation.block_number,
                    Operation.payload,
                ).where(
                    Operation.brand_id == brand.row_id,
                    Operation.order_ref == bound_ref,
                    Operation.kind == OpKind.EARN.value,
                    HELD,
                )
            ).first()
        if row is None or row.member is None or row.op_id is None:
            return None
        payload = row.payload or {}
        cents = int(payload.get("amount_cents", 0))
        multiplier = int(payload.get("multiplier_pct", 100))
        return _Earn(
            row.id, row.uid, row.member, row.op_id, row.status, row.block_number, cents, multiplier
        )

    def purchase_of(self, brand: LedgerBrandId, earn: _Earn) -> Purchase | None:
        """The earn's `PointsEarned`, from its block; else from the index; else None."""
        chain, contracts = self.rt.chain(), self.rt.contracts()
        if earn.block_number is not None:
            logs = chain.logs([contracts.ledger_address], earn.block_number, earn.block_number)
            ordered = sorted(logs, key=lambda lg: lg.log_index)
            decoded = (contracts.events.decode(lg) for lg in ordered)
            # a batch's earns come as one PointsEarnedBatch: one PointsEarned per record here
            for event in expand_earned([e for e in decoded if e is not None]):
                if (
                    event.contract == LEDGER
                    and event.name == "PointsEarned"
                    and int(event.args["brand"]) == brand
                    and int(event.args["opId"]) == earn.op_id
                ):
                    stamp = chain.block_timestamps([earn.block_number])[earn.block_number]
                    return Purchase(
                        int(event.args["points"]),
                        int(event.args["spendCents"]),
                        int(event.args["releaseAt"]),
                        stamp,
                    )
        with self.rt.db.read() as session:  # applied by a transaction we could not follow
            line = session.execute(
                select(IdxHistory.amount, IdxHistory.release_at, IdxHistory.timestamp).where(
                    IdxHistory.brand == brand,
                    IdxHistory.op_id == earn.op_id,
                    IdxHistory.kind.in_(("pending", "earned")),
                    IdxHistory.source == "purchase",
                )
            ).first()
        if line is None:
            return None
        spend = counted_spend(earn.amount_cents, earn.multiplier_pct)
        return Purchase(int(line.amount), spend, int(line.release_at or 0), int(line.timestamp))
