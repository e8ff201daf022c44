"""A lean HTTP/1.1 keep-alive client for the load generator of `make bench`.

httpx costs about a millisecond of CPU per request, which on a 2-core machine is CPU the
gateway under test does not get. This client writes the request bytes and parses only the
status line, Content-Length and the JSON body: a few hundred microseconds per request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head.extend(f"{name}: {value}" for name, value in headers.items())
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, (json.loads(data) if data else None)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Connections to one server, reused; a new one opens whenever none is free."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []

    async def _take(self) -> Connection:
        if self.idle:
            return self.idle.pop()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer, f"{self.host}:{self.port}")

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
        connection = await self._take()
        try:
            answer = await connection.request(method, path, headers, body)
        except BaseException:
            connection.close()
            raise
        self.idle.append(connection)
        return answer

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
