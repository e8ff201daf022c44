"""Wakes HTTP requests waiting for an operation to settle or for the index to catch up.

The sender and the indexer run in threads; waiters are asyncio futures. Every
wake-up is handed to the event loop with `call_soon_threadsafe`. A settled
operation's wake-up carries its final state (`Settled`), so a waiting request
answers without reading it back. Waiters also time out and re-read the
database, so a missed wake-up only costs latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ledger_api.domain import OpStatus
from ledger_api.domain.ids import LedgerBrandId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settled:
    """An operation's final state, as the sender committed it."""

    uid: str
    kind: str
    status: str
    ledger_brand_id: LedgerBrandId | None
    op_id: int | None
    tx_hash: str | None
    block_number: int | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, op: Any, ledger_brand_id: int | None) -> Settled:
        """From an `Operation`, or a row with its columns (and the brand's ledger id)."""
        return cls(
            uid=op.uid,
            kind=op.kind,
            status=OpStatus(op.status).value,
            ledger_brand_id=LedgerBrandId(ledger_brand_id) if ledger_brand_id is not None else None,
            op_id=op.op_id,
            tx_hash=op.tx_hash,
            block_number=op.block_number,
            result=op.result,
            error_code=op.error_code,
            error_message=op.error_message,
            created_at=op.created_at,
            updated_at=op.updated_at,
        )


class Notifier:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ops: dict[str, list[asyncio.Future[Settled | None]]] = defaultdict(list)
        self._index: list[tuple[int, asyncio.Future[None]]] = []
        self._index_height = -1
        self._lock = threading.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._poked: asyncio.Event | None = None

    @property
    def polling(self) -> bool:
        """True when wake-ups come from `start_polling` (the sender is in another process)."""
        return self._poller is not None

    def start_polling(
        self,
        fetch: Callable[[list[str]], Awaitable[tuple[dict[str, Settled], int]]],
        interval: float,
        *,
        woken: bool = False,
    ) -> None:
        """For a process without the sender: one query every `interval` for every waiter.

        `fetch(uids)` returns the settled ones among `uids` and the index height. `woken`:
        the other process says when something settled (`poke`, from `background.wakeup`), so
        the query runs then, and every `interval` only as a safety poll."""
        poked = self._poked = asyncio.Event()

        async def poll() -> None:
            while True:
                if woken:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(poked.wait(), interval)
                    poked.clear()
                else:
                    await asyncio.sleep(interval)
                if not self._ops and not self._index:
                    continue
                try:
                    settled, height = await fetch(list(self._ops))
                except SQLAlchemyError as exc:  # waiters time out and re-read meanwhile
                    log.warning("notify: could not poll the database: %s", exc)
                    continue
                if settled:
                    self._wake_ops(settled)
                if height != self._index_height:  # lower after the index was rolled back
                    with self._lock:
                        self._index_height = height
                    self._wake_index()

        self._poller = asyncio.get_running_loop().create_task(poll(), name="notify-poll")

    async def stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    def poke(self) -> None:
        """Something settled in another process: the poll looks now (any thread)."""
        loop, poked = self._loop, self._poked
        if loop is not None and poked is not None and not loop.is_closed():
            loop.call_soon_threadsafe(poked.set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def index_height(self) -> int:
        """The last block the index has applied (-1 before the first)."""
        return self._index_height

    # ------------------------------------------------------------ waiting (loop)

    async def wait_operation(self, uid: str, timeout: float) -> Settled | None:
        """The operation's final state if it settles within `timeout`, else None."""
        future: asyncio.Future[Settled | None] = asyncio.get_running_loop().create_future()
        self._ops[uid].append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._ops.get(uid)
            if waiters is not None:
                if future in waiters:
                    waiters.remove(future)
                if not waiters:
                    del self._ops[uid]

    async def wait_index(self, height: int, timeout: float) -> None:
        if self._index_height >= height:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._index.append((height, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            pass
        finally:
            self._index = [(h, f) for h, f in self._index if f is not future]

    # ----------------------------------------------------------- waking (threads)

    def operations_settled(self, settled: Mapping[str, Settled]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or not settled:
            return
        loop.call_soon_threadsafe(self._wake_ops, dict(settled))

    def index_rewound(self, height: int) -> None:
        """The index was rolled back (the chain forgot blocks): its height goes down."""
        with self._lock:
            self._index_height = height

    def index_advanced(self, height: int) -> None:
        with self._lock:
            self._index_height = max(self._index_height, height)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._wake_index)

    def _wake_ops(self, settled: dict[str, Settled]) -> None:
        for uid, state in settled.items():
            for future in self._ops.pop(uid, []):
                if not future.done():
                    future.set_result(state)

    def _wake_index(self) -> None:
        height = self._index_height
        remaining: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._index:
            if target <= height:
                if not future.done():
                    future.set_result(None)
            else:
                remaining.append((target, future))
        self._index = remaining
