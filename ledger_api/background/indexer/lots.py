"""The lots and pending months of the projection's working set: the points a member holds
per brand and earn month, and the pending ones per release time (read once per chunk,
changed in memory, written by `ProjectionState.flush`)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_api.db.models import IdxLot, IdxPending
from ledger_api.db.value_models import IdxPendingMonth
from ledger_api.domain import month_of

from .bulk_sql import add_held_statement, upsert

log = logging.getLogger(__name__)

#: a pending amount's row in `idx_pending_months`: (release time, earn month, gift lock)
_HeldKey = tuple[int, int, bool]


class LotsState:
    """The lots (`idx_lots`), pending positions (`idx_pending`) and pending points per earn
    month (`idx_pending_months`) one chunk touches; `ProjectionState.__init__` sets them."""

    session: Session
    _lots: dict[tuple[str, int], dict[int, int]]
    _dirty_lots: set[tuple[str, int, int]]
    _pending: dict[tuple[str, int, int], int]  # (member, brand, release_at)
    # the pending points per earn month (`idx_pending_months`) of the (member, brand) pairs
    # a spend, reversal or lock read; what the chunk only added to, as deltas
    _held: dict[tuple[str, int], dict[_HeldKey, int]]
    _dirty_held: set[tuple[str, int, _HeldKey]]
    _held_deltas: dict[tuple[str, int, _HeldKey], int]

    def _lot_map(self, member: str, brand: int) -> dict[int, int]:
        lots = self._lots.get((member, brand))
        if lots is None:
            rows = self.session.execute(
                select(IdxLot.month, IdxLot.amount).where(
                    IdxLot.member == member, IdxLot.brand == brand
                )
            )
            lots = self._lots[(member, brand)] = {month: amount for month, amount in rows}
        return lots

    def credit(self, member: str, brand: int, month: int, amount: int) -> None:
        lots = self._lot_map(member, brand)
        lots[month] = lots.get(month, 0) + amount
        self._dirty_lots.add((member, brand, month))

    def consume(
        self, member: str, brand: int, amount: int, month: int, now: int
    ) -> list[tuple[int, int]]:
        """Takes `amount` from the oldest live lots, each month's pending points left in its
        lot (the ledger's `_consume`); returns (month, taken) pairs."""
        lots = self._lot_map(member, brand)
        held = self.held_by_month(member, brand, now)
        taken: list[tuple[int, int]] = []
        remaining = amount
        for lot_month in sorted(m for m in lots if month - 12 <= m <= month):
            if remaining == 0:
                break
            take = min(max(0, lots[lot_month] - held.get(lot_month, 0)), remaining)
            if take:
                lots[lot_month] -= take
                remaining -= take
                taken.append((lot_month, take))
                self._dirty_lots.add((member, brand, lot_month))
        if remaining:
            log.error(
                "index: %s spent %d more points of brand %d than it holds", member, remaining, brand
            )
        return taken

    def _take_at(self, member: str, brand: int, lot_month: int, amount: int) -> None:
        """Takes `amount` pending points from the lot of `lot_month`, where they sit."""
        lots = self._lot_map(member, brand)
        have = lots.get(lot_month, 0)
        if have < amount:
            log.error("index: reversed %d more points of %s than it holds", amount - have, member)
        lots[lot_month] = max(0, have - amount)
        self._dirty_lots.add((member, brand, lot_month))

    def reverse_position(
        self, member: str, brand: int, amount: int, release_at: int, month: int, now: int
    ) -> list[tuple[int, int]]:
        """A reversal's burn: `amount` from the purchase position of earn month `month`
        released at `release_at`, in that month's lot (the ledger's `reverse`; `PointsReversed`
        names the position, also one a merge moved the purchase into); returns (month, taken)
        pairs."""
        rows = self._held_rows(member, brand, now)
        months = [k for k, a in rows.items() if k[0] == release_at and not k[2] and a > 0]
        if not months:  # indexed before migration 0029: no month known, the newest lots pay
            return self._take_newest(member, brand, amount, month_of(now))
        # positions of two months may share a day (a window changed around a month's end)
        key = (release_at, month, False) if (release_at, month, False) in months else months[0]
        self._add_held(member, brand, key, -amount)
        self._take_at(member, brand, key[1], amount)
        return [(key[1], amount)]

    def cancel_lock(
        self, member: str, brand: int, amount: int, release_at: int, now: int
    ) -> list[tuple[int, int]]:
        """A cancelled gift share's burn: `amount` from the lock released at `release_at`, its
        newest months first (the ledger's `_cancelGifts`, `LockMonths.takeNewest`); returns
        (month, taken) pairs."""
        rows = self._held_rows(member, brand, now)
        lock = sorted(
            (k for k, a in rows.items() if k[0] == release_at and k[2] and a > 0),
            key=lambda k: k[1],
            reverse=True,
        )
        taken: list[tuple[int, int]] = []
        remaining = amount
        for key in lock:
            take = min(rows[key], remaining)
            self._add_held(member, brand, key, -take)
            self._take_at(member, brand, key[1], take)
            taken.append((key[1], take))
            remaining -= take
            if remaining == 0:
                break
        if remaining:  # locked before migration 0029: no month known, the newest lots pay
            taken += self._take_newest(member, brand, remaining, month_of(now))
        return taken

    def _take_newest(
        self, member: str, brand: int, amount: int, month: int
    ) -> list[tuple[int, int]]:
        """Takes `amount` from the newest live lots: pending points the index has no month for
        (indexed before migration 0029, when the ledger took them as the newest); returns
        (month, taken) pairs."""
        lots = self._lot_map(member, brand)
        taken: list[tuple[int, int]] = []
        remaining = amount
        for lot_month in sorted((m for m in lots if month - 12 <= m <= month), reverse=True):
            take = min(lots[lot_month], remaining)
            if take:
                lots[lot_month] -= take
                remaining -= take
                taken.append((lot_month, take))
                self._dirty_lots.add((member, brand, lot_month))
            if remaining == 0:
                break
        if remaining:
            log.error("index: reversed %d more points of %s than it holds", remaining, member)
        return taken

    def move_lock(self, member: str, brand: int, start: int, end: int, now: int) -> None:
        """A later gift's lock moved the brand's locked points from `start` to `end` (their
        months kept)."""
        rows = self._held_rows(member, brand, now)
        for key in [k for k, a in rows.items() if k[0] == start and k[2] and a > 0]:
            amount = rows[key]
            self._add_held(member, brand, key, -amount)
            self._add_held(member, brand, (end, key[1], True), amount)

    def move_position(
        self, member: str, brand: int, month: int, start: int, end: int, now: int
    ) -> int:
        """A merge of the ledger's pending positions (`PendingPointsMoved`): the purchase
        points of `month` pending until `start` are pending until `end`; returns how many."""
        rows = self._held_rows(member, brand, now)
        amount = rows.get((start, month, False), 0)
        if amount > 0:
            self._add_held(member, brand, (start, month, False), -amount)
            self._add_held(member, brand, (end, month, False), amount)
        return max(amount, 0)

    def hold(
        self, member: str, brand: int, release_at: int, month: int, gift: bool, amount: int
    ) -> None:
        """`amount` more points pending until `release_at` in the lot of `month` (a purchase's
        position, or the gift lock): added without a read unless the pair's rows are loaded."""
        key = (release_at, month, gift)
        if (member, brand) in self._held:
            self._add_held(member, brand, key, amount)
        else:
            full = (member, brand, key)
            self._held_deltas[full] = self._held_deltas.get(full, 0) + amount

    def held_by_month(self, member: str, brand: int, now: int) -> dict[int, int]:
        """The member's points of `brand` still pending at `now`, per earn month."""
        held: dict[int, int] = {}
        for (release_at, month, _), amount in self._held_rows(member, brand, now).items():
            if release_at > now and amount > 0:
                held[month] = held.get(month, 0) + amount
        return held

    def _add_held(self, member: str, brand: int, key: _HeldKey, delta: int) -> None:
        rows = self._held[(member, brand)]
        rows[key] = rows.get(key, 0) + delta
        self._dirty_held.add((member, brand, key))

    def _held_rows(self, member: str, brand: int, now: int) -> dict[_HeldKey, int]:
        """The pair's rows still pending at `now` (read once per chunk), with the chunk's
        additions to them."""
        rows = self._held.get((member, brand))
        if rows is None:
            query = select(
                IdxPendingMonth.release_at,
                IdxPendingMonth.month,
                IdxPendingMonth.gift,
                IdxPendingMonth.amount,
            ).where(
                IdxPendingMonth.member == member,
                IdxPendingMonth.brand == brand,
                IdxPendingMonth.release_at > now,
            )
            rows = self._held[(member, brand)] = {
                (release_at, month, bool(gift)): amount
                for release_at, month, gift, amount in self.session.execute(query)
            }
            for full in [k for k in self._held_deltas if k[:2] == (member, brand)]:
                self._add_held(member, brand, full[2], self._held_deltas.pop(full))
        return rows

    def add_pending(self, member: str, brand: int, release_at: int, delta: int) -> None:
        """Moves a pending position of the member (issue 11) by `delta` points."""
        key = (member, brand, release_at)
        if key not in self._pending:
            stored = self.session.get(IdxPending, key)
            self._pending[key] = stored.amount if stored is not None else 0
        self._pending[key] = max(0, self._pending[key] + delta)

    # ------------------------------------------------------------ bulk write

    def _flush_held(self) -> None:
        """Writes the pending amounts per earn month the chunk changed: the rows it read, as
        they are now; the rows it only added to, as additions."""
        rows = [
            {
                "member": m,
                "brand": b,
                "release_at": key[0],
                "month": key[1],
                "gift": key[2],
                "amount": self._held[(m, b)][key],
            }
            for m, b, key in self._dirty_held
        ]
        upsert(
            self.session, IdxPendingMonth, rows, ("member", "brand", "release_at", "month", "gift")
        )
        if self._held_deltas:
            connection = self.session.connection()
            connection.execute(
                add_held_statement(connection.dialect.name),
                [
                    {
                        "member": m,
                        "brand": b,
                        "release_at": key[0],
                        "month": key[1],
                        "gift": key[2],
                        "amount": delta,
                    }
                    for (m, b, key), delta in self._held_deltas.items()
                ],
            )
        self._held.clear()
        self._dirty_held.clear()
        self._held_deltas.clear()
