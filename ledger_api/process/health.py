"""`/v1/health`: each dependency checked on its own, and the one overall status.

Dependencies (the admin's report, `Health`):

- `database`: a real write (an upsert of the `idx_meta` row `health_probe`, committed)
  bounded by `LEDGER_HEALTH_DB_TIMEOUT_S`. One probe runs at a time in its own thread: a
  probe stuck behind a frozen filesystem or a held write lock keeps failing the check
  until it returns, and no second one piles up behind it. A result younger than
  `LEDGER_HEALTH_PROBE_MAX_AGE_S` is reused.
- `chain`: whether the node answers, as the indexer (which asks it several times a
  second) last saw it, with the head it saw.
- `sender`: one entry per signer worker; `indexer`: running, healthy, and `lag_blocks`
  behind the chain's head. `index_block` and the head come from one report of the process
  that indexes (this one, or `ledger work`'s status file), so the lag is never negative.

Status: `failing` (HTTP 503) when the database does not take a write; `degraded` when the
chain is unreachable or the sender or the indexer is not healthy (operations are still
accepted and wait in the queue: their 202 says `queued_reason`); else `ok`.

Without a key, or with a brand's key, the answer is liveness only: `{"status": ...}`, no
addresses and no internals. The admin key gets the full report.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_api.db.models import IdxMeta

if TYPE_CHECKING:
    from ledger_api.db import Database
    from ledger_api.process.runtime import Runtime
    from ledger_api.settings import Settings

PROBE_KEY = "health_probe"  # the `idx_meta` row the database probe writes
WORK_STATUS_FILE_VAR = "LEDGER_WORK_STATUS_FILE"
#: `ledger work` reports every second; a report older than this means it is not running
WORK_REPORT_STALE_S = 5.0


def shared_report_file(settings: Settings) -> Path | None:
    """Where the HTTP worker holding the sender lock reports to the other workers (with
    several HTTP workers and no `ledger work`: `ledger serve` names it in
    `LEDGER_WORK_STATUS_FILE`), in `ledger work`'s form; None otherwise. Without it each
    other worker had answered the health from its database probe alone: `ok` while no
    worker sent, and another answer than the sending worker's to the same question."""
    file = os.environ.get(WORK_STATUS_FILE_VAR)
    return Path(file) if file and not settings.sender_process else None


def write_work_status(file: Path, status: dict[str, Any]) -> None:
    """Replaces the status file at once (a reader never sees half of it)."""
    part = file.with_suffix(".part")
    part.write_text(json.dumps(status))
    part.replace(file)


def read_work_status(max_age_s: float = WORK_REPORT_STALE_S) -> dict[str, Any] | None:
    """The last report of `ledger work` (from the status file), if fresh."""
    file = os.environ.get(WORK_STATUS_FILE_VAR)
    if not file:
        return None
    try:
        if time.time() - os.stat(file).st_mtime > max_age_s:
            return None
        loaded: dict[str, Any] = json.loads(Path(file).read_text())
    except (OSError, ValueError):
        return None
    return loaded


class DatabaseProbe:
    """A write to the database, bounded by a timeout, one at a time."""

    def __init__(self, db: Database, *, timeout_s: float, max_age_s: float) -> None:
        self.db = db
        self.timeout_s = timeout_s
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._last: tuple[float, dict[str, Any]] | None = None  # (when, result)

    def _write(self) -> None:
        started = time.monotonic()
        try:
            with self.db.write() as session:
                session.merge(IdxMeta(key=PROBE_KEY, value=str(time.time())))
            result: dict[str, Any] = {
                "status": "ok",
                "write_ms": round((time.monotonic() - started) * 1000, 1),
            }
        except Exception as exc:  # noqa: BLE001 - any failure to write is the finding
            result = {"status": "failing", "error": f"{exc.__class__.__name__}: {exc}"[:300]}
        with self._lock:
            self._last = (time.monotonic(), result)

    async def check(self) -> dict[str, Any]:
        """{"status": "ok", "write_ms"} or {"status": "failing", "error"}."""
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.max_age_s:
                return self._last[1]
            thread = self._thread
            if thread is None or not thread.is_alive():
                thread = self._thread = threading.Thread(
                    target=self._write, name="health-db-probe", daemon=True
                )
                self._started = now
                thread.start()
            started = self._started
        remaining = self.timeout_s - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.to_thread(thread.join, remaining)
        if thread.is_alive():
            return {
                "status": "failing",
                "error": f"a write has not finished in {time.monotonic() - started:.1f} s",
            }
        with self._lock:
            assert self._last is not None
            return self._last[1]


