"""Every spelling of a SQLite database's path reaches the same files beside it.

The writers' lock, the sender lock and the key-revocation epoch are files named after the
database (`Database.companion`). A process whose URL names the database through a link to the
file (another folder, another name) must take the same locks and watch the same epoch as one
that names the file itself: else two processes would both send a brand's transactions, and a
revoked key would stay cached in the other one.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_api.access.apikeys import ApiKeys
from ledger_api.db import Database
from ledger_api.db.migrate import upgrade
from ledger_api.errors import Unauthorized
from ledger_api.process.lock import SenderLock


@pytest.fixture
def spellings(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """The database by its own path, and the same file through a link in another folder under
    another name."""
    real = tmp_path / "data" / "ledger.db"
    direct = Database(f"sqlite:///{real}")
    upgrade(direct)
    (tmp_path / "elsewhere").mkdir()
    alias = tmp_path / "elsewhere" / "alias.db"
    alias.symlink_to(real)
    linked = Database(f"sqlite:///{alias}")
    try:
        yield direct, linked
    finally:
        linked.dispose()
        direct.dispose()


def test_the_sender_lock_is_one_lock_for_every_spelling(
    spellings: tuple[Database, Database],
) -> None:
    direct, linked = spellings
    first, second = SenderLock(direct), SenderLock(linked)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_a_writer_through_a_link_waits_for_the_writers_lock_of_the_file(
    spellings: tuple[Database, Database], tmp_path: Path
) -> None:
    """The lock is held as another process holds it (`flock` on the file beside the real
    database); a write through the link must wait for it, then go through."""
    direct, linked = spellings
    lock_file = tmp_path / "data" / "ledger.db.write.lock"
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    done = threading.Event()

    def write() -> None:
        with linked.write():
            pass
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        writer.start()
        assert not done.wait(1.0), "the write through the link did not wait for the lock"
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        assert done.wait(60)
    finally:
        os.close(descriptor)
        writer.join(timeout=60)
    assert not (tmp_path / "elsewhere" / "alias.db.write.lock").exists()
    assert direct.companion(".write.lock") == linked.companion(".write.lock") == lock_file


def test_a_revocation_through_one_spelling_ends_the_cached_caller_of_the_other(
    spellings: tuple[Database, Database],
) -> None:
    direct, linked = spellings
    revoker, verifier = ApiKeys(direct, admin_key=None), ApiKeys(linked, admin_key=None)
    key = revoker.create_admin("spellings")
    assert verifier.authenticate(key.plaintext).key_prefix == key.prefix  # now cached
    revoker.revoke(key.prefix)
    with pytest.raises(Unauthorized):
        verifier.authenticate(key.plaintext)
