"""Reads keep their keyed plans on a big index (issue 15: balance reads at a million lots).

SQLite without table statistics takes a brand's lots by expiry (`ix_idx_lots_brand_expiry`, a
low-cardinality index) for a member's lots, so a balance read scans every lot of the brand
(430 ms at a million lots, issue 15's bench). The gateway keeps statistics: a process that
starts samples them (`Runtime.migrate`), and its background thread samples them again after
writes. Each test seeds an index shaped like the alliance's (many members, one big brand),
runs the read through `ReadsService`, and checks the plan of every statement it ran: its three
statements (the cursor with the member's tier, the pending points, the live lots) take each
member table by the member's key.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from support.gateway import settings_from
from support.plans import Statements, all_plans
from support.progress import wait_for

from ledger_api.access.apikeys import Principal
from ledger_api.background.deposit_flow import DepositClaim, claim_funds_read, other_deposit_step
from ledger_api.db import Database
from ledger_api.db import session as db_session
from ledger_api.db.keys import credited_orders, exact, released_op_ids, superset_of
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import IdxLot
from ledger_api.domain.ids import BrandRowId, LedgerBrandId
from ledger_api.process.runtime import Runtime
from ledger_api.usecases.reads import ReadsService
from ledger_api.usecases.status import StatusService

MEMBERS = 3_000
LOTS_PER_MEMBER = 10
BRAND = 1


def _seed(path: Path) -> list[str]:
    """The members of brand 1, ten lots each, written the way the indexer stores them."""
    members = [f"0x{n:040x}" for n in range(1, MEMBERS + 1)]
    now = int(time.time())
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO idx_cursor (id, next_block, last_block_hash, last_block_timestamp,"
            " updated_at) VALUES (1, 10, ?, ?, CURRENT_TIMESTAMP)",
            ("0x" + "ab" * 32, now),
        )
        connection.execute(
            "INSERT INTO idx_brands (brand, value_micro_usd, suspended, issued, redeemed,"
            " reversed) VALUES (?, 10000, 0, 0, 0, 0)",
            (BRAND,),
        )
        connection.executemany(
            "INSERT INTO idx_lots (member, brand, month, amount, expires_at) VALUES (?,?,?,?,?)",
            (
                (member, BRAND, 670 + month, 5, now + 86_400 * (30 + month))
                for member in members
                for month in range(LOTS_PER_MEMBER)
            ),
        )
    connection.close()
    return members


MEMBER_READ_STATEMENTS = 3
MEMBER_TABLES = ("idx_members", "idx_pending", "idx_lots")  # keyed by (member, ...)


BRAND_KEY = Principal(
    key_prefix="lk_test",
    is_admin=False,
    brand_row_id=BrandRowId(1),
    ledger_brand_id=LedgerBrandId(BRAND),
)


def _read_member(db: Database, path: Path, member: str) -> list[str]:
    admin = Principal(key_prefix="admin", is_admin=True)
    statements = Statements(db)
    try:
        for who in (BRAND_KEY, admin):
            with db.read() as session:
                view = ReadsService().member(session, who, member)
                assert view.balances[0].balance == 5 * LOTS_PER_MEMBER
    finally:
        statements.close()
    assert len(statements.seen) == 2 * MEMBER_READ_STATEMENTS, statements.seen
    return all_plans(path, statements.seen)


def _keyed(plans: list[str]) -> None:
    """Every member table a plan reads is searched by the member (the cursor, the brands and
    the tier rules are a few rows each)."""
    read = {table for plan in plans for table in MEMBER_TABLES if f" {table} " in f"{plan} "}
    assert read == set(MEMBER_TABLES), plans
    for plan in plans:
        assert "ix_idx_lots_brand_expiry" not in plan, plan
        for table in MEMBER_TABLES:
            steps = [step for step in plan.split(" / ") if f" {table} " in f"{step} "]
            for step in steps:
                assert step.startswith(f"SEARCH {table} USING INDEX sqlite_autoindex_"), plan
                assert "(member=?)" in step, plan


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_from(
        {
            "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
            "LEDGER_DATA_DIR": str(tmp_path),
        }
    )
    started = Runtime(settings)
    yield started
    started.db.dispose()


def test_a_starting_process_plans_member_reads_by_member(runtime: Runtime, tmp_path: Path) -> None:
    runtime.migrate()  # an empty index: no statistics to learn from yet
    path = tmp_path / "gateway.db"
    members = _seed(path)  # the index grew while the gateway was down
    runtime.db.dispose()
    restarted = Runtime(runtime.settings)
    try:
        restarted.migrate()
        _keyed(_read_member(restarted.db, path, members[MEMBERS // 2]))
    finally:
        restarted.db.dispose()


def test_a_running_process_renews_its_statistics_after_writes(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "STATISTICS_EVERY_S", 1.0)
    runtime.migrate()
    path = tmp_path / "gateway.db"
    members = _seed(path)  # as if indexed while the process ran
    with runtime.db.write() as session:  # a write wakes the background thread
        session.execute(text("SELECT 1"))

    def analyzed() -> bool:
        connection = sqlite3.connect(path)
        try:
            return (
                connection.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'idx_lots'").fetchone()
                is not None
            )
        finally:
            connection.close()

    wait_for(analyzed, what="statistics of idx_lots")
    _keyed(_read_member(runtime.db, path, members[7]))


BRAND_ROW = (  # brand row 1 (ledger brand `BRAND`), which operations reference
    "INSERT INTO brands (id, ledger_id, name, symbol, status, value_micro_usd, points_per_usd,"
    " points_per_review, points_per_share, points_per_event, points_per_referral, next_op_id,"
    " created_at) VALUES (1, :ledger_id, 'B', 'B', 'active', 10000, 10, 5, 5, 5, 5, 1,"
    " CURRENT_TIMESTAMP)"
)


def test_a_growing_database_renews_its_statistics(runtime: Runtime, tmp_path: Path) -> None:
    """A new gateway takes statistics of its empty tables (`Runtime.migrate`); with those, a
    deposit check read every queued earn of the brand (`ix_operations_queue`) until the next
    round, `STATISTICS_EVERY_S` later. The database's growth now brings them sooner."""
    runtime.migrate()
    path = tmp_path / "gateway.db"
    _seed(path)
    queued = [
        {"uid": f"op_{n}", "kind": "earn" if n != 7 else "token_approve", "op_id": n}
        for n in range(1, 20_001)
    ]
    with runtime.db.write() as session:  # as the intake stores them
        session.execute(text(BRAND_ROW), {"ledger_id": BRAND})
        session.execute(
            text(
                "INSERT INTO operations (uid, kind, status, brand_id, op_id, points, payload,"
                " attempts, created_at, updated_at) VALUES (:uid, :kind, 'queued', 1, :op_id,"
                " 0, '{}', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            queued,
        )

    def operations_analyzed() -> bool:
        connection = sqlite3.connect(path)
        try:
            row = connection.execute(
                "SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_operations_queue'"
            ).fetchone()
            return row is not None and int(row[0].split()[0]) >= 10_000
        finally:
            connection.close()

    wait_for(operations_analyzed, what="statistics of the grown operations", idle_s=60)
    statements = Statements(runtime.db)
    try:
        with runtime.db.read() as session:
            found = other_deposit_step(session.connection(), BrandRowId(1))
    finally:
        statements.close()
    assert found == "op_7"
    (plan,) = all_plans(path, [s for s in statements.seen if "kind IN" in s[0]])
    assert "ix_operations_deposit_steps" in plan, plan


def test_the_status_read_takes_its_operation_by_its_id(
    runtime: Runtime, tmp_path: Path, statistics: str
) -> None:
    """One statement: the operation by its uid, its brand and the cursor (a few rows each)."""
    runtime.migrate()  # statistics of the empty database, as a new gateway's
    path = tmp_path / "gateway.db"
    _seed(path)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(BRAND_ROW, {"ledger_id": BRAND})
        connection.executemany(
            "INSERT INTO operations (uid, kind, status, brand_id, op_id, points, payload,"
            " attempts, created_at, updated_at) VALUES (?, 'earn', 'queued', 1, ?, 10, '{}', 0,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            ((f"op_{n}", n) for n in range(1, 5_001)),
        )
    connection.close()
    if statistics == "fresh":
        runtime.db.refresh_statistics()
    statements = Statements(runtime.db)
    try:
        view = asyncio.run(StatusService(runtime).status(BRAND_KEY, "op_2500", None))
    finally:
        statements.close()
    assert (view.brand_id, view.op_id) == (BRAND, 2500)
    (plan,) = all_plans(path, statements.seen)
    assert plan.startswith("SEARCH operations USING INDEX sqlite_autoindex_operations_"), plan
    assert plan.split(" / ")[0].endswith("(uid=?)") and "SCAN operations" not in plan, plan


# ------------------------------------------------------------ composite-key look-ups


def test_no_composite_key_in_list_outside_db_keys() -> None:
    """`(a, b) IN (VALUES ...)` scans the whole table on SQLite 3.40: composite look-ups go
    through `ledger_api.db.keys` (the intake's idempotency and order checks, the indexer's
    lots and pending positions, the history's campaigns all did, and slowed as tables grew)."""
    package = Path(__file__).resolve().parents[3] / "ledger_api"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "keys.py"
        # a bound `status != ?` keeps SQLite off the partial indexes (`db.keys.NOT_FAILED`)
        and ("tuple_(" in path.read_text() or "!= OpStatus.FAILED.value," in path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("failed_every", "statistics"),
    [(7, "fresh"), (0, "fresh"), (0, "of-the-empty-database")],
    ids=["some-orders-released", "none-released", "statistics-taken-at-start"],
)
def test_order_and_lot_look_ups_use_their_keys(
    tmp_path: Path, failed_every: int, statistics: str
) -> None:
    """The intake's order look-ups search by (brand, order ref), with fresh statistics or
    with those a new gateway took of its empty database at start (`Runtime`; the next are
    `STATISTICS_EVERY_S` later): with the latter, SQLite answered the released look-up by
    ranging over every operation of the brand (`ix_operations_brand_op_id`, `op_id>?`)."""

    def failed(n: int) -> bool:
        return failed_every > 0 and n % failed_every == 0

    path = tmp_path / "keys.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    if statistics == "of-the-empty-database":
        db.refresh_statistics()
    members = _seed(path)
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO operations (uid, kind, status, brand_id, op_id, order_ref, points,"
            " payload, attempts, created_at, updated_at, keys_released_at) VALUES (?, 'earn',"
            " ?, 1, ?, ?, 10, '{}', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, ?)",
            (
                (
                    f"op_{n}",
                    "failed" if failed(n) else "confirmed",
                    n,
                    f"order-{n}",
                    "2026-12-03 00:00:00" if failed(n) else None,  # a failure released it
                )
                for n in range(1, 5_001)
            ),
        )
    connection.close()
    if statistics == "fresh":
        db.refresh_statistics()
    orders = [(1, f"order-{n}") for n in range(100, 140)] + [(2, "order-101"), (1, "none")]
    lots = [(m, BRAND) for m in members[:50]] + [(members[0], 9)]
    statements = Statements(db)
    try:
        with db.read() as session:
            found = exact(credited_orders(session, orders), orders)
            released = exact(released_op_ids(session, orders), orders)
            one_brand = [key for key in orders if key[0] == 1]  # an intake group's usual keys
            assert exact(credited_orders(session, one_brand), one_brand) == found
            assert exact(released_op_ids(session, one_brand), one_brand) == released
            lot_rows = exact(
                session.execute(
                    select(IdxLot.member, IdxLot.brand, IdxLot.month).where(
                        superset_of((IdxLot.member, IdxLot.brand), lots)
                    )
                ),
                lots,
            )
    finally:
        statements.close()
        db.dispose()
    assert sorted(r[1] for r in found) == sorted(
        f"order-{n}" for n in range(100, 140) if not failed(n)
    )
    # a retry of an order a failure gave back takes the failed earn's op id (migration 0020)
    assert [(r[1], r[2]) for r in released] == [
        (f"order-{n}", n) for n in range(100, 140) if failed(n)
    ]
    assert {r[0] for r in lot_rows} == set(members[:50]) and len(lot_rows) == 50 * LOTS_PER_MEMBER
    plans = all_plans(path, statements.seen)
    assert any("uq_operations_brand_order" in p for p in plans), plans
    assert any("ix_operations_released_orders" in p for p in plans), plans
    assert all("SCAN" not in p and "(brand_id=?)" not in p for p in plans), plans
    order_plans = [p for p in plans if "SEARCH operations" in p]
    assert len(order_plans) == 4, plans
    assert all("(brand_id=? AND order_ref=?)" in p for p in order_plans), plans


@pytest.fixture(params=["fresh", "of-the-empty-database"])
def statistics(request: pytest.FixtureRequest) -> str:
    """When SQLite's statistics were taken: after the rows were written, or (a new gateway's
    for its first `STATISTICS_EVERY_S`) of the empty database at start."""
    return str(request.param)


def _with_operations(
    path: Path, rows: Iterable[tuple[int, str, str]], statistics: str
) -> tuple[Path, Database]:
    """A migrated, seeded database with brand 1's operations `(op id, kind, status)` (uid
    `op_<op id>`), its statistics taken as `statistics` says."""
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    if statistics != "fresh":
        db.refresh_statistics()
    _seed(path)
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO operations (uid, kind, status, brand_id, op_id, points, payload,"
            " attempts, created_at, updated_at) VALUES (?, ?, ?, 1, ?, 0, '{}', 0,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            ((f"op_{n}", kind, status, n) for n, kind, status in rows),
        )
    connection.close()
    if statistics == "fresh":
        db.refresh_statistics()
    return path, db


def test_a_deposit_steps_check_reads_ranges_of_the_brands_queue_index(
    tmp_path: Path, statistics: str
) -> None:
    """`deposit_flow` runs under the brand's row lock: a brand with 5,000 confirmed earns is
    not scanned whole (its open steps by status, the steps stored since a read by status and
    id)."""
    path, db = _with_operations(
        tmp_path / "deposits.db",
        ((n, "earn" if n < 5_000 else "token_mint", "confirmed") for n in range(1, 5_001)),
        statistics,
    )
    statements = Statements(db)
    try:
        with db.read() as session:
            stale = DepositClaim(4_990, frozenset())
            found = other_deposit_step(session.connection(), BrandRowId(1), claim=stale)
            fresh = claim_funds_read(session.connection(), "brand:1", ["k", "k#mint"])
    finally:
        statements.close()
        db.dispose()
    assert found == "op_5000" and fresh.read_after == 5_000 and fresh.own == frozenset()
    plans = all_plans(path, statements.seen)
    assert any("id>?" in p for p in plans), plans  # since the read: a range of ids, either index
    assert all("SCAN" not in p and "(brand_id=?)" not in p for p in plans), plans


def test_a_deposit_steps_check_skips_a_brands_queued_earns(tmp_path: Path) -> None:
    """Under the brand's row lock, the open steps were read through the brand's open range of
    `ix_operations_queue`: every queued earn of the brand, each row's kind checked (8-13 ms
    with 50,000 queued). The steps have a partial index of their own."""
    path, db = _with_operations(
        tmp_path / "queued.db",
        ((n, "earn" if n != 7 else "token_approve", "queued") for n in range(1, 20_001)),
        "fresh",  # with those of the empty database, SQLite takes ix_operations_queue
    )
    statements = Statements(db)
    try:
        with db.read() as session:
            found = other_deposit_step(session.connection(), BrandRowId(1))
            since = other_deposit_step(
                session.connection(), BrandRowId(1), claim=DepositClaim(3, frozenset({"op_7"}))
            )
    finally:
        statements.close()
        db.dispose()
    assert (found, since) == ("op_7", None)
    plans = all_plans(path, [s for s in statements.seen if "kind IN" in s[0]])
    assert len(plans) == 3, plans
    assert all("ix_operations_deposit_steps" in p for p in plans), plans
