"""Token buckets: per API key, and per client address before authentication.

`RateLimiter` keeps them in memory (one gateway process: SQLite). `SharedRateLimiter` keeps
the per-key buckets in the database (`rate_buckets`), so that several gateway processes on one
PostgreSQL database share one limit per key: one statement per request takes the tokens or
refuses, on the database's clock. The per-address limit stays in memory in each process: it
guards a process before any authentication and must not cost a database write.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import text

from ledger_api.db import Database
from ledger_api.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` requests per second per key, bursts of up to `burst`, in at most `max_keys`
    buckets kept in the order of their last use.

    A new key drops, from the least recently used end, the buckets that have refilled
    (nothing to remember) and, with the table still full, the least recently used one: that
    key starts from a full bucket again, as any new key does. So the table never passes
    `max_keys` and a check costs the same whatever it holds (the table kept every bucket
    that had not refilled, and scanned all of them for each new key: 6-7 ms at 100,000)."""

    def __init__(
        self, rate: float, burst: int, *, max_keys: int = 100_000, refusal: str | None = None
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.refusal = refusal  # the 429's message (None: `RateLimited`'s, about API keys)
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def _make_room(self, now: float) -> None:
        full_after = self.burst / self.rate
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if len(buckets) < self.max_keys and now - oldest.updated < full_after:
                return
            buckets.popitem(last=False)

    def check(self, key: str, cost: float = 1.0) -> None:
        """Takes `cost` tokens or raises `RateLimited` with the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            else:
                self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return
            retry_after = (cost - bucket.tokens) / self.rate
        raise RateLimited(self.refusal, retry_after_s=math.ceil(retry_after * 1000) / 1000)


_TAKE = text(
    """
    INSERT INTO rate_buckets AS b (key, tokens, updated_s)
    VALUES (:key, :burst - :cost, extract(epoch FROM clock_timestamp()))
    ON CONFLICT (key) DO UPDATE SET
        tokens = LEAST(:burst, b.tokens + (EXCLUDED.updated_s - b.updated_s) * :rate) - :cost,
        updated_s = EXCLUDED.updated_s
    WHERE LEAST(:burst, b.tokens + (EXCLUDED.updated_s - b.updated_s) * :rate) >= :cost
    RETURNING b.tokens
    """
)
_LEFT = text(
    "SELECT LEAST(:burst, tokens + (extract(epoch FROM clock_timestamp()) - updated_s) * :rate)"
    " FROM rate_buckets WHERE key = :key"
)


class SharedRateLimiter:
    """`rate` requests per second per key across every process of one PostgreSQL database,
    bursts of up to `burst` (the same rule as `RateLimiter`). `check` blocks on the database:
    call it from a worker thread."""

    def __init__(self, db: Database, rate: float, burst: int) -> None:
        self.db = db
        self.rate = rate
        self.burst = burst

    def check(self, key: str, cost: float = 1.0) -> None:
        """Takes `cost` tokens or raises `RateLimited` with the seconds to wait."""
        values = {"key": key, "burst": float(self.burst), "rate": self.rate, "cost": cost}
        with self.db.write() as session:
            taken = session.execute(_TAKE, values).first()
            if taken is not None:
                return
            left = session.execute(_LEFT, values).scalar()
        tokens = float(left) if left is not None else 0.0
        retry_after = max(cost - tokens, 0.0) / self.rate
        raise RateLimited(retry_after_s=math.ceil(retry_after * 1000) / 1000)
