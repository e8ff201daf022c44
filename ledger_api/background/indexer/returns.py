"""Returns in the index (issue 11): a reversal's burn, pending positions, counters.

A burn (`Transfer` to the zero address) waits for the next event: the `PointsReversed` or
`TierGiftCancelled` of the same transaction makes it a reversal (the newest lots, the brand's
`reversed`), anything else a redemption (the oldest lots, `redeemed`), as the ledger does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.chain.manifest import LEDGER
from ledger_api.domain import month_of

from .state import ProjectionState


class ReturnsProjection(ProjectionState):
    """The projector's handling of returns (its base)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.burn: tuple[Event, str, int, int, int] | None = None

    def settle_burn(self, following: Event | None) -> None:
        """Books the waiting burn, if any, by the event that follows it (None: none)."""
        if self.burn is None:
            return
        burn, self.burn = self.burn, None
        reversal = (
            following is not None
            and following.contract == LEDGER
            and following.name in ("PointsReversed", "TierGiftCancelled")
            and following.log.tx_hash == burn[0].log.tx_hash
        )
        self._apply_burn(*burn, reversal=reversal)

    def _apply_burn(
        self, event: Event, member: str, brand: int, amount: int, month: int, *, reversal: bool
    ) -> None:
        if reversal:
            self.take_newest(member, brand, amount, month)
            self.brand(brand).reversed += amount
        else:
            self.consume(member, brand, amount, month)
            self.brand(brand).redeemed += amount

    def _points_reversed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A returned order's pending points cancelled (the burn before it is booked as
        reversed, not redeemed); the member's quarter counters drop as the ledger's do."""
        member, brand, points = a["member"], int(a["brand"]), int(a["points"])
        order_ref, release_at = "0x" + bytes(a["orderRef"]).hex(), int(a["releaseAt"])
        lines = self.order_lines(member, brand, order_ref)
        bought = [(amount, at) for kind, amount, at in lines if kind in ("pending", "earned")]
        reversed_before = sum(amount for kind, amount, _ in lines if kind == "reversed")
        self.history(
            event,
            ts,
            member=member,
            brand=brand,
            amount=points,
            kind="reversed",
            op_id=int(a["opId"]),
            source="purchase",
            order_ref=order_ref,
            release_at=release_at,
        )
        self.add_pending(member, brand, release_at, -points)
        status = self.member(member)
        quarter = month_of(bought[0][1]) // 3 if bought else month_of(ts) // 3
        if status.quarter == quarter:
            status.spend_cents = max(0, status.spend_cents - int(a["spendCents"]))
            closes = bool(bought) and reversed_before + points >= bought[0][0]
            if closes and status.orders:
                status.orders -= 1
