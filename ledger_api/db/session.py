"""Engines and sessions. SQLite (WAL) by default, PostgreSQL by URL, same code.

SQLite write transactions start with ``BEGIN IMMEDIATE`` so that two writers
never deadlock upgrading a read lock; reads use a second engine with plain
deferred transactions so they never wait for a writer (WAL). Writers of one
process also queue on an in-process lock: a thread waiting for SQLite's own
lock sleeps in its busy handler (milliseconds at a time), one waiting for the
mutex wakes the moment the previous transaction ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_engine(url: str, *, immediate: bool, synchronous: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        # Enough kept-open connections for every thread that may query at once (the request
        # threadpool's 40, the sender and the indexer): an overflow connection is opened,
        # configured and closed per use, which under load cost more than the queries.
        pool_size=48,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """The gateway's database: `write()` for read-write transactions, `read()` for queries."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            self.engine = _sqlite_engine(url, immediate=True, synchronous=sqlite_synchronous)
            self.read_engine = _sqlite_engine(url, immediate=False, synchronous=sqlite_synchronous)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)
            self.read_engine = self.engine
        self._write_lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one read-write transaction, committed on success."""
        with self._write_lock, self._write() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with self._read() as session:
            yield session

    def session(self) -> Session:
        """A read session for request-scoped use (see `deps.get_session`)."""
        return self._read()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
