"""When a signer sends, and which queued operations travel together.

Concurrent operations share a transaction. On a chain with a steady block pace the
sender sends one batch per block, `block_send_guard_s` before the block is due (a full
batch goes at once); otherwise, under load, it lingers up to `batch_linger_s` after its
previous transaction while a batch is not full, and an operation arriving after a quiet
period goes out at once.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from ledger_api.chain.port import Chain
from ledger_api.settings import Settings

from .clock import BlockClock
from .slots import SlotStore
from .txplan import OpRecord


class Scheduler:
    def __init__(self, settings: Settings, store: SlotStore) -> None:
        self.settings = settings
        self.store = store
        self._clock = BlockClock()
        self._batched_block = -1  # the block this signer last sent its batch for
        self._sighted_at = 0.0
        self._last_fill = 0.0

    def plan(
        self, chain: Chain, room: int, kinds: Collection[str] | None = None
    ) -> tuple[list[list[OpRecord]], float]:
        """(the groups to send now, one transaction each; else seconds to linger), of the
        queued operations of `kinds` only unless None (the ledger paused: `pause.PauseWatch`)."""
        queued = self.store.queued_count(self.settings.batch_max_ops, kinds)
        if not queued:
            return [], 0.0
        now = time.monotonic()
        linger, due_block = self._linger(chain, now)
        if linger > 0 and queued < self.settings.batch_max_ops:
            return [], linger
        groups = self.store.next_groups(room, self.settings.batch_max_ops, kinds)
        if not groups:
            return [], 0.0
        self._last_fill = now
        if due_block is not None and linger <= 0:
            # never past the block after the head sighted: a number extrapolated ahead of the
            # chain held the next batches until the clock's count caught up (a trial: 230 s)
            last = self._clock.last_number
            self._batched_block = due_block if last is None else min(due_block, last + 1)
        return groups, 0.0

    def _linger(self, chain: Chain, now: float) -> tuple[float, int | None]:
        """Seconds to wait before sending, and the block the next batch is for (if aligned)."""
        fallback = self._last_fill + self.settings.batch_linger_s - now
        if not self.settings.block_align:
            return fallback, None
        self.observe_block(chain, now)
        due = self._clock.next_due(now)
        if due is None or not (
            self.settings.block_align_min_interval_s
            <= due[2]
            <= self.settings.block_align_max_interval_s
        ):
            return fallback, None
        number, at, interval = due
        guard = max(self.settings.block_send_guard_s, interval / 4)
        if number <= self._batched_block:  # this block has its batch: the next one's turn
            return at + interval - guard - now, number + 1
        return at - guard - now, number

    def observe_block(self, chain: Chain, now: float) -> None:
        """A sighting of the chain's head for the block clock (at most one per poll interval)."""
        if self.settings.block_align and now - self._sighted_at >= self.settings.poll_interval_s:
            self._sighted_at = now
            self._clock.observe(chain.block_number(), now)
