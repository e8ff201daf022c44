"""The projection's working set: index rows read, changed in memory and written in bulk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event
from ledger_api.chain.manifest import LEDGER
from ledger_api.db.keys import exact, superset_of
from ledger_api.db.models import (
    Brand,
    IdxBadgeBalance,
    IdxBrand,
    IdxHistory,
    IdxLot,
    IdxMember,
    IdxMeta,
    IdxPending,
    IdxPosition,
    table_of,
)
from ledger_api.domain import lot_expiry

from .bulk_sql import upsert
from .cursor import CHARITY_POOL, indexed_order_floor
from .holders import brands_held
from .lots import LotsState

ZERO = "0x0000000000000000000000000000000000000000"
REDEEMED_FLAG = 1 << 255


#: a brand's op-id counter moved past what the chain used, when behind: never in a gateway's
#: own flow (it hands out every id before the chain sees it), but a database restored from a
#: backup (`pg_dump`) handed out ids the chain had used since, and every new earn failed
#: `operation_used` (a trial: hundreds per brand); a condition false in the normal flow takes
#: no lock on the brand's row (the intake holds it)
#: op ids from here on (a brand's own choice, calling the ledger itself) move no counter
OP_ID_FOLLOW_LIMIT = 2**62
_BRANDS = table_of(Brand)
_OP_IDS_PAST = (
    update(_BRANDS)
    .where(_BRANDS.c.ledger_id == bindparam("brand"), _BRANDS.c.next_op_id < bindparam("next"))
    .values(next_op_id=bindparam("next"))
)


@dataclass(slots=True)
class _Member:
    tier: int = 0
    quarter: int = 0
    spend_cents: int = 0
    orders: int = 0
    engagements: int = 0
    grace_until_month: int = 0
    badge_tier: int | None = None


@dataclass(slots=True)
class _Brand:
    value_micro_usd: int = 0
    suspended: bool = False
    issued: int = 0
    redeemed: int = 0
    reversed: int = 0
    daily_cap_points: int | None = None  # the chain's, from `DailyMintCapChanged` (issue 10)
    return_window_days: int | None = None  # the chain's, from `ReturnWindowChanged` (issue 11)
    # the chain's earn rule, from `BrandOnboarded` and `EarnRuleChanged` (migration 0021)
    points_per_usd: int | None = None
    points_per_review: int | None = None
    points_per_share: int | None = None
    points_per_event: int | None = None
    points_per_referral: int | None = None


def _row(record: _Member | _Brand) -> dict[str, Any]:
    """A record's fields as its row's columns: flat ints, bools and None, so `asdict`'s deep
    copy of each value (about 20 Python calls per field) is not needed."""
    return {name: getattr(record, name) for name in record.__slots__}


class ProjectionState(LotsState):
    """The index rows one chunk touches, in memory: read in bulk (`preload`), changed by
    the projector's event handlers, written back in bulk (`flush`), so a chunk of thousands
    of events costs a handful of statements."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # `_lots`, `_dirty_lots`, `_pending` and `_held*`: typed in `LotsState`
        self._lots = {}
        self._dirty_lots = set()
        self._members: dict[str, _Member] = {}
        self._dirty_members: set[str] = set()
        self._brands: dict[int, _Brand] = {}
        self._dirty_brands: set[int] = set()
        self._positions: dict[tuple[int, int], int] = {}
        self._pending = {}  # (member, brand, release_at)
        self._held = {}
        self._dirty_held = set()
        self._held_deltas = {}
        self._badges: dict[tuple[str, int], int] = {}
        self._history: list[dict[str, Any]] = []
        self._used_op_ids: dict[int, int] = {}  # per brand, the highest op id the chain used
        self.held_brands: dict[str, set[int]] = {}  # a tier event's member: its lots' brands
        meta = session.get(IdxMeta, CHARITY_POOL)
        self.charity_pool = meta.value if meta else None
        #: the least counted spend (cents) of a purchase that counts as an order (the ledger's)
        self.order_floor_cents = indexed_order_floor(session) * 100

    # ------------------------------------------------------------ bulk load/write

    def preload(self, events: Sequence[Event]) -> None:
        """Reads, in a few queries, every row the chunk's events will touch."""
        lot_keys, members, brands = _touched(events)
        self._preload_pending([k for k in _pending_keys(events) if k not in self._pending])
        self._preload_lots([k for k in lot_keys if k not in self._lots])
        self._preload_members([m for m in members if m not in self._members])
        self._preload_brands([b for b in brands if b not in self._brands])
        self.held_brands.update(brands_held(self.session, events, self.held_brands))

    def adopt(self, read: ProjectionState) -> None:
        """Takes the rows `read` preloaded (in a read transaction, before the writer lock)."""
        self._lots.update(read._lots)
        self._members.update(read._members)
        self._brands.update(read._brands)
        self._pending.update(read._pending)
        self.held_brands.update(read.held_brands)

    def _preload_lots(self, wanted: Sequence[tuple[str, int]]) -> None:
        for part in _chunks(wanted, 400):
            for key in part:
                self._lots[key] = {}
            rows = self.session.execute(
                select(IdxLot.member, IdxLot.brand, IdxLot.month, IdxLot.amount).where(
                    superset_of((IdxLot.member, IdxLot.brand), part)
                )
            )
            for member, brand, month, amount in exact(rows, part):
                self._lots[(member, brand)][month] = amount

    def _preload_pending(self, wanted: Sequence[tuple[str, int, int]]) -> None:
        """The pending positions the chunk's purchases add to (0 for a new one): a bulk import
        is one purchase per operation, each read on its own before."""
        for part in _chunks(wanted, 300):
            for key in part:
                self._pending[key] = 0
            key = (IdxPending.member, IdxPending.brand, IdxPending.release_at)
            rows = self.session.execute(
                select(*key, IdxPending.amount).where(superset_of(key, part))
            )
            for member, brand, release_at, amount in exact(rows, part):
                self._pending[(member, brand, release_at)] = amount

    def _preload_members(self, wanted: Sequence[str]) -> None:
        for part in _chunks(wanted, 400):
            for member in part:
                self._members[member] = _Member()  # none stored yet: a new member
            for row in self.session.scalars(select(IdxMember).where(IdxMember.member.in_(part))):
                self._members[row.member] = _member_of(row)

    def _preload_brands(self, wanted: Sequence[int]) -> None:
        for brand in wanted:
            self._brands[brand] = _Brand()  # none stored yet: onboarded in this chunk
        if wanted:
            for account in self.session.scalars(select(IdxBrand).where(IdxBrand.brand.in_(wanted))):
                self._brands[account.brand] = _brand_of(account)

    def flush(self) -> None:
        """Writes every change of the chunk."""
        lots = []
        for member, brand, month in self._dirty_lots:
            amount = self._lots[(member, brand)][month]
            lots.append(
                {
                    "member": member,
                    "brand": brand,
                    "month": month,
                    "amount": amount,
                    "expires_at": lot_expiry(month),
                }
            )
        # a lot's expiry follows from its month: set when the lot is new, never updated
        upsert(self.session, IdxLot, lots, ("member", "brand", "month"), changes=("amount",))
        upsert(
            self.session,
            IdxMember,
            [{"member": m, **_row(self._members[m])} for m in self._dirty_members],
            ("member",),
        )
        upsert(
            self.session,
            IdxBrand,
            [{"brand": b, **_row(self._brands[b])} for b in self._dirty_brands],
            ("brand",),
        )
        upsert(
            self.session,
            IdxPosition,
            [
                {"brand_lo": lo, "brand_hi": hi, "amount_micro_usd": v}
                for (lo, hi), v in self._positions.items()
            ],
            ("brand_lo", "brand_hi"),
        )
        badges = [
            {
                "holder": holder,
                "token_id": str(token),
                "type_id": token & ~REDEEMED_FLAG,
                "redeemed": bool(token & REDEEMED_FLAG),
                "amount": amount,
            }
            for (holder, token), amount in self._badges.items()
        ]
        upsert(self.session, IdxBadgeBalance, badges, ("holder", "token_id"))
        pending = [
            {"member": m, "brand": b, "release_at": r, "amount": amount}
            for (m, b, r), amount in self._pending.items()
        ]
        upsert(self.session, IdxPending, pending, ("member", "brand", "release_at"))
        self._pending.clear()
        self._flush_held()
        if self._history:
            self.session.connection().execute(insert(table_of(IdxHistory)), self._history)
        if self._used_op_ids:
            self.session.connection().execute(
                _OP_IDS_PAST,
                [{"brand": b, "next": op_id + 1} for b, op_id in self._used_op_ids.items()],
            )
            self._used_op_ids.clear()
        self._dirty_lots.clear()
        self._dirty_members.clear()
        self._dirty_brands.clear()
        self._positions.clear()
        self._badges.clear()
        self._history = []

    def used_op_id(self, brand: int, op_id: int) -> None:
        """The chain used `op_id` of `brand` (an earn or a reversal): the flush moves the
        brand's `next_op_id` past it when it is behind (`_OP_IDS_PAST`). Not past
        `OP_ID_FOLLOW_LIMIT`: a brand calling the ledger itself picks any uint64, and the
        counter (a signed 64-bit column) keeps room to hand out ids after it."""
        if self._used_op_ids.get(brand, 0) < op_id < OP_ID_FOLLOW_LIMIT:
            self._used_op_ids[brand] = op_id

    # ------------------------------------------------------------------ helpers

    def order_lines(self, member: str, brand: int, order_ref: str) -> list[tuple[str, int, int]]:
        """(kind, points, timestamp) of the index's lines of one order: its purchase
        (`earned` or `pending`) and its reversals, this chunk's included."""
        stored = self.session.execute(
            select(IdxHistory.kind, IdxHistory.amount, IdxHistory.timestamp).where(
                IdxHistory.member == member,
                IdxHistory.brand == brand,
                IdxHistory.order_ref == order_ref,
            )
        )
        lines = [(str(k), int(a), int(t)) for k, a, t in stored]
        lines += [
            (row["kind"], int(row["amount"]), int(row["timestamp"]))
            for row in self._history
            if (row["member"], row["brand"], row["order_ref"]) == (member, brand, order_ref)
        ]
        return lines

    def member(self, address: str) -> _Member:
        row = self._members.get(address)
        if row is None:
            stored = self.session.get(IdxMember, address)
            row = _Member() if stored is None else _member_of(stored)
            self._members[address] = row
        self._dirty_members.add(address)
        return row

    def brand(self, brand: int) -> _Brand:
        row = self._brands.get(brand)
        if row is None:
            stored = self.session.get(IdxBrand, brand)
            row = _Brand() if stored is None else _brand_of(stored)
            self._brands[brand] = row
        self._dirty_brands.add(brand)
        return row

    def history(self, event: Event, timestamp: int, **values: Any) -> None:
        row = {
            "counterparty": None,
            "at_brand": None,
            "value_micro_usd": None,
            "op_id": None,
            "source": None,
            "order_ref": None,
            "release_at": None,
            **values,
        }
        if row["value_micro_usd"] is not None:
            row["value_micro_usd"] = str(row["value_micro_usd"])
        row.update(
            block_number=event.log.block_number,
            log_index=event.log.log_index,
            tx_hash=event.log.tx_hash,
            timestamp=timestamp,
        )
        self._history.append(row)

    def _move_badge(self, sender: str, receiver: str, token_id: int, value: int) -> None:
        for holder, delta in ((sender, -value), (receiver, value)):
            if holder == ZERO:
                continue
            key = (holder, token_id)
            if key not in self._badges:
                stored = self.session.get(IdxBadgeBalance, (holder, str(token_id)))
                self._badges[key] = stored.amount if stored else 0
            self._badges[key] += delta

    def add_debt(self, debtor: int, creditor: int, value: int) -> None:
        lo, hi = min(debtor, creditor), max(debtor, creditor)
        if (lo, hi) not in self._positions:
            stored = self.session.get(IdxPosition, (lo, hi))
            self._positions[(lo, hi)] = stored.amount_micro_usd if stored else 0
        self._positions[(lo, hi)] += value if debtor == lo else -value

    def position_of(self, debtor: int, creditor: int) -> int:
        """What `debtor` owes `creditor` net (micro-USD) with this chunk's changes."""
        lo, hi = min(debtor, creditor), max(debtor, creditor)
        if (lo, hi) not in self._positions:
            stored = self.session.get(IdxPosition, (lo, hi))
            self._positions[(lo, hi)] = stored.amount_micro_usd if stored else 0
        owed = self._positions[(lo, hi)]
        return owed if debtor == lo else -owed

    def lot_keys(self) -> list[tuple[str, int]]:
        """The (holder, brand) pairs whose lots this chunk has loaded or changed."""
        return list(self._lots)


