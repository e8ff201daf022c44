"""The HTTP/1.1 protocol `ledger serve` runs uvicorn with: httptools' parser, as uvicorn's
"auto" picks, with a bound on a request's head and its refusals in the gateway's one error
shape.

uvicorn answers bytes its parser refuses (a request line or header that is no HTTP/1.1, a
broken chunk) itself, before the app sees a request: a plain-text 400 "Invalid HTTP request
received.". Here it is `{"error": {"code": "malformed_http", ...}}` (`errors.MalformedHttp`).

Nor does uvicorn bound a request's head: httptools keeps a header's bytes until its line
ends, so one anonymous connection sending a 300 MB header line grew the server by 610 MB
(and kept it busy 88 s) before any route, rate limit or body bound could act. A head (the
request line and headers) past `MAX_HEAD_BYTES` is answered 431 `headers_too_large`
(`errors.HeadersTooLarge`, RFC 6585 section 5) as soon as it is seen, as nginx and gunicorn
bound theirs. Either refusal closes the connection, as uvicorn's does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ledger_api.error_bodies import ledger_error_body
from ledger_api.errors import HeadersTooLarge, LedgerError, MalformedHttp

#: the most bytes of a request's head (request line and headers) the server keeps: 64 KiB,
#: nginx's largest default (4 buffers of 8 KiB for the headers, plus the request line) twice
#: over; an API key, an Idempotency-Key and a `traceparent` take well under 1 KiB. The refusal
#: comes once the count passes it; the head may have grown by one read (at most 256 KiB) more
MAX_HEAD_BYTES = 65_536

#: uvicorn's protocol settings for every server of the gateway (`uvicorn.Config(**...)`): this
#: module's protocol, by name so that `uvicorn.run` hands it to each worker process, and no
#: WebSocket (the gateway serves none: a handshake is answered as the plain HTTP request it
#: also is, where the router's refusal was an empty plain-text 403)
SERVER_PROTOCOLS: dict[str, Any] = {
    "http": f"{__name__}:JsonErrorHttpToolsProtocol",
    "ws": "none",
}


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request its parser refuses is answered 400
    `malformed_http`, a head past `MAX_HEAD_BYTES` 431 `headers_too_large`, both in JSON with
    the server's default headers (`server`, `date`), and the connection closed."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True  # bytes received now belong to a request's head
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # a head the parser completed in this read is done (`on_headers_complete`), whatever
        # the read also carried of its body
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
            self._refuse(HeadersTooLarge(max_bytes=MAX_HEAD_BYTES))

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0  # the next request on the connection

    def send_400_response(self, msg: str) -> None:
        self._refuse(MalformedHttp())

    def _refuse(self, error: LedgerError) -> None:
        body = orjson.dumps(ledger_error_body(error))
        head = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
