"""An operation's status changes write no index over the whole history (issue 15).

After its insert an operation changes status twice (queued -> submitted -> confirmed or
failed), in the signer's turns at SQLite's one writer lock. An index keyed by a member, an
order or a nonce over every operation that depended on the status (as a column, or in a
partial index's condition) had each change rewrite an entry on a random page of it: the
member's and the beneficiary's `(member, status)` and the unique indexes of nonces and orders
did, about half the SQLite work of an operation's life. The tests run the signer's own
statements and read SQLite's program for each: the indexes it opens for writing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select
from support.rows import add_brand, queued_earn

from ledger_api.background.campaigns import member_past
from ledger_api.background.sender.debit_order import debit_waits, nonce_held, waits_for_held_nonce
from ledger_api.background.sender.settle import _final_values
from ledger_api.background.sender.slot_rows import update_operations
from ledger_api.background.sender.slots import SlotStore, op_rows
from ledger_api.background.sender.txplan import Outcome, Verdict
from ledger_api.chain.port import Receipt
from ledger_api.db import Database
from ledger_api.db.keys import HELD, OPEN
from ledger_api.db.migrate import upgrade
from ledger_api.db.models import Operation, Signer, TxSlot
from ledger_api.db.partial import DEPOSIT_STEP_CONDITION, OPEN_CONDITION
from ledger_api.domain import OpKind, OpStatus, SlotStatus

STAMP = datetime(2026, 12, 3, tzinfo=UTC)
#: the indexes ordered by brand, status and id, or by slot: an operation's neighbours in the
#: same transaction share their pages
CLUSTERED = {"ix_operations_queue", "ix_operations_slot"}


class Recorded:
    """Every statement an engine runs that starts with `prefix`, with its parameters."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self.seen: list[tuple[str, Any]] = []
        self._engine, self._prefix = engine, prefix
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(self._prefix):
            self.seen.append((statement, parameters))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)

    def plans(self, path: Path) -> list[str]:
        """SQLite's query plan of each statement seen, as its detail lines."""
        connection = sqlite3.connect(path)
        try:
            return [
                " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", p))
                for sql, p in self.seen
            ]
        finally:
            connection.close()


def _written_indexes(path: Path, statement: str, parameters: Any) -> set[str]:
    """The indexes of `operations` that SQLite's program for `statement` opens for writing."""
    connection = sqlite3.connect(path)
    try:
        roots = dict(
            connection.execute(
                "SELECT rootpage, name FROM sqlite_master WHERE tbl_name = 'operations'"
            ).fetchall()
        )
        first = parameters[0] if isinstance(parameters, list) else parameters
        program = connection.execute(f"EXPLAIN {statement}", first).fetchall()
        return {roots[row[3]] for row in program if row[1] == "OpenWrite"} - {"operations"}
    finally:
        connection.close()


def _index_sql(path: Path) -> dict[str, str]:
    connection = sqlite3.connect(path)
    try:
        return dict(
            connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                " AND tbl_name = 'operations'"
            ).fetchall()
        )
    finally:
        connection.close()


