"""The deliveries' connections: made only to an address the webhook guard passed, and bounded
by each delivery's deadline (a network backend of httpcore, the HTTP engine under httpx).

- **The address checked is the address connected to.** The guard resolved a host name and
  checked its addresses, then the HTTP client resolved the name again to connect: a name
  whose answer changes (DNS rebinding, TTL 0: a public address, then 127.0.0.1) passed the
  check and the signed request went to a loopback receiver (a review of 2026-12-06). A
  connection now resolves the name once, checks every address (`targets.checked_addresses`)
  and connects to one of them; TLS still verifies the certificate for the host name.
- **A delivery lasts at most its deadline.** A timeout bounds each read and write on its own:
  a receiver answering a byte every 0.2 s never tripped it and held a delivery thread for
  good, 32 such requests all of them, and other brands' webhooks waited (the same review).
  Every connect, read and write of a delivery waits no later than the deadline its thread
  set (`deadline`), so a request takes at most `LEDGER_WEBHOOK_TIMEOUT_S` in all.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from .targets import checked_addresses

_deadlines = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bounds the calling thread's network waits to `seconds` from now, for the block."""
    _deadlines.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadlines.at = None


def _bounded(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """`timeout` cut to what is left of the thread's deadline (raises `late` once it passed)."""
    at: float | None = getattr(_deadlines, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise late("the delivery's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline of the thread using it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """TCP connections to checked addresses only (`InvalidWebhookUrl` when none passes), each
    bounded by the deadline of the thread that uses it."""

    def __init__(self, *, allow_private: bool, allow_loopback: bool) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._allow_loopback = allow_loopback

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(
            host, port, allow_private=self._allow_private, allow_loopback=self._allow_loopback
        )
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # in turn, as the resolver ordered them
            try:
                bounded = _bounded(timeout, httpcore.ConnectTimeout)
                stream = self._inner.connect_tcp(
                    address, port, bounded, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        assert failure is not None  # `checked_addresses` returns at least one address
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are delivered over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
