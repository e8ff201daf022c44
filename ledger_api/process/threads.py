"""Thread plumbing: operating-system names for the gateway's threads (`top -H`, `ps -L`) and
the retry backoff of their loops."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_PR_SET_NAME = 15
_libc = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


def name_this_thread(name: str) -> None:
    """Best effort: Linux keeps the first 15 bytes."""
    if _libc is not None:
        _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


class Backoff:
    """Exponential delays for a worker loop's retries: `initial`, doubling up to `maximum`."""

    def __init__(self, maximum: float, initial: float = 0.1) -> None:
        self.maximum = maximum
        self.initial = initial
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.initial
