"""SQLite's write-ahead log stays bounded while reads never pause (issue 15).

`make bench`'s throughput rounds grew the WAL to 700 MB in six rounds of 5,000 earns: the
background checkpoint is PASSIVE, and a WAL only starts over when a writer finds it fully
copied back with no reader on it, which reads arriving every few milliseconds never allow.
Every read then searched a longer WAL index, and the file kept its size on disk."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger_api.db import Database
from ledger_api.db import session as db_session

BOUND = 1 << 20  # 1 MiB for the test (64 MiB by default)


def _wal_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_the_wal_goes_back_under_its_bound_while_readers_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "WAL_RESTART_BYTES", BOUND)
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
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
        # do the reads: the WAL must come back under its bound within a few rounds.
        deadline = time.monotonic() + 60
        while _wal_bytes(wal) > BOUND:
            assert time.monotonic() < deadline, (
                f"the WAL is {_wal_bytes(wal)} bytes ({grown} after the bulk), bound {BOUND}"
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
        db.dispose()
