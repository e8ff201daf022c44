"""SQLite's write-ahead log stays bounded while reads never pause (issue 15).

`make bench`'s throughput rounds grew the WAL to 700 MB in six rounds of 5,000 earns: the
background checkpoint is PASSIVE, and a WAL only starts over when a writer finds it fully
copied back with no reader on it, which reads arriving every few milliseconds rarely allow.
Every read then searched a longer WAL index, and the file kept its size on disk.

Starting it over happens under the writers' lock, so it must be short: the restart does not
truncate the file (a TRUNCATE checkpoint of a 72 MB WAL took 35 ms on this machine's disk; a
file past its limit is cut back by the next commit), and it gives up on a reader that stays on
the WAL instead of holding every writer behind it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger_api.db import Database
from ledger_api.db import session as db_session

BOUND = 1 << 20  # 1 MiB for the test (64 MiB by default)
LIMIT = 2 * BOUND  # the file's own bound on disk (`journal_size_limit`)


def _wal_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A SQLite database (`wal.db`) whose WAL starts over past `BOUND` of frames."""
    monkeypatch.setattr(db_session, "WAL_RESTART_BYTES", BOUND)
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    yield database
    database.dispose()


def test_the_wal_goes_back_under_its_bound_while_readers_never_pause(
    db: Database, tmp_path: Path
) -> None:
    wal = tmp_path / "wal.db-wal"
    with db.write() as session:
        session.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
    stop = threading.Event()
    reads = [0, 0]

    def reader(slot: int) -> None:  # read transactions back to back, two threads overlapping
        while not stop.is_set():
            with db.read() as session:
                session.execute(text("SELECT count(*) FROM blobs")).scalar()
                time.sleep(0.002)  # the snapshot stays open a little while
            reads[slot] += 1

    readers = [threading.Thread(target=reader, args=(slot,), daemon=True) for slot in (0, 1)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(24 * 16):  # 24 MiB of new pages, 24 x the bound
            with db.write() as session:
                session.execute(
                    text("INSERT INTO blobs (body) VALUES (:body)"), {"body": os.urandom(1 << 16)}
                )
        grown = _wal_bytes(wal)
        # Writes go on, a small one every 50 ms (a checkpoint round follows writes), and so
        # do the reads: the WAL must start over within a few rounds, its file cut back to its
        # limit by the first commit after that.
        deadline = time.monotonic() + 60
        while _wal_bytes(wal) > LIMIT:
            assert time.monotonic() < deadline, (
                f"the WAL is {_wal_bytes(wal)} bytes ({grown} after the bulk), limit {LIMIT}"
            )
            with db.write() as session:
                session.execute(text("INSERT INTO blobs (body) VALUES (x'00')"))
            time.sleep(0.05)
        assert min(reads) > 0  # both readers read throughout
        with db.read() as session:  # nothing written was lost on the way
            assert session.execute(text("SELECT count(*) FROM blobs")).scalar() >= 24 * 16
    finally:
        stop.set()
        for thread in readers:
            thread.join()


def _insert(db: Database, rows: int, size: int = 1 << 16) -> None:
    """`rows` rows of `size` random bytes, one commit each, through the engine itself: a
    `Database.write` would start its checkpointer, which these tests drive by hand."""
    for _ in range(rows):
        with db.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO blobs (body) VALUES (:body)"), {"body": os.urandom(size)}
            )


@contextlib.contextmanager
def _reader_on_the_wal(db: Database) -> Iterator[None]:
    """A read transaction whose snapshot is in the WAL (no checkpoint has run: nothing of it
    is copied back), kept open while the block runs."""
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar()
        yield


def test_starting_the_wal_over_never_truncates_it_and_gives_up_on_a_reader_that_stays(
    db: Database, tmp_path: Path
) -> None:
    wal = tmp_path / "wal.db-wal"
    lock = threading.Lock()
    checkpointer = db_session._Checkpointer(tmp_path / "wal.db", lambda: None, lock)
    connection = checkpointer.connect()
    try:
        with db.engine.begin() as setup:
            setup.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
        _insert(db, 8 * 16)  # 8 MiB, 8 x the bound
        with _reader_on_the_wal(db):
            _insert(db, 1)
            started = time.monotonic()
            checkpointer._restart(connection)
            # it gave up within its wait (generous margin for a busy machine) and let go of
            # the writers' lock; the reader still sees its snapshot, the WAL kept its frames
            assert time.monotonic() - started < 10
            assert lock.acquire(blocking=False)
            lock.release()
            grown = _wal_bytes(wal)
            _insert(db, 1)
            assert _wal_bytes(wal) > grown  # appended: not started over
        before = _wal_bytes(wal)
        checkpointer._restart(connection)
        # started over without truncating (the file keeps its size in the writers' turn) ...
        assert _wal_bytes(wal) == before > LIMIT
        _insert(db, 1, size=16)
        # ... and the first commit after it wrote from the start and cut the file to its limit
        assert _wal_bytes(wal) == LIMIT
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 8 * 16 + 3
    finally:
        connection.close()


def test_a_restart_keeps_this_process_known_to_another_that_closes(
    db: Database, tmp_path: Path
) -> None:
    """The restart syncs the database file first (`_sync_database`). Closing any descriptor of
    that file drops every POSIX lock this process's SQLite connections hold on it: another
    process whose last connection then closes takes itself for the last one anywhere, copies
    the WAL back and deletes it while this one still writes to it (`make bench` then found
    its index "malformed"). The sync uses the descriptor `Database` keeps open instead."""
    with db.write() as session:
        session.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
    _insert(db, 4)
    checkpointer = db._checkpointer
    assert checkpointer is not None
    connection = checkpointer.connect()
    try:
        checkpointer._restart(connection)
    finally:
        connection.close()
    with db.read() as session:  # this process's pooled connections stay open on the file
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 4
    _another_process_writes_and_closes(tmp_path / "wal.db")
    _insert(db, 1)
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 6
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_a_second_database_on_the_file_keeps_the_first_known_to_another_process(
    db: Database, tmp_path: Path
) -> None:
    """`ledger serve` builds a `Database` to migrate, then another for the app, in one
    process; building the second opened and closed the database file (to make it private),
    and disposing of it closed its own descriptor: either dropped the first's SQLite locks."""
    with db.write() as session:
        session.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
    _insert(db, 2)
    with db.read() as session:  # the first one's pooled connections stay open on the file
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 2
    (tmp_path / "elsewhere").mkdir()  # the second reaches the file by another path
    (tmp_path / "elsewhere" / "link.db").symlink_to(tmp_path / "wal.db")
    second = Database(f"sqlite:///{tmp_path / 'elsewhere' / 'link.db'}")
    with second.read() as session:
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 2
    second.dispose()
    _another_process_writes_and_closes(tmp_path / "wal.db")
    _insert(db, 1)
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 4
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def _another_process_writes_and_closes(database: Path) -> None:
    """Another process's connection writes a row and closes: if it takes itself for the last
    connection to the file anywhere, it copies the WAL back and deletes it, under this one."""
    other = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute(\"INSERT INTO blobs (body) VALUES (x'00')\")\n"
        "c.commit()\n"
        "c.close()\n"
    )
    subprocess.run([sys.executable, "-c", other, str(database)], check=True, timeout=60)
    # it knew it was not the last connection: the WAL this process writes to is still there
    assert database.with_name(database.name + "-wal").exists()
