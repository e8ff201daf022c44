"""A write is on disk when `Database.write` returns, and its sync runs after the writers' lock
is let go (issue 15).

SQLite at `synchronous=FULL` syncs the WAL inside the commit, while the writer holds the lock:
the sync was half of the intake's turn at the lock, every other writer waiting behind it. A
write now commits at `NORMAL` and syncs the WAL itself once it let go (an `fdatasync` covers
every frame written before it); the indexer's writes, which the chain rebuilds, skip the sync.

The syscalls are watched with `strace` on a real process: the lock's `flock`, the syncs, and
marks the program leaves between its writes (a `stat` of a path that does not exist).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger_api.db import Database
from ledger_api.db.durability import WalSyncFailed

PROGRAM = """
import os, sys
from sqlalchemy import text
from ledger_api.db import Database

def mark(name):
    try:
        os.stat("/ledger-mark-" + name)
    except OSError:
        pass

db = Database(sys.argv[1])
with db.write() as session:
    session.execute(text("CREATE TABLE t (x INTEGER)"))
mark("durable")
with db.write() as session:
    session.execute(text("INSERT INTO t VALUES (1)"))
mark("returned")
with db.write(durable=False) as session:
    session.execute(text("INSERT INTO t VALUES (2)"))
mark("end")
db.dispose()
"""


@pytest.fixture
def strace() -> str:
    found = shutil.which("strace")
    if found is None:
        if os.environ.get("CI"):  # never a silent skip in CI: tools/setup.sh installs it
            pytest.fail("strace is missing (tools/setup.sh installs it)")
        pytest.skip("strace is missing")
    return found


def _syscalls(strace: str, tmp_path: Path) -> list[str]:
    """The program's main thread's flock, sync and mark calls, in order (the WAL checkpoint
    thread's own syncs are another thread's)."""
    trace = tmp_path / "trace.txt"
    # through a symbolic link: SQLite keeps the WAL beside the file the link leads to, and
    # that is the file to sync (`link.db-wal` does not exist)
    (tmp_path / "data").mkdir()
    (tmp_path / "link.db").symlink_to(tmp_path / "data" / "sync.db")
    url = f"sqlite:///{tmp_path / 'link.db'}"
    subprocess.run(
        [strace, "-f", "-y", "-e", "trace=flock,fsync,fdatasync,%%stat", "-o", str(trace)]
        + [sys.executable, "-c", PROGRAM, url],
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    lines = trace.read_text().splitlines()
    main = lines[0].split()[0]  # the first line is the main thread's
    wanted = re.compile(r"^(flock|fsync|fdatasync)\(|ledger-mark-")
    return [
        body
        for tid, _, body in (line.partition(" ") for line in lines)
        if tid == main and wanted.search(body.lstrip())
    ]


def _between(calls: list[str], first: str, last: str) -> list[str]:
    start = next(i for i, c in enumerate(calls) if f"ledger-mark-{first}" in c)
    end = next(i for i, c in enumerate(calls) if f"ledger-mark-{last}" in c)
    return [c.lstrip() for c in calls[start + 1 : end]]


def _kind(call: str) -> str:
    if call.startswith("flock("):
        return "lock" if "LOCK_EX" in call else "unlock"
    if call.startswith(("fsync(", "fdatasync(")) and "/data/sync.db-wal>" in call:
        return "wal-sync"
    return call


def test_a_write_syncs_the_wal_after_it_lets_go_of_the_lock_and_before_it_returns(
    strace: str, tmp_path: Path
) -> None:
    calls = _syscalls(strace, tmp_path)
    durable = [_kind(c) for c in _between(calls, "durable", "returned")]
    # no sync while the lock is held (before: SQLite's fdatasync of the WAL came between them)
    assert durable == ["lock", "unlock", "wal-sync"], durable
    relaxed = [_kind(c) for c in _between(calls, "returned", "end")]
    assert relaxed == ["lock", "unlock"], relaxed  # `durable=False`: no sync at all


def test_transactions_outside_write_keep_the_configured_level(tmp_path: Path) -> None:
    """`write` begins at NORMAL on a pooled connection; the engine's other transactions on that
    same connection (the sender lock's row, a copy, migrations) commit at FULL, syncing in the
    commit as before, since they sync nothing themselves."""
    db = Database(f"sqlite:///{tmp_path / 'levels.db'}")
    try:
        with db.write() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1
            used = session.connection().connection.dbapi_connection
        with db.engine.begin() as connection:
            assert connection.connection.dbapi_connection is used  # the pool's last (LIFO)
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        with db.write() as session:
            assert session.connection().connection.dbapi_connection is used
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1
    finally:
        db.dispose()


def test_normal_is_left_as_the_operator_set_it(tmp_path: Path) -> None:
    """`LEDGER_SQLITE_SYNCHRONOUS=NORMAL`: commits at NORMAL, nothing synced after them."""
    db = Database(f"sqlite:///{tmp_path / 'normal.db'}", sqlite_synchronous="NORMAL")
    synced: list[str] = []
    db.observe_wal_sync(lambda writer, _: synced.append(writer))
    try:
        with db.write() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1
        with db.engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert synced == []
    finally:
        db.dispose()


def test_a_failed_sync_fails_every_write_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux reports a failed writeback once (to each descriptor open then): a write after it
    could sync "successfully" while an earlier one never reaches the disk. So the first
    failure stays: every later write and `sync` fails, and nothing more is accepted, signed or
    sent. The failure is the disk's (EIO here, as a dying disk answers)."""
    db = Database(f"sqlite:///{tmp_path / 'eio.db'}")
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        disk = os.fdatasync

        def dying_disk(fd: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "fdatasync", dying_disk)
        with pytest.raises(WalSyncFailed, match="Input/output error"), db.write() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        monkeypatch.setattr(os, "fdatasync", disk)  # the disk answers again ...
        with pytest.raises(WalSyncFailed, match="an earlier sync"), db.write() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        with pytest.raises(WalSyncFailed, match="an earlier sync"):
            db.sync()  # ... and a replay's answer waits on this
    finally:
        db.dispose()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.dispose()


def test_postgresql_commits_the_indexers_writes_asynchronously(postgres_db: Database) -> None:
    """`write(durable=False)` on PostgreSQL: `synchronous_commit` off for that transaction only
    (a crash may lose it whole, never part of it); every other write commits synchronously."""
    with postgres_db.write(durable=False) as session:
        assert session.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with postgres_db.write() as session:
        assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
