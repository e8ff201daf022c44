"""The sender lock: one process per database sends transactions and indexes.

SQLite: an exclusive `flock` on a file beside the database's real path
(`Database.companion`): the same file through a symbolic link, a relative path or a `file:`
URI (not through a hard link or a bind mount). PostgreSQL: a
session advisory lock on a dedicated connection. Both are released by the
operating system or the server when the process dies, even by SIGKILL, so a
restarted gateway takes over at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from ledger_api.db import Database
from ledger_api.db.disk import first_line

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x4C45444745520001  # "LEDGER" + 1


class SenderLock:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._fd: int | None = None
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._db.is_sqlite:
            path = self._db.companion(".sender.lock")
            if path is None:  # in memory: a file named from the URL, as before
                path = Path(f"{make_url(self._db.url).database or 'ledger.db'}.sender.lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        connection = self._db.engine.connect()
        acquired = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
        )
        connection.commit()
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        """Whether this process still holds the lock. A `flock` holds until released; a
        PostgreSQL advisory lock holds while its session lives, which a server restart or a
        lost connection ends: its connection is asked (`SELECT 1`), and an error means lost
        (`process.role` steps down)."""
        if self._connection is None:
            return self._fd is not None
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception as exc:  # the session is gone, and the lock with it
            log.warning("sender lock: its session is gone (%s)", first_line(exc))
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            # unlocked by the server before this returns: a closed connection's session ends
            # (and lets go of the lock) a moment later, in which another process's try fails
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._connection.commit()
            except Exception as exc:  # the server lost the session: it let go of the lock
                log.warning("sender lock: could not unlock (%s); the session ends instead", exc)
            # the session must end, not go back to the pool still holding the lock
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
