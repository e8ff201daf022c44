"""uvicorn's server with a main loop that idles: woken once a second, not ten times.

uvicorn's `Server.main_loop` sleeps 0.1 s between ticks, only to notice a stop signal soon;
the tick's real work (the `Date` header) runs once a second. An idle `ledger serve` spent
0.13% of a core on those wake-ups (issue 15, `idle_cpu_pct`). Here the loop waits a second,
and a stop signal ends the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

TICKS_PER_SECOND = 10  # uvicorn's `on_tick` refreshes the Date header when `counter % 10 == 0`


class QuietServer(uvicorn.Server):
    """`uvicorn.Server`, its main loop waking once a second or on a stop signal."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_PER_SECOND) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.0)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)


def run(config: uvicorn.Config) -> None:
    """As `uvicorn.run` in one process, with `QuietServer`.

    Raises SystemExit(STARTUP_FAILURE) when the server could not start, as uvicorn does."""
    server = QuietServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
