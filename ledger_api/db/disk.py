"""The database's disk: whether a failure means it is full (the gateway answers 507
`storage_full` and keeps nothing half written)."""

from __future__ import annotations

import errno


def is_storage_full(exc: BaseException) -> bool:
    """`exc` (or an exception it was raised from) says the disk is full: SQLite's
    "database or disk is full" (SQLITE_FULL) or an OSError with ENOSPC."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if "database or disk is full" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def database_away(exc: BaseException) -> bool:
    """`exc` says the database does not answer for now, so a later retry may pass: its server
    away or restarting (a lost or refused connection, SQLAlchemy's `OperationalError` or
    `DisconnectionError`), its pool out of connections (`TimeoutError`), or SQLite busy. Not a
    full disk (`is_storage_full`) nor an error of the statement itself (a constraint, a
    programming error), which no retry mends."""
    from sqlalchemy import exc as sa

    if is_storage_full(exc):
        return False
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.OperationalError | sa.DisconnectionError | sa.TimeoutError)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error's text, at most `limit` characters (its class name when it
    says nothing): a driver's message runs to several lines, a log line wants one."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else exc.__class__.__name__
