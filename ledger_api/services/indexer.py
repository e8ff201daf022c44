"""The indexer: follows the contracts' events into the `idx_*` tables reads are served from.

It reads `eth_getLogs` from the manifest's `deployed_block`, a chunk at a time,
stopping `confirmations` blocks behind the head, and applies each chunk and the
cursor in one transaction, so a crash never applies a log twice or skips one.
Before each chunk it checks that the last applied block is still on the chain;
when it is not (a reorg deeper than the confirmation depth, or a development
node restarted without its state) it rebuilds the index from the start.

Lots mirror the ledger's `LotMath`: a mint credits the month of the block, a
spend or gift takes the oldest live months first and a gift hands the same
months to the receiver, so expiry never extends. A lot counts until the first
second of month earned + 13; what is left in it then is what expired.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.chain.abi import Event, Log, checksum
from ledger_api.chain.contracts import Contracts
from ledger_api.chain.manifest import ALLIANCE_BADGES, LEDGER, MEMBERSHIP_BADGE
from ledger_api.chain.port import Chain
from ledger_api.db import Database
from ledger_api.db.models import (
    INDEX_TABLES,
    Base,
    Brand,
    IdxBadgeBalance,
    IdxBadgeType,
    IdxBrand,
    IdxHistory,
    IdxLot,
    IdxMember,
    IdxMeta,
    IdxPosition,
    IdxTierRule,
    IndexCursor,
    Operation,
    table_of,
)
from ledger_api.domain import EarnKind, lot_expiry, month_of
from ledger_api.errors import ChainUnavailable
from ledger_api.services.sender import Backoff
from ledger_api.services.threads import name_this_thread
from ledger_api.settings import Settings

log = logging.getLogger(__name__)

ZERO = "0x0000000000000000000000000000000000000000"
REDEEMED_FLAG = 1 << 255
CURSOR_ID = 1
CHARITY_POOL = "charity_pool"


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


def upsert(
    session: Session, table: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, many rows at once (SQLite and PostgreSQL)."""
    if not rows:
        return
    insert: Any = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(table_of(table))  # Core: the ORM's bulk path costs more than the rows
    columns = [c for c in rows[0] if c not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}
    )
    session.execute(statement, list(rows))


