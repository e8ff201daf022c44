"""The statements a piece of the gateway runs, and SQLite's plan of each: the plan tests check
that a read takes its rows by their keys, whatever the tables hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ledger_api.db import Database


class Statements:
    """Every SELECT a session of `db`'s read engine runs, with its parameters."""

    def __init__(self, db: Database) -> None:
        self.seen: list[tuple[str, Any]] = []
        self._engine = db.read_engine
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


def all_plans(path: Path, statements: list[tuple[str, Any]]) -> list[str]:
    """SQLite's plan of each statement, as its detail lines."""
    connection = sqlite3.connect(path)
    try:
        return [
            " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]
    finally:
        connection.close()
