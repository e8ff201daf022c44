"""Process supervision: which process runs what, how they report, and health.

Processes of a gateway:

- `ledger serve`: the HTTP server (uvicorn; `LEDGER_WORKERS` processes). With
  `LEDGER_SENDER_PROCESS=true` it also starts `ledger work` (`WorkProcess`), restarts it
  when it dies, and keeps its last report in a status file whose path it hands to the
  HTTP worker processes in `LEDGER_WORK_STATUS_FILE`.
- `ledger work`: the sender and the indexer alone (`run_work`); it prints one status line
  (JSON, `Runtime.worker_status`) a second on stdout and dies with its parent.
- Otherwise the HTTP process that takes the sender lock runs the sender and the indexer
  in its own threads (`Runtime.start`).

`process.health` answers `/v1/health` from whichever of these applies to the calling process.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger_api import restore_recursion_limit, tune_garbage_collector
from ledger_api.background.wakeup import use_wake_dir
from ledger_api.process import logs, metrics, tempdirs
from ledger_api.process.health import WORK_STATUS_FILE_VAR, reports_work, write_work_status
from ledger_api.process.runtime import Runtime, worker_status
from ledger_api.settings import Settings
from ledger_api.settings_names import environment_names, unread_variables

log = logging.getLogger(__name__)

PARENT_PID_VAR = "LEDGER_WORK_PARENT_PID"
STOP_WITHIN_S = 8.0


# ------------------------------------------------------------------ ledger serve


def serve(settings: Settings, host: str | None, port: int | None, log_level: str) -> None:
    """`ledger serve`: migrate once, start `ledger work` when configured, run uvicorn.

    Its temporary folders (`tempdirs.ProcessFolder`) go when it stops, also on SIGTERM:
    uvicorn stops on SIGTERM, then raises the signal again once its original handler is
    back, and the default one ended the process there, before any `finally` (every folder
    stayed in /tmp). Here that handler raises `Terminated` instead; the folders are removed,
    then the process ends by SIGTERM as before (for whoever waits on it)."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        _serve(settings, host, port, log_level)
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):  # noqa: N818 - as KeyboardInterrupt: not an error
    """SIGTERM reached `ledger serve` while uvicorn was not handling it."""


def _raise_terminated(signum: int, _frame: object) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second one must not cut the clean-up short
    raise Terminated(signum)


def _serve(settings: Settings, host: str | None, port: int | None, log_level: str) -> None:
    import uvicorn

    from ledger_api.process import http_server
    from ledger_api.process.http_protocol import SERVER_PROTOCOLS

    log_config = logs.configure(settings.log_format)
    _say_unread_variables()
    # one parent for every temporary folder of this process and of those it starts
    folder = tempdirs.ProcessFolder.create()
    work: WorkProcess | None = None
    try:
        # one folder of counts for this process, its HTTP workers and `ledger work` (inherited)
        metrics.use_multiprocess(folder.sub("metrics"))
        Runtime(settings).migrate()  # once, before any worker starts
        if settings.is_sqlite and settings.wake_dir is None:
            # wake-ups between this server's processes (`background.wakeup`), inherited
            use_wake_dir(folder.sub("wake"))
        if settings.sender_process:
            work = WorkProcess(folder.sub("work"), folder.lock_fd)
        elif settings.workers > 1:
            # the HTTP worker that sends reports there to the others (`runtime.run_starter`),
            # which inherit the environment
            os.environ[WORK_STATUS_FILE_VAR] = str(folder.sub("work") / "status.json")
        options: dict[str, Any] = {
            "host": host or settings.host,
            "port": port or settings.port,
            "workers": settings.workers,
            "log_level": log_level,
            "access_log": settings.access_log,
            "log_config": log_config,
            # a head bound, and a malformed request answered in JSON (`http_protocol`)
            **SERVER_PROTOCOLS,
        }
        if settings.workers > 1:
            uvicorn.run("ledger_api.main:app", **options)
        else:  # one process: its main loop wakes once a second (`http_server`)
            http_server.run(uvicorn.Config("ledger_api.main:app", **options))
    finally:
        try:
            if work is not None:
                work.stop()
        finally:  # also when a second Ctrl-C cuts the wait for `ledger work` short
            folder.remove()


def _say_unread_variables() -> None:
    """A warning per `LEDGER_*` variable no setting reads (a misspelled one: `settings_names`)."""
    for line in unread_variables(environment_names()):
        log.warning("%s", line)