def test_a_status_change_writes_only_the_small_indexes_of_open_operations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ops.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.write() as session:
        brand = add_brand(session, "Shop", "SHP", ledger_id=1)
        signer = Signer(brand_id=brand.id, address="0x" + "22" * 20, next_nonce=1)
        session.add(signer)
        session.flush()
        slot = TxSlot(
            signer_id=signer.id,
            nonce=0,
            kind="earn_batch",
            status=SlotStatus.PENDING,
            to_address="0x" + "11" * 20,
            calldata=b"",
            gas_limit=100_000,
        )
        session.add(slot)
        session.add_all(
            queued_earn(
                brand.id,
                i,
                STAMP,
                member=f"0x{i + 1:040x}",
                beneficiary=f"0x{i + 1:040x}",
                member_nonce=i if i % 2 else None,
                nonce_domain="ledger" if i % 2 else None,
                order_ref=f"0x{i + 1:064x}",
            )
            for i in range(4)
        )
    with db.read() as session:
        slot_id = session.scalar(select(TxSlot.id))
        assert slot_id is not None
        ops = op_rows(session, Operation.brand_id == brand.id)
    updates = Recorded(db.engine, "UPDATE OPERATIONS")
    try:
        with db.write() as session:
            SlotStore._submitted(session, ops, slot_id=slot_id, tx_hash="0x" + "ab" * 32)
        receipt = Receipt("0x" + "ab" * 32, 1, 9, "0x" + "cd" * 32, 21_000, ())
        confirm = Outcome(Verdict.CONFIRMED, {"points": 10})
        fail = Outcome(Verdict.FAILED, code="tx_reverted")
        with db.write() as session:  # the settler's rows: two confirmed, two failed
            update_operations(
                session,
                [_final_values(op, confirm, receipt, STAMP) for op in ops[:2]]
                + [_final_values(op, fail, receipt, STAMP) for op in ops[2:]],
            )
    finally:
        updates.close()
    submitted, confirmed, failed = updates.seen
    assert "keys_released_at" not in confirmed[0] and "keys_released_at" in failed[0]
    sql = _index_sql(path)
    open_only = {name for name, text in sql.items() if text.endswith(f"WHERE {OPEN_CONDITION}")}
    # and the deposit steps' partial index: opened by the program, written for a step only
    small = open_only | {n for n, t in sql.items() if t.endswith(f"WHERE {DEPOSIT_STEP_CONDITION}")}
    assert _written_indexes(path, *submitted) - CLUSTERED == small
    # a final operation stays in its slot: the slot's index is not rewritten
    assert _written_indexes(path, *confirmed) == small | {"ix_operations_queue"}
    assert open_only == {"ix_operations_member_open", "ix_operations_beneficiary_open"}
    assert small - open_only == {"ix_operations_deposit_steps"}
    # a failure gives the nonce and the order back: their unique indexes, and the orders
    # given back (whose retry reuses the op id, migration 0020), and only then
    assert _written_indexes(path, *failed) == small | {
        "ix_operations_queue",
        "uq_operations_member_nonce",
        "uq_operations_brand_order",
        "ix_operations_released_orders",
    }
    with db.read() as session:
        rows = session.execute(
            select(Operation.status, Operation.member_nonce, HELD).order_by(Operation.id)
        ).all()
        assert session.scalars(select(Operation.id).where(OPEN)).all() == []
    db.dispose()
    assert [tuple(r) for r in rows] == [
        ("confirmed", None, True),
        ("confirmed", 1, True),
        ("failed", None, False),
        ("failed", 3, False),  # the failed operation keeps its values, holds them no more
    ]


def test_reads_of_open_operations_and_of_a_history_keep_their_indexes(tmp_path: Path) -> None:
    """The signer's "earlier open operation of this member" (a member's debit waits for it)
    reads the small indexes of open operations; the campaigns' "has the member earned or
    bought here" reads the member's whole history by `ix_operations_member`. Neither scans,
    whatever the statistics say (one member with 2,000 final operations and two open)."""
    path = tmp_path / "plans.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    heavy, other = "0x" + "aa" * 20, "0x" + "bb" * 20
    with db.write() as session:
        brand = add_brand(session, "Shop", "SHP", ledger_id=1)
        session.add_all(
            Operation(
                uid=f"op_{i}",
                brand_id=brand.id,
                kind=OpKind.EARN if i < 2_000 else OpKind.GIFT,
                status=OpStatus.CONFIRMED if i < 2_000 else OpStatus.QUEUED,
                payload={},
                member=heavy if i % 2 else f"0x{i:040x}",
                beneficiary=other if i == 2_001 else heavy,
                created_at=STAMP,
                updated_at=STAMP,
            )
            for i in range(2_003)
        )
    db.refresh_statistics()
    with db.read() as session:
        (debit,) = op_rows(session, Operation.uid == "op_2001")
    statements = Recorded(db.read_engine, "SELECT")
    try:
        with db.read() as session:
            assert debit_waits(session, debit, [])  # op_1999 is final, op_2000 open
            assert member_past(session, brand.id, None, heavy) == (True, False)
    finally:
        statements.close()
    blocked, *history = statements.plans(path)
    assert "ix_operations_member_open (member=? AND status=?" in blocked, blocked
    assert "ix_operations_beneficiary_open (beneficiary=? AND status=?" in blocked, blocked
    assert history and all("USING INDEX ix_operations_member (member=?)" in p for p in history)
    assert not any("SCAN operations" in p for p in (blocked, *history)), (blocked, history)
    # with a brand whose key is shut, the same indexes (its rows filtered on them)
    statements = Recorded(db.read_engine, "SELECT")
    try:
        with db.read() as session:
            assert debit_waits(session, debit, [brand.id + 1])
    finally:
        statements.close()
    (shut,) = statements.plans(path)
    assert "ix_operations_member_open (member=? AND status=?" in shut, shut
    assert "ix_operations_beneficiary_open (beneficiary=? AND status=?" in shut, shut
    assert "SCAN operations" not in shut, shut
    # what says a move waits for a nonce held at a shut brand (`queued_reason`), the same
    statements = Recorded(db.read_engine, "SELECT")
    try:
        with db.read() as session:
            assert not waits_for_held_nonce(session, "op_2001")
            assert not nonce_held(session, heavy, "ledger")
    finally:
        statements.close()
    for plan in statements.plans(path):
        assert "ix_operations_member_open (member=? AND status=?" in plan, plan
        assert "SCAN operations" not in plan, plan
    db.dispose()
