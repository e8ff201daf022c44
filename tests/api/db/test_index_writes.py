"""The index projection's writes (`ProjectionState.flush`) in the indexer's turn at the writer
lock (issue 15): a credit to a stored lot names only its amount, so the index of every lot by
brand and expiry is not rewritten.

Each test runs on SQLite and on a real PostgreSQL server (the `db` fixture)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select

from ledger_api.background.indexer.state import ProjectionState
from ledger_api.db import Database
from ledger_api.db.models import IdxLot
from ledger_api.domain import lot_expiry

MEMBER = "0x" + "ab" * 20
MONTH = 322  # 2026-11


def _credit(db: Database, amount: int, seen: list[str] | None = None) -> None:
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        assert seen is not None
        seen.append(statement)

    if seen is not None:
        event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.write() as session:
            state = ProjectionState(session)
            state.credit(MEMBER, 1, MONTH, amount)
            state.flush()
    finally:
        if seen is not None:
            event.remove(db.engine, "before_cursor_execute", record)


def test_a_credit_to_a_stored_lot_updates_only_its_amount(db: Database) -> None:
    _credit(db, 10)
    seen: list[str] = []
    _credit(db, 15, seen)
    [lots] = [s for s in seen if re.search(r"INSERT INTO idx_lots\b", s)]
    assert re.search(r"DO UPDATE SET amount = excluded\.amount\s*$", lots), lots
    with db.read() as session:
        lot = session.execute(select(IdxLot)).scalar_one()
        assert (lot.member, lot.brand, lot.month) == (MEMBER, 1, MONTH)
        assert lot.amount == 25  # the amount stored, read by the projection, plus the credit
        assert lot.expires_at == lot_expiry(MONTH)
