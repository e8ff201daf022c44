"""Returns in the index (issue 11): a reversal's burn, pending positions, counters, and the
tier-gift shares that wait for the purchases they depend on (locked, extended, cancelled),
and the shares' part of each paying brand's daily mint count (`mint_counters`).

A burn (`Transfer` to the zero address) waits for the next event: the `PointsReversed` or
`TierGiftCancelled` of the same transaction makes it a reversal (the brand's `reversed`: the
lot of the reversed position's earn month, or the lock's months newest first), anything else a
redemption (the oldest lots, each month's pending points skipped, `redeemed`), as the ledger
does. The earn month of every pending amount is kept in `idx_pending_months`.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.chain.manifest import LEDGER
from ledger_api.db.models import Brand, MintCounter, table_of
from ledger_api.db.value_models import value_in_month
from ledger_api.domain import month_of, utc_day

from .state import ProjectionState


@functools.cache
def _count_minted(dialect: str) -> Any:
    """Adds `points` to the brand's (by its ledger id) count of `day`; a brand the gateway
    does not know (onboarded around it) has no count."""
    brands, counters = table_of(Brand), table_of(MintCounter)
    insert_: Any = sqlite_insert if dialect == "sqlite" else pg_insert
    source = select(
        brands.c.id, bindparam("day", type_=String()), bindparam("points", type_=BigInteger())
    ).where(brands.c.ledger_id == bindparam("brand"))
    statement = insert_(counters).from_select(["brand_id", "day", "points"], source)
    return statement.on_conflict_do_update(
        index_elements=["brand_id", "day"],
        set_={"points": counters.c.points + statement.excluded.points},
    )


class ReturnsProjection(ProjectionState):
    """The projector's handling of returns (its base)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.burn: tuple[Event, str, int, int, int, int] | None = None
        self._gift_minted: dict[tuple[int, str], int] = {}  # (brand, UTC day): points
        # (tx hash, member, brand, month, own release): the later release a purchase of that
        # transaction joined (`PendingPointsMoved` just before its `PointsEarned`)
        self._joined: dict[tuple[str, str, int, int, int], int] = {}
        # the value (micro-USD) of the reversal burn just booked, each point at its month's
        self._reversed_value: int | None = None

    def flush(self) -> None:
        """Writes the chunk's rows, then adds the gift shares to their brands' daily mint
        counts (after the op-id counters: the brand's row, then its count, as the intake
        locks them)."""
        super().flush()
        if self._gift_minted:
            connection = self.session.connection()
            connection.execute(
                _count_minted(connection.dialect.name),
                [{"brand": b, "day": d, "points": p} for (b, d), p in self._gift_minted.items()],
            )
            self._gift_minted.clear()

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
        self._apply_burn(*burn, following if reversal else None)

    def _apply_burn(
        self,
        event: Event,
        member: str,
        brand: int,
        amount: int,
        month: int,
        ts: int,
        reversal: Event | None,
    ) -> None:
        if reversal is None:
            self.consume(member, brand, amount, month, ts)
            self.brand(brand).redeemed += amount
            return
        release_at = int(reversal.args["releaseAt"])
        if reversal.name == "PointsReversed":
            taken = self.reverse_position(
                member, brand, amount, release_at, int(reversal.args["month"]), ts
            )
        else:
            taken = self.cancel_lock(member, brand, amount, release_at, ts)
        self.brand(brand).reversed += amount
        # the reversal's history line (its handler, next) carries what the points were worth
        self._reversed_value = sum(t * self._month_value(brand, m) for m, t in taken)

    def _month_value(self, brand: int, month: int) -> int:
        """The brand's point value (micro-USD) in force in `month`: its last change from that
        month or before (`idx_brand_values`), else the brand's value."""
        value = value_in_month(self.session, brand, month)
        return value if value is not None else self.brand(brand).value_micro_usd

    def _points_reversed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A returned order's pending points cancelled (the burn before it is booked as
        reversed, not redeemed); the member's quarter counters drop as the ledger's do: its
        spend by the event's, and one order when the event says it closed one."""
        member, brand, points = a["member"], int(a["brand"]), int(a["points"])
        self.used_op_id(brand, int(a["opId"]))
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
            value_micro_usd=self._take_reversed_value(),
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
            # the ledger's word: `closedOrders` (the orders the position's points left can no
            # longer have counted too, 2026-12-07), `closedOrder` before; a deployment whose
            # event says neither, one for the whole order returned
            closed = a.get("closedOrders", a.get("closedOrder"))
            if closed is None:
                closed = bool(bought) and reversed_before + points >= bought[0][0]
            status.orders = max(0, status.orders - int(closed))

    def _pending_points_moved(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A purchase found 4 release days pending: the ledger merged the two closest of one
        month into the later day (never earlier: DOMAIN.md "Returns"); the month's points
        pending until `fromReleaseAt` are pending until `toReleaseAt`. Or, with nothing
        pending on that day, the purchase that follows joined the later day itself (after its
        brand's window was shortened; its `PointsEarned` states its own day): `held_until`."""
        member, brand, month = a["member"], int(a["brand"]), int(a["month"])
        start, end = int(a["fromReleaseAt"]), int(a["toReleaseAt"])
        moved = self.move_position(member, brand, month, start, end, ts)
        if moved == 0:  # the purchase that follows joined a later day (a shortened window)
            self._joined[(event.log.tx_hash, member, brand, month, start)] = end
            return
        self.add_pending(member, brand, start, -moved)
        self.add_pending(member, brand, end, moved)

    def held_until(self, event: Event, member: str, brand: int, month: int, release: int) -> int:
        """When a purchase's points stated pending until `release` (its own day, the end of its
        brand's right) are released: the later day its transaction's `PendingPointsMoved` from
        that day says it joined, else `release`."""
        return self._joined.pop((event.log.tx_hash, member, brand, month, release), release)

    def _tier_gift_paid(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """Each brand's share of an upgrade gift, in its own points (issue 10); pending until
        `releaseAt` while a purchase it depends on could be reversed (README, "Returns").
        The chain counts every share in its brand's day (`_payGift`: the daily mint cap), so
        the gateway's count takes it too: before, an earn the count still had room for was
        accepted and failed on chain (`daily_cap_exceeded`, a trial)."""
        release_at = int(a.get("releaseAt", 0))
        day = (int(a["brand"]), utc_day(ts))
        self._gift_minted[day] = self._gift_minted.get(day, 0) + int(a["points"])
        self._gift_line(event, ts, a, "pending" if release_at else "earned", release_at, 1)

    def _tier_gift_cancelled(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A return took the member below the tier: the share's locked points are cancelled
        (the burn before it is booked as reversed, from the lock's newest months)."""
        self._gift_line(event, ts, a, "reversed", int(a["releaseAt"]), -1)

    def _gift_line(
        self, event: Event, ts: int, a: dict[str, Any], kind: str, release_at: int, sign: int
    ) -> None:
        """A gift share's history line; its pending position (if any) moves by sign x points."""
        member, brand, points = a["member"], int(a["brand"]), int(a["points"])
        self.history(
            event,
            ts,
            member=member,
            brand=brand,
            amount=points,
            kind=kind,
            value_micro_usd=self._take_reversed_value() if kind == "reversed" else None,
            source="tier_gift",
            release_at=release_at or None,
        )
        if release_at:
            self.add_pending(member, brand, release_at, sign * points)
            if sign > 0:  # a cancellation's months are taken with its burn
                self.hold(member, brand, release_at, month_of(ts), True, points)

    def _take_reversed_value(self) -> int | None:
        """The value of the reversal's burn booked just before (None: none was)."""
        value, self._reversed_value = self._reversed_value, None
        return value

    def _tier_gift_hold_extended(self, event: Event, a: dict[str, Any], ts: int) -> None:
        """A later gift's lock moved the brand's earlier locked shares to its release."""
        member, brand, points = a["member"], int(a["brand"]), int(a["points"])
        start, end = int(a["fromReleaseAt"]), int(a["toReleaseAt"])
        self.add_pending(member, brand, start, -points)
        self.add_pending(member, brand, end, points)
        self.move_lock(member, brand, start, end, ts)
