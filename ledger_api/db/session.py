"""Engines and sessions. SQLite (WAL) by default, PostgreSQL by URL, same code.

SQLite write transactions start with ``BEGIN IMMEDIATE`` so that two writers
never deadlock upgrading a read lock; reads use a second engine with plain
deferred transactions so they never wait for a writer (WAL). Writers queue
on an in-process mutex and then on an `flock` of a file beside the database
(shared by every gateway process): a writer waiting for SQLite's own lock
sleeps in its busy handler, up to 100 ms at a time, and another process that
writes continuously can starve it for seconds; one waiting for the mutex or
the flock wakes the moment the previous transaction ends. Committing never
checkpoints the WAL (a checkpoint copies megabytes while the writer holds its
lock: 100 ms stalls under load); a thread of each long-lived process does it
in the background, outside the writers' lock. Nor does each commit sync the WAL under
that lock (only the first into a new or restarted WAL file syncs its header there):
`Database.write` commits with `synchronous=NORMAL` and, once it let go of the lock, syncs
the WAL file itself (`fdatasync`, which covers every frame written before its own), so a
write is durable when `write` returns, as with `FULL`, while the next writer already holds
the lock (issue 15: the commit's sync was half of the intake's turn at the lock). A writer
whose rows the chain rebuilds (the indexer) skips that sync (`write(durable=False)`).

SQLite's query planner needs table statistics: without them it takes a low-cardinality
index (a brand's lots by expiry) for a member's lots, and a balance read scans a million
rows. `Database.refresh_statistics` runs a bounded `ANALYZE` (`PRAGMA analysis_limit`) at
start and every `STATISTICS_EVERY_S` after writes, sooner once the database doubled
(`STATISTICS_GROWTH`); a connection loads statistics only when it opens: the pools renew.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ledger_api.db.durability import DatabaseFiles, WalSync
from ledger_api.db.files import private_sqlite, sqlite_path
from ledger_api.db.types import json_text

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0
#: the WAL's content (bytes of frames) past which a checkpoint round also starts it over
#: (`_Checkpointer`). The file keeps its size across restarts; one that grew past twice this
#: (a reader kept the WAL from starting over) is cut back to that by the first commit after
#: the restart (`journal_size_limit`)
WAL_RESTART_BYTES = 64 << 20
#: how long that round may hold the writers' lock waiting for the readers still on the WAL
#: before it gives up until the next round (milliseconds), and how often it looks (seconds)
WAL_RESTART_WAIT_MS = 20
WAL_RESTART_POLL_S = 0.0005
STATISTICS_EVERY_S = 300.0
#: ... and once the database's page count grew by this fraction (at least the pages below): a
#: new gateway's statistics of its empty tables had a deposit check range over the brand's
#: every operation (as PostgreSQL's `autovacuum_analyze_scale_factor`)
STATISTICS_GROWTH = 1.0
STATISTICS_GROWTH_MIN_PAGES = 256
# rows ANALYZE samples per index (SQLite's `analysis_limit`): about 3 ms for a million lots
ANALYZE_ROWS = 1000


#: set by `Database.write` around its transaction: the write engine begins it with
#: `synchronous=NORMAL` (no sync of the WAL in the commit, under the writers' lock), and
#: `write` syncs the WAL after letting go of the lock. Other transactions on that engine
#: (the sender lock's row, a copy, migrations, `ANALYZE`) keep the configured level.
_SYNC_AFTER_LOCK: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ledger_sync_after_lock", default=False
)
#: the `synchronous` level each write connection currently has (its pool record's info)
_LEVEL = "ledger_synchronous"


def _sqlite_engine(url: str, *, immediate: bool, synchronous: str) -> Engine:
    engine = create_engine(
        url,
        json_serializer=json_text,
        connect_args={"check_same_thread": False, "timeout": 30},
        # Enough kept-open connections for every thread that may query at once (the request
        # threadpool's 40, the sender and the indexer): an overflow connection is opened,
        # configured and closed per use, which under load cost more than the queries.
        pool_size=48,
        max_overflow=16,
        # the most recently used connection first: the few that are busy at once stay warm,
        # the rest stay cold (each connection keeps its own page cache, up to 2 MB; in turn,
        # every pooled connection filled its own: 60 MB more of the HTTP process under load)
        pool_use_lifo=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # see `_Checkpointer`
        # the first commit into a restarted WAL cuts its file back to this size (bytes)
        cursor.execute(f"PRAGMA journal_size_limit={2 * WAL_RESTART_BYTES}")
        cursor.close()
        record.info[_LEVEL] = synchronous

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    # SQLite refuses to change the level inside a transaction: it is set before BEGIN, and
    # only when this transaction wants another level than the connection's last one
    deferred = "NORMAL" if immediate and synchronous == "FULL" else synchronous

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        level = deferred if _SYNC_AFTER_LOCK.get() else synchronous
        if connection.info.get(_LEVEL) != level:
            connection.exec_driver_sql(f"PRAGMA synchronous={level}")
            connection.info[_LEVEL] = level
        connection.exec_driver_sql(begin)

    return engine


#: what a writer-lock observer is told: (writer, seconds waited, seconds held)
WriterLockObserver = Callable[[str, float, float], None]
#: what a WAL-sync observer is told: (writer, seconds the sync took)
WalSyncObserver = Callable[[str, float], None]


#: a thread name's trailing id: `-0x5d79..`, `_0`, `-5 (target)` (Python's own names)
_THREAD_ID = re.compile(r"[-_ ]?(0x[0-9a-fA-F]+|\d+)( \(.*\))?$")


_ROLE = threading.local()


@contextlib.contextmanager
def writer_role(name: str) -> Iterator[None]:
    """Names the calling thread's writes for metrics while the block runs (a pooled thread
    that works for several parts, as the intake's)."""
    previous = getattr(_ROLE, "name", None)
    _ROLE.name = name
    try:
        yield
    finally:
        _ROLE.name = previous


