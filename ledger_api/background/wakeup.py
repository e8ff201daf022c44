"""Wake-ups between the gateway's processes, so that nothing polls while nothing happens.

Three topics cross processes (each message carries a few short strings):

    QUEUED   new operations wait in these queues (brand row ids; "admin" for the alliance
             admin's queue): the HTTP processes tell the process that sends
    SETTLED  these operations became final (uids): the sender tells waiting HTTP requests
    INDEXED  the index applied blocks up to this height: the indexer tells waiting requests

Transports (`wake_bus` picks one):

- `SocketBus` (the embedded default, SQLite): a Unix datagram socket per process in a folder
  that `ledger serve` creates and hands to its children (`LEDGER_WAKE_DIR`); a socket's
  file name lists the topics its process listens to, and a message goes to those only.
- `PgBus` (PostgreSQL): LISTEN/NOTIFY on one channel, for processes on several hosts too.
- `NullBus`: one process, no one to tell (the in-process paths call each other directly).

Delivery is best effort: a message may be lost (a full socket buffer, a process starting).
Every consumer keeps a slow safety poll (`Settings.wake_safety_poll_s`), so a lost wake-up
costs latency, never an operation. Callbacks run on the bus's listener thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ledger_api.process.threads import name_this_thread

if TYPE_CHECKING:
    from ledger_api.db import Database
    from ledger_api.settings import Settings

log = logging.getLogger(__name__)

WAKE_DIR_VAR = "LEDGER_WAKE_DIR"
PG_CHANNEL = "ledger_wake"
MAX_MESSAGE = 7_900  # bytes: under PostgreSQL's 8,000-byte NOTIFY payload


class Topic(StrEnum):
    QUEUED = "q"
    SETTLED = "s"
    INDEXED = "i"
    WEBHOOKS = "w"


Callback = Callable[[list[str]], None]


def _messages(origin: str, topic: Topic, items: Iterable[str]) -> Iterable[bytes]:
    """`origin topic\\nitem\\nitem...`, split so that no message exceeds `MAX_MESSAGE`."""
    head = f"{origin} {topic.value}"
    chunk: list[str] = []
    size = len(head)
    for item in items:
        if chunk and size + len(item) + 1 > MAX_MESSAGE:
            yield "\n".join([head, *chunk]).encode()
            chunk, size = [], len(head)
        chunk.append(item)
        size += len(item) + 1
    yield "\n".join([head, *chunk]).encode()


class WakeBus:
    """Publish/subscribe of wake-ups to the *other* processes of the gateway."""

    cross_process = False

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self._subscribers: dict[Topic, list[Callback]] = defaultdict(list)
        self.received = 0  # messages delivered to this process (tests, health)

    def subscribe(self, topic: Topic, callback: Callback) -> None:
        """`callback(items)` on each message of `topic` from another process; before `start`."""
        self._subscribers[topic].append(callback)

    def publish(self, topic: Topic, items: Iterable[str]) -> None:
        """Tells the other processes listening to `topic` (never raises)."""

    def start(self) -> None:
        """Starts listening (a no-op without subscribers or peers)."""

    def stop(self) -> None:
        """Stops listening and leaves the bus."""

    def _dispatch(self, data: bytes) -> None:
        head, _, rest = data.decode(errors="replace").partition("\n")
        origin, _, code = head.partition(" ")
        if origin == self.origin:
            return
        try:
            topic = Topic(code)
        except ValueError:
            return
        self.received += 1
        items = rest.split("\n") if rest else []
        for callback in self._subscribers.get(topic, []):
            try:
                callback(items)
            except Exception:
                log.exception("wakeup: a %s callback failed", topic.name)


class NullBus(WakeBus):
    """A gateway in one process: nobody else to wake."""


class SocketBus(WakeBus):
    """Unix datagram sockets in a shared folder: `<pid>.<origin>.<topics>.sock` per process."""

    cross_process = True
    PEERS_TTL_S = 1.0

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._out_lock = threading.Lock()
        self._peers: list[tuple[str, str]] = []  # (path, topics)
        self._peers_at = -1.0
        self._in: socket.socket | None = None
        self._path: Path | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        topics = "".join(sorted(t.value for t in self._subscribers))
        if not topics:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._path = self.folder / f"{os.getpid()}.{self.origin}.{topics}.sock"
        self._in = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._in.bind(str(self._path))
        self._thread = threading.Thread(target=self._listen, name="wakeup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        inbound, self._in = self._in, None
        if inbound is not None and self._path is not None:
            with contextlib.suppress(OSError):  # unblocks the listener's recv
                self._out.sendto(b"", str(self._path))
            with contextlib.suppress(OSError):
                self._path.unlink()
            if self._thread is not None:
                self._thread.join(timeout=2)
            inbound.close()
        self._out.close()

    def _listen(self) -> None:
        name_this_thread("wakeup")
        while True:
            inbound = self._in
            if inbound is None:
                return
            try:
                data = inbound.recv(65_536)
            except OSError:
                return
            if data:
                self._dispatch(data)

    def _peers_for(self, topic: Topic) -> list[str]:
        now = time.monotonic()
        if now - self._peers_at > self.PEERS_TTL_S:
            peers = []
            with contextlib.suppress(OSError):
                for entry in os.scandir(self.folder):
                    parts = entry.name.split(".")
                    if len(parts) == 4 and parts[3] == "sock" and parts[1] != self.origin:
                        peers.append((entry.path, parts[2]))
            self._peers, self._peers_at = peers, now
        return [path for path, topics in self._peers if topic.value in topics]

    def publish(self, topic: Topic, items: Iterable[str]) -> None:
        peers = self._peers_for(topic)
        if not peers:
            return
        with self._out_lock:
            for message in _messages(self.origin, topic, items):
                for path in peers:
                    try:
                        self._out.sendto(message, path)
                    except (BlockingIOError, InterruptedError):
                        pass  # the peer is flooded with wake-ups already
                    except (ConnectionRefusedError, FileNotFoundError):
                        self._peers_at = -1.0  # a process that died: read the folder again
                    except OSError as exc:
                        log.debug("wakeup: could not reach %s: %s", path, exc)


class PgBus(WakeBus):
    """PostgreSQL LISTEN/NOTIFY on `PG_CHANNEL` (psycopg 3)."""

    cross_process = True

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _conninfo(self) -> str:
        url = self.db.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        if not self._subscribers:
            return
        self._thread = threading.Thread(target=self._listen, name="wakeup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def _listen(self) -> None:
        import psycopg

        name_this_thread("wakeup")
        while not self._halt.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {PG_CHANNEL}")
                    while not self._halt.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            self._dispatch(notice.payload.encode())
            except psycopg.Error as exc:
                log.warning("wakeup: LISTEN failed (%s); retrying", exc)
                self._halt.wait(1.0)

    def publish(self, topic: Topic, items: Iterable[str]) -> None:
        from sqlalchemy import text

        try:
            with self.db.engine.connect() as conn:
                for message in _messages(self.origin, topic, items):
                    conn.execute(
                        text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": PG_CHANNEL, "payload": message.decode()},
                    )
                conn.commit()
        except Exception as exc:  # best effort: the consumers' safety poll covers it
            log.warning("wakeup: NOTIFY failed: %s", exc)


def wake_bus(settings: Settings, db: Database) -> WakeBus:
    """PostgreSQL: LISTEN/NOTIFY; SQLite under `ledger serve` (a wake folder): sockets;
    else nobody to wake."""
    if not db.is_sqlite:
        return PgBus(db)
    folder = settings.wake_dir or _env_folder()
    return SocketBus(folder) if folder is not None else NullBus()


def _env_folder() -> Path | None:
    value = os.environ.get(WAKE_DIR_VAR)
    return Path(value) if value else None


def use_wake_dir(folder: Path) -> None:
    """`folder` for `SocketBus`, handed to child processes in `LEDGER_WAKE_DIR` (`ledger
    serve` makes it in its temporary folder, `process.tempdirs`, and removes it)."""
    os.environ[WAKE_DIR_VAR] = str(folder)
