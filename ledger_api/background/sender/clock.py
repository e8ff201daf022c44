"""When the chain's next block is due, and what a transaction may pay (fee cache)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from ledger_api.chain.port import Chain
from ledger_api.settings import Settings

FEE_BUMP_PCT = 125  # replacements need +10% on most nodes; bump a quarter


class BlockClock:
    """When the chain's next block is due, learnt from when new block numbers first appear.

    A block is seen some time after it is sealed (at the next poll), never before, so the
    least late sighting of the recent ones fixes the phase. Only a steady pace counts: while
    more than a quarter of the gaps between sightings stray by more than half from the
    typical one (a chain that mines on demand, a congested node), `next_due` answers None.
    """

    SAMPLES = 16

    def __init__(self) -> None:
        self._seen: deque[tuple[int, float]] = deque(maxlen=self.SAMPLES)

    def observe(self, number: int, now: float) -> None:
        if not self._seen or number > self._seen[-1][0]:
            self._seen.append((number, now))

    @property
    def last_number(self) -> int | None:
        return self._seen[-1][0] if self._seen else None

    def interval(self) -> float | None:
        if len(self._seen) < 4:
            return None
        gaps = sorted((t2 - t1) / (n2 - n1) for (n1, t1), (n2, t2) in pairwise(self._seen))
        typical = gaps[len(gaps) // 2]
        # A sighting delayed by a busy moment makes one long gap and one short one; that must
        # not switch pacing off for a whole window, so a quarter of the gaps may stray.
        regular = [gap for gap in gaps if abs(gap - typical) <= typical / 2]
        if typical <= 0 or len(regular) < 0.75 * len(gaps):
            return None
        # the pace of the regular gaps only: the window's average let one idle gap of a chain
        # that mines on demand (a burst at 30 ms a block, then 31 s for one) read as a steady
        # 2 s pace, and the sender lingered for blocks that never came
        return sum(regular) / len(regular)

    def next_due(self, now: float) -> tuple[int, float, float] | None:
        """(number, when, interval) of the first block expected after `now`; None too when no
        new block was sighted for two intervals (a chain that stopped, or mines on demand:
        no block is due, and the block numbers extrapolated over the silence ran ahead of it)."""
        interval = self.interval()
        if interval is None or now - self._seen[-1][1] > 2 * interval:
            return None
        last = self._seen[-1][0]
        # when block `last` was sealed, from the least late sighting
        sealed = min(at + (last - number) * interval for number, at in self._seen)
        ahead = int((now - sealed) // interval) + 1
        return last + ahead, sealed + ahead * interval, interval


@dataclass(frozen=True, slots=True)
class Fees:
    max_fee_wei: int
    priority_fee_wei: int

    def bumped_over(self, previous: Fees) -> Fees:
        """At least `FEE_BUMP_PCT` of `previous` (a replacement must pay more), else these."""
        return Fees(
            max(self.max_fee_wei, previous.max_fee_wei * FEE_BUMP_PCT // 100 + 1),
            max(self.priority_fee_wei, previous.priority_fee_wei * FEE_BUMP_PCT // 100 + 1),
        )


class FeeCache:
    """EIP-1559 fees from the chain's head, reused for two seconds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fees: tuple[float, Fees] | None = None

    def forget(self) -> None:
        self._fees = None

    def current(self, chain: Chain) -> Fees:
        now = time.monotonic()
        if self._fees is not None and self._fees[0] > now:
            return self._fees[1]
        head = chain.block("latest")
        base = head.base_fee_wei if head else 0
        tip = self.settings.priority_fee_wei
        if tip is None:
            tip = chain.priority_fee()
        fees = Fees(max_fee_wei=2 * base + tip, priority_fee_wei=tip)
        self._fees = (now + 2.0, fees)
        return fees
