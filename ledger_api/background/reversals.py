"""Reversal claims: how much of an order a reversal may still take (issue 11).

A reversal is bounded by what its order credited less the order's earlier live (not failed)
reversals, of any earn of the order (`ReversalBook._earns_of_order`). The bound is checked by
the intake inside the transaction that stores the reversal, with the brand's row locked
(`_Batch.brand` reads it FOR UPDATE), so two reversals of one order racing each other cannot
both pass. Partial amounts turn into points in proportion to what the order credited (the earn's
conversion), rounded down on the order's cents returned so far, so the points returns take do
not depend on how they are split; the reversal that takes an order's last cent takes its last
point, so no point is left over. Amounts are the order's cents, as the brand sent the purchase;
the spend a reversal takes off the member's tier counters is the same share of what the purchase
counted (`PointsEarned.spendCents`, less than the order below a 100% multiplier: a trial's half
return of an order earned at 50% took every point, the order then measured by its counted
spend).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.background.indexer.cursor import indexed_order_floor
from ledger_api.db.keys import HELD, NOT_FAILED, RELEASED
from ledger_api.db.models import Operation
from ledger_api.domain import OpKind
from ledger_api.errors import ReversalExceedsOrder, ZeroPoints
from ledger_api.model.payloads import ReversalPayload


@dataclass(frozen=True, slots=True)
class ReversalClaim:
    """What a reversal asks of its order: `amount_cents` (None: the order's remainder)."""

    earn_row_id: int  # `operations.id` of the order's crediting earn
    order_cents: int  # the order's amount (the earn's `amount_cents`)
    order_spend_cents: int  # what the earn counted toward tiers (`PointsEarned.spendCents`)
    order_points: int  # the points the earn credited (`PointsEarned.points`)
    amount_cents: int | None


class ReversalBook:
    """The reversals of the orders one intake group touches: stored ones and the group's."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # earn row id -> (order cents, counted spend, points) reversed
        self._taken: dict[int, tuple[int, int, int]] = {}

    def _reversed(self, earn_row_id: int) -> tuple[int, int, int]:
        taken = self._taken.get(earn_row_id)
        if taken is None:
            rows = self.session.execute(
                select(Operation.points, Operation.payload).where(
                    Operation.reverses_id.in_(self._earns_of_order(earn_row_id)),
                    Operation.kind == OpKind.REVERSAL.value,
                    NOT_FAILED,
                )
            )
            cents = spend = points = 0
            for stored_points, payload in rows:
                spend += int(payload.get("spend_cents", 0))
                # a reversal stored before `amount_cents` counted its spend, the order's cents
                cents += int(payload.get("amount_cents", payload.get("spend_cents", 0)))
                points += int(stored_points)
            taken = self._taken[earn_row_id] = (cents, spend, points)
        return taken

    def _earns_of_order(self, earn_row_id: int) -> list[int]:
        """The earn rows of the order `earn_row_id` credits: itself, and the order's other
        earns, which a failure had given it back to. The reversals of them all count: a chain
        that forgets a failure's block may apply the failed earn instead of its retry (they
        share the op id, `intake`), and a return stored against the retry returned the order.
        Each read by its partial index (`uq_operations_brand_order`, held;
        `ix_operations_released_orders`, given back)."""
        earn = self.session.execute(
            select(Operation.brand_id, Operation.order_ref).where(Operation.id == earn_row_id)
        ).first()
        if earn is None or earn.order_ref is None:
            return [earn_row_id]
        same_order = (Operation.brand_id == earn.brand_id, Operation.order_ref == earn.order_ref)
        earns = {earn_row_id}
        for keys in (HELD, RELEASED):
            earns.update(
                self.session.scalars(
                    select(Operation.id).where(
                        *same_order, keys, Operation.kind == OpKind.EARN.value
                    )
                )
            )
        return sorted(earns)

    def claim(self, claim: ReversalClaim, payload: ReversalPayload) -> ReversalPayload:
        """The payload with the points and cents the reversal takes; `ReversalExceedsOrder`
        beyond the order's remainder, `ZeroPoints` for an amount worth no point."""
        cents, spend, points = self._reversed(claim.earn_row_id)
        left_cents, left_points = claim.order_cents - cents, claim.order_points - points
        wanted = claim.amount_cents if claim.amount_cents is not None else left_cents
        if wanted <= 0 or wanted > left_cents or left_points <= 0:
            raise ReversalExceedsOrder(
                "the order is returned in full: nothing is left to reverse"
                if left_cents <= 0 or left_points <= 0
                else None,
                order_cents=claim.order_cents,
                reversed_cents=cents,
                requested_cents=wanted,  # the rest (0) when the request named no amount
            )
        closes = wanted == left_cents
        # rounded down on the order's cents returned so far, not on this return alone: what an
        # order's returns take does not depend on how the brand splits them (a review of
        # 2026-12-06: 19 + 19 cents of a 100-point, 10 USD order took 1 + 1 points, 38 took 3)
        returned = cents + wanted
        take = (
            left_points if closes else claim.order_points * returned // claim.order_cents - points
        )
        take = max(0, min(take, left_points))
        if take == 0:
            raise ZeroPoints(amount_cents=wanted)
        left_spend = max(0, claim.order_spend_cents - spend)
        counted = (
            left_spend
            if closes
            else claim.order_spend_cents * returned // claim.order_cents - spend
        )
        counted = max(0, min(counted, left_spend))
        # The order's order closes with the part that takes what is left of it below the
        # ledger's order floor (the whole order, with none): once, and never for an order that
        # counted none. Closed on a later part, the ledger had closed it already (its position
        # keeps no more orders than its points left can hold) and the close took another order
        # of the day (a review of 2026-12-07). The floor is the one now: a floor the admin
        # changed while the order was pending is not followed.
        floor = indexed_order_floor(self.session) * 100
        closes_order = closes if floor == 0 else left_spend >= floor > left_spend - counted
        self._taken[claim.earn_row_id] = (cents + wanted, spend + counted, points + take)
        return payload.model_copy(
            update={
                "points": take,
                "amount_cents": wanted,
                "spend_cents": counted,
                "closes_order": closes_order,
            }
        )