def _touched(events: Sequence[Event]) -> tuple[set[tuple[str, int]], set[str], set[int]]:
    """The (holder, brand) lots, members and brands the ledger's events of a chunk touch."""
    lot_keys: set[tuple[str, int]] = set()
    members: set[str] = set()
    brands: set[int] = set()
    for event in events:
        args = event.args
        if event.contract != LEDGER:
            continue
        if event.name == "Transfer":
            for holder in (args["sender"], args["receiver"]):
                if holder != ZERO:
                    lot_keys.add((holder, int(args["id"])))
            brands.add(int(args["id"]))
        elif "member" in args:
            members.add(args["member"])
    return lot_keys, members, brands


def _pending_keys(events: Sequence[Event]) -> set[tuple[str, int, int]]:
    """The (member, brand, release_at) pending positions of the chunk's purchases."""
    return {
        (e.args["member"], int(e.args["brand"]), int(e.args["releaseAt"]))
        for e in events
        if e.contract == LEDGER and e.name == "PointsEarned" and int(e.args.get("releaseAt", 0))
    }


def _brand_of(row: IdxBrand) -> _Brand:
    return _Brand(
        row.value_micro_usd,
        row.suspended,
        row.issued,
        row.redeemed,
        row.reversed,
        row.daily_cap_points,
        row.return_window_days,
        row.points_per_usd,
        row.points_per_review,
        row.points_per_share,
        row.points_per_event,
        row.points_per_referral,
    )


def _member_of(row: IdxMember) -> _Member:
    return _Member(
        row.tier,
        row.quarter,
        row.spend_cents,
        row.orders,
        row.engagements,
        row.grace_until_month,
        row.badge_tier,
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