class WorkProcess:
    """`ledger work` beside the HTTP server (LEDGER_SENDER_PROCESS), restarted if it dies.

    `folder` holds its status file; the child inherits `lock_fd` (`tempdirs`), so the
    folders stay while it lives."""

    def __init__(self, folder: Path, lock_fd: int) -> None:
        self._halt = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._lock_fd = lock_fd
        # for the HTTP worker processes (uvicorn's children), which inherit the environment
        self.status_file = folder / "status.json"
        os.environ[WORK_STATUS_FILE_VAR] = str(self.status_file)
        self._thread = threading.Thread(target=self._supervise, name="ledger-work", daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        while not self._halt.is_set():
            child = subprocess.Popen(
                [sys.executable, "-m", "ledger_api.cli", "work"],
                stdout=subprocess.PIPE,
                env={**os.environ, PARENT_PID_VAR: str(os.getpid())},
                pass_fds=(self._lock_fd,),
            )
            self._child = child
            if self._halt.is_set():  # `stop` came while it started: it may not have seen it
                child.terminate()
            assert child.stdout is not None
            for line in child.stdout:  # one status report (JSON) a second, until it exits
                try:
                    write_work_status(self.status_file, json.loads(line))
                except ValueError:
                    log.warning("ledger work: unexpected output %r", line[:200])
            code = child.wait()
            # a Ctrl-C reaches the whole process group: it ends just before `stop` comes, which
            # is no exit to report (nor restart); the pause also spaces restarts out
            if self._halt.wait(1.0):
                break
            log.error("the sender process exited with %s; restarting it", code)

    def stop(self) -> None:
        self._halt.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        self._thread.join(timeout=5)


# ------------------------------------------------------------------- ledger work


def die_with_parent() -> bool:
    """`ledger work` started by `ledger serve`: SIGTERM when the parent dies, however it dies
    (SIGKILL, a crash: its `finally`, which stops this process, may not run).
    False if the parent is already gone."""
    parent = os.environ.get(PARENT_PID_VAR)
    if not parent:
        return True
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    return os.getppid() == int(parent)


def run_work(settings: Settings) -> int:
    """`ledger work`: the sender and the indexer alone; a status line (JSON) every second."""
    if not die_with_parent():
        return 1
    # metrics: `ledger serve`'s PROMETHEUS_MULTIPROC_DIR, inherited before any import
    logs.configure(settings.log_format)
    if PARENT_PID_VAR not in os.environ:  # `ledger serve`'s child: its parent said them
        _say_unread_variables()
    restore_recursion_limit()  # every library is imported by now
    runtime = Runtime(settings)
    runtime.migrate()
    stop: list[int] = []  # the signals received; only appended to by the handler
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _: stop.append(received))
    # a signal also writes a byte here, which ends the main thread's wait at once: it
    # sleeps until the next status report, not in 0.1 s steps (issue 15, idle CPU)
    woken, wakeup = socket.socketpair()
    wakeup.setblocking(False)
    signal.set_wakeup_fd(wakeup.fileno(), warn_on_full_buffer=False)

    def pause(seconds: float) -> None:
        if select.select([woken], [], [], seconds)[0]:
            woken.recv(64)  # drained: a later wait sleeps again

    try:
        run_background(
            runtime,
            lambda: bool(stop),
            lambda status: print(json.dumps(status), flush=True),
            pause=pause,
        )
    finally:
        signal.set_wakeup_fd(-1)
        woken.close()
        wakeup.close()
    return 0


def run_background(
    runtime: Runtime,
    stopping: Callable[[], bool],
    report: Callable[[dict[str, Any]], None],
    pause: Callable[[float], object] = lambda seconds: time.sleep(min(seconds, 0.1)),
) -> None:
    """The sender and the indexer without HTTP, until `stopping()`; `report` gets
    `worker_status(runtime)` every second.

    `stopping` is a plain flag a signal handler sets: a handler must not touch a lock
    the interrupted main thread may hold (an `Event` it waits on, for one). `pause(s)` waits
    up to `s` seconds, and returns early when the stop may have come."""
    runtime.start_workers_in_background()
    tune_garbage_collector()
    next_report = time.monotonic()
    while not stopping():
        reports = reports_work(runtime)
        pause(max(0.0, next_report - time.monotonic()) if reports else 1.0)
        if reports and time.monotonic() >= next_report:
            report(worker_status(runtime))
            next_report = time.monotonic() + 1.0
    # A bounded goodbye: nothing depends on it (the sender recovers from a SIGKILL), and a
    # worker stuck in a slow RPC must not keep the process alive.
    stopper = threading.Thread(target=runtime.stop_workers, name="stopper", daemon=True)
    stopper.start()
    stopper.join(STOP_WITHIN_S)
    if stopper.is_alive():
        log.warning("the sender and indexer did not stop within %.0f s; exiting", STOP_WITHIN_S)
