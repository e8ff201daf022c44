"""Real HTTP webhook receivers in the test process: `Receiver` (threaded `http.server` on a free
port) and `RawReceiver` (answers as raw bytes: a drip, a huge body, odd bytes)."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """Records every POST; answers `status` (503 while `down`)."""

    def __init__(self) -> None:
        self.down = False
        self.gate: threading.Event | None = None  # when set: each request waits for it
        self.received: list[Received] = []  # every request, failed ones too
        self.accepted: list[Received] = []  # the ones answered 2xx
        self.busy = 0  # requests being handled now
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                with receiver._lock:
                    receiver.busy += 1
                try:
                    self._record()
                finally:
                    with receiver._lock:
                        receiver.busy -= 1

            def _record(self) -> None:
                length = int(self.headers.get("content-length", 0))
                if receiver.gate is not None:
                    receiver.gate.wait()
                got = Received(
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with receiver._lock:
                    down = receiver.down
                    receiver.received.append(got)
                    if not down:
                        receiver.accepted.append(got)
                self.send_response(503 if down else 204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a port of its own
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def events(self, secret: str) -> list[dict[str, Any]]:
        """The accepted events, each verified with the library (raises on a bad signature)."""
        with self._lock:
            accepted = list(self.accepted)
        return [Webhook(secret).verify(r.body, r.headers) for r in accepted]

    def of_type(self, secret: str, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events(secret) if e["type"] == type_]


class RawReceiver:
    """A receiver on 127.0.0.1 that reads each request whole, then answers with `answer`
    (a function of the socket and a stop event): a drip, a huge body, odd bytes."""

    def __init__(self, answer: Any) -> None:
        self.stop_event = threading.Event()
        self.requests = 0
        self.open = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with outer._lock:
                    outer.requests += 1
                    outer.open += 1
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    while len(body) < length:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            return
                        body += chunk
                    answer(self.request, outer.stop_event)
                except OSError:
                    pass
                finally:
                    with outer._lock:
                        outer.open -= 1

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


def drip(sock: socket.socket, stop: threading.Event) -> None:
    """A 2xx whose body never ends: a byte every 0.2 s (each read well inside any timeout)."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
    while not stop.wait(0.2):
        sock.sendall(b"x")


def hang(sock: socket.socket, stop: threading.Event) -> None:
    """No answer at all until the receiver stops (a request held for its whole deadline)."""
    stop.wait()


HUGE = 300 * 1024 * 1024


def huge_error(sock: socket.socket, stop: threading.Event) -> None:
    """A 500 with a 300 MB body, sent as fast as the socket takes it."""
    sock.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n" % HUGE)
    block = b"e" * (1024 * 1024)
    for _ in range(HUGE // len(block)):
        if stop.is_set():
            return
        sock.sendall(block)


def nul_error(sock: socket.socket, stop: threading.Event) -> None:
    """A 500 whose body holds a NUL byte (any receiver's framework may answer such bytes)."""
    body = b"boom\x00"
    sock.sendall(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
