"""The member read and the status read on SQLite and PostgreSQL (issue 15): field for field,
order included, over an index and operations seeded with their edge cases (suspended brands,
a brand with no value or no index row, pending and released positions, expired and spent
lots, tier rules, an index not ready, admin operations and scoping)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from support.gateway import settings_from
from support.rows import add_brand

from ledger_api.access.apikeys import Principal
from ledger_api.db import Database
from ledger_api.db.models import (
    IdxBrand,
    IdxLot,
    IdxMember,
    IdxPending,
    IdxTierRule,
    IndexCursor,
    Operation,
)
from ledger_api.db.value_models import IdxBrandValue
from ledger_api.domain import month_label, month_of, month_start, quarter_label
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.errors import IndexNotReady, UnknownOperation
from ledger_api.model import schemas
from ledger_api.process.runtime import Runtime
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.status import StatusService

DAY = 86_400
NOW = int(time.time())
MONTH = month_of(NOW)
MEMBER, STRANGER, FORMER, TOP = (f"0x{n:040x}" for n in (0xA1, 0xA2, 0xA3, 0xA4))
ADMIN = Principal(key_prefix="admin", is_admin=True)


def brand_key(row: int, ledger: int | None) -> Principal:
    ledger_id = LedgerBrandId(ledger) if ledger is not None else None
    return Principal(
        key_prefix=f"lk_{row}",
        is_admin=False,
        brand_row_id=BrandRowId(row),
        ledger_brand_id=ledger_id,
    )


def _dt(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _operation(uid: str, brand_row: int | None, kind: str, status: str, **fields: Any) -> Operation:
    stamp = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    return Operation(
        uid=uid,
        brand_id=brand_row,
        kind=kind,
        status=status,
        payload=fields.pop("payload", {}),
        created_at=stamp,
        updated_at=stamp,
        **fields,
    )


def _seed(db: Database) -> None:
    lots = [  # (brand, month, amount, expires in days; negative: expired)
        (1, MONTH - 2, 100, 10),
        (1, MONTH - 1, 50, 20),
        (1, MONTH, 30, 30),
        (1, MONTH - 5, 11, -1),  # expired
        (1, MONTH - 4, 0, 40),  # spent
        (2, MONTH, 25, 30),  # its brand suspended
        (3, MONTH - 1, 9, 20),  # its brand has no value row
        (4, MONTH, 4, 30),  # its brand has no index row
    ]
    pending = [(1, 1, 40), (1, 2, 20), (1, 0, 7), (5, 1, 15)]  # (brand, release in days, amount)
    with db.write() as session:
        session.add(IndexCursor(id=1, next_block=10, last_block_hash="0x" + "ab" * 32))
        session.add_all(
            [
                IdxBrand(brand=1, value_micro_usd=20_000, suspended=False),
                IdxBrand(brand=2, value_micro_usd=10_000, suspended=True),
                IdxBrand(brand=3, value_micro_usd=10_000, suspended=False),
                IdxBrand(brand=5, value_micro_usd=10_000, suspended=False),
                IdxBrandValue(brand=1, from_month=0, value_micro_usd=10_000),
                IdxBrandValue(brand=1, from_month=MONTH - 1, value_micro_usd=20_000),
                IdxBrandValue(brand=2, from_month=0, value_micro_usd=10_000),
            ]
        )
        session.add_all(
            IdxLot(member=MEMBER, brand=b, month=m, amount=a, expires_at=NOW + d * DAY - (d < 0))
            for b, m, a, d in lots
        )
        session.add_all(
            IdxPending(member=MEMBER, brand=b, release_at=NOW + d * DAY - 10 * (d == 0), amount=a)
            for b, d, a in pending
        )
        quarter = MONTH // 3
        session.add_all(
            [
                IdxMember(
                    member=MEMBER,
                    tier=1,
                    quarter=quarter,
                    spend_cents=5_000,
                    orders=3,
                    engagements=2,
                    grace_until_month=MONTH + 2,
                    badge_tier=1,
                ),
                IdxMember(member=FORMER, tier=2, quarter=quarter - 1, spend_cents=9, orders=9),
                IdxMember(member=TOP, tier=3, quarter=quarter, spend_cents=7, orders=1),
                IdxTierRule(tier=1, spend_cents=1_000, orders=1, engagements=0, gift_points=10),
                IdxTierRule(tier=2, spend_cents=10_000, orders=5, engagements=3, gift_points=50),
                IdxTierRule(tier=3, spend_cents=50_000, orders=20, engagements=9, gift_points=90),
            ]
        )


@pytest.fixture
def seeded(db: Database) -> Database:
    _seed(db)
    return db


def _member(db: Database, who: Principal, address: str) -> schemas.MemberView:
    with db.read() as session:
        return ReadsService().member(session, who, address)


def _lot(month: int, amount: int, days: int) -> schemas.LotView:
    return schemas.LotView(
        amount=amount, earned_month=month_label(month), expires_at=_dt(NOW + days * DAY)
    )


def _balance(brand: int, lots: list[schemas.LotView], pending: list[tuple[int, int]]) -> Any:
    releases = [schemas.PendingView(amount=a, release_at=_dt(NOW + d * DAY)) for d, a in pending]
    waiting = sum(a for _, a in pending)
    return schemas.BalanceView(
        brand_id=brand,
        balance=sum(lot.amount for lot in lots) - waiting,
        lots=lots,
        next_expiry=lots[0],
        pending=waiting,
        pending_releases=releases,
    )


BRAND_1 = _balance(
    1, [_lot(MONTH - 2, 100, 10), _lot(MONTH - 1, 50, 20), _lot(MONTH, 30, 30)], [(1, 40), (2, 20)]
)
BRAND_2 = _balance(2, [_lot(MONTH, 25, 30)], [])
BRAND_3 = _balance(3, [_lot(MONTH - 1, 9, 20)], [])
BRAND_4 = _balance(4, [_lot(MONTH, 4, 30)], [])
# brand 1: 180 live less 60 pending, taken off the newest lots (30 at 20,000, then 30 of the 50
# at 20,000): 20 x 20,000 + 100 x 10,000; brand 3 has no value (0); 2 is suspended, 4 unknown
SPENDABLE = [
    schemas.SpendableView(brand_id=1, points=120, value_micro_usd=1_400_000),
    schemas.SpendableView(brand_id=3, points=9, value_micro_usd=0),
]


def _rule(tier: int, spend: int, orders: int, engagements: int, gift: int) -> Any:
    names = {1: "Silver", 2: "Gold", 3: "Diamond"}
    return schemas.TierRuleView(
        tier=tier,
        name=names[tier],
        spend_cents=spend,
        orders=orders,
        engagements=engagements,
        gift_points=gift,
    )


def _tier(tier: int, name: str, progress: tuple[int, int, int], **rest: Any) -> Any:
    spend, orders, engagements = progress
    return schemas.TierProgress(
        tier=tier,
        name=name,
        quarter=quarter_label(month_of(NOW) // 3),
        spend_cents=spend,
        orders=orders,
        engagements=engagements,
        grace_until=rest.get("grace_until"),
        badge_tier=rest.get("badge_tier"),
        next_tier=rest.get("next_tier"),
        missing=rest.get("missing"),
    )


MEMBER_TIER = _tier(
    1,
    "Silver",
    (5_000, 3, 2),
    grace_until=_dt(month_start(MONTH + 2)),
    badge_tier=1,
    next_tier=_rule(2, 10_000, 5, 3, 50),
    missing={"spend_cents": 5_000, "orders": 2, "engagements": 1},
)


@pytest.mark.parametrize(
    ("who", "balances"),
    [
        (ADMIN, [BRAND_1, BRAND_2, BRAND_3, BRAND_4]),
        (brand_key(1, 1), [BRAND_1]),
        (brand_key(2, 2), [BRAND_2]),
        (brand_key(9, None), []),  # a brand not on chain yet
    ],
)
def test_a_member_read_shows_the_callers_lots_and_what_the_member_may_spend(
    seeded: Database, who: Principal, balances: list[schemas.BalanceView]
) -> None:
    view = _member(seeded, who, MEMBER)
    assert view.as_of == schemas.AsOf(block=9, timestamp=_dt(0))
    assert view.address == MEMBER
    assert view.balances == balances
    assert view.spendable == SPENDABLE
    assert view.tier == MEMBER_TIER


def test_a_member_read_shows_the_next_tier_for_every_member(seeded: Database) -> None:
    rule_1, rule_3 = _rule(1, 1_000, 1, 0, 10), _rule(3, 50_000, 20, 9, 90)
    stranger = _member(seeded, ADMIN, STRANGER)
    assert (stranger.balances, stranger.spendable) == ([], [])
    assert stranger.tier == _tier(
        0,
        "Member",
        (0, 0, 0),
        next_tier=rule_1,
        missing={"spend_cents": 1_000, "orders": 1, "engagements": 0},
    )
    former = _member(seeded, ADMIN, FORMER).tier  # last quarter's progress no longer counts
    assert former == _tier(
        2,
        "Gold",
        (0, 0, 0),
        next_tier=rule_3,
        missing={"spend_cents": 50_000, "orders": 20, "engagements": 9},
    )
    assert _member(seeded, ADMIN, TOP).tier == _tier(3, "Diamond", (7, 1, 0))
    with seeded.write() as session:  # the rule of the next tier is not on chain yet
        session.query(IdxTierRule).filter(IdxTierRule.tier == 1).delete()
    assert _member(seeded, ADMIN, STRANGER).tier == _tier(0, "Member", (0, 0, 0))


def test_a_member_read_takes_the_index_time_when_it_is_ahead(seeded: Database) -> None:
    ahead = NOW + 25 * DAY  # brand 1's lot of 100 expired, its pending released
    with seeded.write() as session:
        session.execute(update(IndexCursor).values(last_block_timestamp=ahead))
    view = _member(seeded, brand_key(1, 1), MEMBER)
    assert view.as_of == schemas.AsOf(block=9, timestamp=_dt(ahead))
    assert [(b.balance, b.pending, len(b.lots)) for b in view.balances] == [(30, 0, 1)]
    assert [(s.brand_id, s.points, s.value_micro_usd) for s in view.spendable] == [(1, 30, 600_000)]


def test_a_member_read_before_the_first_indexed_block_is_not_ready(db: Database) -> None:
    with pytest.raises(IndexNotReady):
        _member(db, ADMIN, MEMBER)
    with db.write() as session:
        session.add(IndexCursor(id=1, next_block=10, last_block_hash=None))
    with pytest.raises(IndexNotReady):
        _member(db, ADMIN, MEMBER)


# ------------------------------------------------------------------------------- status


@pytest.fixture
def statuses(db: Database, database_url: str, tmp_path: Path) -> Iterator[StatusService]:
    """The service of a runtime on `db`'s migrated database, with a brand's and the admin's
    operations."""
    runtime = Runtime(
        settings_from({"LEDGER_DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(tmp_path)})
    )
    with runtime.db.write() as session:
        add_brand(session, "B1", "B", id=1, ledger_id=1)
        add_brand(session, "B2", "B", id=2, ledger_id=None)
        session.flush()
        session.add_all(
            [
                _operation(
                    "op-indexed",
                    1,
                    "earn",
                    "confirmed",
                    op_id=4,
                    tx_hash="0x" + "01" * 32,
                    block_number=9,
                    result={"points": 10},
                    payload={"campaign": {"rule_ids": [3]}},
                ),
                _operation(
                    "op-ahead",
                    1,
                    "earn",
                    "confirmed",
                    op_id=5,
                    tx_hash="0x" + "02" * 32,
                    block_number=10,
                    result={"points": 10},
                ),
                _operation("op-window", None, "set_return_window", "queued", payload={"brand": 3}),
                _operation(
                    "op-onboard",
                    None,
                    "onboard_brand",
                    "confirmed",
                    block_number=2,
                    result={"brand_id": 7},
                ),
                _operation("op-onboarding", None, "onboard_brand", "submitted"),
                _operation(
                    "op-failed",
                    2,
                    "earn",
                    "failed",
                    error_code="CapExceeded",
                    error_message="over the cap",
                    payload={"campaign": {}},  # none applied
                ),
            ]
        )
    yield StatusService(runtime)
    runtime.db.dispose()


def _status(service: StatusService, who: Principal, uid: str) -> tuple[Any, ...]:
    view = asyncio.run(service.status(who, uid, None))
    stamp = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert (view.operation_id, view.created_at, view.updated_at) == (uid, stamp, stamp)
    error = (view.error.code, view.error.message) if view.error else None
    shown = (view.kind, view.status, view.brand_id, view.op_id, view.tx_hash, view.block_number)
    return (*shown, view.indexed, view.result, error, view.campaign)


def _cursor(service: StatusService, next_block: int, hash_: str | None) -> None:
    with service.rt.db.write() as session:
        session.merge(IndexCursor(id=1, next_block=next_block, last_block_hash=hash_))


def test_an_operation_status_shows_its_brand_and_whether_it_is_indexed(
    statuses: StatusService,
) -> None:
    _cursor(statuses, 10, "0x" + "ab" * 32)  # block 9 indexed
    tx1, tx2 = "0x" + "01" * 32, "0x" + "02" * 32
    indexed = ("earn", "confirmed", 1, 4, tx1, 9, True, {"points": 10}, None, {"rule_ids": [3]})
    for who in (ADMIN, brand_key(1, 1)):
        assert _status(statuses, who, "op-indexed") == indexed
        ahead = ("earn", "confirmed", 1, 5, tx2, 10, False, {"points": 10}, None, None)
        assert _status(statuses, who, "op-ahead") == ahead
    failed = ("earn", "failed", None, None, None, None, True, None, ("CapExceeded", "over the cap"))
    assert _status(statuses, ADMIN, "op-failed") == (*failed, None)  # an empty campaign
    assert _status(statuses, brand_key(2, None), "op-failed") == (*failed, None)
    window = ("set_return_window", "queued", 3, None, None, None, False, None, None, None)
    assert _status(statuses, ADMIN, "op-window") == window
    onboard = ("onboard_brand", "confirmed", 7, None, None, 2, True, {"brand_id": 7}, None, None)
    assert _status(statuses, ADMIN, "op-onboard") == onboard
    onboarding = ("onboard_brand", "submitted", None, None, None, None, False, None, None, None)
    assert _status(statuses, ADMIN, "op-onboarding") == onboarding


def test_an_operation_status_is_unknown_outside_its_brand(statuses: StatusService) -> None:
    _cursor(statuses, 10, "0x" + "ab" * 32)
    for who, uid in [
        (brand_key(2, None), "op-indexed"),  # another brand's
        (brand_key(1, 1), "op-window"),  # the admin's, even about a brand
        (brand_key(1, 1), "op-failed"),
        (ADMIN, "op-missing"),
    ]:
        with pytest.raises(UnknownOperation):
            asyncio.run(statuses.status(who, uid, None))


def test_an_operation_status_before_the_index_applies_a_block_is_not_indexed(
    statuses: StatusService,
) -> None:
    assert _status(statuses, ADMIN, "op-onboard")[6] is False  # no cursor
    _cursor(statuses, 10, None)  # a cursor, no block applied
    assert _status(statuses, ADMIN, "op-onboard")[6] is False
    _cursor(statuses, 3, "0x" + "ab" * 32)  # block 2 applied
    assert _status(statuses, ADMIN, "op-onboard")[6] is True
