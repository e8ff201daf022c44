"""The temporary folders of one `ledger serve`: all under one parent, gone when it stops.

`ledger serve` hands its processes three folders (metrics counts, wake-up sockets, the
`ledger work` status file). They live in one parent per process,
`$TMPDIR/ledger-serve-XXXXXXXX/` (`metrics/`, `wake/`, `work/`), which `ProcessFolder.remove`
deletes at a clean stop. A process that dies without its clean-up (SIGKILL, a crash, a
power cut) leaves its parent behind; the next `ledger serve` on the machine removes it.

Which parents are abandoned: each holds a lock file (`.lock`) on which its process holds a
shared `flock` for its whole life, and the `ledger work` it starts too (the descriptor is
inherited). The kernel drops the lock with the last process holding it, however it ends, so
a parent whose lock can be taken exclusively belongs to nobody. This holds across PID
namespaces (containers sharing /tmp) and PID reuse, where a PID check would not. A parent
without a lock file is left alone (its process may be between creating it and locking it).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "ledger-serve-"
LOCK_FILE = ".lock"


class ProcessFolder:
    """This process's parent folder, locked while the process (or a child given `lock_fd`)
    lives. `create` first removes the parents that their processes abandoned."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self.lock_fd = lock_fd  # a child that uses the folders gets it (`Popen(pass_fds=...)`)

    @classmethod
    def create(cls, temp_dir: Path | None = None) -> ProcessFolder:
        base = temp_dir or Path(tempfile.gettempdir())
        sweep_abandoned(base)
        for _ in range(5):  # a sweep of another process may take a new parent before its lock
            path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_SH)
                if _same_file(fd, path / LOCK_FILE):
                    return cls(path, fd)
                os.close(fd)
        raise RuntimeError(f"could not make a temporary folder in {base}")

    def sub(self, name: str) -> Path:
        """A folder of the parent (made now)."""
        folder = self.path / name
        folder.mkdir(exist_ok=True)
        return folder

    def remove(self) -> None:
        """Deletes the parent and everything in it, then drops the lock (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self.lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = -1


def sweep_abandoned(base: Path) -> list[Path]:
    """Removes the parents in `base` whose lock nobody holds; returns them. Never raises."""
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(base) if e.name.startswith(PREFIX)]
    except OSError:
        return removed
    uid = os.getuid()
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != uid:
                continue
            fd = os.open(Path(entry.path) / LOCK_FILE, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # no lock file (yet), or not ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live gateway's
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d temporary folder(s) of gateways that did not stop", len(removed))
    return removed


def _same_file(fd: int, path: Path) -> bool:
    """The locked descriptor is still the file at `path` (no sweep removed it meanwhile)."""
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