def lag_blocks(head: int | None, index_block: int) -> int | None:
    """Blocks between the chain's head and the index (None while the head is unknown), from a
    consistent pair: one report of the indexing process (`Runtime.worker_status` reads the
    height, then the head the indexer recorded before indexing up to it), or a stored height
    and a head asked of the node after it. Never negative: the index is ahead of the head only
    when the chain forgot blocks, until the index is rebuilt (`background.indexer`)."""
    return None if head is None else max(0, head - index_block)


def _overall(database: dict[str, Any], work: dict[str, Any] | None) -> str:
    if database["status"] != "ok":
        return "failing"
    if work is None or not work["healthy"]:
        return "degraded"
    # a process that only sends for its signers (PostgreSQL, not the lock holder) has no
    # indexer to see the chain: `unknown` there is no fault, `unavailable` (a send failed) is
    chain = work["chain"]["status"]
    if chain == "unavailable" or (chain != "ok" and work.get("indexes", True)):
        return "degraded"
    return "ok"


def reports_work(runtime: Runtime) -> bool:
    """Whether this process reports what it works on (`worker_status`): it holds the sender
    lock, its start failed, or it sends for its share of the signers on PostgreSQL without
    the lock (a trial: such a `ledger work` said nothing, and its `ledger serve` answered
    `degraded`, `sender_unavailable`, while its operations confirmed in 0.1 s)."""
    return runtime.is_sender or runtime.start_error is not None or runtime.sender is not None


def _work_report(runtime: Runtime) -> dict[str, Any] | None:
    """What the sender and the indexer report: this process's own (also when their start
    failed before this process took the sender's part: a malformed manifest said `ok`),
    or `ledger work`'s."""
    if reports_work(runtime):
        from ledger_api.process.runtime import worker_status  # it imports this module

        return worker_status(runtime)
    if sender_reports(runtime.settings):
        report = read_work_status()
        if report is not None and "chain" in report:
            return report
    return None


def sender_reports(settings: Settings) -> bool:
    """Whether the process that sends reports to this one (`ledger work`'s status file, or
    the sending HTTP worker's: `shared_report_file`); a missing report then says nobody
    sends (`degraded`)."""
    return settings.sender_process or shared_report_file(settings) is not None


def _unreported(runtime: Runtime) -> str | None:
    """`start_error` when the process that sends should report and does not (a trial: the
    health said `degraded` with nothing to say why)."""
    if runtime.is_sender or not sender_reports(runtime.settings):
        return None
    return (
        f"sender_unavailable: no report from the process that sends (`ledger work`, or the "
        f"HTTP worker holding the sender lock) within {WORK_REPORT_STALE_S:g} s"
    )


def _own_senders(runtime: Runtime) -> list[dict[str, Any]]:
    return runtime.sender.status() if runtime.sender is not None else []


async def health(runtime: Runtime, *, full: bool) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of `/v1/health`; `full` for the admin's report."""
    database = await runtime.db_probe.check()
    work = _work_report(runtime)
    if work is None and not runtime.is_sender and not sender_reports(runtime.settings):
        # an HTTP process whose sender reports nowhere it knows (not `ledger serve`'s)
        status = "failing" if database["status"] != "ok" else "ok"
    else:
        status = _overall(database, work)
    code = 503 if status == "failing" else 200
    if not full:
        return code, {"status": status}
    index_block: int
    if work is not None and work.get("indexes", True):
        # with the head of the same report: a height read from the database now beside the
        # head of a report up to seconds old showed the index ahead of the head (lag -2)
        index_block = int(work["index_block"])
    else:  # another process indexes (PostgreSQL): the height it stored (its report said -1)
        index_block = await runtime.read(runtime.stored_index_height)
    paused = await runtime.read(runtime.ledger_paused)
    chain: dict[str, Any] = (
        work["chain"] if work is not None else {"status": "unknown", "head": None}
    )
    indexer = dict(work["indexer"]) if work is not None else {"running": False}
    indexer["lag_blocks"] = lag_blocks(chain.get("head"), index_block)
    # imported here: `ledger work` reads this module but answers no request, and the API's
    # models cost it about 2 MB (issue 15's `gateway_rss_mb`)
    from ledger_api.model.health import Health

    report = Health(
        status=status,
        role="sender" if runtime.is_sender else "api",
        chain_id=work["chain_id"] if work is not None else None,
        index_block=index_block,
        database=database,
        chain=chain,
        # on PostgreSQL a process that does not index still sends for its share of signers
        sender=work["sender"] if work is not None else _own_senders(runtime),
        indexer=indexer,
        ledger_paused=paused,
        start_error=work.get("start_error") if work is not None else _unreported(runtime),
    )
    return code, report.model_dump(mode="json")
