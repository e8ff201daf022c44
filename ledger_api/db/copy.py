"""Moves a gateway's data from one database to another: SQLite to PostgreSQL (issue 14).

`ledger db copy --to URL` (the source is `LEDGER_DATABASE_URL`) brings the target's schema
up to date (`db.migrate.upgrade`), refuses a target that already holds rows, copies every
table of the gateway (`db.metadata`) in dependency order, in chunks, in one transaction, then moves
PostgreSQL's id sequences past the copied ids. Stop every gateway process first: the copy
reads a database nobody writes.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, inspect, select, text

from ledger_api.db import Database
from ledger_api.db.metadata import METADATA
from ledger_api.db.migrate import upgrade

CHUNK_ROWS = 2_000


class TargetNotEmpty(RuntimeError):
    """The target database already holds gateway data (a command-line error, not HTTP)."""


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Copies every row; returns the row count per table. `TargetNotEmpty` if the target
    holds any row of a gateway table."""
    upgrade(target)
    tables = [t for t in METADATA.sorted_tables if inspect(target.engine).has_table(t.name)]
    counts: dict[str, int] = {}
    with target.engine.begin() as out:
        for table in tables:
            if out.execute(select(func.count()).select_from(table)).scalar():
                raise TargetNotEmpty(f"table {table.name} of the target already holds rows")
        with source.engine.connect() as into:
            for table in tables:
                counts[table.name] = 0
                result = into.execution_options(stream_results=True).execute(select(table))
                while rows := result.fetchmany(CHUNK_ROWS):
                    out.execute(table.insert(), [dict(row._mapping) for row in rows])
                    counts[table.name] += len(rows)
        if not target.is_sqlite:
            for table in tables:
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (
                        column.autoincrement == "auto" and len(table.primary_key.columns) == 1
                    ):
                        _advance_sequence(out, table.name, column.name)
    return counts


def _advance_sequence(connection: Connection, table: str, column: str) -> None:
    """Moves the column's sequence (if it has one) past the largest copied id."""
    sequence = connection.execute(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column}
    ).scalar()
    if sequence is None:
        return
    connection.execute(
        text(f'SELECT setval(:s, COALESCE((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'),
        {"s": sequence},
    )
