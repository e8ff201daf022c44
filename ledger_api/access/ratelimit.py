"""Token buckets, in memory (one gateway process): per API key, and per client address
before authentication."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ledger_api.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` requests per second per key, bursts of up to `burst`.

    Past `max_keys` buckets, the full ones (nothing to remember) are dropped, so that many
    client addresses cannot grow the table without bound."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]

    def check(self, key: str, cost: float = 1.0) -> None:
        """Takes `cost` tokens or raises `RateLimited` with the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return
            retry_after = (cost - bucket.tokens) / self.rate
        raise RateLimited(retry_after_s=math.ceil(retry_after * 1000) / 1000)
