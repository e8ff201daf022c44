"""Waiting on a process by its progress rather than by a fixed deadline (a busy machine is slow,
not stuck): a wait goes on while the process lives and something it does keeps changing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def files_progress(*paths: Path) -> Callable[[], object]:
    """A progress mark: the sizes of the files (logs a process writes)."""

    def mark() -> object:
        return tuple(p.stat().st_size if p.exists() else -1 for p in paths)

    return mark


def wait_for(
    condition: Callable[[], T | None],
    *,
    what: str,
    alive: Callable[[], bool] = lambda: True,
    progress: Callable[[], object] = lambda: None,
    idle_s: float = 120.0,
    cap_s: float = 1800.0,
    poll_s: float = 0.1,
) -> T:
    """The first truthy result of `condition()`. Fails when `alive()` turns false, when
    `progress()` has not changed for `idle_s` seconds, or after `cap_s` seconds in all."""
    start = last_change = time.monotonic()
    mark = progress()
    while True:
        result = condition()
        if result:
            return result
        now = time.monotonic()
        if not alive():
            raise AssertionError(f"{what}: the process exited")
        current = progress()
        if current != mark:
            mark, last_change = current, now
        if now - last_change > idle_s:
            raise AssertionError(f"{what}: no progress for {idle_s:.0f} s")
        if now - start > cap_s:
            raise AssertionError(f"{what}: not within {cap_s:.0f} s")
        time.sleep(poll_s)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet waited for, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
