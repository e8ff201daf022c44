"""Wake-ups between processes (`background.wakeup`): Unix datagram sockets on SQLite,
LISTEN/NOTIFY on PostgreSQL. Two buses stand for two processes (each has its own origin)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from support.gateway import settings_from

from ledger_api.background.wakeup import NullBus, PgBus, SocketBus, Topic, wake_bus
from ledger_api.db import Database


def _bus(database_url: str, tmp_path: Path, db: Database):  # type: ignore[no-untyped-def]
    settings = settings_from(
        {"LEDGER_DATABASE_URL": database_url, "LEDGER_WAKE_DIR": str(tmp_path / "wake")}
    )
    return wake_bus(settings, db)


def test_a_wake_up_reaches_the_other_process_and_not_the_sender(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    listener, publisher = _bus(database_url, tmp_path, db), _bus(database_url, tmp_path, db)
    assert type(listener) is (SocketBus if database_url.startswith("sqlite") else PgBus)
    heard: list[list[str]] = []
    echoed: list[list[str]] = []
    got = threading.Event()
    listener.subscribe(Topic.QUEUED, lambda items: (heard.append(items), got.set()))
    publisher.subscribe(Topic.QUEUED, echoed.append)  # its own messages never come back
    listener.start()
    publisher.start()
    try:
        deadline = time.monotonic() + 60
        while not got.is_set():  # best effort: a listener that is still connecting misses one
            assert time.monotonic() < deadline, "no wake-up arrived"
            publisher.publish(Topic.QUEUED, ["7", "admin"])
            got.wait(0.5)
        assert heard[0] == ["7", "admin"]
        many = [f"uid-{n:032d}" for n in range(1_000)]  # split under the 8,000-byte payload
        got.clear()
        heard.clear()
        publisher.publish(Topic.QUEUED, many)
        deadline = time.monotonic() + 60
        while sum(len(h) for h in heard) < len(many):
            assert time.monotonic() < deadline, f"{sum(len(h) for h in heard)} items arrived"
            time.sleep(0.05)
        assert [item for chunk in heard for item in chunk] == many
        assert echoed == []
    finally:
        listener.stop()
        publisher.stop()
        db.dispose()


def test_without_a_wake_folder_sqlite_has_nobody_to_wake(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url)
    try:
        assert isinstance(wake_bus(settings_from({"LEDGER_DATABASE_URL": url}), db), NullBus)
    finally:
        db.dispose()
