"""Bulk writes of the index: many rows in one statement, each statement built once per shape
(SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger_api.db.models import Base, table_of
from ledger_api.db.value_models import IdxPendingMonth


def upsert(
    session: Session,
    table: type[Base],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    changes: Sequence[str] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, many rows at once (SQLite and PostgreSQL).
    A stored row takes the new values of `changes` (default: every column but the keys); a
    column that follows from the keys is better left out, since SQLite rewrites every index
    over a column the update names (the lots' expiry: one entry of an index of every lot)."""
    if not rows:
        return
    connection = session.connection()  # Core: the ORM's bulk path costs more than the rows
    if changes is None:
        changes = tuple(c for c in rows[0] if c not in keys)
    statement = _upsert_statement(connection.dialect.name, table, tuple(keys), tuple(changes))
    connection.execute(statement, list(rows))  # no ORM execution around it


@functools.cache
def _upsert_statement(
    dialect: str, table: type[Base], keys: tuple[str, ...], changes: tuple[str, ...]
) -> Any:
    """The upsert, built once per shape: building it per call cost about 110 us of Python
    (its construction and its cache key), in the indexer's turn at the writer lock."""
    insert_: Any = sqlite_insert if dialect == "sqlite" else pg_insert
    statement = insert_(table_of(table))
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in changes}
    )


def insert_new(
    session: Session, table: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, many rows at once: a row already stored
    stays as it is (SQLite and PostgreSQL)."""
    if not rows:
        return
    connection = session.connection()
    statement = _insert_new_statement(connection.dialect.name, table, tuple(keys))
    connection.execute(statement, list(rows))


@functools.cache
def _insert_new_statement(dialect: str, table: type[Base], keys: tuple[str, ...]) -> Any:
    insert_: Any = sqlite_insert if dialect == "sqlite" else pg_insert
    return insert_(table_of(table)).on_conflict_do_nothing(index_elements=list(keys))


@functools.cache
def add_held_statement(dialect: str) -> Any:
    """Adds `amount` to a row of `idx_pending_months` (a new row: `amount`), for the rows a
    chunk only added to (the purchases of a bulk import: no read of the member's rows)."""
    insert_: Any = sqlite_insert if dialect == "sqlite" else pg_insert
    table = table_of(IdxPendingMonth)
    statement = insert_(table)
    return statement.on_conflict_do_update(
        index_elements=["member", "brand", "release_at", "month", "gift"],
        set_={"amount": table.c.amount + statement.excluded.amount},
    )
