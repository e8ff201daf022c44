"""What makes the SQLite database's writes durable and keeps its file safe to share.

`WalSync` syncs the WAL after a write let go of the writers' lock (`Database.write`), and
`DatabaseFiles` holds the one descriptor of a database file a process may keep: closing any
descriptor of that file drops the process's SQLite locks on it (issue 15).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import ClassVar

log = logging.getLogger(__name__)


class WalSyncFailed(OSError):
    """The disk refused to sync the WAL (`Database.sync`): writes may be lost on a power loss."""


class WalSync:
    """Syncs a database's WAL file after its writes (`Database.sync`).

    `database` is the database file's real path (`Database.sqlite_file`): SQLite resolves
    symbolic links and keeps the WAL beside the file they lead to. One descriptor stays open,
    reopened when SQLite made a new WAL file (another inode: the last connection to close
    removes it): Linux reports a failed writeback once to each descriptor open when it failed,
    so a descriptor opened for each sync could miss a failure that came before it. The first
    failure is kept, and every later sync raises it again. A replaced descriptor stays open
    until `close` (another thread may be syncing on it)."""

    def __init__(self, database: Path) -> None:
        self.wal = database.with_name(database.name + "-wal")
        self._guard = threading.Lock()
        self._fd: int | None = None
        self._inode = -1
        self._retired: list[int] = []
        self._failed: OSError | None = None

    def sync(self) -> None:
        if self._failed is not None:
            raise WalSyncFailed(f"an earlier sync of {self.wal} failed: {self._failed}")
        try:
            fd = self._descriptor()
        except OSError as exc:  # no sync was tried: this write fails, the next may not
            raise WalSyncFailed(f"could not open {self.wal} to sync it: {exc}") from exc
        if fd is None:
            # no WAL file: the last connection to close copied it back into the database file
            # (synced by that checkpoint) and removed it. Never open the database file here:
            # closing that descriptor would drop this process's SQLite locks on it
            return
        try:
            os.fdatasync(fd)
        except OSError as exc:
            self._failed = exc
            log.critical(
                "could not sync %s (%s): every write is refused from now on", self.wal, exc
            )
            raise WalSyncFailed(f"could not sync {self.wal}: {exc}") from exc

    def _descriptor(self) -> int | None:
        """The open descriptor of the current WAL file, or None when there is none."""
        try:
            inode = os.stat(self.wal).st_ino
        except FileNotFoundError:
            return None
        with self._guard:
            if inode != self._inode or self._fd is None:
                fd = os.open(self.wal, os.O_RDONLY)
                if self._fd is not None:
                    self._retired.append(self._fd)
                self._fd, self._inode = fd, os.fstat(fd).st_ino
            return self._fd

    def close(self) -> None:
        with self._guard:
            for fd in [*self._retired, *([self._fd] if self._fd is not None else [])]:
                os.close(fd)
            self._fd, self._inode, self._retired = None, -1, []


class DatabaseFiles:
    """One descriptor per database file per process, shared by every `Database` on it (by
    device and inode: whatever path reaches the file).

    Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
    included: another process whose last connection then closes takes itself for the last
    one anywhere, copies the WAL back and deletes it under this process's connections, which
    go on writing to a deleted file (`make bench` found the index "malformed"). So the
    database file is opened once, before this process's first connection to it, and closed
    when the last `Database` on it is disposed (at shutdown a connection still checked out by
    a thread then loses its locks: nothing else should write by then). Nothing else opens it
    (`db.files.private_file` leaves an existing file alone); SQLite's own descriptors are
    safe, its VFS keeps them open while a lock is held."""

    _guard = threading.Lock()
    #: (device, inode) of each file: every path that reaches it (a link, a bind mount) shares
    #: the entry; the value is (descriptor, holders)
    _open: ClassVar[dict[tuple[int, int], tuple[int, int]]] = {}

    @classmethod
    def hold(cls, database: Path) -> tuple[tuple[int, int], int]:
        """The file's key and the process's descriptor of it (opened by the first holder)."""
        with cls._guard:
            info = os.stat(database)
            key = (info.st_dev, info.st_ino)
            fd, holders = cls._open.get(key, (-1, 0))
            if holders == 0:
                fd = os.open(database, os.O_RDONLY)
            cls._open[key] = (fd, holders + 1)
            return key, fd

    @classmethod
    def release(cls, key: tuple[int, int]) -> None:
        with cls._guard:
            fd, holders = cls._open.pop(key, (-1, 0))
            if holders > 1:
                cls._open[key] = (fd, holders - 1)
            elif holders == 1:
                os.close(fd)
