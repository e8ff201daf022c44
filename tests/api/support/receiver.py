"""A real HTTP webhook receiver in the test process (threaded `http.server` on a free port)."""

from __future__ import annotations

import json
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
