"""Every spelling of a SQLite database's path reaches the same files beside it.

The writers' lock, the sender lock and the key-revocation epoch are files named after the
database (`Database.companion`), and development's generated keystore passphrase sits in its
folder. A process whose URL names the database through a symbolic link to the file (another
folder, another name), or as a `file:` URI, must take the same locks, watch the same epoch and
read the same passphrase as one that names the file itself: else two processes would both send
a brand's transactions, a revoked key would stay cached in the other one, and the other could
not unseal the brands' signing keys.
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
from ledger_api.db.files import PASSPHRASE_FILE
from ledger_api.db.migrate import upgrade
from ledger_api.errors import Unauthorized
from ledger_api.process.lock import SenderLock
from ledger_api.settings import Settings


def _spelled(tmp_path: Path, spelling: str) -> str:
    """Another URL of `tmp_path/data/ledger.db`: through a symbolic link in another folder
    under another name, or as a `file:` URI (SQLite's `?uri=true`) through that link."""
    alias = tmp_path / "elsewhere" / "alias.db"
    if not alias.is_symlink():
        alias.parent.mkdir(exist_ok=True)
        alias.symlink_to(tmp_path / "data" / "ledger.db")
    if spelling == "link":
        return f"sqlite:///{alias}"
    return f"sqlite:///file:{alias}?uri=true"


@pytest.fixture(params=["link", "file_uri"])
def spellings(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Database, Database]]:
    """The database by its own path, and the same file spelled another way (`_spelled`)."""
    real = tmp_path / "data" / "ledger.db"
    direct = Database(f"sqlite:///{real}")
    upgrade(direct)
    linked = Database(_spelled(tmp_path, request.param))
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
    database); a write through the other spelling must wait for it, then go through."""
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


@pytest.fixture
def development(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from this test's arguments: development, no passphrase given."""
    for name in ("LEDGER_KEY_PASSPHRASE", "LEDGER_ENV", "LEDGER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("spelling", ["link", "file_uri"])
def test_every_spelling_finds_the_one_generated_passphrase(
    tmp_path: Path, spelling: str, development: None
) -> None:
    """Development's generated keystore passphrase lives in the database's real folder: a
    gateway started through another spelling must unseal the keys the first one sealed."""
    direct = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")
    other = Settings(database_url=_spelled(tmp_path, spelling))
    assert direct.key_passphrase is None and other.key_passphrase is None
    assert other.data_folder == direct.data_folder == (tmp_path / "data").resolve()
    assert other.passphrase() == direct.passphrase()
    assert not (tmp_path / "elsewhere" / PASSPHRASE_FILE).exists()


def test_a_passphrase_kept_beside_a_link_by_an_earlier_version_is_carried_over(
    tmp_path: Path, development: None
) -> None:
    """Before, the passphrase was generated in the folder of the URL as written: through a
    link, beside the link. The first start since finds none in the real folder and copies
    that one there, so the keys it sealed stay readable whichever spelling starts next."""
    linked = Settings(database_url=_spelled(tmp_path, "link"))
    (tmp_path / "data").mkdir(exist_ok=True)
    earlier = tmp_path / "elsewhere" / PASSPHRASE_FILE
    earlier.write_text("sealed-the-keys-before\n")
    assert linked.passphrase() == "sealed-the-keys-before"
    direct = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")
    assert direct.passphrase() == "sealed-the-keys-before"
    assert (tmp_path / "data" / PASSPHRASE_FILE).stat().st_mode & 0o777 == 0o600
