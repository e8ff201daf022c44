"""Reminder passes page through lots that share one instant.

Every lot earned in a month expires at the same instant (`lot_expiry`), and every purchase of
a UTC day with the same return window releases at the same instant, so an alliance has far
more lots at one instant than one pass takes (`PASS_LIMIT`). A pass whose mark held a time
alone stopped before that instant and read the same page again on every turn: no reminder of
that kind was written again, ever, and each turn sorted the instant's lots (the idle
gateway's CPU in `make bench`). Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from ledger_api.background.webhooks.reminders import PASS_LIMIT, compute_reminders
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import IdxLot, IdxPending
from ledger_api.db.webhook_models import OutboxEvent
from ledger_api.domain import lot_expiry

DAY = 86_400
MONTH = 683  # 2026-12
EXPIRES = lot_expiry(MONTH)
#: more than two pages at the one instant, and brands interleaved within a member
MEMBERS = PASS_LIMIT + PASS_LIMIT // 2 + 7
BRANDS = (1, 2)


def _members() -> list[str]:
    return [f"0x{n:040x}" for n in range(1, MEMBERS + 1)]


def _seed(db: Database, release_at: int) -> int:
    """Each member's lot of MONTH at both brands (one expiry instant), one lot elsewhere in
    time, and a pending position of each member at brand 1 releasing at `release_at`."""
    lots = [
        {"member": m, "brand": b, "month": MONTH, "amount": 10 + b, "expires_at": EXPIRES}
        for m in _members()
        for b in BRANDS
    ]
    later = {"month": MONTH + 1, "amount": 5, "expires_at": lot_expiry(MONTH + 1)}
    lots.append({"member": _members()[0], "brand": 1, **later})
    pending = [{"member": m, "brand": 1, "release_at": release_at, "amount": 3} for m in _members()]
    with db.write() as session:
        for start in range(0, len(lots), 5_000):
            session.execute(IdxLot.__table__.insert(), lots[start : start + 5_000])
        for start in range(0, len(pending), 5_000):
            session.execute(IdxPending.__table__.insert(), pending[start : start + 5_000])
    return len(lots) - 1  # the lots at EXPIRES


def _passes(db: Database, now: int, limit: int = 10) -> list[int]:
    """Runs passes at `now` until one writes nothing; what each wrote."""
    written: list[int] = []
    for _ in range(limit):
        with db.write() as session:
            written.append(compute_reminders(session, now, [30]))
        if written[-1] == 0:
            return written
    raise AssertionError(f"still writing after {limit} passes: {written}")


def _counts(db: Database) -> Counter[str]:
    with db.read() as session:
        rows = session.execute(select(OutboxEvent.type, func.count()).group_by(OutboxEvent.type))
        return Counter({kind: count for kind, count in rows})


def _payloads(db: Database, kind: str) -> Counter[tuple[str, int]]:
    with db.read() as session:
        payloads = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.type == kind))
        return Counter((p["member"], p["brand_id"]) for p in payloads)


def test_every_lot_of_a_crowded_instant_is_reminded_once(db: Database) -> None:
    released = EXPIRES - 40 * DAY
    at_instant = _seed(db, released)
    with db.write() as session:  # the first turn sets the marks, long before anything is due
        assert compute_reminders(session, released - 60 * DAY, [30]) == 0

    # at the 30-day reminder's very instant: the pending positions released too, same turns
    written = _passes(db, EXPIRES - 30 * DAY)
    assert sum(written) == at_instant + MEMBERS
    assert max(written) <= 2 * PASS_LIMIT  # one page per kind and turn
    counts = _counts(db)
    assert counts["points.expiring"] == at_instant
    assert counts["points.released"] == MEMBERS
    expiring = _payloads(db, "points.expiring")
    assert set(expiring.values()) == {1}
    assert set(expiring) == {(m, b) for m in _members() for b in BRANDS}
    assert set(_payloads(db, "points.released").values()) == {1}

    # at the expiry's instant: each lot expired once, the next month's lot not reminded of
    assert sum(_passes(db, EXPIRES)) == at_instant
    assert _counts(db)["points.expired"] == at_instant
    assert set(_payloads(db, "points.expired").values()) == {1}
    assert _counts(db)["points.expiring"] == at_instant


def test_a_pass_stopped_inside_an_instant_resumes_from_its_member_and_brand(
    db: Database,
) -> None:
    """A mark inside an instant is durable: a new process (a new Database on the same file)
    goes on after the last member and brand written, none twice, none skipped."""
    at_instant = _seed(db, EXPIRES - 40 * DAY)
    with db.write() as session:
        assert compute_reminders(session, EXPIRES - 60 * DAY, [30]) == 0
    with db.write() as session:
        first = compute_reminders(session, EXPIRES - 29 * DAY, [30])
    assert first == 2 * PASS_LIMIT  # a full page of lots and one of pending positions
    again = Database(str(db.engine.url))
    try:
        rest = sum(_passes(again, EXPIRES - 29 * DAY))
    finally:
        again.dispose()
    assert first + rest == at_instant + MEMBERS
    assert set(_payloads(db, "points.expiring").values()) == {1}
    assert len(_payloads(db, "points.expiring")) == at_instant


def test_a_page_of_an_instant_is_read_in_index_order(tmp_path: Path) -> None:
    """On SQLite each pass reads its page in index order (time, member, brand): no sort of
    every lot at the instant, whatever the page's place in it."""
    path = tmp_path / "plans.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    _seed(database, EXPIRES - 40 * DAY)
    with database.write() as session:
        compute_reminders(session, EXPIRES - 60 * DAY, [30])
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and (
            "idx_lots" in statement or "idx_pending" in statement
        ):
            seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        for _ in range(2):  # the first page of the instant, then one from inside it
            with database.write() as session:
                compute_reminders(session, EXPIRES - 29 * DAY, [30])
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
        database.dispose()
    # pages of lots from the instant's start and from inside it; pending positions likewise
    assert sum("idx_lots" in sql for sql, _ in seen) >= 2, seen
    assert sum("idx_pending" in sql for sql, _ in seen) >= 2, seen
    connection = sqlite3.connect(path)
    try:
        for sql, params in seen:
            plan = " / ".join(
                row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
    finally:
        connection.close()