def writer_name() -> str:
    """The calling thread's role, for metrics: `writer_role`'s, else its name less a trailing
    id (`sender-0x..`, `Thread-5 (run)`) so that the label's values stay few."""
    role: str | None = getattr(_ROLE, "name", None)
    return role or _THREAD_ID.sub("", threading.current_thread().name)


class _WriterLock:
    """The in-process mutex, then the cross-process `flock` of `path` (if any). `observe`, if
    set, hears how long each writer waited for the lock and held it (after it lets go)."""

    def __init__(self, path: Path | None) -> None:
        self._mutex = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self.observe: WriterLockObserver | None = None
        self._asked_at = self._held_from = 0.0  # the holder's: written under the mutex

    def __enter__(self) -> None:
        asked_at = time.perf_counter()
        self._mutex.acquire()
        try:
            if self._path is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._asked_at, self._held_from = asked_at, time.perf_counter()

    def __exit__(self, *_: object) -> None:
        asked_at, held_from = self._asked_at, self._held_from
        released_at = time.perf_counter()
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()
        if self.observe is not None:
            self.observe(writer_name(), held_from - asked_at, released_at - held_from)

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class _Checkpointer:
    """Copies the WAL back into the database file every second after a write, on its own
    connection (a second without writes costs nothing: an idle gateway idles), and calls
    `analyze` every `STATISTICS_EVERY_S` after writes, or in the first round after the
    database grew by `STATISTICS_GROWTH` (`_grew`).

    PASSIVE: it waits for no one and no one waits for it; frames a reader still needs stay
    for the next round. A process that exits leaves the rest to SQLite (the last connection
    to close checkpoints).

    A WAL only starts over when a writer finds it all copied back and no reader on it, which
    reads arriving every few milliseconds rarely allow under load: it grew without end (700 MB
    over `make bench`'s six throughput rounds, issue 15), and every read searched a longer WAL
    index. Past `WAL_RESTART_BYTES` of frames, a round therefore takes the writers' lock and
    starts it over (`_restart`)."""

    def __init__(
        self,
        path: Path,
        analyze: Callable[[], None],
        lock: contextlib.AbstractContextManager[object],
        database_fd: int | None = None,
    ) -> None:
        self.path = path
        self._database_fd = database_fd  # `Database`'s, for `_sync_database`; never closed here
        self._analyze = analyze
        self._lock = lock
        self._analyzed_at = time.monotonic()
        self._analyzed_pages: int | None = None  # the page count then (None: not read yet)
        self._stale = False  # a write began since the last statistics
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._written = False  # a write began since the last round

    def ensure_running(self) -> None:
        """Starts the thread (again, after `stop`) on the first write; marks a write."""
        self._written = self._stale = True
        if self._thread is not None:
            return
        with self._guard:
            if self._thread is None:
                self._halt = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._halt,), name="wal-checkpoint", daemon=True
                )
                self._thread.start()

    def connect(self) -> sqlite3.Connection:
        """The checkpoints' own connection, with no busy handler: a checkpoint never sleeps in
        SQLite (`_restart`)."""
        return sqlite3.connect(self.path, timeout=0, check_same_thread=False)

    def _run(self, halt: threading.Event) -> None:
        connection = self.connect()
        try:
            frame_bytes = connection.execute("PRAGMA page_size").fetchone()[0] + 24
            while not halt.wait(CHECKPOINT_EVERY_S):
                if not self._written:
                    continue
                self._written = False  # a write from now on is checkpointed next round
                try:
                    _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames * frame_bytes > WAL_RESTART_BYTES:
                        self._restart(connection)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint: %s", exc)
                if not self._stale:
                    continue
                try:
                    pages = int(connection.execute("PRAGMA page_count").fetchone()[0])
                    due = time.monotonic() - self._analyzed_at >= STATISTICS_EVERY_S
                    if due or self._grew(pages):
                        self._stale = False
                        self._analyze()  # `Database.refresh_statistics`: `analyzed` marks it
                except (sqlite3.Error, DBAPIError) as exc:  # SQLAlchemy wraps `_analyze`'s
                    self._analyzed_at = time.monotonic()  # tried again a full period later
                    log.warning("table statistics: %s", exc)
        finally:
            connection.close()

    def analyzed(self, pages: int) -> None:
        """Statistics were taken of the database at `pages` pages."""
        self._analyzed_at, self._analyzed_pages = time.monotonic(), pages

    def _grew(self, pages: int) -> bool:
        """Whether the database's `pages` are `STATISTICS_GROWTH` more than at the last
        statistics; if this process took none yet, `pages` is the mark from now on."""
        if self._analyzed_pages is None:
            self._analyzed_pages = pages
            return False
        mark = self._analyzed_pages
        return pages - mark >= max(STATISTICS_GROWTH_MIN_PAGES, STATISTICS_GROWTH * mark)

    def _restart(self, connection: sqlite3.Connection) -> None:
        """Starts the WAL over: under the writers' lock (no write comes in between), a RESTART
        checkpoint copies what the round left, then finds whether a reader is still on the WAL
        (new ones read the database file: it is all copied back); if one is, it looks again
        every `WAL_RESTART_POLL_S` for up to `WAL_RESTART_WAIT_MS`. A reader that outlasts
        that, or another connection's checkpoint in progress (`-1` frames), leaves it to the
        next round. The next commit then writes from the file's start.

        RESTART, not TRUNCATE: on the bench machine's disk cutting a 72 MB WAL file took 35
        ms, every writer waiting behind it (issue 15: the restarts' turns at the lock averaged
        34-46 ms in the latency phase, 4-11 since). The file keeps its size instead; only one
        past twice `WAL_RESTART_BYTES`, which a reader that kept the WAL from starting over for
        a while leaves, is cut back to that by the first commit into the restarted WAL
        (`journal_size_limit`), in that writer's turn (44 ms for 83 MB in a trial). While such
        a reader stays, each round holds the lock for the whole wait (about 20 ms) and gives
        up. The waits are this loop's own: SQLite's busy handler sleeps 1, 2, 5, 10... ms at a
        time."""
        self._sync_database()
        with self._lock:
            deadline = time.monotonic() + WAL_RESTART_WAIT_MS / 1000
            while True:
                busy, frames, _ = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                if not busy or frames < 0 or time.monotonic() >= deadline:
                    break
                time.sleep(WAL_RESTART_POLL_S)
        if busy:
            log.debug("WAL restart: readers or a checkpoint still on it; next round")

    def _sync_database(self) -> None:
        """Flushes the database file's written pages to disk before the restart takes the
        writers' lock. SQLite syncs the database only when a checkpoint copies the whole WAL
        back, which under load only the restart does: every page the PASSIVE rounds copied
        since was flushed in its turn, every writer waiting (40-47 ms for 64 MB copied back
        in a probe on the bench machine's disk; 0.5-0.6 ms after this sync). A failure here
        only leaves that work to the restart.

        On the process's one descriptor of the file (`DatabaseFiles`): a descriptor opened
        and closed here dropped this process's SQLite locks on the file, and another
        process's last connection to close then deleted the WAL under this one (`make bench`
        found the index "malformed"; `test_wal`)."""
        if self._database_fd is None:
            return
        try:
            os.fsync(self._database_fd)
        except OSError as exc:
            log.warning("WAL restart: could not sync %s first: %s", self.path, exc)

    def stop(self) -> None:
        with self._guard:
            thread, self._thread = self._thread, None
            self._halt.set()
        if thread is not None:
            thread.join(timeout=5)


