"""A lean HTTP/1.1 keep-alive client for the load generator of `make bench`.

The load generator shares the 2-core machine with the gateway under test, so every
microsecond it spends is CPU the gateway does not get (httpx costs about a millisecond per
request; asyncio streams about 0.8 ms). This client is an `asyncio.Protocol` (run on uvloop
by the bench): it writes the request bytes and parses only the status line,
Content-Length and the body.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

# uvicorn closes a keep-alive connection after 5 idle seconds; older ones are not reused.
MAX_IDLE_S = 3.0


class Connection(asyncio.Protocol):
    def __init__(self, host: str) -> None:
        self.host = host
        self.transport: Any = None  # uvloop's transports do not subclass asyncio.Transport
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self.idle_since = time.monotonic()

    # ------------------------------------------------------------- protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if not self.answer.done():
            self.answer.set_result((int(head[0].split()[1]), body))

    # --------------------------------------------------------------- client
    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, Any]:
        if self.closed or self.transport is None:
            raise ConnectionError("the server closed the connection")
        payload = b"" if body is None else json.dumps(body).encode()
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        head.extend(f"{name}: {value}" for name, value in headers.items())
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status, data = await self.answer
        self.answer = None
        return status, (json.loads(data) if data else None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Connections to one server, reused; a new one opens whenever none is free."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []

    async def _take(self) -> tuple[Connection, bool]:
        """A connection, and whether it was reused (the server may have closed it meanwhile)."""
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and time.monotonic() - connection.idle_since < MAX_IDLE_S:
                return connection, True
            connection.close()
        loop = asyncio.get_running_loop()
        address = f"{self.host}:{self.port}"
        _, connection = await loop.create_connection(
            lambda: Connection(address), self.host, self.port
        )
        return connection, False

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, Any]:
        # A reused connection the server closed before answering is retried once on a new one;
        # every request of the bench is idempotent (reads, or writes with an Idempotency-Key).
        for _ in range(2):
            connection, reused = await self._take()
            try:
                answer = await connection.request(method, path, headers, body)
            except ConnectionError:
                connection.close()
                if reused:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
            return answer
        raise ConnectionError("the server closed two connections in a row")

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
