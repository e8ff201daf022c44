"""JSON-RPC forwarders to anvil. `MiningProxy`, once armed, mines blocks just before it
forwards a read of the latest block: the chain's head moves between two reads its caller
makes, as on a busy chain, every time instead of by chance. `RefusingProxy` refuses the
broadcasts it is told to."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx


class MiningProxy:
    def __init__(self, upstream: str, blocks: int = 2) -> None:
        self.upstream = upstream
        self.blocks = blocks
        self.mined = 0  # blocks this proxy mined
        self._armed = threading.Event()
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as web3's session expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = proxy._forward(body)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def arm(self) -> None:
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()

    def _forward(self, body: bytes) -> httpx.Response:
        calls = json.loads(body)
        for call in calls if isinstance(calls, list) else [calls]:
            latest = call.get("method") == "eth_getBlockByNumber" and call["params"][0] == "latest"
            if latest and self._armed.is_set():
                with self._lock:
                    for _ in range(self.blocks):
                        self._http.post(
                            self.upstream, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine"}
                        ).raise_for_status()
                    self.mined += self.blocks
        return self._http.post(
            self.upstream, content=body, headers={"Content-Type": "application/json"}
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()


class RefusingProxy(MiningProxy):
    """A forwarder that, while `refusing` holds a message, answers every call of `method`
    with that JSON-RPC error instead of forwarding it: `eth_sendRawTransaction`, a node
    refusing a signer's transactions (e.g. for lack of funds); `eth_getLogs`, an indexer that
    does not hear of what the chain did meanwhile."""

    def __init__(self, upstream: str, method: str = "eth_sendRawTransaction") -> None:
        super().__init__(upstream, blocks=0)
        self.method = method
        self.refusing: str | None = None
        self.refused = 0

    def _forward(self, body: bytes) -> httpx.Response:
        call = json.loads(body)
        message = self.refusing
        if isinstance(call, dict) and call.get("method") == self.method and message:
            self.refused += 1
            error = {"code": -32000, "message": message}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": call["id"], "error": error})
        return super()._forward(body)


class LateReceiptProxy(MiningProxy):
    """A forwarder that answers `eth_getTransactionReceipt` of a transaction in `withholding`
    with null that many times (counted in `withheld`): a node that counts a nonce as used a
    moment before it serves the receipts of the block that used it (anvil, under load)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, blocks=0)
        self.withholding: dict[str, int] = {}
        self.withheld = 0

    def _forward(self, body: bytes) -> httpx.Response:
        answer = super()._forward(body)
        calls = json.loads(body)
        calls = calls if isinstance(calls, list) else [calls]
        late = {
            call["id"]
            for call in calls
            if call.get("method") == "eth_getTransactionReceipt"
            and self.withholding.get(call["params"][0].lower(), 0) > 0
        }
        if not late:
            return answer
        replies = answer.json()
        for reply in replies if isinstance(replies, list) else [replies]:
            if reply.get("id") in late:
                call = next(c for c in calls if c["id"] == reply["id"])
                self.withholding[call["params"][0].lower()] -= 1
                self.withheld += 1
                reply["result"] = None
        return httpx.Response(answer.status_code, json=replies)
