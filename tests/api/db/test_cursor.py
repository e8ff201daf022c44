"""The index cursor moves only from where the chunk began (SQLite and PostgreSQL): a chunk
applied by a second indexer in between is refused, and the chunk's own writes with it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger_api.background.indexer.cursor import advance_cursor, ensure_cursor, read_cursor
from ledger_api.db import Database
from ledger_api.db.models import IdxMeta


def test_the_cursor_moves_past_the_chunk_from_where_it_began(db: Database) -> None:
    with db.write() as session:
        ensure_cursor(session, 100)
    with db.write() as session:
        advance_cursor(session, 100, 104, "0x" + "aa" * 32, 1_700_000_000)
    with db.read() as session:
        cursor = read_cursor(session)
    assert cursor is not None
    assert (cursor.next_block, cursor.last_block_hash, cursor.last_block_timestamp) == (
        105,
        "0x" + "aa" * 32,
        1_700_000_000,
    )


def test_a_chunk_that_began_elsewhere_is_refused_with_its_writes(db: Database) -> None:
    with db.write() as session:
        ensure_cursor(session, 100)
    with db.write() as session:  # another indexer applied 100..102
        advance_cursor(session, 100, 102, "0x" + "bb" * 32, 1_700_000_000)
    refused = pytest.raises(RuntimeError, match="another indexer moved the cursor")
    with refused, db.write() as session:
        session.add(IdxMeta(key="written_by_the_late_chunk", value="x"))
        advance_cursor(session, 100, 101, "0x" + "cc" * 32, 1_700_000_001)
    with db.read() as session:
        cursor = read_cursor(session)
        late = session.scalar(select(func.count()).select_from(IdxMeta))
    assert cursor is not None
    assert (cursor.next_block, cursor.last_block_hash) == (103, "0x" + "bb" * 32)
    assert late == 0