class Database:
    """The gateway's database: `write()` for read-write transactions, `read()` for queries."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # the real path (`sqlite_path`), None in memory: the files named after it
        # (`companion`) are one set per file, however a URL spells it
        self.sqlite_file = sqlite_path(url) if self.is_sqlite else None
        # SQLite on a file: the process's one descriptor of the database file (the
        # checkpointer syncs it), held before this object's first connection (`DatabaseFiles`)
        database_fd: int | None = None
        self._database_key: tuple[int, int] | None = None
        if self.is_sqlite:
            if self.sqlite_file is not None:
                private_sqlite(self.sqlite_file)  # folder 0700, files 0600, before SQLite opens it
                self._database_key, database_fd = DatabaseFiles.hold(self.sqlite_file)
            self.engine = _sqlite_engine(url, immediate=True, synchronous=sqlite_synchronous)
            self.read_engine = _sqlite_engine(url, immediate=False, synchronous=sqlite_synchronous)
        else:
            pool = {"pool_size": 10, "max_overflow": 40, "pool_pre_ping": True}
            self.engine = create_engine(url, json_serializer=json_text, **pool)
            self.read_engine = self.engine
        self._sync_observer: WalSyncObserver | None = None
        self._writer_lock: _WriterLock | None = None
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            database = self.sqlite_file
            self._writer_lock = _WriterLock(self.companion(".write.lock"))
            self._checkpointer = (
                _Checkpointer(database, self.refresh_statistics, self._writer_lock, database_fd)
                if database
                else None
            )
        self._write_lock: contextlib.AbstractContextManager[object] = (
            self._writer_lock or contextlib.nullcontext()
        )
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite at FULL on a file: `write` commits at NORMAL and syncs the WAL after the lock
        self._wal: WalSync | None = (
            WalSync(self.sqlite_file)
            if self.sqlite_file is not None and sqlite_synchronous == "FULL"
            else None
        )

    def companion(self, suffix: str) -> Path | None:
        """SQLite on a file: the file beside the database's real path named `<db><suffix>`
        (the writers' and the sender's locks, the key-revocation epoch), so that every process
        reaches the same one whatever link or relative path its URL names; None otherwise."""
        if self.sqlite_file is None:
            return None
        return self.sqlite_file.with_name(self.sqlite_file.name + suffix)

    def observe_writer_lock(self, observer: WriterLockObserver) -> None:
        """SQLite: `observer(writer, waited_s, held_s)` after every write transaction (the
        one-writer lock's queue, `/metrics`); PostgreSQL has no such lock."""
        if self._writer_lock is not None:
            self._writer_lock.observe = observer

    def observe_wal_sync(self, observer: WalSyncObserver) -> None:
        """SQLite at `FULL`: `observer(writer, seconds)` after every sync of the WAL (`sync`)."""
        self._sync_observer = observer

    @contextlib.contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Session]:
        """A session in one read-write transaction, committed on success, and durable (on
        disk, past a power loss) when this returns.

        SQLite (`synchronous=FULL`, the default): each commit no longer syncs the WAL under the
        writers' lock (the first commit into a new or restarted WAL file still syncs its
        header there); this syncs it after letting go (`sync`). `durable=False` skips that
        sync, for rows the chain rebuilds (the index): a power loss may then undo the last such
        transactions, never part of one (WAL at `NORMAL`), and the next durable write's sync
        covers them too. PostgreSQL: `durable=False` commits with `synchronous_commit` off,
        which gives the same.

        Raises what `sync` raises after the commit: the transaction then stands committed,
        visible but maybe not on disk."""
        if self._checkpointer is not None:
            self._checkpointer.ensure_running()
        token = _SYNC_AFTER_LOCK.set(self._wal is not None)
        try:
            with self._write_lock, self._write() as session, session.begin():
                if not durable and not self.is_sqlite:
                    session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                yield session
        finally:
            _SYNC_AFTER_LOCK.reset(token)
        if durable:
            self.sync()

    def sync(self) -> None:
        """Makes every write committed so far durable: SQLite at `FULL` syncs the WAL file
        (`fdatasync`: the frames of every commit before this call, any connection's, any
        process's). Nothing to do otherwise: PostgreSQL commits durably, and `NORMAL` is the
        operator's choice. A reader that answers with what another request stored (an
        Idempotency-Key's replay) calls it first: `write` syncs after letting go of the lock,
        so a row may be visible a moment before it is durable.

        Raises `WalSyncFailed` (an OSError) when the disk refused a sync, this one or any
        earlier one of this process: a write committed since may never reach the disk, and
        Linux reports a failed writeback only once, so every later write and replay fails too
        (nothing more is accepted, signed or sent) until the gateway restarts on a sound disk."""
        if self._wal is None:
            return
        started = time.perf_counter()
        self._wal.sync()
        if self._sync_observer is not None:
            self._sync_observer(writer_name(), time.perf_counter() - started)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with self._read() as session:
            yield session

    def refresh_statistics(self) -> None:
        """SQLite: samples every table's indexes (`ANALYZE` bounded by `ANALYZE_ROWS`, under
        the writers' lock), then renews both pools so that every connection plans with the new
        statistics, closing idle connections at once (left to the garbage collector with their
        page caches, `make bench` peaked at 306-310 MB, not 277). PostgreSQL's autovacuum keeps
        its own."""
        if not self.is_sqlite:
            return
        with self._write_lock, self.engine.begin() as connection:
            connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYZE_ROWS}")
            connection.exec_driver_sql("ANALYZE")
            pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
        if self._checkpointer is not None:
            self._checkpointer.analyzed(pages)
        self.engine.dispose()
        self.read_engine.dispose()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._wal is not None:
            self._wal.close()
        if self._writer_lock is not None:
            self._writer_lock.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self._database_key is not None:
            DatabaseFiles.release(self._database_key)  # closed with the process's last holder
            self._database_key = None
