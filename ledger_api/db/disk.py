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