class Projector:
    """Applies decoded events to the index within one session (one chunk).

    State is read in bulk (`preload`), changed in memory by the event handlers, and
    written back in bulk (`flush`): a chunk of thousands of events costs a handful of
    statements.
    """

    def __init__(self, session: Session, amounts_cents: dict[tuple[int, int], int]) -> None:
        self.session = session
        self._amounts_cents = amounts_cents
        self._lots: dict[tuple[str, int], dict[int, int]] = {}
        self._dirty_lots: set[tuple[str, int, int]] = set()
        self._members: dict[str, _Member] = {}
        self._dirty_members: set[str] = set()
        self._brands: dict[int, _Brand] = {}
        self._dirty_brands: set[int] = set()
        self._positions: dict[tuple[int, int], int] = {}
        self._badges: dict[tuple[str, int], int] = {}
        self._history: list[dict[str, Any]] = []
        meta = session.get(IdxMeta, CHARITY_POOL)
        self.charity_pool = meta.value if meta else None
        self._handlers: dict[tuple[str, str], Callable[[Event, dict[str, Any], int], None]] = {
            (LEDGER, "Transfer"): self._points_transfer,
            (LEDGER, "PointsEarned"): self._points_earned,
            (LEDGER, "TierUpgraded"): self._tier_upgraded,
            (LEDGER, "TierRetained"): self._tier_retained,
            (LEDGER, "TierDowngradeWarned"): self._tier_downgrade_warned,
            (LEDGER, "TierDowngraded"): self._tier_downgraded,
            (LEDGER, "TierRuleChanged"): self._tier_rule_changed,
            (LEDGER, "BrandOnboarded"): self._brand_onboarded,
            (LEDGER, "BrandSuspensionChanged"): self._brand_suspension_changed,
            (LEDGER, "PointValueChanged"): self._point_value_changed,
            (LEDGER, "CharityPoolChanged"): self._charity_pool_changed,
            (LEDGER, "PointsRedeemed"): self._points_redeemed,
            (LEDGER, "PositionSettled"): self._position_settled,
            (MEMBERSHIP_BADGE, "TierBadgeUpdated"): self._tier_badge_updated,
            (ALLIANCE_BADGES, "BadgeDefined"): self._badge_defined,
            (ALLIANCE_BADGES, "URI"): self._badge_uri,
            (ALLIANCE_BADGES, "TransferSingle"): self._badge_transfer_single,
            (ALLIANCE_BADGES, "TransferBatch"): self._badge_transfer_batch,
        }

    # ------------------------------------------------------------ bulk load/write

    def preload(self, events: Sequence[Event]) -> None:
        """Reads, in a few queries, every row the chunk's events will touch."""
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
        wanted_lots = [k for k in lot_keys if k not in self._lots]
        for part in _chunks(wanted_lots, 400):
            for key in part:
                self._lots[key] = {}
            rows = self.session.execute(
                select(IdxLot.member, IdxLot.brand, IdxLot.month, IdxLot.amount).where(
                    tuple_(IdxLot.member, IdxLot.brand).in_(part)
                )
            )
            for member, brand, month, amount in rows:
                self._lots[(member, brand)][month] = amount
        wanted_members = [m for m in members if m not in self._members]
        for part in _chunks(wanted_members, 400):
            for row in self.session.scalars(select(IdxMember).where(IdxMember.member.in_(part))):
                self._members[row.member] = _Member(
                    row.tier,
                    row.quarter,
                    row.spend_cents,
                    row.orders,
                    row.engagements,
                    row.grace_until_month,
                    row.badge_tier,
                )
        wanted_brands = [b for b in brands if b not in self._brands]
        if wanted_brands:
            for account in self.session.scalars(
                select(IdxBrand).where(IdxBrand.brand.in_(wanted_brands))
            ):
                self._brands[account.brand] = _Brand(
                    account.value_micro_usd, account.suspended, account.issued, account.redeemed
                )

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
        upsert(self.session, IdxLot, lots, ("member", "brand", "month"))
        upsert(
            self.session,
            IdxMember,
            [{"member": m, **asdict(self._members[m])} for m in self._dirty_members],
            ("member",),
        )
        upsert(
            self.session,
            IdxBrand,
            [{"brand": b, **asdict(self._brands[b])} for b in self._dirty_brands],
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
        if self._history:
            self.session.execute(insert(table_of(IdxHistory)), self._history)
        self._dirty_lots.clear()
        self._dirty_members.clear()
        self._dirty_brands.clear()
        self._positions.clear()
        self._badges.clear()
        self._history = []

    # ------------------------------------------------------------------ helpers

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

    def consume(self, member: str, brand: int, amount: int, month: int) -> list[tuple[int, int]]:
        """Takes `amount` from the oldest live lots; returns (month, taken) pairs."""
        lots = self._lot_map(member, brand)
        taken: list[tuple[int, int]] = []
        remaining = amount
        for lot_month in sorted(m for m in lots if month - 12 <= m <= month):
            if remaining == 0:
                break
            take = min(lots[lot_month], remaining)
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

    def member(self, address: str) -> _Member:
        row = self._members.get(address)
        if row is None:
            stored = self.session.get(IdxMember, address)
            row = (
                _Member()
                if stored is None
                else _Member(
                    stored.tier,
                    stored.quarter,
                    stored.spend_cents,
                    stored.orders,
                    stored.engagements,
                    stored.grace_until_month,
                    stored.badge_tier,
                )
            )
            self._members[address] = row
        self._dirty_members.add(address)
        return row

    def brand(self, brand: int) -> _Brand:
        row = self._brands.get(brand)
        if row is None:
            stored = self.session.get(IdxBrand, brand)
            row = (
                _Brand()
                if stored is None
                else _Brand(
                    stored.value_micro_usd, stored.suspended, stored.issued, stored.redeemed
                )
            )
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

    def add_debt(self, debtor: int, creditor: int, value: int) -> None:
        lo, hi = min(debtor, creditor), max(debtor, creditor)
        if (lo, hi) not in self._positions:
            stored = self.session.get(IdxPosition, (lo, hi))
            self._positions[(lo, hi)] = stored.amount_micro_usd if stored else 0
        self._positions[(lo, hi)] += value if debtor == lo else -value

    # ------------------------------------------------------------------- events

    def apply(self, event: Event, timestamp: int) -> None:
        handler = self._handlers.get((event.contract, event.name))
        if handler is not None:
            handler(event, event.args, timestamp)

    def _points_transfer(self, event: Event, a: dict[str, Any], ts: int) -> None:
        sender, receiver = a["sender"], a["receiver"]
        brand, amount, month = int(a["id"]), int(a["amount"]), month_of(ts)
        if sender == ZERO:
            self.credit(receiver, brand, month, amount)
            self.brand(brand).issued += amount
        elif receiver == ZERO:
            self.consume(sender, brand, amount, month)
            self.brand(brand).redeemed += amount
        else:
            for lot_month, taken in self.consume(sender, brand, amount, month):
                self.credit(receiver, brand, lot_month, taken)
            donated = self.charity_pool is not None and receiver == self.charity_pool
            self.history(
                event,
                ts,
                member=sender,
                brand=brand,
                amount=amount,
                counterparty=receiver,
                kind="donated" if donated else "gifted",
            )
            self.history(
                event,
                ts,
                member=receiver,
                brand=brand,
                amount=amount,
                counterparty=sender,
                kind="received",
            )

    def _points_earned(self, event: Event, a: dict[str, Any], ts: int) -> None:
        member, brand, kind = a["member"], int(a["brand"]), EarnKind(a["kind"])
        op_id = int(a["opId"])
        self.history(
            event,
            ts,
            member=member,
            brand=brand,
            amount=int(a["points"]),
            kind="earned",
            op_id=op_id,
            source=kind.name.lower(),
            order_ref="0x" + bytes(a["orderRef"]).hex(),
        )
        status = self.member(member)
        quarter = month_of(ts) // 3
        if status.quarter != quarter:
            status.quarter, status.spend_cents, status.orders, status.engagements = quarter, 0, 0, 0
        if kind is EarnKind.PURCHASE:
            status.spend_cents += self._amounts_cents.get((brand, op_id), 0)
            status.orders += 1
        else:
            status.engagements += 1

    def _tier_upgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        status = self.member(a["member"])
        status.tier = int(a["newTier"])
        status.grace_until_month = 0
        gift = int(a["giftPoints"])
        if gift:
            self.history(
                event,
                ts,
                member=a["member"],
                brand=int(a["brand"]),
                amount=gift,
                kind="earned",
                source="tier_gift",
            )

    def _tier_retained(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.member(a["member"]).grace_until_month = 0

    def _tier_downgrade_warned(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.member(a["member"]).grace_until_month = int(a["graceUntilMonth"])

    def _tier_downgraded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        status = self.member(a["member"])
        status.tier = int(a["newTier"])
        status.grace_until_month = 0

    def _tier_rule_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        spend, orders, engagements = a["rule"]
        self.session.merge(
            IdxTierRule(
                tier=int(a["tier"]),
                spend_cents=int(spend),
                orders=int(orders),
                engagements=int(engagements),
                gift_points=int(a["giftPoints"]),
            )
        )

    def _brand_onboarded(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.brand(int(a["brand"])).value_micro_usd = int(a["valueMicroUsd"])

    def _brand_suspension_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.brand(int(a["brand"])).suspended = bool(a["suspended"])

    def _point_value_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.brand(int(a["brand"])).value_micro_usd = int(a["newValueMicroUsd"])

    def _charity_pool_changed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.charity_pool = str(a["pool"])
        self.session.merge(IdxMeta(key=CHARITY_POOL, value=self.charity_pool))

    def _points_redeemed(self, event: Event, a: dict[str, Any], ts: int) -> None:
        brand, at_brand, value = int(a["brand"]), int(a["atBrand"]), int(a["valueMicroUsd"])
        self.history(
            event,
            ts,
            member=a["member"],
            brand=brand,
            amount=int(a["amount"]),
            kind="redeemed",
            at_brand=at_brand,
            value_micro_usd=value,
            order_ref="0x" + bytes(a["orderRef"]).hex(),
        )
        if brand != at_brand:
            self.add_debt(brand, at_brand, value)

    def _position_settled(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.add_debt(int(a["creditor"]), int(a["debtor"]), int(a["valueMicroUsd"]))

    def _tier_badge_updated(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.member(a["member"]).badge_tier = int(a["newTier"])

    def _badge_defined(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.merge(
            IdxBadgeType(
                type_id=int(a["typeId"]),
                brand=int(a["brand"]),
                kind="achievement" if int(a["kind"]) == 0 else "collectible",
                max_supply=int(a["maxSupply"]),
                min_tier=int(a["minTier"]),
                has_benefit=bool(a["hasBenefit"]),
                self_mint=bool(a["selfMint"]),
            )
        )

    def _badge_uri(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self.session.flush()
        row = self.session.get(IdxBadgeType, int(a["id"]))
        if row is not None:
            row.uri = str(a["value"])

    def _badge_transfer_single(self, event: Event, a: dict[str, Any], ts: int) -> None:
        self._move_badge(a["from"], a["to"], int(a["id"]), int(a["value"]))

    def _badge_transfer_batch(self, event: Event, a: dict[str, Any], ts: int) -> None:
        for token_id, value in zip(a["ids"], a["values"], strict=True):
            self._move_badge(checksum(a["from"]), checksum(a["to"]), int(token_id), int(value))

    def _move_badge(self, sender: str, receiver: str, token_id: int, value: int) -> None:
        for holder, delta in ((sender, -value), (receiver, value)):
            if holder == ZERO:
                continue
            key = (holder, token_id)
            if key not in self._badges:
                stored = self.session.get(IdxBadgeBalance, (holder, str(token_id)))
                self._badges[key] = stored.amount if stored else 0
            self._badges[key] += delta


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_height(session: Session) -> int:
    """The last block the index has applied, from its cursor (-1 before the first)."""
    row = session.execute(
        select(IndexCursor.next_block, IndexCursor.last_block_hash).where(
            IndexCursor.id == CURSOR_ID
        )
    ).first()
    return row.next_block - 1 if row and row.last_block_hash else -1


class Indexer(threading.Thread):
    """Follows the chain into the index; one thread per gateway."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        contracts: Contracts,
        chain_factory: Callable[[], Chain],
        advanced: Callable[[int], None] = lambda height: None,
    ) -> None:
        super().__init__(name="indexer", daemon=True)
        self.settings = settings
        self.db = db
        self.contracts = contracts
        self.chain_factory = chain_factory
        self.advanced = advanced
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._checked_at = 0.0
        self.healthy = False
        self.last_error: str | None = None

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def wake(self) -> None:
        """A hint that a new block holds our transactions (the sender calls it)."""
        self._wake.set()

    def run(self) -> None:
        name_this_thread("indexer")
        chain = self.chain_factory()
        backoff = Backoff(self.settings.backoff_max_s)
        while not self._halt.is_set():
            try:
                busy = self.step(chain)
                self.healthy, self.last_error = True, None
                backoff.reset()
                if not busy:
                    self._wake.wait(self.settings.index_poll_s)
                    self._wake.clear()
            except Exception as exc:
                if not isinstance(exc, ChainUnavailable):
                    log.exception("indexer: unexpected error")
                self.healthy, self.last_error = False, f"{exc.__class__.__name__}: {exc}"
                self._halt.wait(backoff.next())

    def cursor(self) -> IndexCursor:
        with self.db.read() as session:
            cursor = session.get(IndexCursor, CURSOR_ID)
        if cursor is not None:
            return cursor
        with self.db.write() as session:
            cursor = session.get(IndexCursor, CURSOR_ID)
            if cursor is None:
                cursor = IndexCursor(
                    id=CURSOR_ID,
                    next_block=self.contracts.manifest.deployed_block,
                    last_block_hash=None,
                )
                session.add(cursor)
            return cursor

    def step(self, chain: Chain) -> bool:
        """Applies the next chunk of blocks; returns whether there was one."""
        cursor = self.cursor()
        number = chain.block_number()
        target = number - self.settings.confirmations
        fresh = time.monotonic() - self._checked_at < 1.0
        if cursor.next_block > target and fresh:
            return False  # nothing new; the chain's last block is re-checked once a second
        self._checked_at = time.monotonic()
        head = chain.block("latest")
        if head is None:
            return False
        if cursor.last_block_hash is not None:
            last = chain.block(cursor.next_block - 1)
            if last is None or last.hash != cursor.last_block_hash:
                log.error(
                    "index: block %d is no longer %s on the chain; rebuilding the index",
                    cursor.next_block - 1,
                    cursor.last_block_hash,
                )
                self.rebuild()
                return True
        target = head.number - self.settings.confirmations
        if cursor.next_block > target:
            self.advanced(cursor.next_block - 1)
            return False
        start = cursor.next_block
        end = min(target, start + self.settings.indexer_chunk_blocks - 1)
        end_block = head if end == head.number else chain.block(end)
        if end_block is None:
            return False
        logs = chain.logs(self.contracts.indexed_addresses, start, end)
        missing = [lg.block_number for lg in logs if lg.timestamp is None]
        stamps = chain.block_timestamps(missing) if missing else {}
        events = self._decode(logs)
        with self.db.write() as session:
            if session.get(IdxMeta, CHARITY_POOL) is None:
                self._seed_charity_pool(session, chain)
            projector = Projector(session, self._purchase_amounts(session, events))
            projector.preload(events)
            for event in events:
                timestamp = event.log.timestamp
                if timestamp is None:
                    timestamp = stamps[event.log.block_number]
                projector.apply(event, timestamp)
            projector.flush()
            row = session.get_one(IndexCursor, CURSOR_ID, with_for_update=True)
            if row.next_block != start:
                raise RuntimeError("another indexer moved the cursor")
            row.next_block = end + 1
            row.last_block_hash = end_block.hash
            row.last_block_timestamp = end_block.timestamp
        self.advanced(end)
        return end < target

    def _decode(self, logs: Iterable[Log]) -> list[Event]:
        ordered = sorted(logs, key=lambda lg: (lg.block_number, lg.log_index))
        decoded = (self.contracts.events.decode(lg) for lg in ordered)
        return [e for e in decoded if e is not None]

    def _seed_charity_pool(self, session: Session, chain: Chain) -> None:
        call = self.contracts.charity_pool_call()
        (pool,) = self.contracts.ledger["charityPool"].decode(chain.call(call.to, call.data))
        session.add(IdxMeta(key=CHARITY_POOL, value=checksum(pool)))

    @staticmethod
    def _purchase_amounts(session: Session, events: Sequence[Event]) -> dict[tuple[int, int], int]:
        """Purchase amounts (cents) of the chunk's earns, from the operations the gateway sent.

        The ledger's `PointsEarned` carries points, not spend; tier progress needs spend.
        """
        wanted: dict[int, set[int]] = defaultdict(set)
        for event in events:
            if event.name == "PointsEarned" and event.args["kind"] == EarnKind.PURCHASE:
                wanted[int(event.args["brand"])].add(int(event.args["opId"]))
        amounts: dict[tuple[int, int], int] = {}
        for ledger_brand, op_ids in wanted.items():
            rows = session.execute(
                select(Operation.op_id, Operation.payload)
                .join(Brand, Brand.id == Operation.brand_id)
                .where(Brand.ledger_id == ledger_brand, Operation.op_id.in_(op_ids))
            )
            for op_id, payload in rows:
                assert op_id is not None
                amounts[(ledger_brand, op_id)] = int(payload.get("amount_cents", 0))
        return amounts

    def rebuild(self) -> None:
        with self.db.write() as session:
            for table in INDEX_TABLES:
                session.execute(delete(table))
            cursor = session.get_one(IndexCursor, CURSOR_ID)
            cursor.next_block = self.contracts.manifest.deployed_block
            cursor.last_block_hash = None
            cursor.last_block_timestamp = 0
